package refmodel

import (
	"slices"
	"sort"
	"time"

	"github.com/oauthdb/oauthdb"
)

const (
	kindAccess  = "access token"
	kindRefresh = "refresh token"
)

func tokenFail(kind, id string, reason error) error {
	return &oauthdb.TokenError{Kind: kind, ID: id, Err: reason}
}

// Fresh is what oauthdb generates for an issue: the plaintext tokens and the
// record IDs. The model cannot predict them, so the caller hands over the
// ones oauthdb returned.
type Fresh struct {
	AccessToken, AccessID   string
	RefreshToken, RefreshID string
}

// noCaller is the error of an operation that needs its calling client and
// was given none.
var noCaller = fail(oauthdb.TableOAuthClient, "clientId", oauthdb.ErrInvalid)

// sessionBound reports whether a refresh token ends with its session
// (better-auth 1.7.29): granted without offline_access, and either in a
// session or from an authorization code.
func sessionBound(t oauthdb.OAuthRefreshToken) bool {
	return !slices.Contains(t.Scopes, oauthdb.ScopeOfflineAccess) && (t.SessionID != "" || t.AuthorizationCodeID != "")
}

// owner checks that a token's client, user and session let it be active,
// and returns them. A token that outlives its session — an access token in
// lenient mode, a refresh token granted offline_access or in lenient mode
// — has an expired or missing session dropped rather than refused; a
// refresh token bound to its session is inactive without one, even when it
// names none (its code's session was deleted).
func (m *Model) owner(kind, id, clientID, userID, sessionID string, outlivesSession bool) (oauthdb.OAuthClient, oauthdb.User, oauthdb.Session, error) {
	c, u, err := m.clientUser(kind, id, clientID, userID)
	if err != nil {
		return c, u, oauthdb.Session{}, err
	}
	s, err := m.liveSession(kind, id, sessionID, outlivesSession)
	return c, u, s, err
}

// clientUser checks a token's client (there and enabled) and user (there,
// if it has one).
func (m *Model) clientUser(kind, id, clientID, userID string) (oauthdb.OAuthClient, oauthdb.User, error) {
	var u oauthdb.User
	c, ok := m.clientByClientID(clientID)
	if !ok {
		return c, u, tokenFail(kind, id, oauthdb.ErrClientNotFound)
	}
	if c.Disabled {
		return c, u, tokenFail(kind, id, oauthdb.ErrClientDisabled)
	}
	if userID != "" {
		if u, ok = m.Users[userID]; !ok {
			return c, u, tokenFail(kind, id, oauthdb.ErrUserNotFound)
		}
	}
	return c, u, nil
}

// liveSession is a token's session if it lives. A session that is gone or
// has expired is dropped for a token that outlives it, else the token is
// inactive; so is a token bound to a session that names none.
func (m *Model) liveSession(kind, id, sessionID string, outlivesSession bool) (oauthdb.Session, error) {
	found, ok := m.Sessions[sessionID]
	switch {
	case sessionID != "" && ok && !expired(found.ExpiresAt, m.now()):
		return found, nil
	case outlivesSession:
		return oauthdb.Session{}, nil
	case ok:
		return oauthdb.Session{}, tokenFail(kind, id, oauthdb.ErrSessionExpired)
	default:
		return oauthdb.Session{}, tokenFail(kind, id, oauthdb.ErrSessionNotFound)
	}
}

// ValidateAccessToken is oauthdb.DB.ValidateAccessToken: any client's token
// will do.
func (m *Model) ValidateAccessToken(token string) (oauthdb.AccessTokenInfo, error) {
	return m.access(token, "")
}

// IntrospectAccessToken is oauthdb.DB.IntrospectAccessToken: only the
// caller's token will do, and a caller is required.
func (m *Model) IntrospectAccessToken(token, caller string) (oauthdb.AccessTokenInfo, error) {
	if caller == "" {
		return oauthdb.AccessTokenInfo{}, noCaller
	}
	return m.access(token, caller)
}

func (m *Model) access(token, caller string) (oauthdb.AccessTokenInfo, error) {
	if Malformed(token) {
		return oauthdb.AccessTokenInfo{}, tokenFail(kindAccess, "", oauthdb.ErrTokenMalformed)
	}
	t, ok := m.accessByHash(m.hash(token))
	switch {
	case !ok:
		return oauthdb.AccessTokenInfo{}, tokenFail(kindAccess, "", oauthdb.ErrTokenNotFound)
	case caller != "" && t.ClientID != caller:
		// The caller may not learn which token it is.
		return oauthdb.AccessTokenInfo{}, tokenFail(kindAccess, "", oauthdb.ErrWrongClient)
	case expired(t.ExpiresAt, m.now()):
		return oauthdb.AccessTokenInfo{}, tokenFail(kindAccess, t.ID, oauthdb.ErrTokenExpired)
	case !t.Revoked.IsZero():
		return oauthdb.AccessTokenInfo{}, tokenFail(kindAccess, t.ID, oauthdb.ErrTokenRevoked)
	}
	// An access token with no session has none to end with.
	c, u, s, err := m.owner(kindAccess, t.ID, t.ClientID, t.UserID, t.SessionID, m.cfg.Lenient || t.SessionID == "")
	if err != nil {
		return oauthdb.AccessTokenInfo{}, err
	}
	return oauthdb.AccessTokenInfo{Token: t, Client: c, User: u, Session: s}, nil
}

// ValidateRefreshToken is oauthdb.DB.ValidateRefreshToken.
func (m *Model) ValidateRefreshToken(token string) (oauthdb.RefreshTokenInfo, error) {
	return m.refresh(token, "")
}

// IntrospectRefreshToken is oauthdb.DB.IntrospectRefreshToken.
func (m *Model) IntrospectRefreshToken(token, caller string) (oauthdb.RefreshTokenInfo, error) {
	if caller == "" {
		return oauthdb.RefreshTokenInfo{}, noCaller
	}
	return m.refresh(token, caller)
}

func (m *Model) refresh(token, caller string) (oauthdb.RefreshTokenInfo, error) {
	if Malformed(token) {
		return oauthdb.RefreshTokenInfo{}, tokenFail(kindRefresh, "", oauthdb.ErrTokenMalformed)
	}
	t, ok := m.refreshByHash(m.hash(token))
	switch {
	case !ok:
		return oauthdb.RefreshTokenInfo{}, tokenFail(kindRefresh, "", oauthdb.ErrTokenNotFound)
	case caller != "" && t.ClientID != caller:
		return oauthdb.RefreshTokenInfo{}, tokenFail(kindRefresh, "", oauthdb.ErrWrongClient)
	case expired(t.ExpiresAt, m.now()):
		return oauthdb.RefreshTokenInfo{}, tokenFail(kindRefresh, t.ID, oauthdb.ErrTokenExpired)
	case !t.Revoked.IsZero():
		return oauthdb.RefreshTokenInfo{}, tokenFail(kindRefresh, t.ID, oauthdb.ErrTokenRevoked)
	}
	c, u, s, err := m.owner(kindRefresh, t.ID, t.ClientID, t.UserID, t.SessionID, m.outlives(t))
	if err != nil {
		return oauthdb.RefreshTokenInfo{}, err
	}
	return oauthdb.RefreshTokenInfo{Token: t, Client: c, User: u, Session: s}, nil
}

// outlives reports whether a refresh token outlives its session here.
func (m *Model) outlives(t oauthdb.OAuthRefreshToken) bool {
	return m.cfg.Lenient || !sessionBound(t)
}

// subset reports whether every scope of want is in have.
func subset(want, have []string) bool {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// IssueTokens is oauthdb.DB.IssueTokens, with the generated values taken
// from fresh.
func (m *Model) IssueTokens(req oauthdb.IssueRequest, fresh Fresh) (oauthdb.IssuedTokens, error) {
	now := m.now()
	if !scopeTokens(req.Scopes) {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthAccessToken, "scopes", oauthdb.ErrInvalid)
	}
	if !thumbprint(req.DPoPThumbprint) {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthAccessToken, "confirmation", oauthdb.ErrInvalid)
	}
	c, ok := m.clientByClientID(req.ClientID)
	if !ok {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthClient, "clientId", oauthdb.ErrNotFound)
	}
	if c.Disabled {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthClient, "clientId", oauthdb.ErrClientDisabled)
	}
	allowed := c.Scopes
	if req.UserID == "" && c.ClientCredentialsScopes != nil {
		allowed = c.ClientCredentialsScopes
	}
	if (len(allowed) > 0 || req.UserID == "" && c.ClientCredentialsScopes != nil) && !subset(req.Scopes, allowed) {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthClient, "scopes", oauthdb.ErrScopeNotGranted)
	}
	if _, ok := m.Users[req.UserID]; req.UserID != "" && !ok {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableUser, "id", oauthdb.ErrNotFound)
	}
	if req.SessionID != "" {
		s, ok := m.Sessions[req.SessionID]
		switch {
		case !ok:
			return oauthdb.IssuedTokens{}, fail(oauthdb.TableSession, "id", oauthdb.ErrNotFound)
		case expired(s.ExpiresAt, now):
			return oauthdb.IssuedTokens{}, fail(oauthdb.TableSession, "id", oauthdb.ErrSessionExpired)
		case s.UserID != req.UserID:
			return oauthdb.IssuedTokens{}, fail(oauthdb.TableSession, "userId", oauthdb.ErrInvalid)
		}
	}
	if req.Refresh && req.UserID == "" {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthRefreshToken, "userId", oauthdb.ErrInvalid)
	}
	// A code's refresh token without offline_access and without its session
	// would be born inactive.
	if req.Refresh && !m.cfg.Lenient && req.SessionID == "" && req.AuthorizationCodeID != "" &&
		!slices.Contains(req.Scopes, oauthdb.ScopeOfflineAccess) {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthRefreshToken, "sessionId", oauthdb.ErrInvalid)
	}
	if req.DPoPThumbprint == "" && dpopClient(c) {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthClient, "dpopBoundAccessTokens", oauthdb.ErrDPoPRequired)
	}
	return m.issue(now, grant{req.ClientID, req.UserID, req.SessionID, req.SessionID, req.ReferenceID, req.Scopes,
		req.AuthorizationCodeID, req.AuthTime, req.Resources, req.RequestedUserInfoClaims, req.DPoPThumbprint}, req.Refresh, fresh)
}

// grant is what the tokens of one issue or rotation share: the access
// token's session and the refresh token's may differ (a rotation keeps the
// session the refresh token was issued in).
type grant struct {
	client, user, session, refreshSession, reference string
	scopes                                           []string
	code                                             string
	authTime                                         time.Time
	resources, claims                                []string
	jkt                                              string // the DPoP key's thumbprint, or ""
}

// issue stores the new tokens of an issue or a rotation, checked as any
// insert is; if either insert fails, neither is stored.
func (m *Model) issue(now time.Time, g grant, refresh bool, fresh Fresh) (oauthdb.IssuedTokens, error) {
	out := oauthdb.IssuedTokens{AccessToken: fresh.AccessToken}
	if refresh {
		out.RefreshToken = fresh.RefreshToken
		out.Refresh = oauthdb.OAuthRefreshToken{
			ID: fresh.RefreshID, Token: m.hash(fresh.RefreshToken), ClientID: g.client, SessionID: g.refreshSession,
			UserID: g.user, ReferenceID: g.reference, Scopes: slices.Clone(g.scopes),
			ExpiresAt: now.Add(m.cfg.RefreshTTL), CreatedAt: now,
			AuthorizationCodeID: g.code, AuthTime: g.authTime, Resources: g.resources, RequestedUserInfoClaims: g.claims,
			Confirmation: confirmation(g.jkt),
		}
		if err := m.refreshChecks(out.Refresh, true); err != nil {
			return oauthdb.IssuedTokens{}, err
		}
	}
	out.Access = oauthdb.OAuthAccessToken{
		ID: fresh.AccessID, Token: m.hash(fresh.AccessToken), ClientID: g.client, SessionID: g.session,
		UserID: g.user, ReferenceID: g.reference, RefreshID: out.Refresh.ID, Scopes: slices.Clone(g.scopes),
		ExpiresAt: now.Add(m.cfg.AccessTTL), CreatedAt: now,
		AuthorizationCodeID: g.code, Resources: g.resources, RequestedUserInfoClaims: g.claims,
		Confirmation: confirmation(g.jkt),
	}
	if refresh {
		m.RefreshTokens[out.Refresh.ID] = out.Refresh
	}
	if err := m.accessChecks(out.Access, true); err != nil {
		delete(m.RefreshTokens, out.Refresh.ID)
		return oauthdb.IssuedTokens{}, err
	}
	m.AccessTokens[out.Access.ID] = out.Access
	return out, nil
}

// RotateRefreshToken is oauthdb.DB.RotateRefreshToken, checking what
// better-auth 1.7.29's refresh grant checks, in its order: the token (there,
// the caller's, unexpired), its client (there, enabled), the scopes asked
// (the token's, and the client's if it lists any), the session of a token
// bound to it, and only then whether it is revoked. Presenting a revoked
// refresh token is a replay: the family — every refresh token of that
// client and user, and their access tokens — is revoked, and that stays
// revoked although the call fails. A token without offline_access is not
// rotated: only an access token is issued. One with offline_access is
// rotated, unless the scopes narrow offline_access away after the token's
// session ended.
func (m *Model) RotateRefreshToken(token, clientID string, scopes []string, fresh Fresh) (oauthdb.IssuedTokens, error) {
	return m.Refresh(oauthdb.RefreshRequest{Token: token, ClientID: clientID, Scopes: scopes}, fresh)
}

// Refresh is oauthdb.DB.Refresh: RotateRefreshToken with a DPoP proof's
// key, checked last, after the replay, as better-auth's
// resolveDpopTokenBinding: a bound token needs a proof of its key, a client
// with dpopBoundAccessTokens a proof, and a proof binds the new tokens.
func (m *Model) Refresh(req oauthdb.RefreshRequest, fresh Fresh) (oauthdb.IssuedTokens, error) {
	token, clientID, scopes := req.Token, req.ClientID, req.Scopes
	if Malformed(token) {
		return oauthdb.IssuedTokens{}, tokenFail(kindRefresh, "", oauthdb.ErrTokenMalformed)
	}
	if clientID == "" {
		return oauthdb.IssuedTokens{}, noCaller
	}
	if !scopeTokens(scopes) {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthRefreshToken, "scopes", oauthdb.ErrInvalid)
	}
	if !thumbprint(req.DPoPThumbprint) {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthRefreshToken, "confirmation", oauthdb.ErrInvalid)
	}
	now := m.now()
	t, ok := m.refreshByHash(m.hash(token))
	switch {
	case !ok:
		return oauthdb.IssuedTokens{}, tokenFail(kindRefresh, "", oauthdb.ErrTokenNotFound)
	case t.ClientID != clientID:
		return oauthdb.IssuedTokens{}, tokenFail(kindRefresh, "", oauthdb.ErrWrongClient)
	case expired(t.ExpiresAt, now):
		return oauthdb.IssuedTokens{}, tokenFail(kindRefresh, t.ID, oauthdb.ErrTokenExpired)
	}
	c, _, err := m.clientUser(kindRefresh, t.ID, t.ClientID, t.UserID)
	if err != nil {
		return oauthdb.IssuedTokens{}, err
	}
	if scopes == nil {
		scopes = t.Scopes
	} else if !subset(scopes, t.Scopes) {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthRefreshToken, "scopes", oauthdb.ErrScopeNotGranted)
	}
	if len(c.Scopes) > 0 && !subset(scopes, c.Scopes) {
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthClient, "scopes", oauthdb.ErrScopeNotGranted)
	}
	s, err := m.liveSession(kindRefresh, t.ID, t.SessionID, m.outlives(t))
	if err != nil {
		return oauthdb.IssuedTokens{}, err
	}
	if !t.Revoked.IsZero() && !inGrace(t, now) {
		m.revoke(func(oauthdb.OAuthAccessToken) bool { return false },
			func(r oauthdb.OAuthRefreshToken) bool { return r.ClientID == t.ClientID && r.UserID == t.UserID })
		if t.RotatedAt.IsZero() {
			return oauthdb.IssuedTokens{}, tokenFail(kindRefresh, t.ID, oauthdb.ErrTokenRevoked)
		}
		return oauthdb.IssuedTokens{}, tokenFail(kindRefresh, t.ID, oauthdb.ErrTokenReplayed)
	}
	// s is the session the token still has: its own, or none if it is gone
	// or has expired and the token outlives it.
	offline := slices.Contains(t.Scopes, oauthdb.ScopeOfflineAccess)
	narrowed := t
	narrowed.Scopes = scopes
	if offline && s.ID == "" && !m.outlives(narrowed) {
		_, err := m.liveSession(kindRefresh, t.ID, t.SessionID, false)
		return oauthdb.IssuedTokens{}, err
	}
	bound := boundKey(t.Confirmation)
	switch {
	case req.DPoPThumbprint == "" && bound != "":
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthRefreshToken, "confirmation", oauthdb.ErrDPoPRequired)
	case req.DPoPThumbprint == "" && dpopClient(c):
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthClient, "dpopBoundAccessTokens", oauthdb.ErrDPoPRequired)
	case bound != "" && req.DPoPThumbprint != bound:
		return oauthdb.IssuedTokens{}, fail(oauthdb.TableOAuthRefreshToken, "confirmation", oauthdb.ErrDPoPKeyMismatch)
	}
	g := grant{t.ClientID, t.UserID, s.ID, t.SessionID, t.ReferenceID, scopes,
		t.AuthorizationCodeID, t.AuthTime, t.Resources, t.RequestedUserInfoClaims, req.DPoPThumbprint}
	if !offline {
		out, err := m.issue(now, g, false, fresh)
		if err != nil {
			return oauthdb.IssuedTokens{}, err
		}
		out.Previous = t
		return out, nil
	}
	revoked := t
	if !inGrace(t, now) {
		revoked.Revoked, revoked.RotatedAt = now, now
		if m.cfg.ReuseInterval > 0 {
			revoked.RotationReplayExpiresAt = now.Add(m.cfg.ReuseInterval)
		}
	}
	m.RefreshTokens[t.ID] = revoked
	out, err := m.issue(now, g, true, fresh)
	if err != nil {
		m.RefreshTokens[t.ID] = t
		return oauthdb.IssuedTokens{}, err
	}
	out.Previous = revoked
	return out, nil
}

// Revocation. Each returns how many rows it changed: access tokens deleted
// plus refresh tokens newly revoked.

// inGrace reports whether a rotated refresh token is in its grace window:
// rotating it again is no replay.
func inGrace(t oauthdb.OAuthRefreshToken, now time.Time) bool {
	return !t.RotatedAt.IsZero() && now.Before(t.RotationReplayExpiresAt)
}

// closeGrace ends the grace windows of the refresh tokens of a client and
// user: a revocation ends what a rotation gave.
func (m *Model) closeGrace(clientID, userID string, now time.Time) {
	for id, t := range m.RefreshTokens {
		if t.ClientID == clientID && t.UserID == userID && inGrace(t, now) {
			t.RotationReplayExpiresAt = now
			m.RefreshTokens[id] = t
		}
	}
}

// revoke deletes the access tokens that matchAccess accepts, revokes the
// refresh tokens that matchRefresh accepts and deletes their access tokens,
// and closes their families' grace windows.
func (m *Model) revoke(matchAccess func(oauthdb.OAuthAccessToken) bool, matchRefresh func(oauthdb.OAuthRefreshToken) bool) int {
	now := m.now()
	family := map[string]bool{}
	n := 0
	for _, t := range m.RefreshTokens {
		if matchRefresh(t) {
			m.closeGrace(t.ClientID, t.UserID, now)
		}
	}
	for id, t := range m.RefreshTokens {
		if !matchRefresh(t) {
			continue
		}
		family[id] = true
		if t.Revoked.IsZero() {
			t.Revoked = now
			m.RefreshTokens[id] = t
			n++
		}
	}
	for id, t := range m.AccessTokens {
		if matchAccess(t) || family[t.RefreshID] {
			delete(m.AccessTokens, id)
			n++
		}
	}
	return n
}

// RevokeAccessToken deletes the access token with this plaintext; an unknown
// one is not an error.
func (m *Model) RevokeAccessToken(token string) (int, error) {
	if Malformed(token) {
		return 0, tokenFail(kindAccess, "", oauthdb.ErrTokenMalformed)
	}
	t, ok := m.accessByHash(m.hash(token))
	if !ok {
		return 0, nil
	}
	delete(m.AccessTokens, t.ID)
	return 1, nil
}

// RevokeRefreshToken revokes the refresh token with this plaintext and
// deletes its access tokens.
func (m *Model) RevokeRefreshToken(token string) (int, error) {
	if Malformed(token) {
		return 0, tokenFail(kindRefresh, "", oauthdb.ErrTokenMalformed)
	}
	t, ok := m.refreshByHash(m.hash(token))
	if !ok {
		return 0, nil
	}
	none := func(oauthdb.OAuthAccessToken) bool { return false }
	return m.revoke(none, func(r oauthdb.OAuthRefreshToken) bool { return r.ID == t.ID }), nil
}

// RevokeToken is oauthdb.DB.RevokeToken, a client's revocation request with
// better-auth 1.7.29's rules: the hinted kind only, or without a hint of
// a kind an access token, then a refresh token; only the caller's own
// token changes; its refresh token revoked already takes
// the whole family (the client's refresh tokens of that user) with it.
func (m *Model) RevokeToken(token, clientID, hint string) (int, error) {
	if clientID == "" {
		return 0, noCaller
	}
	if Malformed(token) {
		return 0, tokenFail(kindAccess, "", oauthdb.ErrTokenMalformed)
	}
	h := m.hash(token)
	access := func() (bool, int, error) {
		t, ok := m.accessByHash(h)
		if !ok || t.ClientID != clientID {
			return ok, 0, nil
		}
		delete(m.AccessTokens, t.ID)
		return true, 1, nil
	}
	refresh := func() (bool, int, error) {
		t, ok := m.refreshByHash(h)
		switch {
		case !ok || t.ClientID != clientID:
			return ok, 0, nil
		case !t.Revoked.IsZero():
			n := m.revoke(func(oauthdb.OAuthAccessToken) bool { return false },
				func(r oauthdb.OAuthRefreshToken) bool { return r.ClientID == t.ClientID && r.UserID == t.UserID })
			return true, n, tokenFail(kindRefresh, t.ID, oauthdb.ErrTokenRevoked)
		}
		none := func(oauthdb.OAuthAccessToken) bool { return false }
		return true, m.revoke(none, func(r oauthdb.OAuthRefreshToken) bool { return r.ID == t.ID }), nil
	}
	var order []func() (bool, int, error)
	switch hint {
	case "access_token":
		order = append(order, access)
	case "refresh_token":
		order = append(order, refresh)
	default:
		order = append(order, access, refresh)
	}
	for _, try := range order {
		if found, n, err := try(); found {
			return n, err
		}
	}
	return 0, nil
}

// RevokeRefreshTokenByID is oauthdb.Tx.RevokeRefreshTokenByID:
// RevokeRefreshToken for a token known by its record ID, which must exist.
func (m *Model) RevokeRefreshTokenByID(id string) (int, error) {
	if _, ok := m.RefreshTokens[id]; !ok {
		return 0, fail(oauthdb.TableOAuthRefreshToken, "id", oauthdb.ErrNotFound)
	}
	none := func(oauthdb.OAuthAccessToken) bool { return false }
	return m.revoke(none, func(r oauthdb.OAuthRefreshToken) bool { return r.ID == id }), nil
}

// RevokeSession revokes every token of a session.
func (m *Model) RevokeSession(sessionID string) (int, error) {
	return m.revoke(
		func(t oauthdb.OAuthAccessToken) bool { return refers(t.SessionID, sessionID) },
		func(t oauthdb.OAuthRefreshToken) bool { return refers(t.SessionID, sessionID) }), nil
}

// RevokeUser revokes every token of a user.
func (m *Model) RevokeUser(userID string) (int, error) {
	return m.revoke(
		func(t oauthdb.OAuthAccessToken) bool { return refers(t.UserID, userID) },
		func(t oauthdb.OAuthRefreshToken) bool { return refers(t.UserID, userID) }), nil
}

// RevokeClient revokes every token of a client, by its public clientId.
func (m *Model) RevokeClient(clientID string) (int, error) {
	return m.revoke(
		func(t oauthdb.OAuthAccessToken) bool { return refers(t.ClientID, clientID) },
		func(t oauthdb.OAuthRefreshToken) bool { return refers(t.ClientID, clientID) }), nil
}

// RevokeAuthorizationCode revokes every token issued from a code, by the
// code's hash.
func (m *Model) RevokeAuthorizationCode(codeHash string) (int, error) {
	if codeHash == "" {
		return 0, fail(oauthdb.TableOAuthAccessToken, "authorizationCodeId", oauthdb.ErrInvalid)
	}
	return m.revoke(
		func(t oauthdb.OAuthAccessToken) bool { return t.AuthorizationCodeID == codeHash },
		func(t oauthdb.OAuthRefreshToken) bool { return t.AuthorizationCodeID == codeHash }), nil
}

// RevokeClientUser revokes every token a client holds for a user.
func (m *Model) RevokeClientUser(clientID, userID string) (int, error) {
	mine := func(c, u string) bool { return refers(c, clientID) && refers(u, userID) }
	return m.revoke(
		func(t oauthdb.OAuthAccessToken) bool { return mine(t.ClientID, t.UserID) },
		func(t oauthdb.OAuthRefreshToken) bool { return mine(t.ClientID, t.UserID) }), nil
}

// ---- consent ----

// GrantConsent is oauthdb.DB.GrantConsent; id is the ID oauthdb generated,
// used if a new consent is stored.
func (m *Model) GrantConsent(clientID, userID, referenceID string, scopes []string, id string) (oauthdb.OAuthConsent, error) {
	if err := m.consentParties(clientID, userID, scopes); err != nil {
		return oauthdb.OAuthConsent{}, err
	}
	now := m.now()
	if c, ok := m.consentFor(clientID, userID, referenceID); ok {
		c.Scopes = slices.Clone(scopes)
		c.UpdatedAt = now
		m.Consents[c.ID] = c
		return c, nil
	}
	c := oauthdb.OAuthConsent{ID: id, ClientID: clientID, UserID: userID, ReferenceID: referenceID,
		Scopes: slices.Clone(scopes), CreatedAt: now, UpdatedAt: now}
	if err := m.InsertConsent(c); err != nil {
		return oauthdb.OAuthConsent{}, err
	}
	return c, nil
}

// consentParties checks what a consent operation is given: scope-tokens, a
// client that exists and, if one is named, a user that exists.
func (m *Model) consentParties(clientID, userID string, scopes []string) error {
	if !scopeTokens(scopes) {
		return fail(oauthdb.TableOAuthConsent, "scopes", oauthdb.ErrInvalid)
	}
	if !m.clientExists(clientID) {
		return fail(oauthdb.TableOAuthClient, "clientId", oauthdb.ErrNotFound)
	}
	if userID != "" && !m.userExists(userID) {
		return fail(oauthdb.TableUser, "id", oauthdb.ErrNotFound)
	}
	return nil
}

// CheckConsent is oauthdb.DB.CheckConsent.
func (m *Model) CheckConsent(clientID, userID, referenceID string, scopes []string) error {
	if err := m.consentParties(clientID, userID, scopes); err != nil {
		return err
	}
	if c, ok := m.clientByClientID(clientID); ok && c.SkipConsent {
		return nil
	}
	granted, ok := m.consentFor(clientID, userID, referenceID)
	if !ok || !subset(scopes, granted.Scopes) {
		return fail(oauthdb.TableOAuthConsent, "", oauthdb.ErrConsentRequired)
	}
	return nil
}

// RevokeConsent deletes the consent of (clientID, userID, referenceID).
func (m *Model) RevokeConsent(clientID, userID, referenceID string) (int, error) {
	c, ok := m.consentFor(clientID, userID, referenceID)
	if !ok {
		return 0, nil
	}
	delete(m.Consents, c.ID)
	return 1, nil
}

// ConsentsOf is oauthdb.DB.Consents: a user's consents in ID order.
func (m *Model) ConsentsOf(userID string) []oauthdb.OAuthConsent {
	return where(m.Consents, func(c oauthdb.OAuthConsent) bool { return refers(c.UserID, userID) })
}

// ---- expiry ----

// SweepExpired is oauthdb.DB.SweepExpired: it deletes at most limit expired
// rows, access tokens first, then refresh tokens, sessions and
// verifications, each table soonest-expired first (ties by ID). Rows that go
// with a deleted row are not counted.
func (m *Model) SweepExpired(limit int) (oauthdb.SweepResult, error) {
	var res oauthdb.SweepResult
	now := m.now()
	left := max(limit, 0)
	for _, id := range expiredIDs(m.AccessTokens, now, left, func(t oauthdb.OAuthAccessToken) time.Time { return t.ExpiresAt }) {
		delete(m.AccessTokens, id)
		res.AccessTokens++
	}
	left -= res.AccessTokens
	for _, id := range expiredIDs(m.RefreshTokens, now, left, func(t oauthdb.OAuthRefreshToken) time.Time { return t.ExpiresAt }) {
		m.deleteRefreshToken(id)
		res.RefreshTokens++
	}
	left -= res.RefreshTokens
	for _, id := range expiredIDs(m.Sessions, now, left, func(s oauthdb.Session) time.Time { return s.ExpiresAt }) {
		m.deleteSession(id)
		res.Sessions++
	}
	left -= res.Sessions
	for _, id := range expiredIDs(m.Verifications, now, left, func(v oauthdb.Verification) time.Time { return v.ExpiresAt }) {
		delete(m.Verifications, id)
		res.Verifications++
	}
	return res, nil
}

// expiredIDs returns up to limit IDs of expired rows, soonest-expired first.
func expiredIDs[T any](table map[string]T, now time.Time, limit int, expiresAt func(T) time.Time) []string {
	var ids []string
	for id, rec := range table {
		if expired(expiresAt(rec), now) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := expiresAt(table[ids[i]]), expiresAt(table[ids[j]])
		if !a.Equal(b) {
			return a.Before(b)
		}
		return ids[i] < ids[j]
	})
	return ids[:min(limit, len(ids))]
}

// ---- client authentication ----

// AuthenticateClient is oauthdb.DB.AuthenticateClient: a public client
// (public, or authenticating with "none") presents no secret; any other
// presents the one whose hash is stored, and has one.
func (m *Model) AuthenticateClient(clientID, secret string) (oauthdb.OAuthClient, error) {
	if clientID == "" {
		return oauthdb.OAuthClient{}, noCaller
	}
	c, ok := m.clientByClientID(clientID)
	switch {
	case !ok:
		return oauthdb.OAuthClient{}, fail(oauthdb.TableOAuthClient, "clientId", oauthdb.ErrNotFound)
	case c.Disabled:
		return oauthdb.OAuthClient{}, fail(oauthdb.TableOAuthClient, "clientId", oauthdb.ErrClientDisabled)
	}
	public := c.Public || c.TokenEndpointAuthMethod == "none"
	if public && secret == "" || !public && c.ClientSecret != "" && secret != "" && Hash(secret) == c.ClientSecret {
		return c, nil
	}
	return oauthdb.OAuthClient{}, fail(oauthdb.TableOAuthClient, "clientSecret", oauthdb.ErrBadSecret)
}

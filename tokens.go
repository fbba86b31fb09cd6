package oauthdb

import (
	"slices"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

const (
	kindAccess  = "access token"
	kindRefresh = "refresh token"
)

// AccessTokenInfo is an active access token joined with its client and,
// when it has them, its user and session: all four read from one snapshot.
type AccessTokenInfo struct {
	// Token is the token's record.
	Token OAuthAccessToken
	// Client is the client the token was issued to.
	Client OAuthClient
	// User is the token's user; zero (empty ID) for a client-credentials
	// token.
	User User
	// Session is the token's session; zero when it has none or, in lenient
	// mode, when its session has expired or is gone.
	Session Session
}

// ValidateAccessToken checks an opaque access token as a resource server
// must: it looks the token up by its hash, checks that it has not expired,
// that its client exists and is not disabled, that its user exists (if it
// has one) and that its session exists and has not expired (if it has one;
// see WithLenientSessions). All of it reads one snapshot.
//
// An inactive token returns a *TokenError whose reason is ErrTokenMalformed,
// ErrTokenNotFound, ErrTokenExpired, ErrTokenRevoked, ErrClientNotFound,
// ErrClientDisabled, ErrUserNotFound, ErrSessionNotFound or
// ErrSessionExpired. This is the hot path: it allocates only what go-memdb's
// lookups do.
func (db *DB) ValidateAccessToken(token string) (AccessTokenInfo, error) {
	return db.validateAccess(token, "")
}

// IntrospectAccessToken is ValidateAccessToken for a calling client, as
// RFC 7662 introspection needs: a token issued to another client is
// inactive to it, with ErrWrongClient.
func (db *DB) IntrospectAccessToken(token, clientID string) (AccessTokenInfo, error) {
	return db.validateAccess(token, clientID)
}

func (db *DB) validateAccess(token, caller string) (AccessTokenInfo, error) {
	var info AccessTokenInfo
	err := validate(db, kindAccess, token, caller, accessTokensByHash, accessOwner,
		&info.Token, &info.Client, &info.User, &info.Session)
	if err != nil {
		return AccessTokenInfo{}, err
	}
	return info, nil
}

// owner is what validation reads of a token record, of either kind.
type owner struct {
	id, clientID, userID, sessionID string
	expiresAt, revoked              time.Time
}

func accessOwner(t *OAuthAccessToken) owner {
	return owner{t.ID, t.ClientID, t.UserID, t.SessionID, t.ExpiresAt, t.Revoked}
}

func refreshOwner(t *OAuthRefreshToken) owner {
	return owner{t.ID, t.ClientID, t.UserID, t.SessionID, t.ExpiresAt, t.Revoked}
}

// validate checks a token of either kind, from one snapshot: found by its
// hash, the caller's (if a caller is given), unexpired and unrevoked, and its
// owners active. It fills rec with the token's record and the others with
// its owners.
func validate[T any](db *DB, kind, token, caller string, byHash *store.Index[T, string], of func(*T) owner,
	rec *T, client *OAuthClient, user *User, session *Session) error {
	if err := checkToken(kind, token); err != nil {
		return err
	}
	var buf [64]byte
	h := db.hash(buf[:0], token)
	return db.st.View(func(tx *store.Txn) error {
		t, ok := store.FirstBytes(tx, byHash, h)
		if !ok {
			return &TokenError{Kind: kind, Err: ErrTokenNotFound}
		}
		o := of(t)
		if caller != "" && o.clientID != caller {
			return &TokenError{Kind: kind, Err: ErrWrongClient}
		}
		now := db.cfg.now()
		if !now.Before(o.expiresAt) {
			return &TokenError{Kind: kind, ID: o.id, Err: ErrTokenExpired}
		}
		if !o.revoked.IsZero() {
			return &TokenError{Kind: kind, ID: o.id, Err: ErrTokenRevoked}
		}
		*rec = *t
		return db.joinOwner(tx, kind, o, now, client, user, session)
	})
}

// joinOwner reads a token's client, user and session and checks that they
// let the token be active.
func (db *DB) joinOwner(tx *store.Txn, kind string, o owner, now time.Time,
	client *OAuthClient, user *User, session *Session) error {
	id, clientID, userID, sessionID := o.id, o.clientID, o.userID, o.sessionID
	c, ok := clientsByClientID.First(tx, clientID)
	if !ok {
		return &TokenError{Kind: kind, ID: id, Err: ErrClientNotFound}
	}
	if c.Disabled {
		return &TokenError{Kind: kind, ID: id, Err: ErrClientDisabled}
	}
	*client = *c
	if userID != "" {
		u, ok := users.Get(tx, userID)
		if !ok {
			return &TokenError{Kind: kind, ID: id, Err: ErrUserNotFound}
		}
		*user = *u
	}
	if sessionID != "" {
		s, ok := sessions.Get(tx, sessionID)
		switch {
		case ok && now.Before(s.ExpiresAt):
			*session = *s
		case db.cfg.lenientSessions:
			// 1.4–1.6: the token outlives its session.
		case !ok:
			return &TokenError{Kind: kind, ID: id, Err: ErrSessionNotFound}
		default:
			return &TokenError{Kind: kind, ID: id, Err: ErrSessionExpired}
		}
	}
	return nil
}

// RefreshTokenInfo is an active refresh token joined with its client, user
// and session, read from one snapshot.
type RefreshTokenInfo struct {
	// Token is the token's record.
	Token OAuthRefreshToken
	// Client is the client the token was issued to.
	Client OAuthClient
	// User is the token's user.
	User User
	// Session is the token's session, if it has one (see AccessTokenInfo).
	Session Session
}

// ValidateRefreshToken checks a refresh token as ValidateAccessToken checks
// an access token; a revoked refresh token is inactive (ErrTokenRevoked).
// It changes nothing: use RotateRefreshToken to redeem one.
func (db *DB) ValidateRefreshToken(token string) (RefreshTokenInfo, error) {
	return db.validateRefresh(token, "")
}

// IntrospectRefreshToken is ValidateRefreshToken for a calling client: a
// token issued to another client is inactive to it, with ErrWrongClient.
func (db *DB) IntrospectRefreshToken(token, clientID string) (RefreshTokenInfo, error) {
	return db.validateRefresh(token, clientID)
}

func (db *DB) validateRefresh(token, caller string) (RefreshTokenInfo, error) {
	var info RefreshTokenInfo
	err := validate(db, kindRefresh, token, caller, refreshTokensByHash, refreshOwner,
		&info.Token, &info.Client, &info.User, &info.Session)
	if err != nil {
		return RefreshTokenInfo{}, err
	}
	return info, nil
}

// IssueRequest asks for tokens for a client, and for a user and session
// unless it is a client-credentials grant.
type IssueRequest struct {
	// ClientID is the public client identifier (oauthClient.clientId).
	ClientID string
	// UserID is the user the tokens act for; empty for client credentials.
	UserID string
	// SessionID is the user's session, if the grant came from one.
	SessionID string
	// ReferenceID is better-auth's optional reference (an organisation, say).
	ReferenceID string
	// Scopes are the granted scopes. When the client has a list of allowed
	// scopes, they must all be in it.
	Scopes []string
	// Refresh asks for a refresh token too; it needs a UserID.
	Refresh bool
}

// IssueTokens issues an access token and, when asked, a refresh token that
// the access token is linked to by refreshId, in one transaction. The client
// must exist and not be disabled; the user and session, when given, must
// exist (else ErrNotFound, as for the client) and the session must be the
// user's and not have expired. It returns the plaintext tokens, which are
// not stored and cannot be read again.
func (db *DB) IssueTokens(req IssueRequest) (IssuedTokens, error) {
	var out IssuedTokens
	err := db.Update(func(tx *Tx) error {
		var err error
		out, err = tx.IssueTokens(req)
		return err
	})
	if err != nil {
		return IssuedTokens{}, err
	}
	return out, nil
}

// IssueTokens is DB.IssueTokens inside a write transaction, for a grant that
// must change other records in the same commit (consuming an authorization
// code, say). A refused request changes nothing.
func (tx *Tx) IssueTokens(req IssueRequest) (IssuedTokens, error) {
	now := tx.db.cfg.now()
	c, ok := clientsByClientID.First(tx.st, req.ClientID)
	if !ok {
		return IssuedTokens{}, &Error{Table: TableOAuthClient, Field: "clientId", Value: req.ClientID, Err: ErrNotFound}
	}
	if c.Disabled {
		return IssuedTokens{}, &Error{Table: TableOAuthClient, Field: "clientId", Value: req.ClientID, Reason: "client disabled", Err: ErrClientDisabled}
	}
	if len(c.Scopes) > 0 {
		if s, ok := missingScope(req.Scopes, c.Scopes); !ok {
			return IssuedTokens{}, &Error{Table: TableOAuthClient, Field: "scopes", Value: s, Reason: "scope not allowed for the client", Err: ErrScopeNotGranted}
		}
	}
	if req.UserID != "" {
		if _, ok := users.Get(tx.st, req.UserID); !ok {
			return IssuedTokens{}, &Error{Table: TableUser, Field: "id", Value: req.UserID, Err: ErrNotFound}
		}
	}
	if req.SessionID != "" {
		s, ok := sessions.Get(tx.st, req.SessionID)
		if !ok {
			return IssuedTokens{}, &Error{Table: TableSession, Field: "id", Value: req.SessionID, Err: ErrNotFound}
		}
		if !now.Before(s.ExpiresAt) {
			return IssuedTokens{}, &Error{Table: TableSession, Field: "id", Value: req.SessionID, Reason: "session expired", Err: ErrSessionExpired}
		}
		if s.UserID != req.UserID {
			return IssuedTokens{}, &Error{Table: TableSession, Field: "userId", Value: req.UserID, Reason: "session belongs to another user", Err: ErrInvalid}
		}
	}
	if req.Refresh && req.UserID == "" {
		return IssuedTokens{}, &Error{Table: TableOAuthRefreshToken, Field: "userId", Reason: "a refresh token needs a user", Err: ErrInvalid}
	}
	return tx.db.issue(tx, now, req.ClientID, req.UserID, req.SessionID, req.ReferenceID, req.Scopes, req.Refresh)
}

// issue stores a new access token and, if refresh, a refresh token it is
// linked to.
func (db *DB) issue(tx *Tx, now time.Time, clientID, userID, sessionID, referenceID string,
	scopes []string, refresh bool) (IssuedTokens, error) {
	var out IssuedTokens
	var err error
	if refresh {
		if out.RefreshToken, err = db.newToken(); err != nil {
			return out, err
		}
		id, err := db.NewID()
		if err != nil {
			return out, err
		}
		out.Refresh = OAuthRefreshToken{
			ID: id, Token: db.hashString(out.RefreshToken), ClientID: clientID, SessionID: sessionID,
			UserID: userID, ReferenceID: referenceID, Scopes: slices.Clone(scopes),
			ExpiresAt: now.Add(db.cfg.refreshTTL), CreatedAt: now,
		}
		if err := refreshTokens.Insert(tx.st, &out.Refresh); err != nil {
			return out, err
		}
	}
	if out.AccessToken, err = db.newToken(); err != nil {
		return out, err
	}
	id, err := db.NewID()
	if err != nil {
		return out, err
	}
	out.Access = OAuthAccessToken{
		ID: id, Token: db.hashString(out.AccessToken), ClientID: clientID, SessionID: sessionID,
		UserID: userID, ReferenceID: referenceID, RefreshID: out.Refresh.ID, Scopes: slices.Clone(scopes),
		ExpiresAt: now.Add(db.cfg.accessTTL), CreatedAt: now,
	}
	if err := accessTokens.Insert(tx.st, &out.Access); err != nil {
		return out, err
	}
	return out, nil
}

func (db *DB) hashString(token string) string {
	var buf [64]byte
	return string(db.hash(buf[:0], token))
}

// RotateRefreshToken redeems a refresh token for new tokens, as the
// refresh_token grant does, in one write transaction. The token must belong
// to clientID, be unexpired and unrevoked, and its client and session must
// be active. It is then revoked, and a new refresh token (same client, user,
// session and reference) and a new access token linked to it are issued.
// scopes may narrow the token's scopes, never widen them; nil keeps them.
//
// A refresh token that was already revoked is a replay — someone holds a
// stolen copy, or two rotations raced and this one lost. Then the whole
// family, every refresh token of that client and user, is revoked with the
// access tokens issued with them, and the error is ErrTokenReplayed. Of two concurrent
// rotations of one token exactly one succeeds.
func (db *DB) RotateRefreshToken(token, clientID string, scopes []string) (IssuedTokens, error) {
	if err := checkToken(kindRefresh, token); err != nil {
		return IssuedTokens{}, err
	}
	var out IssuedTokens
	var replay error
	var buf [64]byte
	h := db.hash(buf[:0], token)
	err := db.Update(func(tx *Tx) error {
		t, ok := store.FirstBytes(tx.st, refreshTokensByHash, h)
		if !ok {
			return &TokenError{Kind: kindRefresh, Err: ErrTokenNotFound}
		}
		if t.ClientID != clientID {
			return &TokenError{Kind: kindRefresh, Err: ErrWrongClient}
		}
		now := db.cfg.now()
		if !now.Before(t.ExpiresAt) {
			return &TokenError{Kind: kindRefresh, ID: t.ID, Err: ErrTokenExpired}
		}
		if !t.Revoked.IsZero() {
			// Commit the family's revocation, then report the replay.
			if _, err := revokeFamily(tx, t.ClientID, t.UserID, now); err != nil {
				return err
			}
			replay = &TokenError{Kind: kindRefresh, ID: t.ID, Err: ErrTokenReplayed}
			return nil
		}
		var c OAuthClient
		var u User
		var s Session
		if err := db.joinOwner(tx.st, kindRefresh, refreshOwner(t), now, &c, &u, &s); err != nil {
			return err
		}
		if scopes == nil {
			scopes = t.Scopes
		} else if sc, ok := missingScope(scopes, t.Scopes); !ok {
			return &Error{Table: TableOAuthRefreshToken, Field: "scopes", Value: sc, Reason: "a refresh cannot widen the scopes", Err: ErrScopeNotGranted}
		}
		revoked := *t
		revoked.Revoked = now
		if err := refreshTokens.Update(tx.st, &revoked); err != nil {
			return err
		}
		var err error
		out, err = db.issue(tx, now, t.ClientID, t.UserID, s.ID, t.ReferenceID, scopes, true)
		out.Previous = revoked
		return err
	})
	if err == nil {
		err = replay
	}
	if err != nil {
		return IssuedTokens{}, err
	}
	return out, nil
}

// missingScope returns the first of want that is not in have.
func missingScope(want, have []string) (string, bool) {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return s, false
		}
	}
	return "", true
}

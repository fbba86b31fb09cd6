package refmodel

import (
	"slices"
	"time"

	"github.com/oauthdb/oauthdb"
)

// Plain writes, one table at a time. Insert fills a zero createdAt (and
// updatedAt) from the clock; Update keeps the stored createdAt if given a
// zero one, and sets updatedAt. Tokens have no updatedAt.

func (m *Model) stamp(created, updated *time.Time) {
	now := m.now()
	if created.IsZero() {
		*created = now
	}
	if updated != nil && updated.IsZero() {
		*updated = now
	}
}

// keepCreatedAt gives an update with a zero createdAt the stored one:
// createdAt is required, and an update does not create.
func keepCreatedAt(created *time.Time, stored time.Time) {
	if created.IsZero() {
		*created = stored
	}
}

// ---- user ----

func (m *Model) userChecks(u oauthdb.User, insert bool) error {
	_, exists := m.Users[u.ID]
	other, taken := m.userByEmail(u.Email)
	return first(oauthdb.TableUser,
		check{validUser(u), "", oauthdb.ErrInvalid},
		idCheck(exists, insert),
		check{!taken || other.ID == u.ID, "email", oauthdb.ErrConflict},
	)
}

// idCheck is the primary key's rule: an insert needs a new id, an update an
// existing one.
func idCheck(exists, insert bool) check {
	if insert {
		return check{!exists, "id", oauthdb.ErrConflict}
	}
	return check{exists, "id", oauthdb.ErrNotFound}
}

// InsertUser stores a new user.
func (m *Model) InsertUser(u oauthdb.User) error {
	m.stamp(&u.CreatedAt, &u.UpdatedAt)
	if err := m.userChecks(u, true); err != nil {
		return err
	}
	m.Users[u.ID] = u
	return nil
}

// UpdateUser replaces the user with u.ID.
func (m *Model) UpdateUser(u oauthdb.User) error {
	keepCreatedAt(&u.CreatedAt, m.Users[u.ID].CreatedAt)
	u.UpdatedAt = m.now()
	if err := m.userChecks(u, false); err != nil {
		return err
	}
	m.Users[u.ID] = u
	return nil
}

// DeleteUser deletes a user and everything that belongs to them.
func (m *Model) DeleteUser(id string) error {
	if _, ok := m.Users[id]; !ok {
		return fail(oauthdb.TableUser, "id", oauthdb.ErrNotFound)
	}
	m.deleteUser(id)
	return nil
}

// deleteUser carries out the user's delete actions: everything with this
// userId goes (cascade), and with it what cascades from that.
func (m *Model) deleteUser(id string) {
	delete(m.Users, id)
	for _, s := range where(m.Sessions, func(s oauthdb.Session) bool { return s.UserID == id }) {
		m.deleteSession(s.ID)
	}
	for _, c := range where(m.Clients, func(c oauthdb.OAuthClient) bool { return c.UserID == id }) {
		m.deleteClient(c.ID)
	}
	for _, t := range where(m.RefreshTokens, func(t oauthdb.OAuthRefreshToken) bool { return t.UserID == id }) {
		m.deleteRefreshToken(t.ID)
	}
	for _, t := range where(m.AccessTokens, func(t oauthdb.OAuthAccessToken) bool { return t.UserID == id }) {
		delete(m.AccessTokens, t.ID)
	}
	for _, c := range where(m.Consents, func(c oauthdb.OAuthConsent) bool { return c.UserID == id }) {
		delete(m.Consents, c.ID)
	}
}

// ---- session ----

func (m *Model) sessionChecks(s oauthdb.Session, insert bool) error {
	old, exists := m.Sessions[s.ID]
	other, taken := m.sessionByToken(s.Token)
	// A token's session is its user's: the user cannot change under it.
	keepsUser := !exists || old.UserID == s.UserID || !m.sessionReferenced(s.ID)
	return first(oauthdb.TableSession,
		check{validSession(s), "", oauthdb.ErrInvalid},
		idCheck(exists, insert),
		check{!taken || other.ID == s.ID, "token", oauthdb.ErrConflict},
		check{m.userExists(s.UserID), "userId", oauthdb.ErrForeignKey},
		check{keepsUser, "userId", oauthdb.ErrForeignKey},
	)
}

// sessionReferenced reports whether a token refers to the session.
func (m *Model) sessionReferenced(id string) bool {
	for _, t := range m.AccessTokens {
		if t.SessionID == id {
			return true
		}
	}
	for _, t := range m.RefreshTokens {
		if t.SessionID == id {
			return true
		}
	}
	return false
}

// sessionOf reports whether sessionID, if set, names a session of userID:
// a token's session is its user's.
func (m *Model) sessionOf(sessionID, userID string) bool {
	s, ok := m.Sessions[sessionID]
	return sessionID == "" || ok && s.UserID == userID
}

// InsertSession stores a new session.
func (m *Model) InsertSession(s oauthdb.Session) error {
	m.stamp(&s.CreatedAt, &s.UpdatedAt)
	if err := m.sessionChecks(s, true); err != nil {
		return err
	}
	m.Sessions[s.ID] = s
	return nil
}

// UpdateSession replaces the session with s.ID. In strict mode, a session
// that had expired and is extended does not bring back the tokens bound to
// it: its access tokens, and its refresh tokens without offline_access, are
// revoked.
func (m *Model) UpdateSession(s oauthdb.Session) error {
	old := m.Sessions[s.ID]
	keepCreatedAt(&s.CreatedAt, old.CreatedAt)
	now := m.now()
	s.UpdatedAt = now
	if err := m.sessionChecks(s, false); err != nil {
		return err
	}
	m.Sessions[s.ID] = s
	if !m.cfg.Lenient && expired(old.ExpiresAt, now) && !expired(s.ExpiresAt, now) {
		m.revokeSessionAccess(s.ID, now)
		for id, t := range m.RefreshTokens {
			if t.SessionID == s.ID && sessionBound(t) {
				m.RefreshTokens[id] = endedWithSession(t, now)
			}
		}
	}
	return nil
}

// endedWithSession is a refresh token that ended with its session: revoked
// (if it was not), and its grace window closed.
func endedWithSession(t oauthdb.OAuthRefreshToken, now time.Time) oauthdb.OAuthRefreshToken {
	if t.Revoked.IsZero() {
		t.Revoked = now
	}
	if inGrace(t, now) {
		t.RotationReplayExpiresAt = now
	}
	return t
}

// revokeSessionAccess sets revoked on the access tokens of a session that
// are not revoked yet.
func (m *Model) revokeSessionAccess(sessionID string, now time.Time) {
	for id, t := range m.AccessTokens {
		if t.SessionID == sessionID && t.Revoked.IsZero() {
			t.Revoked = now
			m.AccessTokens[id] = t
		}
	}
}

// DeleteSession deletes a session; its tokens stay, without a sessionId.
func (m *Model) DeleteSession(id string) error {
	if _, ok := m.Sessions[id]; !ok {
		return fail(oauthdb.TableSession, "id", oauthdb.ErrNotFound)
	}
	m.deleteSession(id)
	return nil
}

// deleteSession carries out the session's delete action: set null, and in
// strict mode its access tokens are revoked, and so are its refresh tokens
// granted without offline_access (better-auth 1.7's sign-out).
func (m *Model) deleteSession(id string) {
	delete(m.Sessions, id)
	if !m.cfg.Lenient {
		m.revokeSessionAccess(id, m.now())
	}
	for tid, t := range m.AccessTokens {
		if t.SessionID == id {
			t.SessionID = ""
			m.AccessTokens[tid] = t
		}
	}
	for tid, t := range m.RefreshTokens {
		if t.SessionID == id {
			if !m.cfg.Lenient && sessionBound(t) {
				t = endedWithSession(t, m.now())
			}
			t.SessionID = ""
			m.RefreshTokens[tid] = t
		}
	}
}

// ---- oauthClient ----

// clientReferenced reports whether any token or consent refers to clientID.
func (m *Model) clientReferenced(clientID string) bool {
	for _, t := range m.AccessTokens {
		if t.ClientID == clientID {
			return true
		}
	}
	for _, t := range m.RefreshTokens {
		if t.ClientID == clientID {
			return true
		}
	}
	for _, c := range m.Consents {
		if c.ClientID == clientID {
			return true
		}
	}
	return false
}

func (m *Model) clientChecks(c oauthdb.OAuthClient, insert bool) error {
	old, exists := m.Clients[c.ID]
	other, taken := m.clientByClientID(c.ClientID)
	keepsClientID := !exists || old.ClientID == c.ClientID || !m.clientReferenced(old.ClientID)
	return first(oauthdb.TableOAuthClient,
		check{validClient(c), "", oauthdb.ErrInvalid},
		idCheck(exists, insert),
		check{!taken || other.ID == c.ID, "clientId", oauthdb.ErrConflict},
		check{optionalFK(c.UserID, m.userExists), "userId", oauthdb.ErrForeignKey},
		check{keepsClientID, "clientId", oauthdb.ErrForeignKey},
	)
}

// InsertClient stores a new client.
func (m *Model) InsertClient(c oauthdb.OAuthClient) error {
	m.stamp(&c.CreatedAt, &c.UpdatedAt)
	if err := m.clientChecks(c, true); err != nil {
		return err
	}
	m.Clients[c.ID] = cloneClient(c)
	return nil
}

// UpdateClient replaces the client with c.ID; its clientId cannot change
// while tokens or consents refer to it. A disabled client enabled again
// does not bring its tokens back: they are revoked, as by RevokeClient.
func (m *Model) UpdateClient(c oauthdb.OAuthClient) error {
	old := m.Clients[c.ID]
	keepCreatedAt(&c.CreatedAt, old.CreatedAt)
	c.UpdatedAt = m.now()
	if err := m.clientChecks(c, false); err != nil {
		return err
	}
	m.Clients[c.ID] = cloneClient(c)
	if old.Disabled && !c.Disabled {
		m.RevokeClient(c.ClientID)
	}
	return nil
}

// DeleteClient deletes a client with its tokens and consents.
func (m *Model) DeleteClient(id string) error {
	if _, ok := m.Clients[id]; !ok {
		return fail(oauthdb.TableOAuthClient, "id", oauthdb.ErrNotFound)
	}
	m.deleteClient(id)
	return nil
}

// deleteClient carries out the client's delete actions: its tokens and
// consents, found by clientId, go.
func (m *Model) deleteClient(id string) {
	clientID := m.Clients[id].ClientID
	delete(m.Clients, id)
	for _, t := range where(m.RefreshTokens, func(t oauthdb.OAuthRefreshToken) bool { return t.ClientID == clientID }) {
		m.deleteRefreshToken(t.ID)
	}
	for _, t := range where(m.AccessTokens, func(t oauthdb.OAuthAccessToken) bool { return t.ClientID == clientID }) {
		delete(m.AccessTokens, t.ID)
	}
	for _, c := range where(m.Consents, func(c oauthdb.OAuthConsent) bool { return c.ClientID == clientID }) {
		delete(m.Consents, c.ID)
	}
}

// ---- oauthAccessToken ----

func (m *Model) accessChecks(t oauthdb.OAuthAccessToken, insert bool) error {
	_, exists := m.AccessTokens[t.ID]
	other, taken := m.accessByHash(t.Token)
	rt, hasRefresh := m.RefreshTokens[t.RefreshID]
	return first(oauthdb.TableOAuthAccessToken,
		check{validAccessToken(t), "", oauthdb.ErrInvalid},
		idCheck(exists, insert),
		check{!taken || other.ID == t.ID, "token", oauthdb.ErrConflict},
		check{m.clientExists(t.ClientID), "clientId", oauthdb.ErrForeignKey},
		check{optionalFK(t.SessionID, m.sessionExists), "sessionId", oauthdb.ErrForeignKey},
		check{optionalFK(t.UserID, m.userExists), "userId", oauthdb.ErrForeignKey},
		check{optionalFK(t.RefreshID, m.refreshExists), "refreshId", oauthdb.ErrForeignKey},
		// A token's session is its user's; its refresh token is its client's.
		check{m.sessionOf(t.SessionID, t.UserID), "sessionId", oauthdb.ErrForeignKey},
		check{t.RefreshID == "" || hasRefresh && rt.ClientID == t.ClientID, "refreshId", oauthdb.ErrForeignKey},
	)
}

// InsertAccessToken stores a new access token.
func (m *Model) InsertAccessToken(t oauthdb.OAuthAccessToken) error {
	m.stamp(&t.CreatedAt, nil)
	if err := m.accessChecks(t, true); err != nil {
		return err
	}
	t.Scopes = slices.Clone(t.Scopes)
	m.AccessTokens[t.ID] = t
	return nil
}

// UpdateAccessToken replaces the access token with t.ID.
func (m *Model) UpdateAccessToken(t oauthdb.OAuthAccessToken) error {
	keepCreatedAt(&t.CreatedAt, m.AccessTokens[t.ID].CreatedAt)
	if err := m.accessChecks(t, false); err != nil {
		return err
	}
	t.Scopes = slices.Clone(t.Scopes)
	m.AccessTokens[t.ID] = t
	return nil
}

// DeleteAccessToken deletes an access token.
func (m *Model) DeleteAccessToken(id string) error {
	if _, ok := m.AccessTokens[id]; !ok {
		return fail(oauthdb.TableOAuthAccessToken, "id", oauthdb.ErrNotFound)
	}
	delete(m.AccessTokens, id)
	return nil
}

// ---- oauthRefreshToken ----

func (m *Model) refreshChecks(t oauthdb.OAuthRefreshToken, insert bool) error {
	old, exists := m.RefreshTokens[t.ID]
	other, taken := m.refreshByHash(t.Token)
	// An access token's refresh token is its client's: the client cannot
	// change under it.
	keepsClient := !exists || old.ClientID == t.ClientID || len(m.RefreshTokenAccessTokens(old)) == 0
	return first(oauthdb.TableOAuthRefreshToken,
		check{validRefreshToken(t), "", oauthdb.ErrInvalid},
		idCheck(exists, insert),
		check{!taken || other.ID == t.ID, "token", oauthdb.ErrConflict},
		check{m.clientExists(t.ClientID), "clientId", oauthdb.ErrForeignKey},
		check{optionalFK(t.SessionID, m.sessionExists), "sessionId", oauthdb.ErrForeignKey},
		check{m.userExists(t.UserID), "userId", oauthdb.ErrForeignKey},
		check{m.sessionOf(t.SessionID, t.UserID), "sessionId", oauthdb.ErrForeignKey},
		check{keepsClient, "clientId", oauthdb.ErrForeignKey},
	)
}

// InsertRefreshToken stores a new refresh token.
func (m *Model) InsertRefreshToken(t oauthdb.OAuthRefreshToken) error {
	m.stamp(&t.CreatedAt, nil)
	if err := m.refreshChecks(t, true); err != nil {
		return err
	}
	t.Scopes = slices.Clone(t.Scopes)
	m.RefreshTokens[t.ID] = t
	return nil
}

// UpdateRefreshToken replaces the refresh token with t.ID.
func (m *Model) UpdateRefreshToken(t oauthdb.OAuthRefreshToken) error {
	keepCreatedAt(&t.CreatedAt, m.RefreshTokens[t.ID].CreatedAt)
	if err := m.refreshChecks(t, false); err != nil {
		return err
	}
	t.Scopes = slices.Clone(t.Scopes)
	m.RefreshTokens[t.ID] = t
	return nil
}

// DeleteRefreshToken deletes a refresh token with its access tokens.
func (m *Model) DeleteRefreshToken(id string) error {
	if _, ok := m.RefreshTokens[id]; !ok {
		return fail(oauthdb.TableOAuthRefreshToken, "id", oauthdb.ErrNotFound)
	}
	m.deleteRefreshToken(id)
	return nil
}

// deleteRefreshToken carries out the refresh token's delete action: the
// access tokens issued with it go.
func (m *Model) deleteRefreshToken(id string) {
	delete(m.RefreshTokens, id)
	for tid, t := range m.AccessTokens {
		if t.RefreshID == id {
			delete(m.AccessTokens, tid)
		}
	}
}

// ---- oauthConsent ----

func (m *Model) consentChecks(c oauthdb.OAuthConsent, insert bool) error {
	_, exists := m.Consents[c.ID]
	other, taken := m.consentFor(c.ClientID, c.UserID, c.ReferenceID)
	return first(oauthdb.TableOAuthConsent,
		check{validConsent(c), "", oauthdb.ErrInvalid},
		idCheck(exists, insert),
		check{!taken || other.ID == c.ID, "clientId,userId,referenceId", oauthdb.ErrConflict},
		check{m.clientExists(c.ClientID), "clientId", oauthdb.ErrForeignKey},
		check{optionalFK(c.UserID, m.userExists), "userId", oauthdb.ErrForeignKey},
	)
}

// InsertConsent stores a new consent.
func (m *Model) InsertConsent(c oauthdb.OAuthConsent) error {
	m.stamp(&c.CreatedAt, &c.UpdatedAt)
	if err := m.consentChecks(c, true); err != nil {
		return err
	}
	c.Scopes = slices.Clone(c.Scopes)
	m.Consents[c.ID] = c
	return nil
}

// UpdateConsent replaces the consent with c.ID.
func (m *Model) UpdateConsent(c oauthdb.OAuthConsent) error {
	keepCreatedAt(&c.CreatedAt, m.Consents[c.ID].CreatedAt)
	c.UpdatedAt = m.now()
	if err := m.consentChecks(c, false); err != nil {
		return err
	}
	c.Scopes = slices.Clone(c.Scopes)
	m.Consents[c.ID] = c
	return nil
}

// DeleteConsent deletes a consent.
func (m *Model) DeleteConsent(id string) error {
	if _, ok := m.Consents[id]; !ok {
		return fail(oauthdb.TableOAuthConsent, "id", oauthdb.ErrNotFound)
	}
	delete(m.Consents, id)
	return nil
}

// ---- verification ----

func (m *Model) verificationChecks(v oauthdb.Verification, insert bool) error {
	_, exists := m.Verifications[v.ID]
	other, taken := m.verificationByIdentifier(v.Identifier)
	return first(oauthdb.TableVerification,
		check{validVerification(v), "", oauthdb.ErrInvalid},
		idCheck(exists, insert),
		check{!taken || other.ID == v.ID, "identifier", oauthdb.ErrConflict},
	)
}

// InsertVerification stores a new verification.
func (m *Model) InsertVerification(v oauthdb.Verification) error {
	m.stamp(&v.CreatedAt, &v.UpdatedAt)
	if err := m.verificationChecks(v, true); err != nil {
		return err
	}
	m.Verifications[v.ID] = v
	return nil
}

// UpdateVerification replaces the verification with v.ID.
func (m *Model) UpdateVerification(v oauthdb.Verification) error {
	keepCreatedAt(&v.CreatedAt, m.Verifications[v.ID].CreatedAt)
	v.UpdatedAt = m.now()
	if err := m.verificationChecks(v, false); err != nil {
		return err
	}
	m.Verifications[v.ID] = v
	return nil
}

// DeleteVerification deletes a verification.
func (m *Model) DeleteVerification(id string) error {
	if _, ok := m.Verifications[id]; !ok {
		return fail(oauthdb.TableVerification, "id", oauthdb.ErrNotFound)
	}
	delete(m.Verifications, id)
	return nil
}

package oauthdb

import (
	"iter"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

// Every relation of the data model, declared once, with the names that
// better-auth's Drizzle schema gives them. A one relation follows a foreign
// key to a unique index of its target and carries the delete action; a many
// relation is its inverse, a lookup on the source table's index of that key.
//
// Tokens and consents refer to oauthClient.clientId, the public identifier,
// not to oauthClient.id.
var (
	clientUser = store.One("user", clientsByUser, users.ID(), store.Cascade)

	sessionUser = store.One("user", sessionsByUser, users.ID(), store.Cascade)

	accessTokenClient = store.OneIn("oauthClient", accessTokensByGrant, 1, clientsByClientID, clientKey, store.Cascade)
	// A token's refresh token is of its client.
	accessTokenRefreshToken = store.OneIn("oauthRefreshToken", accessTokensByGrant, 2, refreshTokens.ID(),
		func(t *OAuthRefreshToken) []string { return []string{t.ClientID, t.ID} }, store.Cascade)
	accessTokenUser = store.OneIn("user", accessTokensByHolder, 1, users.ID(), userKey, store.Cascade)
	// A token's session is of its user.
	accessTokenSession = store.OneIn("session", accessTokensByHolder, 2, sessions.ID(), sessionKey, store.SetNull).
				ClearWith(sessionGone)

	refreshTokenClient  = store.One("oauthClient", refreshTokensByClient, clientsByClientID, store.Cascade)
	refreshTokenUser    = store.OneIn("user", refreshTokensByHolder, 1, users.ID(), userKey, store.Cascade)
	refreshTokenSession = store.OneIn("session", refreshTokensByHolder, 2, sessions.ID(), sessionKey, store.SetNull).
				ClearWith(sessionGoneRefresh)

	consentClient = store.OneIn("oauthClient", consentsByGrant, 1, clientsByClientID, clientKey, store.Cascade)
	consentUser   = store.One("user", consentsByUser, users.ID(), store.Cascade)

	userSessions      = store.Many("sessions", sessionUser)
	userClients       = store.Many("oauthClients", clientUser)
	userRefreshTokens = store.Many("oauthRefreshTokens", refreshTokenUser)
	userAccessTokens  = store.Many("oauthAccessTokens", accessTokenUser)
	userConsents      = store.Many("oauthConsents", consentUser)

	sessionRefreshTokens = store.Many("oauthRefreshTokens", refreshTokenSession)
	sessionAccessTokens  = store.Many("oauthAccessTokens", accessTokenSession)

	clientRefreshTokens = store.Many("oauthRefreshTokens", refreshTokenClient)
	clientAccessTokens  = store.Many("oauthAccessTokens", accessTokenClient)
	clientConsents      = store.Many("oauthConsents", consentClient)

	refreshTokenAccessTokens = store.Many("oauthAccessTokens", accessTokenRefreshToken)
)

// The parts of compound indexes that name a client, a user or a session:
// what OneIn files their referrers under.
func clientKey(c *OAuthClient) []string { return []string{c.ClientID} }
func userKey(u *User) []string          { return []string{u.ID} }
func sessionKey(s *Session) []string    { return []string{s.UserID, s.ID} }

// sessionGone is what deleting a session — by DeleteSession, by the expiry
// sweep or with its user — does to its access tokens. In strict mode an
// access token does not outlive its session, and once its sessionId is
// cleared nothing else would keep it inactive: so its revoked is set too,
// in the same transaction. That is what better-auth 1.7 does on sign-out
// (the foreign key clears sessionId, then the plugin sets revoked), so the
// rows stay the ones better-auth would hold. In lenient mode (1.4–1.6) the
// token outlives its session and only sessionId is cleared.
func sessionGone(tx *store.Txn, t *OAuthAccessToken) {
	t.SessionID = ""
	if db := tx.Env().(*DB); !db.cfg.lenientSessions && t.Revoked.IsZero() {
		t.Revoked = db.now()
	}
}

// ScopeOfflineAccess is the scope that lets a refresh token outlive the
// session it was issued in (OpenID Connect Core §11).
const ScopeOfflineAccess = "offline_access"

// sessionGoneRefresh is what deleting a session does to its refresh tokens:
// sessionId is cleared, and in strict mode a refresh token bound to the
// session (granted without offline_access) is revoked, as better-auth 1.7's
// sign-out revokes it (see endedWithSession). One with offline_access
// outlives the session (its sid is dropped).
func sessionGoneRefresh(tx *store.Txn, t *OAuthRefreshToken) {
	db := tx.Env().(*DB)
	if db.boundToSession(refreshView(t)) {
		endedWithSession(t, db.now())
	}
	t.SessionID = ""
}

// endedWithSession writes down that a refresh token bound to its session
// ended with it: revoked, and its grace window closed if a rotation left it
// one (see closeGrace), so that nothing done to the session later — its
// row deleted, its expiry moved on — brings the token back.
func endedWithSession(t *OAuthRefreshToken, now time.Time) {
	if t.Revoked.IsZero() {
		t.Revoked = now
	}
	if inGrace(t, now) {
		t.RotationReplayExpiresAt = now
	}
}

// Typed traversal: one relation per method, named after the table and the
// relation. A one relation returns the record or an ErrNotFound error; a
// many relation returns an iterator.

// ClientUser follows oauthClient.user: the user who owns c.
func (tx *Tx) ClientUser(c OAuthClient) (User, error) { return one(tx, clientUser, &c) }

// ClientRefreshTokens follows oauthClient.oauthRefreshTokens.
func (tx *Tx) ClientRefreshTokens(c OAuthClient) iter.Seq[OAuthRefreshToken] {
	return many(tx, clientRefreshTokens, &c)
}

// ClientAccessTokens follows oauthClient.oauthAccessTokens.
func (tx *Tx) ClientAccessTokens(c OAuthClient) iter.Seq[OAuthAccessToken] {
	return many(tx, clientAccessTokens, &c)
}

// ClientConsents follows oauthClient.oauthConsents.
func (tx *Tx) ClientConsents(c OAuthClient) iter.Seq[OAuthConsent] {
	return many(tx, clientConsents, &c)
}

// RefreshTokenClient follows oauthRefreshToken.oauthClient.
func (tx *Tx) RefreshTokenClient(t OAuthRefreshToken) (OAuthClient, error) {
	return one(tx, refreshTokenClient, &t)
}

// RefreshTokenSession follows oauthRefreshToken.session.
func (tx *Tx) RefreshTokenSession(t OAuthRefreshToken) (Session, error) {
	return one(tx, refreshTokenSession, &t)
}

// RefreshTokenUser follows oauthRefreshToken.user.
func (tx *Tx) RefreshTokenUser(t OAuthRefreshToken) (User, error) {
	return one(tx, refreshTokenUser, &t)
}

// RefreshTokenAccessTokens follows oauthRefreshToken.oauthAccessTokens: the
// access tokens issued with t.
func (tx *Tx) RefreshTokenAccessTokens(t OAuthRefreshToken) iter.Seq[OAuthAccessToken] {
	return many(tx, refreshTokenAccessTokens, &t)
}

// AccessTokenClient follows oauthAccessToken.oauthClient.
func (tx *Tx) AccessTokenClient(t OAuthAccessToken) (OAuthClient, error) {
	return one(tx, accessTokenClient, &t)
}

// AccessTokenSession follows oauthAccessToken.session.
func (tx *Tx) AccessTokenSession(t OAuthAccessToken) (Session, error) {
	return one(tx, accessTokenSession, &t)
}

// AccessTokenUser follows oauthAccessToken.user.
func (tx *Tx) AccessTokenUser(t OAuthAccessToken) (User, error) {
	return one(tx, accessTokenUser, &t)
}

// AccessTokenRefreshToken follows oauthAccessToken.oauthRefreshToken: the
// refresh token t was issued with.
func (tx *Tx) AccessTokenRefreshToken(t OAuthAccessToken) (OAuthRefreshToken, error) {
	return one(tx, accessTokenRefreshToken, &t)
}

// ConsentClient follows oauthConsent.oauthClient.
func (tx *Tx) ConsentClient(c OAuthConsent) (OAuthClient, error) { return one(tx, consentClient, &c) }

// ConsentUser follows oauthConsent.user.
func (tx *Tx) ConsentUser(c OAuthConsent) (User, error) { return one(tx, consentUser, &c) }

// UserSessions follows user.sessions.
func (tx *Tx) UserSessions(u User) iter.Seq[Session] { return many(tx, userSessions, &u) }

// UserClients follows user.oauthClients: the clients u owns.
func (tx *Tx) UserClients(u User) iter.Seq[OAuthClient] { return many(tx, userClients, &u) }

// UserRefreshTokens follows user.oauthRefreshTokens.
func (tx *Tx) UserRefreshTokens(u User) iter.Seq[OAuthRefreshToken] {
	return many(tx, userRefreshTokens, &u)
}

// UserAccessTokens follows user.oauthAccessTokens.
func (tx *Tx) UserAccessTokens(u User) iter.Seq[OAuthAccessToken] {
	return many(tx, userAccessTokens, &u)
}

// UserConsents follows user.oauthConsents.
func (tx *Tx) UserConsents(u User) iter.Seq[OAuthConsent] { return many(tx, userConsents, &u) }

// SessionUser follows session.user.
func (tx *Tx) SessionUser(s Session) (User, error) { return one(tx, sessionUser, &s) }

// SessionRefreshTokens follows session.oauthRefreshTokens.
func (tx *Tx) SessionRefreshTokens(s Session) iter.Seq[OAuthRefreshToken] {
	return many(tx, sessionRefreshTokens, &s)
}

// SessionAccessTokens follows session.oauthAccessTokens.
func (tx *Tx) SessionAccessTokens(s Session) iter.Seq[OAuthAccessToken] {
	return many(tx, sessionAccessTokens, &s)
}

func one[F, T any](tx *Tx, r *store.OneRelation[F, T], from *F) (T, error) {
	to, ok := r.Get(tx.st, from)
	if !ok {
		var zero T
		return zero, &Error{Table: r.TargetTable(), Field: r.TargetField(), Value: store.Bound(r.Key(from)),
			Reason: "no record for " + r.Name(), Err: ErrNotFound}
	}
	return *to, nil
}

func many[T, F any](tx *Tx, r *store.ManyRelation[T, F], from *T) iter.Seq[F] {
	return values(r.ByID(tx.st, from))
}

// values turns an iterator over stored records into one over copies.
func values[T any](seq iter.Seq[*T]) iter.Seq[T] {
	return func(yield func(T) bool) {
		for rec := range seq {
			if !yield(*rec) {
				return
			}
		}
	}
}

package refmodel

import (
	"github.com/oauthdb/oauthdb"
)

// Dump is every table, each in ID order: what two stores are compared by.
type Dump = oauthdb.Snapshot

func all[T any](table map[string]T) []T {
	return where(table, func(T) bool { return true })
}

// Dump returns every table of the model.
func (m *Model) Dump() Dump {
	return Dump{
		Users:         all(m.Users),
		Sessions:      all(m.Sessions),
		Clients:       all(m.Clients),
		AccessTokens:  all(m.AccessTokens),
		RefreshTokens: all(m.RefreshTokens),
		Consents:      all(m.Consents),
		Verifications: all(m.Verifications),
	}
}

// Lookups by key, as oauthdb.Tx has them: the record, or ErrNotFound.

func found[T any](rec T, ok bool, table string) (T, error) {
	if !ok {
		var zero T
		return zero, fail(table, "", oauthdb.ErrNotFound)
	}
	return rec, nil
}

// User returns the user with this ID.
func (m *Model) User(id string) (oauthdb.User, error) {
	u, ok := m.Users[id]
	return found(u, ok, oauthdb.TableUser)
}

// UserByEmail returns the user with this email.
func (m *Model) UserByEmail(email string) (oauthdb.User, error) {
	u, ok := m.userByEmail(email)
	return found(u, ok, oauthdb.TableUser)
}

// Session returns the session with this ID.
func (m *Model) Session(id string) (oauthdb.Session, error) {
	s, ok := m.Sessions[id]
	return found(s, ok, oauthdb.TableSession)
}

// SessionByToken returns the session with this cookie value.
func (m *Model) SessionByToken(token string) (oauthdb.Session, error) {
	s, ok := m.sessionByToken(token)
	return found(s, ok, oauthdb.TableSession)
}

// Client returns the client with this record ID.
func (m *Model) Client(id string) (oauthdb.OAuthClient, error) {
	c, ok := m.Clients[id]
	return found(c, ok, oauthdb.TableOAuthClient)
}

// ClientByClientID returns the client with this public clientId.
func (m *Model) ClientByClientID(clientID string) (oauthdb.OAuthClient, error) {
	c, ok := m.clientByClientID(clientID)
	return found(c, ok, oauthdb.TableOAuthClient)
}

// AccessToken returns the access token with this record ID.
func (m *Model) AccessToken(id string) (oauthdb.OAuthAccessToken, error) {
	t, ok := m.AccessTokens[id]
	return found(t, ok, oauthdb.TableOAuthAccessToken)
}

// AccessTokenByHash returns the access token with this stored hash.
func (m *Model) AccessTokenByHash(hash string) (oauthdb.OAuthAccessToken, error) {
	t, ok := m.accessByHash(hash)
	return found(t, ok, oauthdb.TableOAuthAccessToken)
}

// RefreshToken returns the refresh token with this record ID.
func (m *Model) RefreshToken(id string) (oauthdb.OAuthRefreshToken, error) {
	t, ok := m.RefreshTokens[id]
	return found(t, ok, oauthdb.TableOAuthRefreshToken)
}

// RefreshTokenByHash returns the refresh token with this stored hash.
func (m *Model) RefreshTokenByHash(hash string) (oauthdb.OAuthRefreshToken, error) {
	t, ok := m.refreshByHash(hash)
	return found(t, ok, oauthdb.TableOAuthRefreshToken)
}

// Consent returns the consent with this ID.
func (m *Model) Consent(id string) (oauthdb.OAuthConsent, error) {
	c, ok := m.Consents[id]
	return found(c, ok, oauthdb.TableOAuthConsent)
}

// ConsentFor returns the consent of (clientID, userID, referenceID).
func (m *Model) ConsentFor(clientID, userID, referenceID string) (oauthdb.OAuthConsent, error) {
	c, ok := m.consentFor(clientID, userID, referenceID)
	return found(c, ok, oauthdb.TableOAuthConsent)
}

// Verification returns the verification with this ID.
func (m *Model) Verification(id string) (oauthdb.Verification, error) {
	v, ok := m.Verifications[id]
	return found(v, ok, oauthdb.TableVerification)
}

// VerificationByIdentifier returns the verification with this identifier.
func (m *Model) VerificationByIdentifier(identifier string) (oauthdb.Verification, error) {
	v, ok := m.verificationByIdentifier(identifier)
	return found(v, ok, oauthdb.TableVerification)
}

// The relations of docs/DESIGN.md, named as oauthdb.Tx names them. A one
// relation follows a foreign key (ErrNotFound when it is NULL); a many
// relation lists the referring rows in ID order. A token's session is its
// user's and its refresh token its client's, so a session's tokens are
// those with its id and its user, and a refresh token's access tokens those
// with its id and its client: the same rows, for a record that is stored.

// ClientUser follows oauthClient.user.
func (m *Model) ClientUser(c oauthdb.OAuthClient) (oauthdb.User, error) { return m.User(c.UserID) }

// ClientRefreshTokens follows oauthClient.oauthRefreshTokens.
func (m *Model) ClientRefreshTokens(c oauthdb.OAuthClient) []oauthdb.OAuthRefreshToken {
	return where(m.RefreshTokens, func(t oauthdb.OAuthRefreshToken) bool { return refers(t.ClientID, c.ClientID) })
}

// ClientAccessTokens follows oauthClient.oauthAccessTokens.
func (m *Model) ClientAccessTokens(c oauthdb.OAuthClient) []oauthdb.OAuthAccessToken {
	return where(m.AccessTokens, func(t oauthdb.OAuthAccessToken) bool { return refers(t.ClientID, c.ClientID) })
}

// ClientConsents follows oauthClient.oauthConsents.
func (m *Model) ClientConsents(c oauthdb.OAuthClient) []oauthdb.OAuthConsent {
	return where(m.Consents, func(x oauthdb.OAuthConsent) bool { return refers(x.ClientID, c.ClientID) })
}

// RefreshTokenClient follows oauthRefreshToken.oauthClient.
func (m *Model) RefreshTokenClient(t oauthdb.OAuthRefreshToken) (oauthdb.OAuthClient, error) {
	return m.ClientByClientID(t.ClientID)
}

// RefreshTokenSession follows oauthRefreshToken.session.
func (m *Model) RefreshTokenSession(t oauthdb.OAuthRefreshToken) (oauthdb.Session, error) {
	return m.Session(t.SessionID)
}

// RefreshTokenUser follows oauthRefreshToken.user.
func (m *Model) RefreshTokenUser(t oauthdb.OAuthRefreshToken) (oauthdb.User, error) {
	return m.User(t.UserID)
}

// RefreshTokenAccessTokens follows oauthRefreshToken.oauthAccessTokens.
func (m *Model) RefreshTokenAccessTokens(t oauthdb.OAuthRefreshToken) []oauthdb.OAuthAccessToken {
	return where(m.AccessTokens, func(a oauthdb.OAuthAccessToken) bool {
		return refers(a.RefreshID, t.ID) && a.ClientID == t.ClientID
	})
}

// AccessTokenClient follows oauthAccessToken.oauthClient.
func (m *Model) AccessTokenClient(t oauthdb.OAuthAccessToken) (oauthdb.OAuthClient, error) {
	return m.ClientByClientID(t.ClientID)
}

// AccessTokenSession follows oauthAccessToken.session.
func (m *Model) AccessTokenSession(t oauthdb.OAuthAccessToken) (oauthdb.Session, error) {
	return m.Session(t.SessionID)
}

// AccessTokenUser follows oauthAccessToken.user.
func (m *Model) AccessTokenUser(t oauthdb.OAuthAccessToken) (oauthdb.User, error) {
	return m.User(t.UserID)
}

// AccessTokenRefreshToken follows oauthAccessToken.oauthRefreshToken.
func (m *Model) AccessTokenRefreshToken(t oauthdb.OAuthAccessToken) (oauthdb.OAuthRefreshToken, error) {
	return m.RefreshToken(t.RefreshID)
}

// ConsentClient follows oauthConsent.oauthClient.
func (m *Model) ConsentClient(c oauthdb.OAuthConsent) (oauthdb.OAuthClient, error) {
	return m.ClientByClientID(c.ClientID)
}

// ConsentUser follows oauthConsent.user.
func (m *Model) ConsentUser(c oauthdb.OAuthConsent) (oauthdb.User, error) { return m.User(c.UserID) }

// UserSessions follows user.sessions.
func (m *Model) UserSessions(u oauthdb.User) []oauthdb.Session {
	return where(m.Sessions, func(s oauthdb.Session) bool { return refers(s.UserID, u.ID) })
}

// UserClients follows user.oauthClients.
func (m *Model) UserClients(u oauthdb.User) []oauthdb.OAuthClient {
	return where(m.Clients, func(c oauthdb.OAuthClient) bool { return refers(c.UserID, u.ID) })
}

// UserRefreshTokens follows user.oauthRefreshTokens.
func (m *Model) UserRefreshTokens(u oauthdb.User) []oauthdb.OAuthRefreshToken {
	return where(m.RefreshTokens, func(t oauthdb.OAuthRefreshToken) bool { return refers(t.UserID, u.ID) })
}

// UserAccessTokens follows user.oauthAccessTokens.
func (m *Model) UserAccessTokens(u oauthdb.User) []oauthdb.OAuthAccessToken {
	return where(m.AccessTokens, func(t oauthdb.OAuthAccessToken) bool { return refers(t.UserID, u.ID) })
}

// UserConsents follows user.oauthConsents.
func (m *Model) UserConsents(u oauthdb.User) []oauthdb.OAuthConsent {
	return where(m.Consents, func(c oauthdb.OAuthConsent) bool { return refers(c.UserID, u.ID) })
}

// SessionUser follows session.user.
func (m *Model) SessionUser(s oauthdb.Session) (oauthdb.User, error) { return m.User(s.UserID) }

// SessionRefreshTokens follows session.oauthRefreshTokens.
func (m *Model) SessionRefreshTokens(s oauthdb.Session) []oauthdb.OAuthRefreshToken {
	return where(m.RefreshTokens, func(t oauthdb.OAuthRefreshToken) bool { return refers(t.SessionID, s.ID) && t.UserID == s.UserID })
}

// SessionAccessTokens follows session.oauthAccessTokens.
func (m *Model) SessionAccessTokens(s oauthdb.Session) []oauthdb.OAuthAccessToken {
	return where(m.AccessTokens, func(t oauthdb.OAuthAccessToken) bool { return refers(t.SessionID, s.ID) && t.UserID == s.UserID })
}

// refers reports whether a foreign key names key: NULL names nothing.
func refers(fk, key string) bool { return key != "" && fk == key }

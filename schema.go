package oauthdb

import (
	"encoding/json"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

// The records of the data model: the tables of better-auth's oauth-provider
// plugin (1.4 to 1.7.29), with its field names in JSON. Optional (nullable)
// fields are the empty string, the zero time, false or nil; in JSON they are
// left out, and an absent field or null loads as empty. A field better-auth
// writes and this model gives no meaning to is kept as it is, so that its
// rows survive a round trip; fields it does not know are ignored when a row
// loads.
//
// Records read from a DB are copies: changing one changes nothing stored.
// Their slices are shared with the stored record, though, and must be
// treated as read-only.

// User is a person who signs in: better-auth's user table.
type User struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"emailVerified"`
	Image         string    `json:"image,omitzero"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Session is a signed-in session of a user: better-auth's session table.
// Its Token is the session cookie's value, as better-auth stores it.
type Session struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	IPAddress string    `json:"ipAddress,omitzero"`
	UserAgent string    `json:"userAgent,omitzero"`
	UserID    string    `json:"userId"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// OAuthClient is a registered OAuth client. Tokens and consents refer to it
// by ClientID, the public client identifier, not by ID. ClientSecret holds
// the secret's hash (see HashSecret), never the secret.
type OAuthClient struct {
	ID                      string          `json:"id"`
	ClientID                string          `json:"clientId"`
	ClientSecret            string          `json:"clientSecret,omitzero"`
	Disabled                bool            `json:"disabled"`
	SkipConsent             bool            `json:"skipConsent"`
	EnableEndSession        bool            `json:"enableEndSession"`
	Public                  bool            `json:"public"`
	Scopes                  []string        `json:"scopes,omitzero"`
	RedirectURIs            []string        `json:"redirectUris"`
	PostLogoutRedirectURIs  []string        `json:"postLogoutRedirectUris,omitzero"`
	GrantTypes              []string        `json:"grantTypes,omitzero"`
	ResponseTypes           []string        `json:"responseTypes,omitzero"`
	Contacts                []string        `json:"contacts,omitzero"`
	TokenEndpointAuthMethod string          `json:"tokenEndpointAuthMethod,omitzero"`
	Name                    string          `json:"name,omitzero"`
	URI                     string          `json:"uri,omitzero"`
	Icon                    string          `json:"icon,omitzero"`
	TOS                     string          `json:"tos,omitzero"`
	Policy                  string          `json:"policy,omitzero"`
	SoftwareID              string          `json:"softwareId,omitzero"`
	SoftwareVersion         string          `json:"softwareVersion,omitzero"`
	SoftwareStatement       string          `json:"softwareStatement,omitzero"`
	Type                    string          `json:"type,omitzero"`
	ReferenceID             string          `json:"referenceId,omitzero"`
	Metadata                json.RawMessage `json:"metadata,omitzero"`
	UserID                  string          `json:"userId,omitzero"`
	CreatedAt               time.Time       `json:"createdAt"`
	UpdatedAt               time.Time       `json:"updatedAt"`

	// ClientCredentialsScopes, when set (even empty), are the only scopes a
	// client-credentials grant may have (better-auth 1.7).
	ClientCredentialsScopes []string `json:"clientCredentialsScopes,omitzero"`
	// The other fields of better-auth 1.7, kept as they are.
	ClientDiscoveryID                string `json:"clientDiscoveryId,omitzero"`
	SubjectType                      string `json:"subjectType,omitzero"`
	ApplicationType                  string `json:"applicationType,omitzero"`
	BackchannelLogoutURI             string `json:"backchannelLogoutUri,omitzero"`
	BackchannelLogoutSessionRequired bool   `json:"backchannelLogoutSessionRequired,omitzero"`
	JWKS                             string `json:"jwks,omitzero"`
	JWKSURI                          string `json:"jwksUri,omitzero"`
	RequirePKCE                      bool   `json:"requirePKCE,omitzero"`
	DPoPBoundAccessTokens            bool   `json:"dpopBoundAccessTokens,omitzero"`
}

// OAuthAccessToken is an issued opaque access token. Token holds the
// token's hash (see HashToken), never the token. Client-credentials tokens
// have no UserID and no SessionID; tokens issued by a refresh have RefreshID.
type OAuthAccessToken struct {
	ID          string    `json:"id"`
	Token       string    `json:"token"`
	ClientID    string    `json:"clientId"`
	SessionID   string    `json:"sessionId,omitzero"`
	UserID      string    `json:"userId,omitzero"`
	ReferenceID string    `json:"referenceId,omitzero"`
	RefreshID   string    `json:"refreshId,omitzero"`
	Scopes      []string  `json:"scopes"`
	ExpiresAt   time.Time `json:"expiresAt"`
	CreatedAt   time.Time `json:"createdAt"`
	Revoked     time.Time `json:"revoked,omitzero"`

	// AuthorizationCodeID is the hash of the authorization code the token
	// was issued from (better-auth 1.7): a code presented twice revokes its
	// tokens (DB.RevokeAuthorizationCode).
	AuthorizationCodeID string `json:"authorizationCodeId,omitzero"`
	// The other fields of better-auth 1.7, kept as they are.
	Resources               []string        `json:"resources,omitzero"`
	RequestedUserInfoClaims []string        `json:"requestedUserInfoClaims,omitzero"`
	Confirmation            json.RawMessage `json:"confirmation,omitzero"`
}

// OAuthRefreshToken is an issued refresh token. Token holds its hash. A
// refresh token is never deleted when it is used or revoked: Revoked is set,
// so that a replay of it can be recognised.
type OAuthRefreshToken struct {
	ID          string    `json:"id"`
	Token       string    `json:"token"`
	ClientID    string    `json:"clientId"`
	SessionID   string    `json:"sessionId,omitzero"`
	UserID      string    `json:"userId"`
	ReferenceID string    `json:"referenceId,omitzero"`
	Scopes      []string  `json:"scopes"`
	ExpiresAt   time.Time `json:"expiresAt"`
	CreatedAt   time.Time `json:"createdAt"`
	Revoked     time.Time `json:"revoked,omitzero"`

	// RotatedAt is when the token was redeemed by a rotation (better-auth
	// 1.7): revoked then too, it tells a rotation from a revocation.
	RotatedAt time.Time `json:"rotatedAt,omitzero"`
	// AuthorizationCodeID is the hash of the authorization code its grant
	// began with, kept through rotations.
	AuthorizationCodeID string `json:"authorizationCodeId,omitzero"`
	// AuthTime is when the user signed in for the grant.
	AuthTime time.Time `json:"authTime,omitzero"`
	// The other fields of better-auth 1.7, kept as they are.
	Resources               []string        `json:"resources,omitzero"`
	RequestedUserInfoClaims []string        `json:"requestedUserInfoClaims,omitzero"`
	Confirmation            json.RawMessage `json:"confirmation,omitzero"`
	// RotationReplayExpiresAt ends the grace window after a rotation (see
	// WithRefreshReuseInterval).
	RotationReplayExpiresAt time.Time `json:"rotationReplayExpiresAt,omitzero"`
	// RotationReplayResponse is better-auth's own record of a rotation's
	// answer, encrypted with its secret, kept as it is: oauthdb never reads
	// it, and never shows it.
	RotationReplayResponse string `json:"rotationReplayResponse,omitzero"`
}

// OAuthConsent records the scopes a user granted a client: one per
// (ClientID, UserID, ReferenceID).
type OAuthConsent struct {
	ID          string    `json:"id"`
	ClientID    string    `json:"clientId"`
	UserID      string    `json:"userId,omitzero"`
	ReferenceID string    `json:"referenceId,omitzero"`
	Scopes      []string  `json:"scopes"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`

	// The fields of better-auth 1.7, kept as they are.
	Resources               []string `json:"resources,omitzero"`
	RequestedUserInfoClaims []string `json:"requestedUserInfoClaims,omitzero"`
}

// Verification is better-auth's verification table, which holds pending
// authorization codes: Identifier is the code's hash and Value a JSON
// document describing the request.
type Verification struct {
	ID         string    `json:"id"`
	Identifier string    `json:"identifier"`
	Value      string    `json:"value"`
	ExpiresAt  time.Time `json:"expiresAt"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// Table names: better-auth's model names.
const (
	TableUser              = "user"
	TableSession           = "session"
	TableOAuthClient       = "oauthClient"
	TableOAuthAccessToken  = "oauthAccessToken"
	TableOAuthRefreshToken = "oauthRefreshToken"
	TableOAuthConsent      = "oauthConsent"
	TableVerification      = "verification"
)

// schema is the whole data model: every table, index and relation declared
// below (and in relations.go) registers itself with it.
var schema = store.NewSchema()

// The tables and their indexes. Each table carries its record's checks (see
// validate.go); each index says which query it serves.
var (
	users = store.NewTable(schema, TableUser, func(u *User) string { return u.ID }).Validate((*User).validate)
	// sign-in and uniqueness of the address
	usersByEmail = store.StringIndex(users, "email", func(u *User) string { return u.Email }).Unique()

	sessions = store.NewTable(schema, TableSession, func(s *Session) string { return s.ID }).Validate((*Session).validate)
	// the session cookie
	sessionsByToken = store.StringIndex(sessions, "token", func(s *Session) string { return s.Token }).Unique().Secret()
	// user.sessions, and the user's cascade
	sessionsByUser = store.StringIndex(sessions, "userId", func(s *Session) string { return s.UserID })
	// the expiry sweep
	sessionsByExpiry = store.TimeIndex(sessions, "expiresAt", func(s *Session) time.Time { return s.ExpiresAt })

	clients = store.NewTable(schema, TableOAuthClient, func(c *OAuthClient) string { return c.ID }).Validate((*OAuthClient).validate)
	// every token and consent refers to a client by its clientId
	clientsByClientID = store.StringIndex(clients, "clientId", func(c *OAuthClient) string { return c.ClientID }).Unique()
	// user.oauthClients, and the user's cascade
	clientsByUser = store.StringIndex(clients, "userId", func(c *OAuthClient) string { return c.UserID }).Optional()

	accessTokens = store.NewTable(schema, TableOAuthAccessToken, func(t *OAuthAccessToken) string { return t.ID }).Validate((*OAuthAccessToken).validate)
	// validation: the hot path
	accessTokensByHash = store.StringIndex(accessTokens, "token", func(t *OAuthAccessToken) string { return t.Token }).Unique().Secret()
	// oauthClient.oauthAccessTokens by clientId, revoking a client's tokens;
	// oauthRefreshToken.oauthAccessTokens by both, revoking a refresh token.
	// A refresh token implies its client, so one index serves both.
	accessTokensByGrant = store.CompoundIndex(accessTokens, "clientRefresh", []string{"clientId", "refreshId"},
		func(t *OAuthAccessToken) string { return t.ClientID },
		func(t *OAuthAccessToken) string { return t.RefreshID })
	// user.oauthAccessTokens by userId, revoking a user's tokens;
	// session.oauthAccessTokens by both, revoking a session's. A session
	// implies its user, so one index serves both.
	accessTokensByHolder = store.CompoundIndex(accessTokens, "userSession", []string{"userId", "sessionId"},
		func(t *OAuthAccessToken) string { return t.UserID },
		func(t *OAuthAccessToken) string { return t.SessionID }).Optional()
	// the expiry sweep
	accessTokensByExpiry = store.TimeIndex(accessTokens, "expiresAt", func(t *OAuthAccessToken) time.Time { return t.ExpiresAt })

	refreshTokens = store.NewTable(schema, TableOAuthRefreshToken, func(t *OAuthRefreshToken) string { return t.ID }).Validate((*OAuthRefreshToken).validate)
	// rotation and validation
	refreshTokensByHash = store.StringIndex(refreshTokens, "token", func(t *OAuthRefreshToken) string { return t.Token }).Unique().Secret()
	// oauthClient.oauthRefreshTokens, and revoking a client's tokens
	refreshTokensByClient = store.StringIndex(refreshTokens, "clientId", func(t *OAuthRefreshToken) string { return t.ClientID })
	// user.oauthRefreshTokens by userId (the user's cascade, a replay's
	// family); session.oauthRefreshTokens by both
	refreshTokensByHolder = store.CompoundIndex(refreshTokens, "userSession", []string{"userId", "sessionId"},
		func(t *OAuthRefreshToken) string { return t.UserID },
		func(t *OAuthRefreshToken) string { return t.SessionID })
	// the expiry sweep
	refreshTokensByExpiry = store.TimeIndex(refreshTokens, "expiresAt", func(t *OAuthRefreshToken) time.Time { return t.ExpiresAt })

	consents = store.NewTable(schema, TableOAuthConsent, func(c *OAuthConsent) string { return c.ID }).Validate((*OAuthConsent).validate)
	// one consent per (clientId, userId, referenceId): grant and check; and
	// by clientId alone, oauthClient.oauthConsents and the client's cascade
	consentsByGrant = store.CompoundIndex(consents, "grant", []string{"clientId", "userId", "referenceId"},
		func(c *OAuthConsent) string { return c.ClientID },
		func(c *OAuthConsent) string { return c.UserID },
		func(c *OAuthConsent) string { return c.ReferenceID }).Unique()
	// user.oauthConsents, and the user's cascade
	consentsByUser = store.StringIndex(consents, "userId", func(c *OAuthConsent) string { return c.UserID }).Optional()

	verifications = store.NewTable(schema, TableVerification, func(v *Verification) string { return v.ID }).Validate((*Verification).validate)
	// redeeming an authorization code
	verificationsByIdentifier = store.StringIndex(verifications, "identifier", func(v *Verification) string { return v.Identifier }).Unique().Secret()
	// the expiry sweep
	verificationsByExpiry = store.TimeIndex(verifications, "expiresAt", func(v *Verification) time.Time { return v.ExpiresAt })
)

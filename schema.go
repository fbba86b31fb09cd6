package oauthdb

import (
	"encoding/json"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

// The data model: the tables of better-auth's oauth-provider plugin (1.4 to
// 1.7.29), each declared here whole — its record type, its field list, its
// table with its indexes (its relations are in relations.go), its place in
// a Snapshot — and listed in tables, parents first.
//
// The records have better-auth's field names in JSON. Optional (nullable)
// fields are the empty string, the zero time, false or nil; in JSON they are
// left out, and an absent field or null loads as empty. A field better-auth
// writes and this model gives no meaning to is kept as it is, so that its
// rows survive a round trip; fields it does not know are ignored when a row
// loads.
//
// Records read from a DB are copies: changing one changes nothing stored.
// Their slices are shared with the stored record, though, and must be
// treated as read-only.
//
// A record's field list names every field of its struct, in struct order,
// once, under its JSON name: the door, normalize, the snapshot stream and
// DecodeRecord walk it. A test checks that each list names every field of
// its struct, so that a field added to a record and not to its list fails
// it rather than go unchecked at the door or missing from a snapshot. The
// snapshot format's version 1 has all of them; a field added later names
// its version in the list. The fields named createdAt and updatedAt are
// the ones the write methods stamp.
//
// Each index says which query it serves. The expiry sweep reads no index:
// each table whose rows expire declares how to read a row's expiry, and
// the DB keeps a queue of them (expiry.go).

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

// tables are the data model's tables, parents first: the order Restore,
// MirrorTx.PutAll and a load insert rows in, so that a row names only rows
// already there. A snapshot stream writes them in this order and numbers
// them by their place in it (snapio.go): a new table is appended, and none
// is ever moved.
var tables = []table{users, sessions, clients, refreshTokens, accessTokens, consents, verifications}

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

func (u *User) fields(c fieldCodec) {
	c.shared("id", &u.ID)
	c.text("name", &u.Name)
	c.text("email", &u.Email)
	c.flag("emailVerified", &u.EmailVerified)
	c.text("image", &u.Image)
	c.time("createdAt", &u.CreatedAt)
	c.time("updatedAt", &u.UpdatedAt)
}

var (
	users = declare(TableUser, func(u *User) string { return u.ID }, (*User).fields,
		func(s *Snapshot) *[]User { return &s.Users }).checkedBy((*User).check)
	// sign-in and uniqueness of the address
	usersByEmail = store.StringIndex(users.Table, "email", func(u *User) string { return u.Email }).Unique()
)

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

func (s *Session) fields(c fieldCodec) {
	c.shared("id", &s.ID)
	c.text("token", &s.Token)
	c.time("expiresAt", &s.ExpiresAt)
	c.text("ipAddress", &s.IPAddress)
	c.shared("userAgent", &s.UserAgent)
	c.shared("userId", &s.UserID)
	c.time("createdAt", &s.CreatedAt)
	c.time("updatedAt", &s.UpdatedAt)
}

var (
	sessions = declare(TableSession, func(s *Session) string { return s.ID }, (*Session).fields,
		func(s *Snapshot) *[]Session { return &s.Sessions })
	// the session cookie
	sessionsByToken = store.StringIndex(sessions.Table, "token", func(s *Session) string { return s.Token }).Unique().Secret()
	// user.sessions, and the user's cascade
	sessionsByUser = store.StringIndex(sessions.Table, "userId", func(s *Session) string { return s.UserID })
	// the expiry sweep
	sessionsExpire = expires(sessions, "expiresAt", func(s *Session) time.Time { return s.ExpiresAt })
)

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

func (o *OAuthClient) fields(c fieldCodec) {
	c.text("id", &o.ID)
	c.shared("clientId", &o.ClientID)
	c.text("clientSecret", &o.ClientSecret)
	c.flag("disabled", &o.Disabled)
	c.flag("skipConsent", &o.SkipConsent)
	c.flag("enableEndSession", &o.EnableEndSession)
	c.flag("public", &o.Public)
	c.scopes("scopes", &o.Scopes)
	c.list("redirectUris", &o.RedirectURIs)
	c.list("postLogoutRedirectUris", &o.PostLogoutRedirectURIs)
	c.list("grantTypes", &o.GrantTypes)
	c.list("responseTypes", &o.ResponseTypes)
	c.list("contacts", &o.Contacts)
	c.shared("tokenEndpointAuthMethod", &o.TokenEndpointAuthMethod)
	c.text("name", &o.Name)
	c.text("uri", &o.URI)
	c.text("icon", &o.Icon)
	c.text("tos", &o.TOS)
	c.text("policy", &o.Policy)
	c.text("softwareId", &o.SoftwareID)
	c.text("softwareVersion", &o.SoftwareVersion)
	c.text("softwareStatement", &o.SoftwareStatement)
	c.shared("type", &o.Type)
	c.shared("referenceId", &o.ReferenceID)
	c.json("metadata", &o.Metadata)
	c.shared("userId", &o.UserID)
	c.time("createdAt", &o.CreatedAt)
	c.time("updatedAt", &o.UpdatedAt)
	c.scopes("clientCredentialsScopes", &o.ClientCredentialsScopes)
	c.text("clientDiscoveryId", &o.ClientDiscoveryID)
	c.shared("subjectType", &o.SubjectType)
	c.shared("applicationType", &o.ApplicationType)
	c.text("backchannelLogoutUri", &o.BackchannelLogoutURI)
	c.flag("backchannelLogoutSessionRequired", &o.BackchannelLogoutSessionRequired)
	c.text("jwks", &o.JWKS)
	c.text("jwksUri", &o.JWKSURI)
	c.flag("requirePKCE", &o.RequirePKCE)
	c.flag("dpopBoundAccessTokens", &o.DPoPBoundAccessTokens)
}

var (
	clients = declare(TableOAuthClient, func(c *OAuthClient) string { return c.ID }, (*OAuthClient).fields,
		func(s *Snapshot) *[]OAuthClient { return &s.Clients }).checkedBy((*OAuthClient).check)
	// every token and consent refers to a client by its clientId
	clientsByClientID = store.StringIndex(clients.Table, "clientId", func(c *OAuthClient) string { return c.ClientID }).Unique()
	// user.oauthClients, and the user's cascade
	clientsByUser = store.StringIndex(clients.Table, "userId", func(c *OAuthClient) string { return c.UserID }).Optional()
)

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

func (t *OAuthAccessToken) fields(c fieldCodec) {
	c.text("id", &t.ID)
	c.text("token", &t.Token)
	c.shared("clientId", &t.ClientID)
	c.shared("sessionId", &t.SessionID)
	c.shared("userId", &t.UserID)
	c.shared("referenceId", &t.ReferenceID)
	c.shared("refreshId", &t.RefreshID)
	c.scopes("scopes", &t.Scopes)
	c.time("expiresAt", &t.ExpiresAt)
	c.time("createdAt", &t.CreatedAt)
	c.time("revoked", &t.Revoked)
	c.shared("authorizationCodeId", &t.AuthorizationCodeID)
	c.list("resources", &t.Resources)
	c.list("requestedUserInfoClaims", &t.RequestedUserInfoClaims)
	c.json("confirmation", &t.Confirmation)
}

var (
	accessTokens = declare(TableOAuthAccessToken, func(t *OAuthAccessToken) string { return t.ID }, (*OAuthAccessToken).fields,
		func(s *Snapshot) *[]OAuthAccessToken { return &s.AccessTokens }).checkedBy((*OAuthAccessToken).check)
	// validation: the hot path
	accessTokensByHash = store.StringIndex(accessTokens.Table, "token", func(t *OAuthAccessToken) string { return t.Token }).Unique().Secret()
	// oauthClient.oauthAccessTokens by clientId, revoking a client's tokens;
	// oauthRefreshToken.oauthAccessTokens by both, revoking a refresh token.
	// A refresh token implies its client, so one index serves both.
	accessTokensByGrant = store.CompoundIndex(accessTokens.Table, "clientRefresh", []string{"clientId", "refreshId"},
		func(t *OAuthAccessToken) string { return t.ClientID },
		func(t *OAuthAccessToken) string { return t.RefreshID })
	// user.oauthAccessTokens by userId, revoking a user's tokens;
	// session.oauthAccessTokens by both, revoking a session's. A session
	// implies its user, so one index serves both.
	accessTokensByHolder = store.CompoundIndex(accessTokens.Table, "userSession", []string{"userId", "sessionId"},
		func(t *OAuthAccessToken) string { return t.UserID },
		func(t *OAuthAccessToken) string { return t.SessionID }).Optional()
	// the expiry sweep
	accessTokensExpire = expires(accessTokens, "expiresAt", func(t *OAuthAccessToken) time.Time { return t.ExpiresAt })
)

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

func (t *OAuthRefreshToken) fields(c fieldCodec) {
	c.shared("id", &t.ID)
	c.text("token", &t.Token)
	c.shared("clientId", &t.ClientID)
	c.shared("sessionId", &t.SessionID)
	c.shared("userId", &t.UserID)
	c.shared("referenceId", &t.ReferenceID)
	c.scopes("scopes", &t.Scopes)
	c.time("expiresAt", &t.ExpiresAt)
	c.time("createdAt", &t.CreatedAt)
	c.time("revoked", &t.Revoked)
	c.time("rotatedAt", &t.RotatedAt)
	c.shared("authorizationCodeId", &t.AuthorizationCodeID)
	c.time("authTime", &t.AuthTime)
	c.list("resources", &t.Resources)
	c.list("requestedUserInfoClaims", &t.RequestedUserInfoClaims)
	c.json("confirmation", &t.Confirmation)
	c.time("rotationReplayExpiresAt", &t.RotationReplayExpiresAt)
	c.text("rotationReplayResponse", &t.RotationReplayResponse)
}

var (
	refreshTokens = declare(TableOAuthRefreshToken, func(t *OAuthRefreshToken) string { return t.ID }, (*OAuthRefreshToken).fields,
		func(s *Snapshot) *[]OAuthRefreshToken { return &s.RefreshTokens }).checkedBy((*OAuthRefreshToken).check)
	// rotation and validation
	refreshTokensByHash = store.StringIndex(refreshTokens.Table, "token", func(t *OAuthRefreshToken) string { return t.Token }).Unique().Secret()
	// oauthClient.oauthRefreshTokens, and revoking a client's tokens
	refreshTokensByClient = store.StringIndex(refreshTokens.Table, "clientId", func(t *OAuthRefreshToken) string { return t.ClientID })
	// user.oauthRefreshTokens by userId (the user's cascade, a replay's
	// family); session.oauthRefreshTokens by both
	refreshTokensByHolder = store.CompoundIndex(refreshTokens.Table, "userSession", []string{"userId", "sessionId"},
		func(t *OAuthRefreshToken) string { return t.UserID },
		func(t *OAuthRefreshToken) string { return t.SessionID })
	// the expiry sweep
	refreshTokensExpire = expires(refreshTokens, "expiresAt", func(t *OAuthRefreshToken) time.Time { return t.ExpiresAt })
)

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

func (k *OAuthConsent) fields(c fieldCodec) {
	c.text("id", &k.ID)
	c.shared("clientId", &k.ClientID)
	c.shared("userId", &k.UserID)
	c.shared("referenceId", &k.ReferenceID)
	c.scopes("scopes", &k.Scopes)
	c.time("createdAt", &k.CreatedAt)
	c.time("updatedAt", &k.UpdatedAt)
	c.list("resources", &k.Resources)
	c.list("requestedUserInfoClaims", &k.RequestedUserInfoClaims)
}

var (
	consents = declare(TableOAuthConsent, func(c *OAuthConsent) string { return c.ID }, (*OAuthConsent).fields,
		func(s *Snapshot) *[]OAuthConsent { return &s.Consents }).checkedBy((*OAuthConsent).check)
	// one consent per (clientId, userId, referenceId): grant and check; and
	// by clientId alone, oauthClient.oauthConsents and the client's cascade
	consentsByGrant = store.CompoundIndex(consents.Table, "grant", []string{"clientId", "userId", "referenceId"},
		func(c *OAuthConsent) string { return c.ClientID },
		func(c *OAuthConsent) string { return c.UserID },
		func(c *OAuthConsent) string { return c.ReferenceID }).Unique()
	// user.oauthConsents, and the user's cascade
	consentsByUser = store.StringIndex(consents.Table, "userId", func(c *OAuthConsent) string { return c.UserID }).Optional()
)

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

func (v *Verification) fields(c fieldCodec) {
	c.text("id", &v.ID)
	c.text("identifier", &v.Identifier)
	c.text("value", &v.Value)
	c.time("expiresAt", &v.ExpiresAt)
	c.time("createdAt", &v.CreatedAt)
	c.time("updatedAt", &v.UpdatedAt)
}

var (
	verifications = declare(TableVerification, func(v *Verification) string { return v.ID }, (*Verification).fields,
		func(s *Snapshot) *[]Verification { return &s.Verifications }).checkedBy((*Verification).check)
	// redeeming an authorization code
	verificationsByIdentifier = store.StringIndex(verifications.Table, "identifier", func(v *Verification) string { return v.Identifier }).Unique().Secret()
	// the expiry sweep
	verificationsExpire = expires(verifications, "expiresAt", func(v *Verification) time.Time { return v.ExpiresAt })
)

package oauthdb

import (
	"encoding/json"
	"time"
)

// fieldCodec is what a record's field list is walked by: the door
// (validate.go), normalize, and the snapshot stream's encoder and decoder
// (snapio.go). Each method takes the field's JSON name and a pointer to it.
type fieldCodec interface {
	// text is a string of the record's own: an id, a hash, a name.
	text(name string, v *string)
	// shared is a string many records hold the same: a foreign key, the id
	// or clientId that foreign keys name, a user agent. The decoder keeps
	// one copy of each value.
	shared(name string, v *string)
	list(name string, v *[]string)
	// scopes is a list of RFC 6749 scope-tokens.
	scopes(name string, v *[]string)
	flag(name string, v *bool)
	time(name string, v *time.Time)
	json(name string, v *json.RawMessage)
}

// The field lists: every field of each record, in struct order, once. A
// test checks that each lists every field of its struct, under its JSON
// name, so that a field added to a record and not here fails it rather
// than go unchecked at the door or missing from a snapshot. The snapshot
// format's version 1 has all of them; a field added later names its
// version here.

func (u *User) fields(c fieldCodec) {
	c.shared("id", &u.ID)
	c.text("name", &u.Name)
	c.text("email", &u.Email)
	c.flag("emailVerified", &u.EmailVerified)
	c.text("image", &u.Image)
	c.time("createdAt", &u.CreatedAt)
	c.time("updatedAt", &u.UpdatedAt)
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

func (v *Verification) fields(c fieldCodec) {
	c.text("id", &v.ID)
	c.text("identifier", &v.Identifier)
	c.text("value", &v.Value)
	c.time("expiresAt", &v.ExpiresAt)
	c.time("createdAt", &v.CreatedAt)
	c.time("updatedAt", &v.UpdatedAt)
}

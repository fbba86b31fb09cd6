package oauthdb

import (
	"encoding/json"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/oauthdb/oauthdb/store"
)

// The door: what a record must be to be stored. Beyond the data model's own
// rules (a user has a name, a client a redirect URI), a record must be
// something its snapshot can carry exactly, so that Snapshot → JSON →
// Restore gives back what was stored:
//
//   - every string is valid UTF-8 (JSON would replace the rest);
//   - every time is in years 0 to 9999 (JSON cannot write the others) and is
//     kept in UTC (RFC 3339 cannot write an offset with seconds); the write
//     methods convert, the check refuses the rest;
//   - every scope is an RFC 6749 §3.3 scope-token;
//   - metadata is valid JSON, kept in the compact form JSON writes.
//
// Each record type lists its fields once, in its validate method; a test
// walks the record types by reflection so that a field added later and not
// listed fails it.

// fields checks the fields of one record and keeps the first error.
type fields struct {
	table string
	err   error
}

func (f *fields) fail(field, value, reason string) {
	if f.err == nil {
		f.err = store.Invalid(f.table, field, value, reason)
	}
}

// text checks a string field.
func (f *fields) text(field, v string) {
	if !utf8.ValidString(v) {
		f.fail(field, "", "not valid UTF-8")
	}
}

// required checks a string field that must not be empty.
func (f *fields) required(field, v string) {
	if v == "" {
		f.fail(field, "", "required")
	}
	f.text(field, v)
}

// list checks a string list field.
func (f *fields) list(field string, vs []string) {
	for _, v := range vs {
		f.text(field, v)
	}
}

// scopes checks a list of scopes.
func (f *fields) scopes(field string, vs []string) {
	for _, v := range vs {
		if !validScope(v) {
			f.fail(field, v, "not a scope-token (RFC 6749 §3.3)")
		}
	}
}

// Times a snapshot can carry: RFC 3339 has four digits for the year.
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// time checks a time field; the zero time is absent and always valid.
func (f *fields) time(field string, t time.Time) {
	switch {
	case t.IsZero():
	case t.Before(minTime) || !t.Before(maxTime):
		f.fail(field, "", "outside the years 0 to 9999")
	case t.Location() != time.UTC:
		f.fail(field, "", "not in UTC")
	}
}

// json checks a JSON field: valid JSON, valid UTF-8 (normalize made it
// compact).
func (f *fields) json(field string, raw json.RawMessage) {
	if len(raw) > 0 && (!json.Valid(raw) || !utf8.Valid(raw)) {
		f.fail(field, "", "not valid JSON")
	}
}

// compactJSON returns raw as JSON writes it — compact, with <, > and &
// escaped — so that a snapshot gives back the same bytes; empty or null is
// absent (nil). Invalid JSON is returned as it is, for the check to refuse.
func compactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil // empty is absent: an empty RawMessage would not encode
	}
	if m, err := json.Marshal(raw); err == nil && utf8.Valid(raw) {
		if string(m) == "null" {
			return nil
		}
		return m
	}
	return append(json.RawMessage(nil), raw...)
}

// validScope reports whether s is a scope-token of RFC 6749 §3.3:
// 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII but for space, the
// double quote and the backslash.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// checkScopes checks the scopes an operation is given, as the door checks a
// record's.
func checkScopes(table string, scopes []string) error {
	f := fields{table: table}
	f.scopes("scopes", scopes)
	return f.err
}

// utc converts a time to UTC, which also drops its monotonic clock reading:
// the instant is kept, and the stored value is the one its snapshot gives
// back.
func utc(t *time.Time) {
	if !t.IsZero() {
		*t = t.UTC()
	}
}

func (u *User) normalize() { utc(&u.CreatedAt); utc(&u.UpdatedAt) }

func (u *User) validate() error {
	f := fields{table: TableUser}
	f.text("id", u.ID)
	f.required("name", u.Name)
	f.text("email", u.Email)
	f.text("image", u.Image)
	f.time("createdAt", u.CreatedAt)
	f.time("updatedAt", u.UpdatedAt)
	return f.err
}

func (s *Session) normalize() { utc(&s.ExpiresAt); utc(&s.CreatedAt); utc(&s.UpdatedAt) }

func (s *Session) validate() error {
	f := fields{table: TableSession}
	f.text("id", s.ID)
	f.text("token", s.Token)
	f.time("expiresAt", s.ExpiresAt)
	f.text("ipAddress", s.IPAddress)
	f.text("userAgent", s.UserAgent)
	f.text("userId", s.UserID)
	f.time("createdAt", s.CreatedAt)
	f.time("updatedAt", s.UpdatedAt)
	return f.err
}

// normalize gives c slices of its own, so that the caller's cannot change
// it, its times in UTC, and its metadata in the form JSON writes it: compact,
// with <, > and & escaped; null metadata is absent.
func (c *OAuthClient) normalize() {
	c.Scopes = slices.Clone(c.Scopes)
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.ResponseTypes = slices.Clone(c.ResponseTypes)
	c.Contacts = slices.Clone(c.Contacts)
	c.ClientCredentialsScopes = slices.Clone(c.ClientCredentialsScopes)
	utc(&c.CreatedAt)
	utc(&c.UpdatedAt)
	c.Metadata = compactJSON(c.Metadata)
}

func (c *OAuthClient) validate() error {
	f := fields{table: TableOAuthClient}
	f.text("id", c.ID)
	f.text("clientId", c.ClientID)
	f.text("clientSecret", c.ClientSecret)
	f.scopes("scopes", c.Scopes)
	if len(c.RedirectURIs) == 0 {
		f.fail("redirectUris", "", "required")
	}
	for _, u := range c.RedirectURIs {
		if p, err := url.Parse(u); err != nil || p.Scheme == "" {
			f.fail("redirectUris", u, "not an absolute URI")
		}
	}
	f.list("redirectUris", c.RedirectURIs)
	f.list("postLogoutRedirectUris", c.PostLogoutRedirectURIs)
	f.list("grantTypes", c.GrantTypes)
	f.list("responseTypes", c.ResponseTypes)
	f.list("contacts", c.Contacts)
	f.text("tokenEndpointAuthMethod", c.TokenEndpointAuthMethod)
	f.text("name", c.Name)
	f.text("uri", c.URI)
	f.text("icon", c.Icon)
	f.text("tos", c.TOS)
	f.text("policy", c.Policy)
	f.text("softwareId", c.SoftwareID)
	f.text("softwareVersion", c.SoftwareVersion)
	f.text("softwareStatement", c.SoftwareStatement)
	f.text("type", c.Type)
	f.text("referenceId", c.ReferenceID)
	f.json("metadata", c.Metadata)
	f.text("userId", c.UserID)
	f.time("createdAt", c.CreatedAt)
	f.time("updatedAt", c.UpdatedAt)
	f.scopes("clientCredentialsScopes", c.ClientCredentialsScopes)
	f.text("clientDiscoveryId", c.ClientDiscoveryID)
	f.text("subjectType", c.SubjectType)
	f.text("applicationType", c.ApplicationType)
	f.text("backchannelLogoutUri", c.BackchannelLogoutURI)
	f.text("jwks", c.JWKS)
	f.text("jwksUri", c.JWKSURI)
	return f.err
}

func (t *OAuthAccessToken) normalize() {
	t.Scopes = slices.Clone(t.Scopes)
	t.Resources = slices.Clone(t.Resources)
	t.RequestedUserInfoClaims = slices.Clone(t.RequestedUserInfoClaims)
	t.Confirmation = compactJSON(t.Confirmation)
	utc(&t.ExpiresAt)
	utc(&t.CreatedAt)
	utc(&t.Revoked)
}

func (t *OAuthAccessToken) validate() error {
	f := fields{table: TableOAuthAccessToken}
	f.text("id", t.ID)
	f.text("token", t.Token)
	f.required("clientId", t.ClientID)
	f.text("sessionId", t.SessionID)
	f.text("userId", t.UserID)
	f.text("referenceId", t.ReferenceID)
	f.text("refreshId", t.RefreshID)
	f.scopes("scopes", t.Scopes)
	f.time("expiresAt", t.ExpiresAt)
	f.time("createdAt", t.CreatedAt)
	f.time("revoked", t.Revoked)
	f.text("authorizationCodeId", t.AuthorizationCodeID)
	f.list("resources", t.Resources)
	f.list("requestedUserInfoClaims", t.RequestedUserInfoClaims)
	f.json("confirmation", t.Confirmation)
	return f.err
}

func (t *OAuthRefreshToken) normalize() {
	t.Scopes = slices.Clone(t.Scopes)
	t.Resources = slices.Clone(t.Resources)
	t.RequestedUserInfoClaims = slices.Clone(t.RequestedUserInfoClaims)
	t.Confirmation = compactJSON(t.Confirmation)
	utc(&t.ExpiresAt)
	utc(&t.CreatedAt)
	utc(&t.Revoked)
	utc(&t.RotatedAt)
	utc(&t.AuthTime)
	utc(&t.RotationReplayExpiresAt)
}

func (t *OAuthRefreshToken) validate() error {
	f := fields{table: TableOAuthRefreshToken}
	f.text("id", t.ID)
	f.text("token", t.Token)
	f.text("clientId", t.ClientID)
	f.text("sessionId", t.SessionID)
	f.required("userId", t.UserID)
	f.text("referenceId", t.ReferenceID)
	f.scopes("scopes", t.Scopes)
	f.time("expiresAt", t.ExpiresAt)
	f.time("createdAt", t.CreatedAt)
	f.time("revoked", t.Revoked)
	f.time("rotatedAt", t.RotatedAt)
	f.text("authorizationCodeId", t.AuthorizationCodeID)
	f.time("authTime", t.AuthTime)
	f.list("resources", t.Resources)
	f.list("requestedUserInfoClaims", t.RequestedUserInfoClaims)
	f.json("confirmation", t.Confirmation)
	f.time("rotationReplayExpiresAt", t.RotationReplayExpiresAt)
	f.text("rotationReplayResponse", t.RotationReplayResponse)
	return f.err
}

func (c *OAuthConsent) normalize() {
	c.Scopes = slices.Clone(c.Scopes)
	c.Resources = slices.Clone(c.Resources)
	c.RequestedUserInfoClaims = slices.Clone(c.RequestedUserInfoClaims)
	utc(&c.CreatedAt)
	utc(&c.UpdatedAt)
}

func (c *OAuthConsent) validate() error {
	f := fields{table: TableOAuthConsent}
	f.text("id", c.ID)
	f.required("clientId", c.ClientID)
	f.text("userId", c.UserID)
	f.text("referenceId", c.ReferenceID)
	if c.UserID == "" && c.ReferenceID == "" {
		f.fail("userId", "", "a consent needs a userId or a referenceId")
	}
	f.scopes("scopes", c.Scopes)
	f.time("createdAt", c.CreatedAt)
	f.time("updatedAt", c.UpdatedAt)
	f.list("resources", c.Resources)
	f.list("requestedUserInfoClaims", c.RequestedUserInfoClaims)
	return f.err
}

func (v *Verification) normalize() { utc(&v.ExpiresAt); utc(&v.CreatedAt); utc(&v.UpdatedAt) }

func (v *Verification) validate() error {
	f := fields{table: TableVerification}
	f.text("id", v.ID)
	f.text("identifier", v.Identifier)
	f.required("value", v.Value)
	f.time("expiresAt", v.ExpiresAt)
	f.time("createdAt", v.CreatedAt)
	f.time("updatedAt", v.UpdatedAt)
	return f.err
}

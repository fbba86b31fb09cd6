// Package refmodel is a reference model of oauthdb: the same tables, keys,
// relations, delete actions and OAuth operations, kept in plain Go maps and
// written to be obviously right rather than fast. Every lookup is a scan,
// every cascade is a loop, every write checks everything before it changes
// anything.
//
// It is written from the data model of docs/DESIGN.md (and the documented API of
// oauthdb), not from oauthdb's code, so that the two can be run side by side
// and compared (see internal/modeltest). It borrows oauthdb's record types
// and error sentinels only, so that results and dumps compare directly.
//
// Where docs/DESIGN.md leaves a choice open, the model follows these rules:
//
//   - Strings behave as in SQL: an empty optional field is NULL and matches
//     nothing, so revoking the tokens of user "" revokes none.
//   - A string that is part of an index key (ids, unique values, foreign
//     keys, and every part of the consent key) must not hold a NUL byte: the
//     engine cannot index it, so it is malformed (ErrInvalid). A lookup with
//     such a string finds nothing.
//   - A write's errors are checked in this order: the record's own fields
//     (ErrInvalid), its id (ErrConflict on insert, ErrNotFound on update),
//     unique values (ErrConflict), foreign keys (ErrForeignKey), then the
//     keys other rows refer to (ErrForeignKey).
//   - A client's clientId is printable ASCII (spaces allowed), the only
//     ones better-auth 1.7.29 finds a client by.
//   - A record is stored only if its JSON snapshot can carry it exactly:
//     every string valid UTF-8, every time in the years 0 to 9999, every
//     scope an RFC 6749 scope-token; metadata is kept as JSON writes it.
//   - Liveness is monotonic: whatever makes a token inactive for good is
//     written down (revoked), so that no later change of another row makes
//     it active again. In strict mode an access token dies with its session:
//     a session's delete, or the extension of a session that had expired,
//     revokes its access tokens. A client enabled again revokes its tokens.
//     A refresh token outlives its session in both modes.
package refmodel

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oauthdb/oauthdb"
)

// Config is what the model needs of oauthdb's options.
type Config struct {
	// Now is the clock, shared with the DB under test.
	Now func() time.Time
	// Lenient mirrors oauthdb.WithLenientSessions.
	Lenient bool
	// AccessTTL and RefreshTTL mirror oauthdb.WithTokenLifetimes; zero means
	// the defaults, an hour and thirty days.
	AccessTTL, RefreshTTL time.Duration
	// Hash mirrors oauthdb.WithHasher: how a token is stored. Nil means
	// better-auth's default, Hash.
	Hash func(token string) string
	// ReuseInterval mirrors oauthdb.WithRefreshReuseInterval.
	ReuseInterval time.Duration
}

// Model holds every table as a map from record ID to record. The maps are
// exported for tests that want to look; change them only through the
// methods.
type Model struct {
	cfg Config

	Users         map[string]oauthdb.User
	Sessions      map[string]oauthdb.Session
	Clients       map[string]oauthdb.OAuthClient
	AccessTokens  map[string]oauthdb.OAuthAccessToken
	RefreshTokens map[string]oauthdb.OAuthRefreshToken
	Consents      map[string]oauthdb.OAuthConsent
	Verifications map[string]oauthdb.Verification
}

// New returns an empty model.
func New(cfg Config) *Model {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if cfg.Hash == nil {
		cfg.Hash = Hash
	}
	return &Model{
		cfg:           cfg,
		Users:         map[string]oauthdb.User{},
		Sessions:      map[string]oauthdb.Session{},
		Clients:       map[string]oauthdb.OAuthClient{},
		AccessTokens:  map[string]oauthdb.OAuthAccessToken{},
		RefreshTokens: map[string]oauthdb.OAuthRefreshToken{},
		Consents:      map[string]oauthdb.OAuthConsent{},
		Verifications: map[string]oauthdb.Verification{},
	}
}

// Clone returns a copy of the model that shares nothing it could change.
func (m *Model) Clone() *Model {
	c := New(m.cfg)
	c.Users = maps.Clone(m.Users)
	c.Sessions = maps.Clone(m.Sessions)
	c.Clients = maps.Clone(m.Clients)
	c.AccessTokens = maps.Clone(m.AccessTokens)
	c.RefreshTokens = maps.Clone(m.RefreshTokens)
	c.Consents = maps.Clone(m.Consents)
	c.Verifications = maps.Clone(m.Verifications)
	return c
}

func (m *Model) now() time.Time { return m.cfg.Now() }

// hash is the stored form of a token.
func (m *Model) hash(token string) string { return m.cfg.Hash(token) }

// expired is the one definition of expiry: a row is expired from the
// instant of its expiresAt on.
func expired(expiresAt, now time.Time) bool { return !now.Before(expiresAt) }

// Hash is better-auth's default token hash: base64url(SHA-256), no padding.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Malformed reports whether a presented token cannot be a token at all: it
// is empty, longer than oauthdb.MaxTokenLength, or holds a byte outside
// printable ASCII (space excluded).
func Malformed(token string) bool {
	if token == "" || len(token) > oauthdb.MaxTokenLength {
		return true
	}
	for i := 0; i < len(token); i++ {
		if token[i] < '!' || token[i] > '~' {
			return true
		}
	}
	return false
}

// keyable reports whether s can be part of an index key.
func keyable(s string) bool { return !strings.Contains(s, "\x00") }

// storable reports whether a JSON snapshot carries these values exactly:
// strings that are valid UTF-8, times (zero or not) in the years 0 to 9999.
func storable(strs []string, times ...time.Time) bool {
	for _, s := range strs {
		if !utf8.ValidString(s) {
			return false
		}
	}
	lo, hi := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, t := range times {
		if !t.IsZero() && (t.Before(lo) || !t.Before(hi)) {
			return false
		}
	}
	return true
}

// scopeTokens reports whether every scope is a scope-token of RFC 6749
// §3.3: one or more of the characters 0x21, 0x23 to 0x5B, 0x5D to 0x7E.
func scopeTokens(scopes []string) bool {
	for _, s := range scopes {
		if s == "" {
			return false
		}
		for _, c := range []byte(s) {
			if !(c == 0x21 || c >= 0x23 && c <= 0x5b || c >= 0x5d && c <= 0x7e) {
				return false
			}
		}
	}
	return true
}

// strs gathers strings and string lists, for storable.
func strs(lists ...[]string) []string { return slices.Concat(lists...) }

func fail(table, field string, kind error) error {
	return &oauthdb.Error{Table: table, Field: field, Err: kind}
}

// sortedIDs returns the keys of a table in ID order.
func sortedIDs[T any](table map[string]T) []string {
	ids := make([]string, 0, len(table))
	for id := range table {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// where returns, in ID order, the records of table that match.
func where[T any](table map[string]T, match func(T) bool) []T {
	var out []T
	for _, id := range sortedIDs(table) {
		if match(table[id]) {
			out = append(out, table[id])
		}
	}
	return out
}

// Records are stored as copies that share nothing with the caller.

// cloneClient copies a client's slices. Metadata is kept as JSON writes it
// (compact); empty metadata, or null, is no metadata: it is stored as nil.
func cloneClient(c oauthdb.OAuthClient) oauthdb.OAuthClient {
	c.Scopes = slices.Clone(c.Scopes)
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.ResponseTypes = slices.Clone(c.ResponseTypes)
	c.Contacts = slices.Clone(c.Contacts)
	if len(c.Metadata) == 0 {
		c.Metadata = nil
	} else if m, err := json.Marshal(c.Metadata); err == nil && string(m) != "null" {
		c.Metadata = m
	} else {
		c.Metadata = nil
	}
	return c
}

// The lookups by unique value. Each returns the record and whether there is
// one; a value that cannot be a key finds nothing.

func (m *Model) userByEmail(email string) (oauthdb.User, bool) {
	for _, u := range m.Users {
		if email != "" && u.Email == email {
			return u, true
		}
	}
	return oauthdb.User{}, false
}

func (m *Model) sessionByToken(token string) (oauthdb.Session, bool) {
	for _, s := range m.Sessions {
		if token != "" && s.Token == token {
			return s, true
		}
	}
	return oauthdb.Session{}, false
}

func (m *Model) clientByClientID(clientID string) (oauthdb.OAuthClient, bool) {
	for _, c := range m.Clients {
		if clientID != "" && c.ClientID == clientID {
			return c, true
		}
	}
	return oauthdb.OAuthClient{}, false
}

func (m *Model) accessByHash(hash string) (oauthdb.OAuthAccessToken, bool) {
	for _, t := range m.AccessTokens {
		if hash != "" && t.Token == hash {
			return t, true
		}
	}
	return oauthdb.OAuthAccessToken{}, false
}

func (m *Model) refreshByHash(hash string) (oauthdb.OAuthRefreshToken, bool) {
	for _, t := range m.RefreshTokens {
		if hash != "" && t.Token == hash {
			return t, true
		}
	}
	return oauthdb.OAuthRefreshToken{}, false
}

func (m *Model) consentFor(clientID, userID, referenceID string) (oauthdb.OAuthConsent, bool) {
	for _, c := range m.Consents {
		if c.ClientID == clientID && c.UserID == userID && c.ReferenceID == referenceID {
			return c, true
		}
	}
	return oauthdb.OAuthConsent{}, false
}

func (m *Model) verificationByIdentifier(identifier string) (oauthdb.Verification, bool) {
	for _, v := range m.Verifications {
		if identifier != "" && v.Identifier == identifier {
			return v, true
		}
	}
	return oauthdb.Verification{}, false
}

// The rules each record must meet on its own: required fields present,
// keys keyable, values well formed.

// requiredKeys reports whether every required key is present and every
// key, required or optional, can be indexed.
func requiredKeys(required []string, optional ...string) bool {
	for _, s := range required {
		if s == "" || !keyable(s) {
			return false
		}
	}
	for _, s := range optional {
		if !keyable(s) {
			return false
		}
	}
	return true
}

func validUser(u oauthdb.User) bool {
	return u.Name != "" && requiredKeys([]string{u.ID, u.Email}) &&
		storable([]string{u.ID, u.Name, u.Email, u.Image}, u.CreatedAt, u.UpdatedAt)
}

func validSession(s oauthdb.Session) bool {
	return !s.ExpiresAt.IsZero() && requiredKeys([]string{s.ID, s.Token, s.UserID}) &&
		storable([]string{s.ID, s.Token, s.IPAddress, s.UserAgent, s.UserID}, s.ExpiresAt, s.CreatedAt, s.UpdatedAt)
}

func validClient(c oauthdb.OAuthClient) bool {
	if len(c.RedirectURIs) == 0 {
		return false
	}
	for _, raw := range c.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() {
			return false
		}
	}
	if len(c.Metadata) > 0 && (!json.Valid(c.Metadata) || !utf8.Valid(c.Metadata)) {
		return false
	}
	texts := strs(c.Scopes, c.RedirectURIs, c.PostLogoutRedirectURIs, c.GrantTypes, c.ResponseTypes, c.Contacts,
		c.ClientCredentialsScopes,
		[]string{c.ID, c.ClientID, c.ClientSecret, c.TokenEndpointAuthMethod, c.Name, c.URI, c.Icon, c.TOS,
			c.Policy, c.SoftwareID, c.SoftwareVersion, c.SoftwareStatement, c.Type, c.ReferenceID, c.UserID,
			c.ClientDiscoveryID, c.SubjectType, c.ApplicationType, c.BackchannelLogoutURI, c.JWKS, c.JWKSURI})
	return requiredKeys([]string{c.ID, c.ClientID}, c.UserID) && printableClientID(c.ClientID) && scopeTokens(c.Scopes) &&
		scopeTokens(c.ClientCredentialsScopes) && storable(texts, c.CreatedAt, c.UpdatedAt)
}

// printableClientID reports whether a clientId is printable ASCII, spaces
// allowed: the only ones better-auth 1.7.29 finds a client by.
func printableClientID(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func validAccessToken(t oauthdb.OAuthAccessToken) bool {
	return !t.ExpiresAt.IsZero() &&
		requiredKeys([]string{t.ID, t.Token, t.ClientID}, t.SessionID, t.UserID, t.RefreshID) && scopeTokens(t.Scopes) &&
		validJSON(t.Confirmation) &&
		storable(strs(t.Scopes, t.Resources, t.RequestedUserInfoClaims,
			[]string{t.ID, t.Token, t.ClientID, t.SessionID, t.UserID, t.ReferenceID, t.RefreshID, t.AuthorizationCodeID}),
			t.ExpiresAt, t.CreatedAt, t.Revoked)
}

func validRefreshToken(t oauthdb.OAuthRefreshToken) bool {
	return !t.ExpiresAt.IsZero() &&
		requiredKeys([]string{t.ID, t.Token, t.ClientID, t.UserID}, t.SessionID) && scopeTokens(t.Scopes) &&
		validJSON(t.Confirmation) &&
		storable(strs(t.Scopes, t.Resources, t.RequestedUserInfoClaims,
			[]string{t.ID, t.Token, t.ClientID, t.SessionID, t.UserID, t.ReferenceID, t.AuthorizationCodeID, t.RotationReplayResponse}),
			t.ExpiresAt, t.CreatedAt, t.Revoked, t.RotatedAt, t.AuthTime, t.RotationReplayExpiresAt)
}

func validConsent(c oauthdb.OAuthConsent) bool {
	return (c.UserID != "" || c.ReferenceID != "") &&
		requiredKeys([]string{c.ID, c.ClientID}, c.UserID, c.ReferenceID) && scopeTokens(c.Scopes) &&
		storable(strs(c.Scopes, c.Resources, c.RequestedUserInfoClaims, []string{c.ID, c.ClientID, c.UserID, c.ReferenceID}),
			c.CreatedAt, c.UpdatedAt)
}

// validJSON reports whether a JSON field holds valid JSON in valid UTF-8.
func validJSON(raw json.RawMessage) bool {
	return len(raw) == 0 || json.Valid(raw) && utf8.Valid(raw)
}

func validVerification(v oauthdb.Verification) bool {
	return v.Value != "" && !v.ExpiresAt.IsZero() && requiredKeys([]string{v.ID, v.Identifier}) &&
		storable([]string{v.ID, v.Identifier, v.Value}, v.ExpiresAt, v.CreatedAt, v.UpdatedAt)
}

// The foreign keys of each record: each non-empty one must name a record.

func (m *Model) userExists(id string) bool { _, ok := m.Users[id]; return ok }

func (m *Model) sessionExists(id string) bool { _, ok := m.Sessions[id]; return ok }

func (m *Model) clientExists(clientID string) bool {
	_, ok := m.clientByClientID(clientID)
	return ok
}

func (m *Model) refreshExists(id string) bool { _, ok := m.RefreshTokens[id]; return ok }

// optionalFK is a foreign key that may be NULL.
func optionalFK(v string, exists func(string) bool) bool { return v == "" || exists(v) }

// check runs a write's checks in order and returns the first failure.
type check struct {
	ok    bool
	field string
	kind  error
}

func first(table string, checks ...check) error {
	for _, c := range checks {
		if !c.ok {
			return fail(table, c.field, c.kind)
		}
	}
	return nil
}

package oauthdbtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/oauthdb/oauthdb"
)

// Default lifetimes of fixture records: better-auth's defaults.
const (
	sessionLifetime = 7 * 24 * time.Hour
	accessLifetime  = time.Hour
	refreshLifetime = 30 * 24 * time.Hour
)

// A FixtureOption changes a record before a fixture builder inserts it.
// Each option applies to some kinds of record only, as its documentation
// says; given to a builder of another kind, it fails the test.
type FixtureOption struct {
	name  string
	apply func(b *building) bool
}

// building is the record a builder is making, with what the options may set
// beside it: rec is a pointer to it, of the table's record type.
type building struct {
	now   time.Time
	table string
	rec   any
	// put replaces the record by another of its type (from
	// oauthdb.DecodeRecord).
	put func(rec any)

	secret *string // the client's plaintext secret; empty for a public client
}

// newBuilding starts building rec, a record of table.
func newBuilding[T any](now time.Time, table string, rec *T) *building {
	return &building{now: now, table: table, rec: rec, put: func(v any) { *rec = v.(T) }}
}

// setFields sets the fields of the record named in to, by better-auth's
// names, to their values, and reports whether it has any of them: what an
// option that several kinds of record take sets. A value must be of its
// field's Go type.
func (b *building) setFields(to map[string]any) bool {
	s := fieldSetter{to: to}
	rec, err := oauthdb.DecodeRecord(b.table, b.rec, &s)
	if err != nil || s.set == 0 {
		return false
	}
	b.put(rec)
	return true
}

// fieldSetter is the oauthdb.FieldVisitor of setFields.
type fieldSetter struct {
	to  map[string]any
	set int
}

func (s *fieldSetter) String(name string, v *string)        { setField(s, name, v) }
func (s *fieldSetter) Strings(name string, v *[]string)     { setField(s, name, v) }
func (s *fieldSetter) Bool(name string, v *bool)            { setField(s, name, v) }
func (s *fieldSetter) Time(name string, v *time.Time)       { setField(s, name, v) }
func (s *fieldSetter) JSON(name string, v *json.RawMessage) { setField(s, name, v) }

func setField[V any](s *fieldSetter, name string, v *V) {
	if x, ok := s.to[name].(V); ok {
		*v = x
		s.set++
	}
}

// apply runs the options over b, failing the test on one that does not
// apply.
func (f *Fixtures) apply(b *building, builder string, opts []FixtureOption) {
	f.t.Helper()
	for _, o := range opts {
		if o.apply == nil || !o.apply(b) {
			f.t.Fatalf("oauthdbtest: %s: option %s does not apply to a %s", builder, o.name, b.table)
		}
	}
}

// insert stores the record being built in one write transaction, failing
// the test if the DB refuses it.
func (f *Fixtures) insert(builder string, b *building) {
	f.t.Helper()
	err := f.DB.Update(func(tx *oauthdb.Tx) error { return tx.Insert(b.rec) })
	if err != nil {
		f.t.Fatalf("oauthdbtest: %s: %v", builder, err)
	}
}

// next returns the ordinal of the next record of a table, from 1, for
// default names.
func (f *Fixtures) next(table string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n[table]++
	return f.n[table]
}

// newID draws a fresh ID from the DB's seeded randomness.
func (f *Fixtures) newID() string {
	f.t.Helper()
	id, err := f.DB.NewID()
	if err != nil {
		f.t.Fatalf("oauthdbtest: %v", err)
	}
	return id
}

// hash returns the stored form of a token under the DB's hasher.
func (f *Fixtures) hash(token string) string { return f.DB.Hash(token) }

// User inserts a user and returns it. By default the nth user is named
// "User n", with the address "usern@example.com", unverified. Options:
// WithID, Name, Email, EmailVerified, Image, CreatedAt, Edit.
func (f *Fixtures) User(opts ...FixtureOption) oauthdb.User {
	f.t.Helper()
	n := f.next(oauthdb.TableUser)
	now := f.Clock.Now()
	u := oauthdb.User{
		ID:        f.newID(),
		Name:      fmt.Sprintf("User %d", n),
		Email:     fmt.Sprintf("user%d@example.com", n),
		CreatedAt: now,
		UpdatedAt: now,
	}
	b := newBuilding(now, oauthdb.TableUser, &u)
	f.apply(b, "User", opts)
	f.insert("User", b)
	return u
}

// Session inserts a session of u and returns it. By default it has a fresh
// cookie token and lives seven days, better-auth's default. Options: WithID,
// ExpiresAt, ExpiresIn, Expired, CreatedAt, Edit.
func (f *Fixtures) Session(u oauthdb.User, opts ...FixtureOption) oauthdb.Session {
	f.t.Helper()
	now := f.Clock.Now()
	s := oauthdb.Session{
		ID:        f.newID(),
		Token:     f.newID(),
		UserID:    u.ID,
		ExpiresAt: now.Add(sessionLifetime),
		CreatedAt: now,
		UpdatedAt: now,
	}
	b := newBuilding(now, oauthdb.TableSession, &s)
	f.apply(b, "Session", opts)
	f.insert("Session", b)
	return s
}

// Client inserts a confidential client and returns it. By default the nth
// client is named "Client n", has a fresh clientId and secret (see
// Fixtures.Secret), the redirect URI "https://clientn.example.com/callback",
// the grant types authorization_code, refresh_token and client_credentials,
// the response type code and client_secret_basic authentication; it allows
// any scope, asks for consent and has no owner. Options: WithID, ClientID,
// Name, WithOwner, Disabled, SkipConsent, Public, AuthMethod, WithSecret, Scopes,
// ClientCredentialsScopes (none by default: the fake server refuses such a
// client the client_credentials grant, as better-auth does), RedirectURIs,
// GrantTypes, EndSession, Reference, CreatedAt, Edit.
func (f *Fixtures) Client(opts ...FixtureOption) oauthdb.OAuthClient {
	f.t.Helper()
	n := f.next(oauthdb.TableOAuthClient)
	now := f.Clock.Now()
	secret := f.newID()
	c := oauthdb.OAuthClient{
		ID:                      f.newID(),
		ClientID:                f.newID(),
		RedirectURIs:            []string{fmt.Sprintf("https://client%d.example.com/callback", n)},
		GrantTypes:              []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials},
		ResponseTypes:           []string{"code"},
		TokenEndpointAuthMethod: "client_secret_basic",
		Name:                    fmt.Sprintf("Client %d", n),
		Type:                    "web",
		CreatedAt:               now,
		UpdatedAt:               now,
	}
	c.ClientSecret = oauthdb.HashSecret(secret)
	b := newBuilding(now, oauthdb.TableOAuthClient, &c)
	b.secret = &secret
	before := secret
	f.apply(b, "Client", opts)
	switch {
	case secret == before:
		// An Edit may have set the stored secret; keep it.
	case secret == "":
		c.ClientSecret = ""
	default:
		c.ClientSecret = oauthdb.HashSecret(secret)
	}
	f.insert("Client", b)
	f.mu.Lock()
	f.secrets[c.ClientID] = secret
	f.mu.Unlock()
	return c
}

// Secret returns the plaintext secret of a client that Client made: what
// the client sends to authenticate. It is empty for a public client. It
// fails the test for a client that Client did not make.
func (f *Fixtures) Secret(c oauthdb.OAuthClient) string {
	f.t.Helper()
	f.mu.Lock()
	s, ok := f.secrets[c.ClientID]
	f.mu.Unlock()
	if !ok {
		f.t.Fatalf("oauthdbtest: Secret: client %q was not made by Fixtures.Client", c.ClientID)
	}
	return s
}

// AccessToken inserts an opaque access token issued to c for the session s
// and its user, and returns the plaintext token with the stored record. For
// a client-credentials token, pass the zero Session. By default the token
// has the client's scopes and lives an hour. Options: WithID, ForUser,
// WithRefresh, Scopes, Reference, ExpiresAt, ExpiresIn, Expired, Revoked,
// CreatedAt, Edit.
func (f *Fixtures) AccessToken(c oauthdb.OAuthClient, s oauthdb.Session, opts ...FixtureOption) (string, oauthdb.OAuthAccessToken) {
	f.t.Helper()
	now := f.Clock.Now()
	token := f.newID()
	a := oauthdb.OAuthAccessToken{
		ID:        f.newID(),
		Token:     f.hash(token),
		ClientID:  c.ClientID,
		SessionID: s.ID,
		UserID:    s.UserID,
		Scopes:    slices.Clone(c.Scopes),
		ExpiresAt: now.Add(accessLifetime),
		CreatedAt: now,
	}
	b := newBuilding(now, oauthdb.TableOAuthAccessToken, &a)
	f.apply(b, "AccessToken", opts)
	f.insert("AccessToken", b)
	return token, a
}

// RefreshToken inserts a refresh token issued to c for the session s and
// its user, and returns the plaintext token with the stored record. A
// refresh token needs a user: without a session, give one with ForUser. By
// default the token has the client's scopes and offline_access — better-auth
// issues a refresh token for offline_access only, and such a token outlives
// its session and is rotated when redeemed (give other Scopes for one bound
// to its session; see oauthdb.DB.ValidateRefreshToken) — and lives thirty
// days. Options: WithID, ForUser, Scopes, Reference, ExpiresAt, ExpiresIn,
// Expired, Revoked, CreatedAt, Edit.
func (f *Fixtures) RefreshToken(c oauthdb.OAuthClient, s oauthdb.Session, opts ...FixtureOption) (string, oauthdb.OAuthRefreshToken) {
	f.t.Helper()
	now := f.Clock.Now()
	token := f.newID()
	r := oauthdb.OAuthRefreshToken{
		ID:        f.newID(),
		Token:     f.hash(token),
		ClientID:  c.ClientID,
		SessionID: s.ID,
		UserID:    s.UserID,
		Scopes:    offline(c.Scopes),
		ExpiresAt: now.Add(refreshLifetime),
		CreatedAt: now,
	}
	b := newBuilding(now, oauthdb.TableOAuthRefreshToken, &r)
	f.apply(b, "RefreshToken", opts)
	f.insert("RefreshToken", b)
	return token, r
}

// offline returns scopes with offline_access, added at the end if it is
// not there.
func offline(scopes []string) []string {
	out := slices.Clone(scopes)
	if !slices.Contains(out, oauthdb.ScopeOfflineAccess) {
		out = append(out, oauthdb.ScopeOfflineAccess)
	}
	return out
}

// Consent inserts the consent of u to the client c and returns it. By
// default it grants the client's scopes. Options: WithID, Scopes, Reference,
// CreatedAt, Edit.
func (f *Fixtures) Consent(c oauthdb.OAuthClient, u oauthdb.User, opts ...FixtureOption) oauthdb.OAuthConsent {
	f.t.Helper()
	now := f.Clock.Now()
	cs := oauthdb.OAuthConsent{
		ID:        f.newID(),
		ClientID:  c.ClientID,
		UserID:    u.ID,
		Scopes:    slices.Clone(c.Scopes),
		CreatedAt: now,
		UpdatedAt: now,
	}
	b := newBuilding(now, oauthdb.TableOAuthConsent, &cs)
	f.apply(b, "Consent", opts)
	f.insert("Consent", b)
	return cs
}

// Options. Each says which records it applies to.

// option makes a FixtureOption named name; apply reports false for a
// record it does not apply to.
func option(name string, apply func(b *building) bool) FixtureOption {
	return FixtureOption{name: name, apply: apply}
}

// on makes a FixtureOption named name that applies to records of type T
// only: apply changes the record (and, through b, what is built beside it).
func on[T Record](name string, apply func(rec *T, b *building)) FixtureOption {
	return option(name, func(b *building) bool {
		rec, ok := b.rec.(*T)
		if ok {
			apply(rec, b)
		}
		return ok
	})
}

// WithID sets the record's ID. It applies to every record.
func WithID(id string) FixtureOption {
	return option("WithID", func(b *building) bool { return b.setFields(map[string]any{"id": id}) })
}

// CreatedAt sets the record's createdAt and, where it has one, updatedAt.
// It applies to every record.
func CreatedAt(t time.Time) FixtureOption {
	return option("CreatedAt", func(b *building) bool {
		return b.setFields(map[string]any{"createdAt": t, "updatedAt": t})
	})
}

// Record is the set of the record types the fixture builders make, for
// Edit.
type Record interface {
	oauthdb.User | oauthdb.Session | oauthdb.OAuthClient | oauthdb.OAuthAccessToken |
		oauthdb.OAuthRefreshToken | oauthdb.OAuthConsent
}

// Edit changes any field of a record of type T with fn, after the builder's
// defaults and the options before it: the way to set what no other option
// does. It applies to records of type T.
//
//	fx.User(oauthdbtest.Edit(func(u *oauthdb.User) { u.EmailVerified = true }))
func Edit[T Record](fn func(*T)) FixtureOption {
	var zero T
	return on(fmt.Sprintf("Edit(func(*%T))", zero), func(rec *T, _ *building) { fn(rec) })
}

// Name sets the name of a user or a client.
func Name(name string) FixtureOption {
	return option("Name", func(b *building) bool { return b.setFields(map[string]any{"name": name}) })
}

// Email sets a user's email address.
func Email(email string) FixtureOption {
	return on("Email", func(rec *oauthdb.User, _ *building) {
		rec.Email = email
	})
}

// ClientID sets a client's public identifier, oauthClient.clientId.
func ClientID(clientID string) FixtureOption {
	return on("ClientID", func(rec *oauthdb.OAuthClient, _ *building) {
		rec.ClientID = clientID
	})
}

// WithOwner makes u the owner of a client (oauthClient.userId).
func WithOwner(u oauthdb.User) FixtureOption {
	return on("WithOwner", func(rec *oauthdb.OAuthClient, _ *building) {
		rec.UserID = u.ID
	})
}

// Disabled disables a client: its tokens are inactive and it cannot get
// new ones.
func Disabled() FixtureOption {
	return on("Disabled", func(rec *oauthdb.OAuthClient, _ *building) {
		rec.Disabled = true
	})
}

// SkipConsent lets a client skip the consent step.
func SkipConsent() FixtureOption {
	return on("SkipConsent", func(rec *oauthdb.OAuthClient, _ *building) {
		rec.SkipConsent = true
	})
}

// Public makes a client public: no secret, token endpoint authentication
// "none", and so no client_credentials grant.
func Public() FixtureOption {
	return on("Public", func(rec *oauthdb.OAuthClient, b *building) {
		*b.secret = ""
		rec.Public = true
		rec.TokenEndpointAuthMethod = "none"
		rec.Type = "native"
		rec.GrantTypes = slices.DeleteFunc(rec.GrantTypes, func(g string) bool { return g == GrantClientCredentials })
	})
}

// AuthMethod sets how a client authenticates at the token, introspection and
// revocation endpoints (oauthClient.tokenEndpointAuthMethod):
// "client_secret_basic" (the default, better-auth's) or "client_secret_post".
// The fake server refuses any other way, as better-auth 1.7.29 does: a
// client library that sends its secret in the form (openid-client's default,
// x/oauth2's AuthStyleInParams) needs a client registered for
// client_secret_post. For "none", use Public.
func AuthMethod(method string) FixtureOption {
	return on("AuthMethod", func(rec *oauthdb.OAuthClient, _ *building) {
		rec.TokenEndpointAuthMethod = method
	})
}

// WithSecret sets a client's plaintext secret; the client stores its hash.
func WithSecret(secret string) FixtureOption {
	return on("WithSecret", func(rec *oauthdb.OAuthClient, b *building) {
		*b.secret = secret
	})
}

// RedirectURIs sets a client's registered redirect URIs.
func RedirectURIs(uris ...string) FixtureOption {
	return on("RedirectURIs", func(rec *oauthdb.OAuthClient, _ *building) {
		rec.RedirectURIs = slices.Clone(uris)
	})
}

// GrantTypes sets the grant types a client may use.
func GrantTypes(grants ...string) FixtureOption {
	return on("GrantTypes", func(rec *oauthdb.OAuthClient, _ *building) {
		rec.GrantTypes = slices.Clone(grants)
	})
}

// ClientCredentialsScopes sets the scopes a client may be granted for
// itself, by the client_credentials grant (oauthClient.clientCredentialsScopes):
// the fake server grants them when no scope is asked, and refuses the grant
// to a client that has none, as better-auth 1.7.29 does.
func ClientCredentialsScopes(scopes ...string) FixtureOption {
	return on("ClientCredentialsScopes", func(rec *oauthdb.OAuthClient, _ *building) {
		rec.ClientCredentialsScopes = slices.Clone(scopes)
	})
}

// Scopes sets the scopes of a client (those it may ask for), of a token or
// of a consent.
func Scopes(scopes ...string) FixtureOption {
	return option("Scopes", func(b *building) bool {
		return b.setFields(map[string]any{"scopes": slices.Clone(scopes)})
	})
}

// Reference sets better-auth's referenceId (an organisation, say) of a
// client, a token or a consent.
func Reference(referenceID string) FixtureOption {
	return option("Reference", func(b *building) bool {
		return b.setFields(map[string]any{"referenceId": referenceID})
	})
}

// ForUser issues a token for u: for a token without a session, or one whose
// user is not its session's.
func ForUser(u oauthdb.User) FixtureOption {
	return option("ForUser", func(b *building) bool {
		switch r := b.rec.(type) {
		case *oauthdb.OAuthAccessToken:
			r.UserID = u.ID
		case *oauthdb.OAuthRefreshToken:
			r.UserID = u.ID
		default:
			return false
		}
		return true
	})
}

// WithRefresh links an access token to the refresh token it was issued with
// (oauthAccessToken.refreshId): revoking r then deletes it.
func WithRefresh(r oauthdb.OAuthRefreshToken) FixtureOption {
	return on("WithRefresh", func(rec *oauthdb.OAuthAccessToken, _ *building) {
		rec.RefreshID = r.ID
	})
}

// ExpiresAt sets when a session or a token expires.
func ExpiresAt(t time.Time) FixtureOption {
	return option("ExpiresAt", func(b *building) bool { return setExpiry(b, t) })
}

// ExpiresIn makes a session or a token expire d after the clock's time.
func ExpiresIn(d time.Duration) FixtureOption {
	return option("ExpiresIn", func(b *building) bool { return setExpiry(b, b.now.Add(d)) })
}

// Expired makes a session or a token expire one second before the clock's
// time: it is stored, and inactive.
func Expired() FixtureOption {
	return option("Expired", func(b *building) bool { return setExpiry(b, b.now.Add(-time.Second)) })
}

// setExpiry sets the expiry of a session or token.
func setExpiry(b *building, t time.Time) bool { return b.setFields(map[string]any{"expiresAt": t}) }

// Revoked marks a token revoked at the clock's time. A revoked refresh token
// is kept so that its replay is recognised; a revoked access token is what
// better-auth 1.7 may keep.
func Revoked() FixtureOption {
	return option("Revoked", func(b *building) bool { return b.setFields(map[string]any{"revoked": b.now}) })
}

package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/oauthdb/oauthdb"
)

// The sample dataset is what serve holds when it is given no data, so that
// a newcomer can try it in one command: two users, four clients of each
// kind, and tokens in each state introspection tells apart. Its secrets and
// tokens are drawn afresh at every start and live only in this process's
// memory: they are sample credentials, and the start-up banner prints them
// once (printSample) so that they can be tried.
const (
	sampleAPI      = "sample-api"      // confidential: the client the banner's curl authenticates as
	sampleWeb      = "sample-web"      // confidential: another client, whose tokens sample-api cannot see
	sampleSPA      = "sample-spa"      // public: cannot introspect
	sampleDisabled = "sample-disabled" // confidential and disabled: cannot authenticate
)

// sample holds the plaintext credentials of a sample dataset, which the
// store itself keeps only hashed.
type sample struct {
	secrets map[string]string // client secrets, by clientId
	// Tokens of sample-api: Access and Refresh are alice's, active, with
	// her session; Machine is a client-credentials token (no user);
	// Expired and Revoked are access tokens, ExpiredRefresh and
	// RevokedRefresh refresh tokens, in those states; SessionEnded is an
	// access token of bob's, whose session has expired (inactive), and
	// Offline his refresh token, which outlives the session (active, no sid).
	Access, Refresh, Machine                         string
	Expired, Revoked, ExpiredRefresh, RevokedRefresh string
	SessionEnded, Offline                            string
	// OtherAccess and OtherRefresh are alice's tokens of sample-web: active,
	// but inactive to sample-api.
	OtherAccess, OtherRefresh string
	// Scopes are the scopes of alice's tokens.
	Scopes []string
	// AliceID and SessionID are the IDs of alice and her session, which
	// introspection answers as sub and sid.
	AliceID, SessionID string
}

// newSample opens a DB holding a fresh sample dataset.
func newSample(opts ...oauthdb.Option) (*oauthdb.DB, *sample, error) {
	db, err := oauthdb.Open(opts...)
	if err != nil {
		return nil, nil, err
	}
	s := &sample{secrets: map[string]string{}, Scopes: []string{"openid", "profile", "email", "offline_access"}}
	now := db.Now()
	hour := time.Hour
	err = db.Update(func(tx *oauthdb.Tx) error {
		b := sampleBuilder{db: db, tx: tx, now: now}
		alice := b.user("Alice Sample", "alice@example.com")
		bob := b.user("Bob Sample", "bob@example.com")
		aliceSession := b.session(alice, now.Add(7*24*hour))
		bobSession := b.session(bob, now.Add(-hour)) // signed out by expiry an hour ago
		s.AliceID, s.SessionID = alice, aliceSession
		for _, c := range []struct {
			id               string
			public, disabled bool
		}{{sampleAPI, false, false}, {sampleWeb, false, false}, {sampleSPA, true, false}, {sampleDisabled, false, true}} {
			if secret := b.client(c.id, c.public, c.disabled); secret != "" {
				s.secrets[c.id] = secret
			}
		}
		live, expired := now.Add(hour), now.Add(-hour)
		var refresh, refresh2 string
		s.Refresh, refresh = b.refresh(sampleAPI, alice, aliceSession, s.Scopes, now.Add(30*24*hour), time.Time{})
		s.Access = b.access(sampleAPI, alice, aliceSession, refresh, s.Scopes, live, time.Time{})
		s.Machine = b.access(sampleAPI, "", "", "", []string{"notes:read"}, live, time.Time{})
		s.Expired = b.access(sampleAPI, alice, aliceSession, "", s.Scopes, expired, time.Time{})
		s.Revoked = b.access(sampleAPI, alice, aliceSession, "", s.Scopes, live, now.Add(-time.Minute))
		s.ExpiredRefresh, _ = b.refresh(sampleAPI, alice, aliceSession, s.Scopes, expired, time.Time{})
		s.RevokedRefresh, _ = b.refresh(sampleAPI, alice, aliceSession, s.Scopes, now.Add(30*24*hour), now.Add(-time.Minute))
		s.Offline, refresh2 = b.refresh(sampleAPI, bob, bobSession, s.Scopes, now.Add(30*24*hour), time.Time{})
		s.SessionEnded = b.access(sampleAPI, bob, bobSession, refresh2, s.Scopes, live, time.Time{})
		s.OtherRefresh, refresh = b.refresh(sampleWeb, alice, aliceSession, s.Scopes, now.Add(30*24*hour), time.Time{})
		s.OtherAccess = b.access(sampleWeb, alice, aliceSession, refresh, s.Scopes, live, time.Time{})
		return b.err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sample dataset: %w", err)
	}
	return db, s, nil
}

// secret returns the plaintext secret of a sample client.
func (s *sample) secret(clientID string) string { return s.secrets[clientID] }

// sampleBuilder inserts the sample's records in one transaction and keeps
// the first error.
type sampleBuilder struct {
	db  *oauthdb.DB
	tx  *oauthdb.Tx
	now time.Time
	err error
}

func (b *sampleBuilder) id() string {
	id, err := b.db.NewID()
	b.keep(err)
	return id
}

// random returns 32 random bytes, base64url: as better-auth's tokens and
// secrets are, and safe inside a URL, a form and single quotes.
func (b *sampleBuilder) random() string {
	var r [32]byte
	_, err := io.ReadFull(rand.Reader, r[:])
	b.keep(err)
	return base64.RawURLEncoding.EncodeToString(r[:])
}

func (b *sampleBuilder) keep(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *sampleBuilder) user(name, email string) string {
	id := b.id()
	b.keep(b.tx.InsertUser(oauthdb.User{ID: id, Name: name, Email: email, EmailVerified: true}))
	return id
}

func (b *sampleBuilder) session(user string, expires time.Time) string {
	id := b.id()
	b.keep(b.tx.InsertSession(oauthdb.Session{ID: id, Token: b.random(), UserID: user, ExpiresAt: expires,
		CreatedAt: b.now.Add(-2 * time.Hour)}))
	return id
}

// client inserts a client and returns its plaintext secret ("" for a
// public client).
func (b *sampleBuilder) client(clientID string, public, disabled bool) string {
	c := oauthdb.OAuthClient{ID: b.id(), ClientID: clientID, Name: clientID, Public: public, Disabled: disabled,
		RedirectURIs: []string{"http://127.0.0.1:3000/callback"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: "client_secret_basic", Type: "web"}
	var secret string
	if public {
		c.TokenEndpointAuthMethod, c.Type = "none", "user-agent-based"
	} else {
		secret = b.random()
		c.ClientSecret = oauthdb.HashSecret(secret)
		c.GrantTypes = append(c.GrantTypes, "client_credentials")
	}
	b.keep(b.tx.InsertClient(c))
	return secret
}

// access inserts an access token and returns it in plaintext.
func (b *sampleBuilder) access(client, user, session, refreshID string, scopes []string, expires, revoked time.Time) string {
	token := b.random()
	b.keep(b.tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: b.id(), Token: b.db.Hash(token), ClientID: client,
		UserID: user, SessionID: session, RefreshID: refreshID, Scopes: scopes, ExpiresAt: expires,
		CreatedAt: expires.Add(-time.Hour), Revoked: revoked}))
	return token
}

// refresh inserts a refresh token and returns it in plaintext, and its
// record's ID.
func (b *sampleBuilder) refresh(client, user, session string, scopes []string, expires, revoked time.Time) (string, string) {
	token, id := b.random(), b.id()
	b.keep(b.tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: id, Token: b.db.Hash(token), ClientID: client,
		UserID: user, SessionID: session, Scopes: scopes, ExpiresAt: expires,
		CreatedAt: b.now.Add(-time.Hour), Revoked: revoked}))
	return token, id
}

// printSample prints, once at start-up, how to try the sample: a curl
// command that introspects alice's access token as sample-api, and the
// other tokens to try. These are the only credentials serve ever prints.
func printSample(w io.Writer, s *sample, url string) {
	fmt.Fprintf(w, `
Serving a SAMPLE dataset: made up at start-up, in memory only, gone on exit.
The client secrets and tokens below are sample credentials of this throwaway
dataset, valid nowhere else. Try:

  curl -s -u '%s:%s' -d 'token=%s' %s

Other tokens to introspect with the same -u (sample-api's own unless said):
  refresh token (active; add -d token_type_hint=refresh_token)  %s
  client-credentials access token (active, no sub)               %s
  expired access token                                           %s
  revoked access token                                           %s
  sample-web's access token (inactive to sample-api)             %s
Other clients: %s, confidential (-u '%s:%s');
%s, public (cannot introspect); %s, disabled.

`, sampleAPI, s.secret(sampleAPI), s.Access, url,
		s.Refresh, s.Machine, s.Expired, s.Revoked, s.OtherAccess,
		sampleWeb, sampleWeb, s.secret(sampleWeb), sampleSPA, sampleDisabled)
}

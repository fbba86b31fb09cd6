package oauthdb_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

// The specification of the data model: its relations in both directions,
// its foreign keys, its delete actions, its unique values and what bad input
// does to the store (nothing).

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openDB(t *testing.T, opts ...oauthdb.Option) *oauthdb.DB {
	t.Helper()
	db, err := oauthdb.Open(append([]oauthdb.Option{oauthdb.WithClock(func() time.Time { return t0 })}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

type state = oauthdb.Snapshot

// dump returns every table of db, after checking its indexes.
func dump(t *testing.T, db *oauthdb.DB) state {
	t.Helper()
	if err := db.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return db.Snapshot()
}

func update(t *testing.T, db *oauthdb.DB, fn func(tx *oauthdb.Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// ids returns the IDs of records, for compact comparisons.
func ids[T any](seq func(func(T) bool), id func(T) string) []string {
	out := []string{}
	for r := range seq {
		out = append(out, id(r))
	}
	return out
}

func accessID(t oauthdb.OAuthAccessToken) string   { return t.ID }
func refreshID(t oauthdb.OAuthRefreshToken) string { return t.ID }
func consentID(c oauthdb.OAuthConsent) string      { return c.ID }
func sessionID(s oauthdb.Session) string           { return s.ID }
func clientID(c oauthdb.OAuthClient) string        { return c.ID }

// The seeded world:
//
//	u1 ── s1 ── at1 (refresh rt1), at2 (no refresh)
//	   └─ owns client c1 (clientId "cid-1")
//	u2 ── s2 ── at3 on c2, rt2 on c2
//	client c2 (clientId "cid-2", no owner): at4 (client credentials)
//	consents: k1 (cid-1, u1), k2 (cid-2, u2)
func seed(t *testing.T, db *oauthdb.DB) {
	t.Helper()
	exp := t0.Add(time.Hour)
	update(t, db, func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertUser(oauthdb.User{ID: "u2", Name: "Bob", Email: "bob@example.com"}),
			tx.InsertSession(oauthdb.Session{ID: "s1", Token: "cookie-1", UserID: "u1", ExpiresAt: exp}),
			tx.InsertSession(oauthdb.Session{ID: "s2", Token: "cookie-2", UserID: "u2", ExpiresAt: exp}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "cid-1", UserID: "u1", RedirectURIs: []string{"https://one.example/cb"}}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c2", ClientID: "cid-2", RedirectURIs: []string{"https://two.example/cb"}}),
			tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: "rt1", Token: oauthdb.HashToken("r1"), ClientID: "cid-1", UserID: "u1", SessionID: "s1", ExpiresAt: exp}),
			tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: "rt2", Token: oauthdb.HashToken("r2"), ClientID: "cid-2", UserID: "u2", SessionID: "s2", ExpiresAt: exp}),
			tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "at1", Token: oauthdb.HashToken("a1"), ClientID: "cid-1", UserID: "u1", SessionID: "s1", RefreshID: "rt1", ExpiresAt: exp}),
			tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "at2", Token: oauthdb.HashToken("a2"), ClientID: "cid-1", UserID: "u1", SessionID: "s1", ExpiresAt: exp}),
			tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "at3", Token: oauthdb.HashToken("a3"), ClientID: "cid-2", UserID: "u2", SessionID: "s2", RefreshID: "rt2", ExpiresAt: exp}),
			tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "at4", Token: oauthdb.HashToken("a4"), ClientID: "cid-2", ExpiresAt: exp}),
			tx.InsertConsent(oauthdb.OAuthConsent{ID: "k1", ClientID: "cid-1", UserID: "u1", Scopes: []string{"openid"}}),
			tx.InsertConsent(oauthdb.OAuthConsent{ID: "k2", ClientID: "cid-2", UserID: "u2", Scopes: []string{"openid"}}),
		)
	})
}

func TestRelationsOne(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	type got struct{ Name, Want, Got string }
	view(t, db, func(tx *oauthdb.Tx) {
		at1, _ := tx.AccessToken("at1")
		rt1, _ := tx.RefreshToken("rt1")
		c1, _ := tx.Client("c1")
		k1, _ := tx.Consent("k1")
		s1, _ := tx.Session("s1")
		var rows []got
		add := func(name, want string, id string, err error) {
			if err != nil {
				id = "error: " + err.Error()
			}
			rows = append(rows, got{name, want, id})
		}
		u, err := tx.ClientUser(c1)
		add("oauthClient.user", "u1", u.ID, err)
		c, err := tx.RefreshTokenClient(rt1)
		add("oauthRefreshToken.oauthClient", "c1", c.ID, err)
		s, err := tx.RefreshTokenSession(rt1)
		add("oauthRefreshToken.session", "s1", s.ID, err)
		u, err = tx.RefreshTokenUser(rt1)
		add("oauthRefreshToken.user", "u1", u.ID, err)
		c, err = tx.AccessTokenClient(at1)
		add("oauthAccessToken.oauthClient", "c1", c.ID, err)
		s, err = tx.AccessTokenSession(at1)
		add("oauthAccessToken.session", "s1", s.ID, err)
		u, err = tx.AccessTokenUser(at1)
		add("oauthAccessToken.user", "u1", u.ID, err)
		r, err := tx.AccessTokenRefreshToken(at1)
		add("oauthAccessToken.oauthRefreshToken", "rt1", r.ID, err)
		c, err = tx.ConsentClient(k1)
		add("oauthConsent.oauthClient", "c1", c.ID, err)
		u, err = tx.ConsentUser(k1)
		add("oauthConsent.user", "u1", u.ID, err)
		u, err = tx.SessionUser(s1)
		add("session.user", "u1", u.ID, err)
		for _, r := range rows {
			if r.Got != r.Want {
				t.Errorf("%s = %s, want %s", r.Name, r.Got, r.Want)
			}
		}
	})
}

func TestRelationsOneAbsent(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	view(t, db, func(tx *oauthdb.Tx) {
		at4, _ := tx.AccessToken("at4") // client credentials: no user, session or refresh token
		if _, err := tx.AccessTokenUser(at4); !errors.Is(err, oauthdb.ErrNotFound) {
			t.Errorf("AccessTokenUser of a client-credentials token: err = %v, want ErrNotFound", err)
		}
		if _, err := tx.AccessTokenSession(at4); !errors.Is(err, oauthdb.ErrNotFound) {
			t.Errorf("AccessTokenSession: err = %v, want ErrNotFound", err)
		}
		if _, err := tx.AccessTokenRefreshToken(at4); !errors.Is(err, oauthdb.ErrNotFound) {
			t.Errorf("AccessTokenRefreshToken: err = %v, want ErrNotFound", err)
		}
		c2, _ := tx.Client("c2")
		if _, err := tx.ClientUser(c2); !errors.Is(err, oauthdb.ErrNotFound) {
			t.Errorf("ClientUser of an unowned client: err = %v, want ErrNotFound", err)
		}
	})
}

func TestRelationsMany(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	view(t, db, func(tx *oauthdb.Tx) {
		u1, _ := tx.User("u1")
		s1, _ := tx.Session("s1")
		c1, _ := tx.Client("c1")
		c2, _ := tx.Client("c2")
		rt1, _ := tx.RefreshToken("rt1")
		got := map[string][]string{
			"user.sessions":                       ids(tx.UserSessions(u1), sessionID),
			"user.oauthClients":                   ids(tx.UserClients(u1), clientID),
			"user.oauthRefreshTokens":             ids(tx.UserRefreshTokens(u1), refreshID),
			"user.oauthAccessTokens":              ids(tx.UserAccessTokens(u1), accessID),
			"user.oauthConsents":                  ids(tx.UserConsents(u1), consentID),
			"session.oauthRefreshTokens":          ids(tx.SessionRefreshTokens(s1), refreshID),
			"session.oauthAccessTokens":           ids(tx.SessionAccessTokens(s1), accessID),
			"oauthClient.oauthRefreshTokens":      ids(tx.ClientRefreshTokens(c1), refreshID),
			"oauthClient.oauthAccessTokens":       ids(tx.ClientAccessTokens(c1), accessID),
			"oauthClient.oauthConsents":           ids(tx.ClientConsents(c1), consentID),
			"oauthClient(c2).oauthAccessTokens":   ids(tx.ClientAccessTokens(c2), accessID),
			"oauthRefreshToken.oauthAccessTokens": ids(tx.RefreshTokenAccessTokens(rt1), accessID),
		}
		want := map[string][]string{
			"user.sessions":                       {"s1"},
			"user.oauthClients":                   {"c1"},
			"user.oauthRefreshTokens":             {"rt1"},
			"user.oauthAccessTokens":              {"at1", "at2"},
			"user.oauthConsents":                  {"k1"},
			"session.oauthRefreshTokens":          {"rt1"},
			"session.oauthAccessTokens":           {"at1", "at2"},
			"oauthClient.oauthRefreshTokens":      {"rt1"},
			"oauthClient.oauthAccessTokens":       {"at1", "at2"},
			"oauthClient.oauthConsents":           {"k1"},
			"oauthClient(c2).oauthAccessTokens":   {"at3", "at4"},
			"oauthRefreshToken.oauthAccessTokens": {"at1"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("many relations (-want +got):\n%s", diff)
		}
	})
}

// Tokens and consents refer to oauthClient.clientId, the public identifier,
// not to oauthClient.id.
func TestTokensReferToPublicClientID(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	exp := t0.Add(time.Hour)
	before := dump(t, db)
	err := db.Update(func(tx *oauthdb.Tx) error {
		return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "x", Token: oauthdb.HashToken("x"), ClientID: "c1", ExpiresAt: exp})
	})
	var e *oauthdb.Error
	if !errors.As(err, &e) || !errors.Is(err, oauthdb.ErrForeignKey) || e.Field != "clientId" || e.Value != "c1" {
		t.Fatalf("token with the client's record id as clientId: err = %v, want ErrForeignKey on clientId \"c1\"", err)
	}
	if diff := cmp.Diff(before, dump(t, db)); diff != "" {
		t.Errorf("failed insert changed the store (-before +after):\n%s", diff)
	}
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertConsent(oauthdb.OAuthConsent{ID: "k3", ClientID: "cid-1", UserID: "u2", Scopes: []string{"email"}})
	})
	view(t, db, func(tx *oauthdb.Tx) {
		k3, _ := tx.Consent("k3")
		c, err := tx.ConsentClient(k3)
		if err != nil || c.ID != "c1" {
			t.Errorf("ConsentClient(k3) = %q, %v; want c1", c.ID, err)
		}
	})
}

func TestForeignKeysRejected(t *testing.T) {
	exp := t0.Add(time.Hour)
	tests := []struct {
		name  string
		write func(tx *oauthdb.Tx) error
		field string
	}{
		{"session.userId", func(tx *oauthdb.Tx) error {
			return tx.InsertSession(oauthdb.Session{ID: "s9", Token: "c9", UserID: "nobody", ExpiresAt: exp})
		}, "userId"},
		{"oauthClient.userId", func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", ClientID: "cid-9", UserID: "nobody", RedirectURIs: []string{"https://x/cb"}})
		}, "userId"},
		{"oauthAccessToken.clientId", func(tx *oauthdb.Tx) error {
			return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "a9", Token: "h9", ClientID: "nobody", ExpiresAt: exp})
		}, "clientId"},
		{"oauthAccessToken.sessionId", func(tx *oauthdb.Tx) error {
			return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "a9", Token: "h9", ClientID: "cid-1", SessionID: "nobody", ExpiresAt: exp})
		}, "sessionId"},
		{"oauthAccessToken.userId", func(tx *oauthdb.Tx) error {
			return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "a9", Token: "h9", ClientID: "cid-1", UserID: "nobody", ExpiresAt: exp})
		}, "userId"},
		{"oauthAccessToken.refreshId", func(tx *oauthdb.Tx) error {
			return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "a9", Token: "h9", ClientID: "cid-1", RefreshID: "nobody", ExpiresAt: exp})
		}, "refreshId"},
		{"oauthRefreshToken.clientId", func(tx *oauthdb.Tx) error {
			return tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: "r9", Token: "h9", ClientID: "nobody", UserID: "u1", ExpiresAt: exp})
		}, "clientId"},
		{"oauthRefreshToken.sessionId", func(tx *oauthdb.Tx) error {
			return tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: "r9", Token: "h9", ClientID: "cid-1", UserID: "u1", SessionID: "nobody", ExpiresAt: exp})
		}, "sessionId"},
		{"oauthRefreshToken.userId", func(tx *oauthdb.Tx) error {
			return tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: "r9", Token: "h9", ClientID: "cid-1", UserID: "nobody", ExpiresAt: exp})
		}, "userId"},
		{"oauthConsent.clientId", func(tx *oauthdb.Tx) error {
			return tx.InsertConsent(oauthdb.OAuthConsent{ID: "k9", ClientID: "nobody", UserID: "u1"})
		}, "clientId"},
		{"oauthConsent.userId", func(tx *oauthdb.Tx) error {
			return tx.InsertConsent(oauthdb.OAuthConsent{ID: "k9", ClientID: "cid-1", UserID: "nobody"})
		}, "userId"},
		{"update to a dangling key", func(tx *oauthdb.Tx) error {
			s, _ := tx.Session("s1")
			s.UserID = "nobody"
			return tx.UpdateSession(s)
		}, "userId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t)
			seed(t, db)
			before := dump(t, db)
			err := db.Update(tt.write)
			var e *oauthdb.Error
			if !errors.Is(err, oauthdb.ErrForeignKey) || !errors.As(err, &e) || e.Field != tt.field || e.Value != "nobody" {
				t.Fatalf("err = %v, want ErrForeignKey naming %s \"nobody\"", err, tt.field)
			}
			if diff := cmp.Diff(before, dump(t, db)); diff != "" {
				t.Errorf("store changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestDeleteUserCascades(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	want := dump(t, db)
	update(t, db, func(tx *oauthdb.Tx) error { return tx.DeleteUser("u1") })
	// u1's sessions, clients (and so every token and consent of client c1),
	// tokens and consents are gone; u2's world is untouched.
	want.Users = want.Users[1:]
	want.Sessions = want.Sessions[1:]
	want.Clients = want.Clients[1:]
	want.AccessTokens = want.AccessTokens[2:]
	want.RefreshTokens = want.RefreshTokens[1:]
	want.Consents = want.Consents[1:]
	if diff := cmp.Diff(want, dump(t, db)); diff != "" {
		t.Errorf("after deleting u1 (-want +got):\n%s", diff)
	}
}

// Deleting a session clears sessionId on its tokens and, in strict mode,
// sets revoked on its access tokens and on its refresh tokens granted
// without offline_access (see TestDeleteSessionRowsAreBetterAuths).
func TestDeleteSessionNullsTokens(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	want := dump(t, db)
	update(t, db, func(tx *oauthdb.Tx) error { return tx.DeleteSession("s1") })
	want.Sessions = want.Sessions[1:]
	want.AccessTokens[0].SessionID = "" // at1
	want.AccessTokens[0].Revoked = t0
	want.AccessTokens[1].SessionID = "" // at2
	want.AccessTokens[1].Revoked = t0
	want.RefreshTokens[0].SessionID = "" // rt1, without offline_access
	want.RefreshTokens[0].Revoked = t0
	if diff := cmp.Diff(want, dump(t, db)); diff != "" {
		t.Errorf("after deleting s1 (-want +got):\n%s", diff)
	}
}

func TestDeleteRefreshTokenCascadesToAccessTokens(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	want := dump(t, db)
	update(t, db, func(tx *oauthdb.Tx) error { return tx.DeleteRefreshToken("rt1") })
	want.RefreshTokens = want.RefreshTokens[1:]
	want.AccessTokens = want.AccessTokens[1:] // at1 was issued with rt1
	if diff := cmp.Diff(want, dump(t, db)); diff != "" {
		t.Errorf("after deleting rt1 (-want +got):\n%s", diff)
	}
}

func TestDeleteClientCascadesByClientID(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	want := dump(t, db)
	update(t, db, func(tx *oauthdb.Tx) error { return tx.DeleteClient("c2") })
	want.Clients = want.Clients[:1]
	want.AccessTokens = want.AccessTokens[:2] // at3, at4 were c2's
	want.RefreshTokens = want.RefreshTokens[:1]
	want.Consents = want.Consents[:1]
	if diff := cmp.Diff(want, dump(t, db)); diff != "" {
		t.Errorf("after deleting c2 (-want +got):\n%s", diff)
	}
}

func TestDeleteMissing(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	err := db.Update(func(tx *oauthdb.Tx) error { return tx.DeleteUser("nobody") })
	var e *oauthdb.Error
	if !errors.Is(err, oauthdb.ErrNotFound) || !errors.As(err, &e) || e.Table != "user" || e.Value != "nobody" {
		t.Errorf("DeleteUser(nobody) = %v, want ErrNotFound naming user \"nobody\"", err)
	}
}

// A client's clientId is what tokens refer to: it cannot change under them.
func TestReferencedKeyCannotChange(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	before := dump(t, db)
	err := db.Update(func(tx *oauthdb.Tx) error {
		c, _ := tx.Client("c1")
		c.ClientID = "renamed"
		return tx.UpdateClient(c)
	})
	if !errors.Is(err, oauthdb.ErrForeignKey) {
		t.Fatalf("renaming a referenced clientId: err = %v, want ErrForeignKey", err)
	}
	if diff := cmp.Diff(before, dump(t, db)); diff != "" {
		t.Errorf("store changed (-before +after):\n%s", diff)
	}
}

func TestUniqueConflicts(t *testing.T) {
	exp := t0.Add(time.Hour)
	tests := []struct {
		name   string
		write  func(tx *oauthdb.Tx) error
		field  string
		value  string // "" for a secret
		secret string // must not appear in the message
	}{
		{"user.id", func(tx *oauthdb.Tx) error {
			return tx.InsertUser(oauthdb.User{ID: "u1", Name: "X", Email: "x@example.com"})
		}, "id", "u1", ""},
		{"user.email", func(tx *oauthdb.Tx) error {
			return tx.InsertUser(oauthdb.User{ID: "u9", Name: "X", Email: "ada@example.com"})
		}, "email", "ada@example.com", ""},
		{"session.token", func(tx *oauthdb.Tx) error {
			return tx.InsertSession(oauthdb.Session{ID: "s9", Token: "cookie-1", UserID: "u1", ExpiresAt: exp})
		}, "token", "", "cookie-1"},
		{"oauthClient.clientId", func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", ClientID: "cid-1", RedirectURIs: []string{"https://x/cb"}})
		}, "clientId", "cid-1", ""},
		{"oauthAccessToken.token", func(tx *oauthdb.Tx) error {
			return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "a9", Token: oauthdb.HashToken("a1"), ClientID: "cid-1", ExpiresAt: exp})
		}, "token", "", oauthdb.HashToken("a1")},
		{"oauthRefreshToken.token", func(tx *oauthdb.Tx) error {
			return tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: "r9", Token: oauthdb.HashToken("r1"), ClientID: "cid-1", UserID: "u1", ExpiresAt: exp})
		}, "token", "", oauthdb.HashToken("r1")},
		{"oauthConsent (clientId, userId, referenceId)", func(tx *oauthdb.Tx) error {
			return tx.InsertConsent(oauthdb.OAuthConsent{ID: "k9", ClientID: "cid-1", UserID: "u1", Scopes: []string{"email"}})
		}, "clientId,userId,referenceId", "cid-1/u1/", ""},
		{"update onto another's email", func(tx *oauthdb.Tx) error {
			u, _ := tx.User("u2")
			u.Email = "ada@example.com"
			return tx.UpdateUser(u)
		}, "email", "ada@example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t)
			seed(t, db)
			before := dump(t, db)
			err := db.Update(tt.write)
			var e *oauthdb.Error
			if !errors.Is(err, oauthdb.ErrConflict) || !errors.As(err, &e) || e.Field != tt.field || e.Value != tt.value {
				t.Fatalf("err = %#v, want ErrConflict on %s %q", err, tt.field, tt.value)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q shows the secret value", err)
			}
			if diff := cmp.Diff(before, dump(t, db)); diff != "" {
				t.Errorf("store changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestInvalidRecords(t *testing.T) {
	exp := t0.Add(time.Hour)
	tests := []struct {
		name  string
		write func(tx *oauthdb.Tx) error
		field string
	}{
		{"user without id", func(tx *oauthdb.Tx) error {
			return tx.InsertUser(oauthdb.User{Name: "X", Email: "x@example.com"})
		}, "id"},
		{"user without email", func(tx *oauthdb.Tx) error { return tx.InsertUser(oauthdb.User{ID: "u9", Name: "X"}) }, "email"},
		{"user without name", func(tx *oauthdb.Tx) error {
			return tx.InsertUser(oauthdb.User{ID: "u9", Email: "x@example.com"})
		}, "name"},
		{"id with a NUL byte", func(tx *oauthdb.Tx) error {
			return tx.InsertUser(oauthdb.User{ID: "u\x009", Name: "X", Email: "x@example.com"})
		}, "id"},
		{"session without expiry", func(tx *oauthdb.Tx) error {
			return tx.InsertSession(oauthdb.Session{ID: "s9", Token: "c9", UserID: "u1"})
		}, "expiresAt"},
		{"session without user", func(tx *oauthdb.Tx) error {
			return tx.InsertSession(oauthdb.Session{ID: "s9", Token: "c9", ExpiresAt: exp})
		}, "userId"},
		{"client without redirectUris", func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", ClientID: "cid-9"})
		}, "redirectUris"},
		{"client with a relative redirect URI", func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", ClientID: "cid-9", RedirectURIs: []string{"/cb"}})
		}, "redirectUris"},
		{"client without clientId", func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", RedirectURIs: []string{"https://x/cb"}})
		}, "clientId"},
		{"client with bad metadata", func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", ClientID: "cid-9", RedirectURIs: []string{"https://x/cb"}, Metadata: json.RawMessage("{")})
		}, "metadata"},
		{"access token without clientId", func(tx *oauthdb.Tx) error {
			return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "a9", Token: "h9", ExpiresAt: exp})
		}, "clientId"},
		{"access token without hash", func(tx *oauthdb.Tx) error {
			return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "a9", ClientID: "cid-1", ExpiresAt: exp})
		}, "token"},
		{"access token without expiry", func(tx *oauthdb.Tx) error {
			return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "a9", Token: "h9", ClientID: "cid-1"})
		}, "expiresAt"},
		{"refresh token without user", func(tx *oauthdb.Tx) error {
			return tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: "r9", Token: "h9", ClientID: "cid-1", ExpiresAt: exp})
		}, "userId"},
		{"consent without user or reference", func(tx *oauthdb.Tx) error {
			return tx.InsertConsent(oauthdb.OAuthConsent{ID: "k9", ClientID: "cid-1"})
		}, "userId"},
		{"consent reference with a NUL byte", func(tx *oauthdb.Tx) error {
			return tx.InsertConsent(oauthdb.OAuthConsent{ID: "k9", ClientID: "cid-1", UserID: "u1", ReferenceID: "a\x00b"})
		}, "referenceId"},
		{"verification without value", func(tx *oauthdb.Tx) error {
			return tx.InsertVerification(oauthdb.Verification{ID: "v9", Identifier: "i9", ExpiresAt: exp})
		}, "value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t)
			seed(t, db)
			before := dump(t, db)
			err := db.Update(tt.write)
			var e *oauthdb.Error
			if !errors.Is(err, oauthdb.ErrInvalid) || !errors.As(err, &e) || e.Field != tt.field {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tt.field)
			}
			if diff := cmp.Diff(before, dump(t, db)); diff != "" {
				t.Errorf("store changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestUpdateMissingIsNotFound(t *testing.T) {
	db := openDB(t)
	err := db.Update(func(tx *oauthdb.Tx) error {
		return tx.UpdateUser(oauthdb.User{ID: "nobody", Name: "X", Email: "x@example.com"})
	})
	if !errors.Is(err, oauthdb.ErrNotFound) {
		t.Errorf("UpdateUser(nobody) = %v, want ErrNotFound", err)
	}
}

// A transaction whose function fails commits none of its writes, even those
// that succeeded before the failure.
func TestFailedUpdateLeavesNoTrace(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	before := dump(t, db)
	boom := errors.New("boom")
	err := db.Update(func(tx *oauthdb.Tx) error {
		if err := tx.DeleteUser("u1"); err != nil {
			return err
		}
		if err := tx.InsertUser(oauthdb.User{ID: "u3", Name: "C", Email: "c@example.com"}); err != nil {
			return err
		}
		if err := tx.DeleteSession("s2"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	if diff := cmp.Diff(before, dump(t, db)); diff != "" {
		t.Errorf("store changed (-before +after):\n%s", diff)
	}
}

// A write that fails inside a transaction changes nothing, so the
// transaction can go on and commit the rest.
func TestFailedWriteInsideTransaction(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	update(t, db, func(tx *oauthdb.Tx) error {
		if err := tx.InsertUser(oauthdb.User{ID: "u3", Name: "C", Email: "ada@example.com"}); !errors.Is(err, oauthdb.ErrConflict) {
			t.Errorf("duplicate email: %v", err)
		}
		return tx.InsertUser(oauthdb.User{ID: "u3", Name: "C", Email: "c@example.com"})
	})
	view(t, db, func(tx *oauthdb.Tx) {
		if u, err := tx.User("u3"); err != nil || u.Email != "c@example.com" {
			t.Errorf("User(u3) = %+v, %v", u, err)
		}
	})
}

// Records come out as copies: changing one, slices aside, changes nothing
// stored, and no index can be corrupted through it.
func TestReadRecordsAreCopies(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	view(t, db, func(tx *oauthdb.Tx) {
		u, _ := tx.User("u1")
		u.Email = "mallory@example.com"
		u.ID = "u2"
	})
	update(t, db, func(tx *oauthdb.Tx) error {
		u, _ := tx.UserByEmail("ada@example.com")
		u.Email = "changed@example.com" // not written back
		return nil
	})
	view(t, db, func(tx *oauthdb.Tx) {
		if u, err := tx.UserByEmail("ada@example.com"); err != nil || u.ID != "u1" {
			t.Errorf("UserByEmail(ada) = %+v, %v", u, err)
		}
		if _, err := tx.UserByEmail("mallory@example.com"); !errors.Is(err, oauthdb.ErrNotFound) {
			t.Errorf("UserByEmail(mallory) = %v, want ErrNotFound", err)
		}
	})
	// The caller's slices are copied in, too.
	redirect := []string{"https://three.example/cb"}
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertClient(oauthdb.OAuthClient{ID: "c3", ClientID: "cid-3", RedirectURIs: redirect})
	})
	redirect[0] = "https://evil.example/cb"
	view(t, db, func(tx *oauthdb.Tx) {
		c, _ := tx.Client("c3")
		if c.RedirectURIs[0] != "https://three.example/cb" {
			t.Errorf("stored redirect URI changed through the caller's slice: %q", c.RedirectURIs[0])
		}
	})
	if err := db.Verify(); err != nil {
		t.Error(err)
	}
}

func TestTimestamps(t *testing.T) {
	now := t0
	db, err := oauthdb.Open(oauthdb.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"})
	})
	now = t0.Add(time.Minute)
	update(t, db, func(tx *oauthdb.Tx) error {
		u, _ := tx.User("u1")
		u.Name = "Ada L."
		return tx.UpdateUser(u)
	})
	view(t, db, func(tx *oauthdb.Tx) {
		u, _ := tx.User("u1")
		if !u.CreatedAt.Equal(t0) || !u.UpdatedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("createdAt %v, updatedAt %v; want %v and a minute later", u.CreatedAt, u.UpdatedAt, t0)
		}
	})
}

// Rows exported from a better-auth database load as they are: camelCase
// names, ISO dates, null for absent, and fields this model does not know
// ignored.
func TestLoadBetterAuthRows(t *testing.T) {
	const client = `{
		"id": "c1", "clientId": "cid-1", "clientSecret": null, "disabled": false,
		"skipConsent": true, "enableEndSession": false, "public": true,
		"scopes": ["openid", "profile"], "redirectUris": ["https://one.example/cb"],
		"postLogoutRedirectUris": null, "grantTypes": ["authorization_code"],
		"responseTypes": ["code"], "tokenEndpointAuthMethod": "none", "name": "One",
		"metadata": {"tier": "gold"}, "userId": null, "referenceId": null,
		"createdAt": "2026-01-02T03:04:05.678Z", "updatedAt": "2026-01-02T03:04:05.678Z",
		"requirePKCE": true
	}`
	const token = `{
		"id": "at1", "token": "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", "clientId": "cid-1",
		"sessionId": null, "userId": null, "referenceId": null, "refreshId": null,
		"scopes": ["openid"], "expiresAt": "2026-01-02T04:04:05.000Z", "createdAt": "2026-01-02T03:04:05.000Z",
		"revoked": null, "authorizationCodeId": "x", "resources": ["https://api.example"]
	}`
	var c oauthdb.OAuthClient
	var a oauthdb.OAuthAccessToken
	if err := json.Unmarshal([]byte(client), &c); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(token), &a); err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	update(t, db, func(tx *oauthdb.Tx) error { return errors.Join(tx.InsertClient(c), tx.InsertAccessToken(a)) })
	got := dump(t, db)
	wantCreated := time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)
	if !got.Clients[0].CreatedAt.Equal(wantCreated) || !got.Clients[0].SkipConsent || got.Clients[0].UserID != "" {
		t.Errorf("client loaded as %+v", got.Clients[0])
	}
	// Metadata is kept as JSON writes it, compact, so that a snapshot gives
	// back the same bytes.
	if string(got.Clients[0].Metadata) != `{"tier":"gold"}` {
		t.Errorf("metadata = %s", got.Clients[0].Metadata)
	}
	if got.AccessTokens[0].RefreshID != "" || !got.AccessTokens[0].Revoked.IsZero() {
		t.Errorf("nulls did not load as empty: %+v", got.AccessTokens[0])
	}
	// And they write back with the same names, absent fields left out.
	out, err := json.Marshal(got.AccessTokens[0])
	if err != nil {
		t.Fatal(err)
	}
	// 1.7's authorizationCodeId and resources are kept.
	const want = `{"id":"at1","token":"ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0","clientId":"cid-1","scopes":["openid"],"expiresAt":"2026-01-02T04:04:05Z","createdAt":"2026-01-02T03:04:05Z","authorizationCodeId":"x","resources":["https://api.example"]}`
	if string(out) != want {
		t.Errorf("marshalled token:\n got %s\nwant %s", out, want)
	}
}

func view(t *testing.T, db *oauthdb.DB, fn func(tx *oauthdb.Tx)) {
	t.Helper()
	if err := db.View(func(tx *oauthdb.Tx) error { fn(tx); return nil }); err != nil {
		t.Fatal(err)
	}
}

// A key with a NUL byte matches nothing: it must not run into the
// terminator and match a longer key by prefix.
func TestLookupWithNULMatchesNothing(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	view(t, db, func(tx *oauthdb.Tx) {
		if _, err := tx.User("u1\x00"); !errors.Is(err, oauthdb.ErrNotFound) {
			t.Errorf("User(u1 NUL) = %v, want ErrNotFound", err)
		}
		s1, _ := tx.Session("s1")
		s1.ID = "s1\x00at1"
		if got := ids(tx.SessionAccessTokens(s1), accessID); len(got) != 0 {
			t.Errorf("tokens of session \"s1\\x00at1\" = %v, want none", got)
		}
	})
	if n, err := db.RevokeSession("s1\x00at1"); n != 0 || err != nil {
		t.Errorf("RevokeSession(s1 NUL at1) = %d, %v; want nothing revoked", n, err)
	}
}

func TestUpdateKeepsCreatedAt(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	update(t, db, func(tx *oauthdb.Tx) error {
		u, _ := tx.User("u1")
		u.CreatedAt = time.Time{}
		return tx.UpdateUser(u)
	})
	view(t, db, func(tx *oauthdb.Tx) {
		if u, _ := tx.User("u1"); !u.CreatedAt.Equal(t0) {
			t.Errorf("createdAt after an update without one = %v, want %v", u.CreatedAt, t0)
		}
	})
}

func TestEmptyMetadataIsAbsent(t *testing.T) {
	db := openDB(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "cid-1", RedirectURIs: []string{"https://x/cb"}, Metadata: json.RawMessage{}})
	})
	if _, err := json.Marshal(db.Snapshot()); err != nil {
		t.Errorf("a client with empty metadata does not encode: %v", err)
	}
}

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

// Input the store cannot keep faithfully — what its own snapshot would
// change or fail to encode — is refused at the door, and changes nothing.

func TestIntrospectionNeedsACaller(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, userGrant)
	if _, err := db.IntrospectAccessToken(tok.AccessToken, ""); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("IntrospectAccessToken with no caller = %v, want ErrInvalid", err)
	}
	if _, err := db.IntrospectRefreshToken(tok.RefreshToken, ""); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("IntrospectRefreshToken with no caller = %v, want ErrInvalid", err)
	}
	if _, err := db.RotateRefreshToken(tok.RefreshToken, "", nil); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("RotateRefreshToken with no client = %v, want ErrInvalid", err)
	}
}

const badUTF8 = "a\xffb"

// Every string field of every record refuses invalid UTF-8: JSON would
// replace it, and the snapshot would not restore what was stored.
func TestInvalidUTF8IsRefused(t *testing.T) {
	db, _ := world(t)
	writes := map[string]func(tx *oauthdb.Tx) error{
		"user.id": func(tx *oauthdb.Tx) error {
			return tx.InsertUser(oauthdb.User{ID: badUTF8, Name: "n", Email: "x@example.com"})
		},
		"user.email": func(tx *oauthdb.Tx) error { return tx.InsertUser(oauthdb.User{ID: "u9", Name: "n", Email: badUTF8}) },
		"user.name": func(tx *oauthdb.Tx) error {
			return tx.InsertUser(oauthdb.User{ID: "u9", Name: badUTF8, Email: "x@example.com"})
		},
		"oauthClient.clientId": func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", ClientID: badUTF8, RedirectURIs: []string{"https://x.example/cb"}})
		},
		"oauthClient.contacts": func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", ClientID: "cid-9", RedirectURIs: []string{"https://x.example/cb"}, Contacts: []string{badUTF8}})
		},
		"oauthClient.metadata": func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", ClientID: "cid-9", RedirectURIs: []string{"https://x.example/cb"}, Metadata: json.RawMessage(`{"a":"` + badUTF8 + `"}`)})
		},
		"session.userAgent": func(tx *oauthdb.Tx) error {
			return tx.InsertSession(oauthdb.Session{ID: "s9", Token: "c9", UserID: "u1", UserAgent: badUTF8, ExpiresAt: t0.Add(time.Hour)})
		},
		"verification.value": func(tx *oauthdb.Tx) error {
			return tx.InsertVerification(oauthdb.Verification{ID: "v9", Identifier: "i9", Value: badUTF8, ExpiresAt: t0.Add(time.Hour)})
		},
	}
	for name, write := range writes {
		before := dump(t, db)
		err := db.Update(write)
		var e *oauthdb.Error
		if !errors.Is(err, oauthdb.ErrInvalid) || !errors.As(err, &e) || e.Table+"."+e.Field != name {
			t.Errorf("%s: %v, want ErrInvalid naming %s", name, err, name)
		}
		if d := cmp.Diff(before, dump(t, db)); d != "" {
			t.Errorf("%s: the refused write changed the store:\n%s", name, d)
		}
	}
}

// A time the snapshot's JSON cannot encode is refused; one it can is kept
// as the instant it is, in UTC.
func TestTimesOutsideTheSnapshotRangeAreRefused(t *testing.T) {
	db, _ := world(t)
	for _, at := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		err := db.Update(func(tx *oauthdb.Tx) error {
			return tx.InsertSession(oauthdb.Session{ID: "s9", Token: "c9", UserID: "u1", ExpiresAt: at})
		})
		if !errors.Is(err, oauthdb.ErrInvalid) {
			t.Errorf("a session expiring at year %d: %v, want ErrInvalid", at.Year(), err)
		}
	}
	// An offset with seconds, which RFC 3339 cannot write: kept as its
	// instant.
	odd := time.Date(2030, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 561))
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertSession(oauthdb.Session{ID: "s9", Token: "c9", UserID: "u1", ExpiresAt: odd})
	})
	assertRoundTrip(t, db)
}

// assertRoundTrip checks that the DB's snapshot survives JSON and Restore
// exactly.
func assertRoundTrip(t *testing.T, db *oauthdb.DB) {
	t.Helper()
	snap := db.Snapshot()
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatalf("the snapshot does not encode: %v", err)
	}
	var back oauthdb.Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	db2, err := oauthdb.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := db2.Restore(back); err != nil {
		t.Fatalf("Restore of the DB's own snapshot: %v", err)
	}
	b2, err := json.Marshal(db2.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(b2) {
		t.Errorf("the snapshot changed in a round trip:\n%s\n%s", b, b2)
	}
}

// Scopes are RFC 6749 §3.3 scope-tokens, wherever they enter.
func TestScopesAreScopeTokens(t *testing.T) {
	bad := []string{"", "a b", "nul\x00", "line\r\n", "é", `quote"`, `back\slash`}
	for _, s := range bad {
		db, _ := world(t)
		tok := issue(t, db, userGrant)
		before := dump(t, db)
		scopes := []string{"openid", s}
		entries := map[string]error{
			"IssueTokens": func() error {
				_, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "cid-2", Scopes: scopes})
				return err
			}(),
			"RotateRefreshToken": func() error {
				_, err := db.RotateRefreshToken(tok.RefreshToken, "cid-1", scopes)
				return err
			}(),
			"GrantConsent": func() error {
				_, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, scopes)
				return err
			}(),
			"CheckConsent": db.CheckConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, scopes),
			"InsertAccessToken": db.Update(func(tx *oauthdb.Tx) error {
				return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "a9", Token: oauthdb.HashToken("a9"), ClientID: "cid-2", Scopes: scopes, ExpiresAt: t0.Add(time.Hour)})
			}),
			"InsertRefreshToken": db.Update(func(tx *oauthdb.Tx) error {
				return tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: "r9", Token: oauthdb.HashToken("r9"), ClientID: "cid-2", UserID: "u1", Scopes: scopes, ExpiresAt: t0.Add(time.Hour)})
			}),
			"InsertConsent": db.Update(func(tx *oauthdb.Tx) error {
				return tx.InsertConsent(oauthdb.OAuthConsent{ID: "k9", ClientID: "cid-2", UserID: "u1", Scopes: scopes})
			}),
			"InsertClient": db.Update(func(tx *oauthdb.Tx) error {
				return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", ClientID: "cid-9", Scopes: scopes, RedirectURIs: []string{"https://x.example/cb"}})
			}),
		}
		for entry, err := range entries {
			if !errors.Is(err, oauthdb.ErrInvalid) {
				t.Errorf("%s with scope %q: %v, want ErrInvalid", entry, s, err)
			}
		}
		if d := cmp.Diff(before, dump(t, db)); d != "" {
			t.Errorf("scope %q: a refused write changed the store:\n%s", s, d)
		}
	}
}

// A value an error quotes is cut to a short prefix with its length.
func TestErrorsAreBounded(t *testing.T) {
	db, _ := world(t)
	huge := strings.Repeat("x", 1<<20)
	errs := map[string]error{
		"IssueTokens": func() error {
			_, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: huge})
			return err
		}(),
		"GrantConsent": func() error {
			_, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: huge, UserID: "u1"}, nil)
			return err
		}(),
		"ClientByClientID": db.View(func(tx *oauthdb.Tx) error {
			_, err := tx.ClientByClientID(huge)
			return err
		}),
		"InsertUser conflict": db.Update(func(tx *oauthdb.Tx) error {
			if err := tx.InsertUser(oauthdb.User{ID: huge, Name: "n", Email: "h@example.com"}); err != nil {
				return err
			}
			return tx.InsertUser(oauthdb.User{ID: huge, Name: "n", Email: "i@example.com"})
		}),
		"InsertSession foreign key": db.Update(func(tx *oauthdb.Tx) error {
			return tx.InsertSession(oauthdb.Session{ID: "s9", Token: "c9", UserID: huge, ExpiresAt: t0.Add(time.Hour)})
		}),
	}
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if msg := err.Error(); len(msg) > 300 || !strings.Contains(msg, "(1048576 bytes)") {
			t.Errorf("%s: a %d-byte message: %.200s", name, len(msg), msg)
		}
		var e *oauthdb.Error
		if errors.As(err, &e) && len(e.Value) > 100 {
			t.Errorf("%s: Error.Value holds %d bytes", name, len(e.Value))
		}
	}
}

// The same mistake is the same kind of error, whatever operation it is
// given to: an unknown client, user or session is ErrNotFound.
func TestUnknownIDsAreNotFoundEverywhere(t *testing.T) {
	db, _ := world(t)
	cases := map[string]error{
		"IssueTokens client": func() error {
			_, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "nope"})
			return err
		}(),
		"IssueTokens user": func() error {
			_, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "cid-1", UserID: "nope"})
			return err
		}(),
		"IssueTokens session": func() error {
			_, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u1", SessionID: "nope"})
			return err
		}(),
		"GrantConsent client": func() error {
			_, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "nope", UserID: "u1"}, []string{"openid"})
			return err
		}(),
		"GrantConsent user": func() error {
			_, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "nope"}, []string{"openid"})
			return err
		}(),
		"CheckConsent client": db.CheckConsent(oauthdb.ConsentKey{ClientID: "nope", UserID: "u1"}, []string{"openid"}),
		"CheckConsent user":   db.CheckConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "nope"}, []string{"openid"}),
		"AuthenticateClient": func() error {
			_, err := db.AuthenticateClient("nope", "secret")
			return err
		}(),
	}
	for name, err := range cases {
		if !errors.Is(err, oauthdb.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

func TestAuthenticateClient(t *testing.T) {
	db, _ := world(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertClient(oauthdb.OAuthClient{ID: "c3", ClientID: "public", Public: true, TokenEndpointAuthMethod: "none",
				RedirectURIs: []string{"https://p.example/cb"}}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c4", ClientID: "off", ClientSecret: oauthdb.HashSecret("s4"), Disabled: true,
				RedirectURIs: []string{"https://o.example/cb"}}),
		)
	})
	tests := []struct {
		clientID, secret string
		want             error
	}{
		{"cid-1", "secret-1", nil},
		{"cid-1", "not-the-secret-7", oauthdb.ErrBadSecret},
		{"cid-1", "", oauthdb.ErrBadSecret},
		{"cid-2", "", oauthdb.ErrBadSecret}, // confidential (not public), but has no secret to check
		{"public", "", nil},
		{"public", "anything", oauthdb.ErrBadSecret},
		{"off", "s4", oauthdb.ErrClientDisabled},
		{"nope", "x", oauthdb.ErrNotFound},
		{"", "x", oauthdb.ErrInvalid},
	}
	for _, tt := range tests {
		c, err := db.AuthenticateClient(tt.clientID, tt.secret)
		if tt.want == nil {
			if err != nil || c.ClientID != tt.clientID {
				t.Errorf("AuthenticateClient(%q) = %q, %v", tt.clientID, c.ClientID, err)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("AuthenticateClient(%q, %q) = %v, want %v", tt.clientID, tt.secret, err, tt.want)
		}
		if err != nil && tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

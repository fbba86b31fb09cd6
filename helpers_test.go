package oauthdb_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// clock is a settable clock for one test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// world opens a DB on a fake clock with u1/s1, u2/s2 and clients cid-1
// (scopes openid, profile, email, offline_access) and cid-2 (any scope).
func world(t *testing.T, opts ...oauthdb.Option) (*oauthdb.DB, *clock) {
	t.Helper()
	clk := &clock{now: t0}
	db, err := oauthdb.Open(append([]oauthdb.Option{oauthdb.WithClock(clk.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	update(t, db, func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertUser(oauthdb.User{ID: "u2", Name: "Bob", Email: "bob@example.com"}),
			tx.InsertSession(oauthdb.Session{ID: "s1", Token: "cookie-1", UserID: "u1", ExpiresAt: t0.Add(24 * time.Hour)}),
			tx.InsertSession(oauthdb.Session{ID: "s2", Token: "cookie-2", UserID: "u2", ExpiresAt: t0.Add(24 * time.Hour)}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "cid-1", ClientSecret: oauthdb.HashSecret("secret-1"),
				Scopes: []string{"openid", "profile", "email", "offline_access"}, RedirectURIs: []string{"https://one.example/cb"}}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c2", ClientID: "cid-2", RedirectURIs: []string{"https://two.example/cb"}}),
		)
	})
	return db, clk
}

func issue(t *testing.T, db *oauthdb.DB, req oauthdb.IssueRequest) oauthdb.IssuedTokens {
	t.Helper()
	tok, err := db.IssueTokens(req)
	if err != nil {
		t.Fatalf("IssueTokens(%+v): %v", req, err)
	}
	return tok
}

// userGrant is an authorization code's grant with offline access: its
// refresh token is rotated, and outlives the session.
var userGrant = oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u1", SessionID: "s1",
	Scopes: []string{"openid", "profile", oauthdb.ScopeOfflineAccess}, Refresh: true}

// expireSession makes a session expire at t0.
func expireSession(t *testing.T, db *oauthdb.DB, id string) { setSessionExpiry(t, db, id, t0) }

// setSessionExpiry moves a session's expiresAt to at, as a session refresh
// does.
func setSessionExpiry(t *testing.T, db *oauthdb.DB, id string, at time.Time) {
	t.Helper()
	update(t, db, func(tx *oauthdb.Tx) error {
		s, _ := tx.Session(id)
		s.ExpiresAt = at
		return tx.UpdateSession(s)
	})
}

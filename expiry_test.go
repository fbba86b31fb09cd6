package oauthdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

func TestSweepExpired(t *testing.T) {
	db, clk := world(t, oauthdb.WithTokenLifetimes(time.Hour, 2*time.Hour))
	var old []oauthdb.IssuedTokens
	for range 3 {
		old = append(old, issue(t, db, userGrant))
	}
	clk.Advance(90 * time.Minute)
	fresh := issue(t, db, userGrant)
	// Three access tokens have expired; no refresh token has.
	res, err := db.SweepExpired(2)
	if err != nil || res != (oauthdb.SweepResult{AccessTokens: 2}) {
		t.Fatalf("first batch = %+v, %v", res, err)
	}
	res, err = db.SweepExpired(10)
	if err != nil || res != (oauthdb.SweepResult{AccessTokens: 1}) {
		t.Fatalf("second batch = %+v, %v", res, err)
	}
	// Now the old refresh tokens expire too, and the sessions.
	clk.Advance(23 * time.Hour)
	res, err = db.SweepExpired(100)
	if err != nil || res != (oauthdb.SweepResult{AccessTokens: 1, RefreshTokens: 4, Sessions: 2}) {
		t.Fatalf("third batch = %+v, %v", res, err)
	}
	s := dump(t, db)
	if len(s.AccessTokens)+len(s.RefreshTokens)+len(s.Sessions) != 0 {
		t.Errorf("left after sweeping: %+v", s)
	}
	_ = old
	_ = fresh
}

func TestRunJanitor(t *testing.T) {
	db, clk := world(t)
	for range 5 {
		issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"api"}})
	}
	clk.Advance(2 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.RunJanitor(ctx, time.Millisecond, 2, nil) }()
	deadline := time.After(10 * time.Second)
	for len(dump(t, db).AccessTokens) > 0 {
		select {
		case <-deadline:
			t.Fatal("the janitor did not sweep")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunJanitor = %v, want context.Canceled", err)
	}
	if err := db.RunJanitor(context.Background(), 0, 1, nil); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("RunJanitor with no interval = %v, want ErrInvalid", err)
	}
}

// The sweep starts at the start of the expiry index, not at some earliest
// time it assumes.
func TestSweepAncientExpiry(t *testing.T) {
	db, _ := world(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "old", Token: oauthdb.HashToken("old"), ClientID: "cid-2",
			ExpiresAt: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)}) // before year 1, the zero time's
	})
	if res, err := db.SweepExpired(10); err != nil || res.AccessTokens != 1 {
		t.Errorf("SweepExpired = %+v, %v; want the ancient token swept", res, err)
	}
}

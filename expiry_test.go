package oauthdb_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
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

// A row whose expiry is now has expired — validation refuses it from that
// instant — and the sweep takes it.
func TestSweepAtExpiry(t *testing.T) {
	db, clk := world(t, oauthdb.WithTokenLifetimes(time.Hour, 2*time.Hour))
	issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"api"}})
	clk.Advance(time.Hour)
	if res, err := db.SweepExpired(10); err != nil || res != (oauthdb.SweepResult{AccessTokens: 1}) {
		t.Errorf("SweepExpired at the token's expiry = %+v, %v; want it swept", res, err)
	}
}

// Rows that expire at the same instant go in the order of their IDs.
func TestSweepOrder(t *testing.T) {
	db, clk := world(t)
	at := t0.Add(time.Minute)
	update(t, db, func(tx *oauthdb.Tx) error {
		var errs []error
		for _, id := range []string{"c", "a", "z", "b"} {
			exp := at
			if id == "z" {
				exp = at.Add(-time.Second)
			}
			errs = append(errs, tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: id, Token: oauthdb.HashToken(id),
				ClientID: "cid-2", ExpiresAt: exp}))
		}
		return errors.Join(errs...)
	})
	clk.Advance(time.Hour)
	if res, err := db.SweepExpired(2); err != nil || res.AccessTokens != 2 {
		t.Fatalf("SweepExpired(2) = %+v, %v", res, err)
	}
	var left []string
	for _, tok := range dump(t, db).AccessTokens {
		left = append(left, tok.ID)
	}
	if want := []string{"b", "c"}; !slices.Equal(left, want) {
		t.Errorf("left after sweeping two = %v, want %v", left, want)
	}
}

// A row is swept at the expiry it has, wherever it had one before:
// extended, not before its new expiry; brought forward, from then on.
func TestSweepMovedExpiry(t *testing.T) {
	db, clk := world(t)
	setSessionExpiry(t, db, "s1", t0.Add(3*time.Hour)) // from 24 h
	setSessionExpiry(t, db, "s2", t0.Add(48*time.Hour))
	setSessionExpiry(t, db, "s2", t0.Add(5*time.Hour)) // on, then back
	steps := []struct {
		what    string
		advance time.Duration
		extend  time.Time // s2's expiry, set before the sweep if not zero
		want    oauthdb.SweepResult
	}{
		{"before any expiry", 2 * time.Hour, time.Time{}, oauthdb.SweepResult{}},
		{"past s1's new expiry", 2 * time.Hour, time.Time{}, oauthdb.SweepResult{Sessions: 1}},
		{"past s2's old expiry, extended before it", 2 * time.Hour, t0.Add(30 * time.Hour), oauthdb.SweepResult{}},
		{"past s2's last expiry", 24 * time.Hour, time.Time{}, oauthdb.SweepResult{Sessions: 1}},
	}
	for _, st := range steps {
		if !st.extend.IsZero() {
			setSessionExpiry(t, db, "s2", st.extend)
		}
		clk.Advance(st.advance)
		if res, err := db.SweepExpired(10); err != nil || res != st.want {
			t.Fatalf("SweepExpired %s = %+v, %v; want %+v", st.what, res, err, st.want)
		}
	}
}

// A DB whose state was replaced by a snapshot sweeps the snapshot's rows.
func TestSweepAfterReadSnapshot(t *testing.T) {
	src, clk := world(t, oauthdb.WithTokenLifetimes(time.Hour, 2*time.Hour))
	issue(t, src, userGrant)
	issue(t, src, userGrant)
	var buf bytes.Buffer
	if err := src.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	db, _ := world(t, oauthdb.WithClock(clk.Now))
	if _, err := db.ReadSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	clk.Advance(90 * time.Minute)
	if res, err := db.SweepExpired(10); err != nil || res != (oauthdb.SweepResult{AccessTokens: 2}) {
		t.Errorf("SweepExpired after ReadSnapshot = %+v, %v; want the snapshot's two access tokens", res, err)
	}
}

package oauthdb_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// A subscription sees every commit, in order, with copies of what changed.
func TestSubscribe(t *testing.T) {
	db, _ := world(t)
	sub := db.Subscribe(16)
	defer sub.Close()
	tok := issue(t, db, userGrant)
	if _, err := db.RevokeAccessToken(tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	issued := <-sub.Events()
	revoked := <-sub.Events()
	if revoked.Index != issued.Index+1 || issued.Missed || revoked.Missed {
		t.Fatalf("events %d, %d", issued.Index, revoked.Index)
	}
	var tables []string
	for _, c := range issued.Changes {
		tables = append(tables, c.Table)
		if c.Before != nil || c.After == nil {
			t.Errorf("an issue's change %+v: want an insert", c)
		}
	}
	slices.Sort(tables)
	if !slices.Equal(tables, []string{oauthdb.TableOAuthAccessToken, oauthdb.TableOAuthRefreshToken}) {
		t.Errorf("the issue changed %v", tables)
	}
	if len(revoked.Changes) != 1 || revoked.Changes[0].After != nil {
		t.Fatalf("the revocation's changes: %+v", revoked.Changes)
	}
	if a, ok := revoked.Changes[0].Before.(oauthdb.OAuthAccessToken); !ok || a.ID != tok.Access.ID {
		t.Errorf("the revocation deleted %+v", revoked.Changes[0].Before)
	}
	sub.Close()
	if _, ok := <-sub.Events(); ok {
		t.Error("the channel is open after Close")
	}
	sub.Close() // twice is fine
}

// A subscriber that does not keep up is told, once it has room, that it
// missed events; the writer never waits for it.
func TestSubscriberThatFallsBehind(t *testing.T) {
	db, _ := world(t)
	sub := db.Subscribe(2)
	defer sub.Close()
	for range 10 {
		issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"api"}})
	}
	var got []oauthdb.Event
	for len(got) < 2 {
		got = append(got, <-sub.Events())
	}
	if got[0].Missed || got[1].Missed {
		t.Fatalf("the first two events: %+v", got)
	}
	// Room again: the next commit is told after a Missed event.
	last := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"api"}})
	missed := <-sub.Events()
	next := <-sub.Events()
	if !missed.Missed || next.Missed || missed.Index != next.Index {
		t.Fatalf("after falling behind: %+v then %+v", missed, next)
	}
	if a, _ := next.Changes[0].After.(oauthdb.OAuthAccessToken); a.ID != last.Access.ID {
		t.Errorf("the event after the gap is not the last commit's: %+v", next.Changes)
	}
}

// A watch wakes when what its query read changes, not before; and when its
// context ends.
func TestWatch(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, userGrant)
	wait, err := db.Watch(func(tx *oauthdb.Tx) error {
		u, err := tx.User("u1")
		if err != nil {
			return err
		}
		for range tx.UserAccessTokens(u) {
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	woke := make(chan error, 1)
	go func() { woke <- wait(context.Background()) }()
	// Another user's write is not what the query read.
	update(t, db, func(tx *oauthdb.Tx) error {
		u, _ := tx.User("u2")
		u.Name = "Robert"
		return tx.UpdateUser(u)
	})
	select {
	case err := <-woke:
		t.Fatalf("woken by another user's change: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := db.RevokeAccessToken(tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-woke:
		if err != nil {
			t.Fatalf("wait = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not woken by the revocation of a token the query read")
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait, _ = db.Watch(func(tx *oauthdb.Tx) error { _, err := tx.User("u2"); return err })
	cancel()
	if err := wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("wait with a cancelled context = %v", err)
	}
}

// A watch of a large read watches whole tables past its limit, so that
// waiting on it takes a bounded number of goroutines; it still wakes.
func TestWatchOfALargeRead(t *testing.T) {
	db, _ := world(t)
	for range 3000 {
		issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"api"}})
	}
	wait, err := db.Watch(func(tx *oauthdb.Tx) error {
		for a := range tx.AccessTokens() {
			if _, err := tx.AccessToken(a.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	woke := make(chan error, 1)
	go func() { woke <- wait(context.Background()) }()
	time.Sleep(20 * time.Millisecond) // let the wait start its goroutines
	// 6,000 records read, about 2,048 channels watched: go-memdb waits on 32
	// channels a goroutine.
	if n := runtime.NumGoroutine() - before; n > 100 {
		t.Errorf("waiting on a read of 6,000 records takes %d goroutines", n)
	}
	issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"api"}})
	select {
	case err := <-woke:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a watch of the whole table was not woken by an insert")
	}
}

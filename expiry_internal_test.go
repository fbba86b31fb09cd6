package oauthdb

import (
	"fmt"
	"testing"
	"time"
)

// A DB that deletes rows and never sweeps does not gather their hints
// without end, and still sweeps right when it does.
func TestExpiryQueueBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db, err := Open(WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	write := func(fn func(tx *Tx) error) {
		t.Helper()
		if err := db.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx *Tx) error {
		return tx.InsertClient(OAuthClient{ID: "c", ClientID: "cid", RedirectURIs: []string{"https://c.example/cb"}})
	})
	token := func(i int) OAuthAccessToken {
		id := fmt.Sprint("a", i)
		return OAuthAccessToken{ID: id, Token: HashToken(id), ClientID: "cid", ExpiresAt: now.Add(time.Hour)}
	}
	q := accessTokensExpire.queueOf(db)
	for i := range 5000 {
		write(func(tx *Tx) error { return tx.InsertAccessToken(token(i)) })
		if i%10 != 0 { // one in ten stays
			write(func(tx *Tx) error { return tx.DeleteAccessToken(token(i).ID) })
		}
		if len(q.heap) > 2*q.rows+1024 {
			t.Fatalf("after %d tokens, %d hints for %d rows", i+1, len(q.heap), q.rows)
		}
	}
	now = now.Add(2 * time.Hour)
	if res, err := db.SweepExpired(10000); err != nil || res.AccessTokens != 500 {
		t.Errorf("SweepExpired = %+v, %v; want the 500 tokens left", res, err)
	}
}

package oauthdb_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/oauthdb/oauthdb"
)

// A warm start: at shutdown a service writes its DB to a file; at start-up
// the next one reads it back, and the tokens issued before the restart
// validate at once. The file is written beside its final name and renamed
// over it only once it is complete and synced, so that a crash mid-write
// leaves the previous snapshot, never half of one.
func ExampleDB_ReadSnapshot() {
	dir, err := os.MkdirTemp("", "oauthdb")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "oauthdb.snapshot")
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	clock := oauthdb.WithClock(func() time.Time { return now })

	// The running service.
	db, err := oauthdb.Open(clock)
	if err != nil {
		panic(err)
	}
	err = db.Update(func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertSession(oauthdb.Session{ID: "s1", Token: "cookie", UserID: "u1", ExpiresAt: now.Add(24 * time.Hour)}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "my-app", RedirectURIs: []string{"https://app.example/cb"}}),
		)
	})
	if err != nil {
		panic(err)
	}
	tokens, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "my-app", UserID: "u1", SessionID: "s1",
		Scopes: []string{"openid", "offline_access"}, Refresh: true})
	if err != nil {
		panic(err)
	}

	// At shutdown.
	if err := saveSnapshot(db, path); err != nil {
		panic(err)
	}

	// At start-up, in the next process.
	now = now.Add(5 * time.Minute)
	next, err := oauthdb.Open(clock)
	if err != nil {
		panic(err)
	}
	f, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	info, err := next.ReadSnapshot(f)
	if err != nil {
		panic(err) // a real service would log it and start cold
	}
	fmt.Println(info)
	access, err := next.ValidateAccessToken(tokens.AccessToken)
	fmt.Println(access.User.Email, access.Token.Scopes, err)
	// Output:
	// oauthdb snapshot v2 written 2026-01-01T09:00:00Z, 589 bytes: user=1 session=1 oauthClient=1 oauthRefreshToken=1 oauthAccessToken=1 oauthConsent=0 verification=0
	// ada@example.com [openid offline_access] <nil>
}

// saveSnapshot writes db's snapshot to path, atomically.
func saveSnapshot(db *oauthdb.DB, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	if err := db.WriteSnapshot(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

package oauthdb_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb"
)

// bulkRows is a snapshot of 4,410 rows: more than a transaction writes
// before the store raises the collector's target, enough for its write
// transactions to answer lookups from the rows they stored.
func bulkRows() oauthdb.Snapshot { return bulkRowsOf(2800) }

// bulkRowsOf is bulkRows with n access tokens, linked two by two to n/2
// refresh tokens.
func bulkRowsOf(n int) oauthdb.Snapshot {
	var s oauthdb.Snapshot
	for i := range 100 {
		u := fmt.Sprintf("u%03d", i)
		s.Users = append(s.Users, oauthdb.User{ID: u, Name: u, Email: u + "@example.com", CreatedAt: t0, UpdatedAt: t0})
		s.Sessions = append(s.Sessions, oauthdb.Session{ID: "s" + u, Token: "cookie-" + u, UserID: u,
			ExpiresAt: t0.Add(time.Hour), CreatedAt: t0, UpdatedAt: t0})
	}
	for i := range 10 {
		c := fmt.Sprintf("c%02d", i)
		s.Clients = append(s.Clients, oauthdb.OAuthClient{ID: c, ClientID: "cid-" + c, RedirectURIs: []string{"https://x.example/cb"},
			CreatedAt: t0, UpdatedAt: t0})
	}
	for i := range n / 2 {
		u := fmt.Sprintf("u%03d", i%100)
		s.RefreshTokens = append(s.RefreshTokens, oauthdb.OAuthRefreshToken{ID: fmt.Sprintf("r%04d", i),
			Token: oauthdb.HashToken(fmt.Sprint("refresh-", i)), ClientID: fmt.Sprintf("cid-c%02d", i%10), UserID: u,
			SessionID: "s" + u, Scopes: []string{"openid"}, ExpiresAt: t0.Add(24 * time.Hour), CreatedAt: t0})
	}
	for i := range n {
		r := s.RefreshTokens[i/2]
		s.AccessTokens = append(s.AccessTokens, oauthdb.OAuthAccessToken{ID: fmt.Sprintf("a%04d", i),
			Token: oauthdb.HashToken(fmt.Sprint("access-", i)), ClientID: r.ClientID, UserID: r.UserID,
			SessionID: r.SessionID, RefreshID: r.ID, Scopes: []string{"openid"}, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0})
	}
	return s
}

// Each way to load many rows at once — Restore, ReadSnapshot, a replica's
// Reload — is one transaction; each leaves every index holding exactly the
// rows loaded.
func TestBulkLoadsLeaveEveryIndexConsistent(t *testing.T) {
	rows := bulkRows()
	src := openDB(t)
	if err := src.Restore(rows); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	want := dump(t, src) // Verify, then every row
	if diff := cmp.Diff(rows, want); diff != "" {
		t.Fatalf("restored rows (-put +got):\n%s", diff)
	}

	read := openDB(t)
	if _, err := read.ReadSnapshot(bytes.NewReader(writeSnap(t, src))); err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	if diff := cmp.Diff(want, dump(t, read)); diff != "" {
		t.Errorf("read snapshot (-want +got):\n%s", diff)
	}

	replica := openDB(t, oauthdb.WithReplica())
	refused, err := replica.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(rows) })
	if err != nil || len(refused) > 0 {
		t.Fatalf("Reload: %v, refused %v", err, refused)
	}
	if err := replica.Verify(); err != nil {
		t.Errorf("replica: Verify: %v", err)
	}
	if diff := cmp.Diff(want, replica.Rows()); diff != "" {
		t.Errorf("replica's rows (-want +got):\n%s", diff)
	}
}

// A bulk load refused at its last row leaves the DB as it was.
func TestBulkLoadRefusedAtTheEndChangesNothing(t *testing.T) {
	db := openDB(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertUser(oauthdb.User{ID: "before", Name: "B", Email: "before@example.com"})
	})
	before := dump(t, db)

	rows := bulkRows()
	last := &rows.AccessTokens[len(rows.AccessTokens)-1]
	last.Token = rows.AccessTokens[0].Token // a unique value taken earlier in the same load
	if err := db.Restore(rows); !errors.Is(err, oauthdb.ErrConflict) {
		t.Fatalf("Restore: %v, want ErrConflict", err)
	}
	if diff := cmp.Diff(before, dump(t, db)); diff != "" {
		t.Errorf("after a refused Restore (-before +after):\n%s", diff)
	}

	src := openDB(t)
	if err := src.Restore(bulkRows()); err != nil {
		t.Fatal(err)
	}
	data := writeSnap(t, src)
	data[len(data)-1] ^= 1 // the stream's last checksum
	if _, err := db.ReadSnapshot(bytes.NewReader(data)); !errors.Is(err, oauthdb.ErrSnapshotCorrupt) {
		t.Fatalf("ReadSnapshot: %v, want ErrSnapshotCorrupt", err)
	}
	if diff := cmp.Diff(before, dump(t, db)); diff != "" {
		t.Errorf("after a refused ReadSnapshot (-before +after):\n%s", diff)
	}
}

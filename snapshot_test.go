package oauthdb_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

// A snapshot written as JSON starts another DB warm, with the same records.
func TestSnapshotRoundTrip(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertVerification(oauthdb.Verification{ID: "v1", Identifier: oauthdb.HashToken("code"), Value: `{"type":"authorization_code"}`, ExpiresAt: t0})
	})
	want := db.Snapshot()
	if want.Len() != 15 {
		t.Fatalf("snapshot has %d records, want 15", want.Len())
	}
	data, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var loaded oauthdb.Snapshot
	if err := json.Unmarshal(data, &loaded); err != nil {
		t.Fatal(err)
	}
	warm := openDB(t)
	if err := warm.Restore(loaded); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, dump(t, warm)); diff != "" {
		t.Errorf("restored DB (-want +got):\n%s", diff)
	}
	if _, err := warm.ValidateAccessToken("a1"); err != nil {
		t.Errorf("a token of the snapshot does not validate: %v", err)
	}
}

// Restore is one transaction: a snapshot that conflicts with what is there
// loads nothing.
func TestRestoreIsAtomic(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	snap := db.Snapshot()
	other := openDB(t)
	update(t, other, func(tx *oauthdb.Tx) error {
		return tx.InsertUser(oauthdb.User{ID: "x", Name: "X", Email: "bob@example.com"}) // u2's address
	})
	before := dump(t, other)
	err := other.Restore(snap)
	var e *oauthdb.Error
	if !errors.Is(err, oauthdb.ErrConflict) || !errors.As(err, &e) || e.Field != "email" {
		t.Fatalf("Restore = %v, want a conflict on email", err)
	}
	if diff := cmp.Diff(before, dump(t, other)); diff != "" {
		t.Errorf("a failed Restore changed the store (-before +after):\n%s", diff)
	}
}

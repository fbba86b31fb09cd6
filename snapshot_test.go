package oauthdb_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
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

// A refused restore names the row at fault by its id — in a snapshot of
// hundreds of thousands of rows, table, field and value alone do not find
// it. For a duplicate, the row named is the one that came second.
func TestRestoreNamesTheRow(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	good := db.Snapshot()
	cases := []struct {
		name  string
		edit  func(s *oauthdb.Snapshot)
		want  error
		id    string
		field string
	}{
		{"a token whose clientId names no client", func(s *oauthdb.Snapshot) {
			s.AccessTokens[3].ClientID = "cid-nobody"
		}, oauthdb.ErrForeignKey, "at4", "clientId"},
		{"a duplicate token hash", func(s *oauthdb.Snapshot) {
			s.AccessTokens[2].Token = s.AccessTokens[1].Token
		}, oauthdb.ErrConflict, "at3", "token"},
		{"a client without redirectUris", func(s *oauthdb.Snapshot) {
			s.Clients[1].RedirectURIs = nil
		}, oauthdb.ErrInvalid, "c2", "redirectUris"},
		{"a duplicate id", func(s *oauthdb.Snapshot) {
			s.Users[1].ID = "u1"
		}, oauthdb.ErrConflict, "u1", "id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap := good.Clone()
			snap.Users = slices.Clone(snap.Users)
			snap.Clients = slices.Clone(snap.Clients)
			snap.AccessTokens = slices.Clone(snap.AccessTokens)
			c.edit(&snap)
			err := openDB(t).Restore(snap)
			var e *oauthdb.Error
			if !errors.Is(err, c.want) || !errors.As(err, &e) {
				t.Fatalf("Restore = %v, want an *Error around %v", err, c.want)
			}
			if e.ID != c.id || e.Field != c.field {
				t.Errorf("Restore = %v: row %q, field %q; want row %q, field %q", err, e.ID, e.Field, c.id, c.field)
			}
			if !strings.Contains(err.Error(), `"`+c.id+`"`) {
				t.Errorf("the error %q does not name the row %q", err, c.id)
			}
		})
	}
}

// All gives every record of a snapshot, parents first, and Add puts each
// back in its table: what a loader that handles every table alike needs.
func TestSnapshotAllAndAdd(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertVerification(oauthdb.Verification{ID: "v1", Identifier: oauthdb.HashToken("code"), Value: `{}`, ExpiresAt: t0})
	})
	want := db.Snapshot()
	var got oauthdb.Snapshot
	var order []string
	for table, rec := range want.All() {
		if len(order) == 0 || order[len(order)-1] != table {
			order = append(order, table)
		}
		if err := got.Add(rec); err != nil {
			t.Fatalf("Add(%T): %v", rec, err)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("added back (-want +got):\n%s", diff)
	}
	if wantOrder := []string{"user", "session", "oauthClient", "oauthRefreshToken", "oauthAccessToken", "oauthConsent", "verification"}; !slices.Equal(order, wantOrder) {
		t.Errorf("All's tables: %v, want %v", order, wantOrder)
	}
	// A pointer is a record too; anything else is none.
	if err := got.Add(&want.Users[0]); err != nil || len(got.Users) != len(want.Users)+1 {
		t.Errorf("Add(*User): %v", err)
	}
	for _, v := range []any{"a user", (*oauthdb.User)(nil), nil, oauthdb.Snapshot{}} {
		if err := got.Add(v); !errors.Is(err, oauthdb.ErrInvalid) {
			t.Errorf("Add(%#v) = %v, want ErrInvalid", v, err)
		}
	}
}

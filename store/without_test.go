package store_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb/store"
)

// A database may leave out indexes that only queries use; it holds the same
// records, checks them the same way, and audits clean.
func TestDatabaseWithoutAnIndex(t *testing.T) {
	l := newLibrary()
	full := l.open(t)
	l.seed(t, full)
	db, err := store.Open(l.s, store.Config{Without: []string{"members.joined", "loans.due", "loans.returned"}})
	if err != nil {
		t.Fatal(err)
	}
	l.seed(t, db)
	if diff := cmp.Diff(l.snapshot(t, full), l.snapshot(t, db)); diff != "" {
		t.Errorf("contents differ from the database with every index (-full +without):\n%s", diff)
	}
	verify(t, db)
	// A record still needs a value for an index the database leaves out.
	err = db.Update(func(tx *store.Txn) error { return l.members.Insert(tx, &Member{ID: "m9", Email: "z@example.org"}) })
	checkErr(t, err, storeErr{Kind: store.ErrInvalid, Table: "members", Field: "joined"})

	// A state built off to the side leaves out the same; one that keeps
	// them cannot replace it.
	side, err := db.Fresh()
	if err != nil {
		t.Fatal(err)
	}
	l.seed(t, side)
	if err := db.Replace(side); err != nil {
		t.Errorf("Replace with a Fresh state: %v", err)
	}
	other, _ := full.Fresh()
	if err := db.Replace(other); err == nil {
		t.Error("Replace with a state that keeps the indexes: no error")
	}
}

// Open refuses to leave out an index that keeps the data consistent.
func TestWithoutRefusesWhatConsistencyNeeds(t *testing.T) {
	for _, c := range []struct{ without, want string }{
		{"members.id", "unique"},
		{"members.email", "unique"},
		{"loans.memberId", "relation"},
		{"excerpts.isbn", "relation"},
		{"members.nope", "no index"},
		{"nope.joined", "no index"},
	} {
		_, err := store.Open(newLibrary().s, store.Config{Without: []string{c.without}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Without %s: %v, want an error about %q", c.without, err, c.want)
		}
	}
}

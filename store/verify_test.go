package store_test

import (
	"testing"

	"github.com/oauthdb/oauthdb/store"
)

// Verify finds nothing on a healthy database (see also the random writes
// test) and reports the damage that modifying a stored record in place, which
// is forbidden, does to the indexes. The cases below break that rule on
// purpose, to give Verify something to find.
func TestVerifyFindsRecordsModifiedInPlace(t *testing.T) {
	l := newLibrary()
	tests := []struct {
		name   string
		damage func(tx *store.Txn)
	}{
		{"unique value duplicated", func(tx *store.Txn) {
			m2, _ := l.members.Get(tx, "m2")
			m2.Email = "ann@example.org"
		}},
		{"unique value changed to a free one", func(tx *store.Txn) {
			m2, _ := l.members.Get(tx, "m2")
			m2.Email = "carol@example.org"
		}},
		{"non-unique value changed", func(tx *store.Txn) {
			n1, _ := l.loans.Get(tx, "n1")
			n1.MemberID = "m2"
		}},
		{"time value changed", func(tx *store.Txn) {
			n1, _ := l.loans.Get(tx, "n1")
			n1.Due = n1.Due.AddDate(1, 0, 0)
		}},
		{"optional value cleared", func(tx *store.Txn) {
			n1, _ := l.loans.Get(tx, "n1")
			n1.BookID = ""
		}},
		{"primary key changed", func(tx *store.Txn) {
			a, _ := l.authors.Get(tx, "pr")
			a.ID = "tp"
		}},
		{"foreign key dangling", func(tx *store.Txn) {
			b, _ := l.books.Get(tx, "b3")
			b.AuthorID = "nobody"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := l.open(t)
			l.seed(t, db)
			verify(t, db)
			view(t, db, func(tx *store.Txn) error { tt.damage(tx); return nil })
			err := db.View(func(tx *store.Txn) error { return tx.Verify() })
			if err == nil {
				t.Fatal("Verify found nothing")
			}
			t.Log(err)
		})
	}
}

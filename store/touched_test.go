package store_test

import (
	"errors"
	"testing"

	"github.com/oauthdb/oauthdb/store"
)

// A write transaction reads what it wrote, by every unique key: a record it
// inserted, updated, deleted or had cascaded away is found, or not, as the
// transaction left it, and a unique value it freed may be taken again. (A
// write transaction answers reads of keys it has not written from the state
// it started from, touched.go.)
func TestUpdateReadsItsOwnWritesByUniqueKey(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	update(t, db, func(tx *store.Txn) error {
		// An insert is found by its id and its unique values.
		if err := l.members.Insert(tx, &Member{ID: "m3", Email: "cat@example.org", Joined: day0}); err != nil {
			t.Fatal(err)
		}
		if m, ok := l.memberEmail.First(tx, "cat@example.org"); !ok || m.ID != "m3" {
			t.Errorf("inserted member by email = %v, %v; want m3", m, ok)
		}
		if _, ok := l.members.Get(tx, "m3"); !ok {
			t.Error("inserted member not found by id")
		}

		// An update that changes a unique value frees the old one.
		if err := l.members.Update(tx, &Member{ID: "m1", Email: "ann@example.net", Joined: day0}); err != nil {
			t.Fatal(err)
		}
		if m, ok := l.memberEmail.First(tx, "ann@example.org"); ok {
			t.Errorf("old email still finds %s after the update", m.ID)
		}
		if m, ok := l.memberEmail.First(tx, "ann@example.net"); !ok || m.ID != "m1" {
			t.Errorf("new email = %v, %v; want m1", m, ok)
		}
		if err := l.members.Insert(tx, &Member{ID: "m4", Email: "ann@example.org", Joined: day0}); err != nil {
			t.Errorf("taking the freed email: %v", err)
		}
		err := l.members.Insert(tx, &Member{ID: "m5", Email: "ann@example.net", Joined: day0})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("taking the email m1 took in this transaction: %v, want ErrConflict", err)
		}

		// A delete, and what it cascades to, is gone by id and unique value.
		if err := l.books.Delete(tx, "b3"); err != nil { // cascades to x2, clears n2's book
			t.Fatal(err)
		}
		if _, ok := l.books.Get(tx, "b3"); ok {
			t.Error("deleted book found by id")
		}
		if _, ok := l.bookISBN.First(tx, "isbn-3"); ok {
			t.Error("deleted book found by its isbn")
		}
		if _, ok := l.excerpts.Get(tx, "x2"); ok {
			t.Error("cascaded excerpt found by id")
		}
		if n, ok := l.loans.Get(tx, "n2"); !ok || n.BookID != "" {
			t.Errorf("loan of the deleted book = %+v, %v; want it with no book", n, ok)
		}
		if err := l.books.Insert(tx, &Book{ID: "b3", AuthorID: "le", Title: "Tehanu", ISBN: "isbn-3"}); err != nil {
			t.Errorf("inserting a deleted book's id and isbn again: %v", err)
		}
		if b, ok := l.bookISBN.First(tx, "isbn-3"); !ok || b.Title != "Tehanu" {
			t.Errorf("book by isbn after its insert again = %v, %v; want Tehanu", b, ok)
		}
		return nil
	})
	verify(t, db)
}

// So does a Mirror transaction, whose Drop and Record name records by id.
func TestMirrorReadsItsOwnDrops(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	err := db.Mirror(func(tx *store.Txn) error {
		if err := tx.Drop("loans", "n1"); err != nil {
			return err
		}
		if _, ok := tx.Record("loans", "n1"); ok {
			t.Error("dropped loan found by Record")
		}
		if err := tx.Drop("loans", "n1"); err != nil {
			t.Errorf("dropping a dropped record again: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	verify(t, db)
}

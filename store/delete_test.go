package store_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb/store"
)

func TestDeleteCascadesAndSetsNull(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	before := l.snapshot(t, db)

	// Deleting Le Guin deletes her books b1 and b2 (cascade), the excerpts
	// that quote them, x1 and x3 (cascade, a second level, through the
	// isbn index), and clears the book of the loans n1 and n3 (set null).
	// The foreword x3 credits Pratchett, who stays.
	update(t, db, func(tx *store.Txn) error { return l.authors.Delete(tx, "le") })

	want := before
	want.Authors = []Author{before.Authors[1]}
	want.Books = []Book{before.Books[2]}
	want.Excerpts = []Excerpt{before.Excerpts[1]}
	want.Loans = []Loan{
		{ID: "n1", MemberID: "m1", Due: days(14)},
		before.Loans[1],
		{ID: "n3", MemberID: "m1", Due: days(21)},
	}
	if diff := cmp.Diff(want, l.snapshot(t, db)); diff != "" {
		t.Errorf("after deleting le (-want +got):\n%s", diff)
	}
	verify(t, db)
}

func TestSetNullStoresANewRecord(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	var old *Loan
	view(t, db, func(tx *store.Txn) error { old, _ = l.loans.Get(tx, "n2"); return nil })
	kept := *old

	update(t, db, func(tx *store.Txn) error { return l.books.Delete(tx, "b3") })

	view(t, db, func(tx *store.Txn) error {
		cur, ok := l.loans.Get(tx, "n2")
		if !ok {
			t.Fatal("loan n2 was deleted; set null keeps it")
		}
		if cur == old {
			t.Error("set null changed the stored record in place; it must store a copy")
		}
		if diff := cmp.Diff(Loan{ID: "n2", MemberID: "m2", Due: days(7)}, *cur); diff != "" {
			t.Errorf("loan n2 now (-want +got):\n%s", diff)
		}
		if got := loanIDs(l.loanBook.Get(tx, "b3")); len(got) != 0 {
			t.Errorf("bookId index still lists %v under b3", got)
		}
		// The loan is still found by its other indexes.
		if got := loanIDs(l.loanMember.Get(tx, "m2")); !cmp.Equal(got, []string{"n2"}) {
			t.Errorf("loans of m2 = %v, want [n2]", got)
		}
		return tx.Verify()
	})
	if diff := cmp.Diff(kept, *old); diff != "" {
		t.Errorf("the record read before the delete changed (-before +after):\n%s", diff)
	}
}

func TestRestrictRefusesAndChangesNothing(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	before := l.snapshot(t, db)
	tests := []struct {
		name     string
		del      func(tx *store.Txn) error
		want     storeErr
		referrer string
	}{
		// m1 has loans n1 and n3.
		{"member with loans", func(tx *store.Txn) error { return l.members.Delete(tx, "m1") },
			storeErr{Kind: store.ErrForeignKey, Table: "members", Field: "id", Value: "m1"}, "loans n1"},
		// Deleting Pratchett would cascade to Mort and its excerpt x2, but
		// the foreword x3, in Le Guin's b2, credits him and is not deleted.
		{"restrict found past a cascade", func(tx *store.Txn) error { return l.authors.Delete(tx, "pr") },
			storeErr{Kind: store.ErrForeignKey, Table: "authors", Field: "id", Value: "pr"}, "excerpts x3"},
		{"through DeleteRecord", func(tx *store.Txn) error {
			m2, _ := l.members.Get(tx, "m2")
			return l.members.DeleteRecord(tx, m2)
		}, storeErr{Kind: store.ErrForeignKey, Table: "members", Field: "id", Value: "m2"}, "loans n2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			update(t, db, func(tx *store.Txn) error {
				err := tt.del(tx)
				checkErr(t, err, tt.want)
				if !strings.Contains(err.Error(), tt.referrer) {
					t.Errorf("error %q does not name %s", err, tt.referrer)
				}
				if diff := cmp.Diff(before, l.dump(tx)); diff != "" {
					t.Errorf("the refused delete changed the transaction (-before +after):\n%s", diff)
				}
				return nil // commit what is left: nothing
			})
			if diff := cmp.Diff(before, l.snapshot(t, db)); diff != "" {
				t.Errorf("contents changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestRestrictIsSatisfiedByARecordDeletedInTheSameDelete(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	// Move the foreword to Pratchett's own book: now every excerpt that
	// credits him quotes one of his books and goes with them.
	update(t, db, func(tx *store.Txn) error {
		return l.excerpts.Update(tx, &Excerpt{ID: "x3", ISBN: "isbn-3", AuthorID: "pr", Text: "a foreword"})
	})
	update(t, db, func(tx *store.Txn) error { return l.authors.Delete(tx, "pr") })
	view(t, db, func(tx *store.Txn) error {
		for _, id := range []string{"x2", "x3"} {
			if _, ok := l.excerpts.Get(tx, id); ok {
				t.Errorf("excerpt %s survived", id)
			}
		}
		if _, ok := l.books.Get(tx, "b3"); ok {
			t.Error("book b3 survived")
		}
		n2, _ := l.loans.Get(tx, "n2")
		if n2.BookID != "" {
			t.Errorf("loan n2 still names book %q", n2.BookID)
		}
		return tx.Verify()
	})
}

func TestDeleteThenRestrictLifts(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	update(t, db, func(tx *store.Txn) error {
		return all(
			l.loans.Delete(tx, "n1"),
			l.loans.Delete(tx, "n3"),
			l.members.Delete(tx, "m1"),
		)
	})
	verify(t, db)
}

// A set null writes the referring record, and that write can be refused:
// then the delete as a whole is refused and changes nothing.
func TestSetNullRefusedByValidationChangesNothing(t *testing.T) {
	l := newLibrary()
	l.loans.Validate(func(n *Loan) error {
		if n.BookID == "" && n.Returned.IsZero() {
			return store.Invalid("loans", "bookId", "", "an open loan needs a book")
		}
		return nil
	})
	db := l.open(t)
	l.seed(t, db)
	before := l.snapshot(t, db)
	update(t, db, func(tx *store.Txn) error {
		checkErr(t, l.authors.Delete(tx, "le"), storeErr{Kind: store.ErrInvalid, Table: "loans", Field: "bookId"})
		if diff := cmp.Diff(before, l.dump(tx)); diff != "" {
			t.Errorf("the refused delete changed the transaction (-before +after):\n%s", diff)
		}
		return tx.Verify()
	})
	// Once the loans are returned, the book can go.
	update(t, db, func(tx *store.Txn) error {
		return all(
			l.loans.Update(tx, &Loan{ID: "n1", BookID: "b1", MemberID: "m1", Due: days(14), Returned: days(1)}),
			l.loans.Update(tx, &Loan{ID: "n3", BookID: "b2", MemberID: "m1", Due: days(21), Returned: days(1)}),
			l.authors.Delete(tx, "le"),
		)
	})
	verify(t, db)
}

// Node is a record of a self-referencing table: deleting a node deletes
// its children, and theirs.
type Node struct{ ID, Parent string }

func TestCascadeThroughASelfReferenceEndsOnCycles(t *testing.T) {
	s := store.NewSchema()
	nodes := store.NewTable(s, "nodes", func(n *Node) string { return n.ID })
	parent := store.StringIndex(nodes, "parent", func(n *Node) string { return n.Parent }).Optional()
	store.One("parent", parent, nodes.ID(), store.Cascade)
	db, err := store.Open(s, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	update(t, db, func(tx *store.Txn) error {
		return all(
			nodes.Insert(tx, &Node{ID: "root"}),
			nodes.Insert(tx, &Node{ID: "a", Parent: "root"}),
			nodes.Insert(tx, &Node{ID: "a1", Parent: "a"}),
			nodes.Insert(tx, &Node{ID: "a2", Parent: "a"}),
			nodes.Insert(tx, &Node{ID: "a11", Parent: "a1"}),
			nodes.Insert(tx, &Node{ID: "b", Parent: "root"}),
			// A cycle: c and d are each other's parent.
			nodes.Insert(tx, &Node{ID: "c"}),
			nodes.Insert(tx, &Node{ID: "d", Parent: "c"}),
			nodes.Update(tx, &Node{ID: "c", Parent: "d"}),
			// A node that is its own parent.
			nodes.Insert(tx, &Node{ID: "e"}),
			nodes.Update(tx, &Node{ID: "e", Parent: "e"}),
		)
	})
	names := func() []string {
		var out []string
		view(t, db, func(tx *store.Txn) error {
			out = ids(nodes.All(tx), func(n *Node) string { return n.ID })
			return tx.Verify()
		})
		return out
	}
	steps := []struct {
		del  string
		want []string
	}{
		{"a", []string{"b", "c", "d", "e", "root"}},
		{"d", []string{"b", "e", "root"}},
		{"e", []string{"b", "root"}},
		{"root", []string{}},
	}
	for _, s := range steps {
		update(t, db, func(tx *store.Txn) error { return nodes.Delete(tx, s.del) })
		if diff := cmp.Diff(s.want, names()); diff != "" {
			t.Errorf("after deleting %s (-want +got):\n%s", s.del, diff)
		}
	}
}

// Two set-null relations from one table to the deleted records clear both
// foreign keys of a record that refers through both.
type Ride struct{ ID, From, To string }
type Stop struct{ ID string }

func TestTwoSetNullsOnOneRecord(t *testing.T) {
	s := store.NewSchema()
	stops := store.NewTable(s, "stops", func(s *Stop) string { return s.ID })
	rides := store.NewTable(s, "rides", func(r *Ride) string { return r.ID })
	from := store.StringIndex(rides, "from", func(r *Ride) string { return r.From }).Optional()
	to := store.StringIndex(rides, "to", func(r *Ride) string { return r.To }).Optional()
	store.One("from", from, stops.ID(), store.SetNull).ClearWith(func(_ *store.Txn, r *Ride) { r.From = "" })
	store.One("to", to, stops.ID(), store.SetNull).ClearWith(func(_ *store.Txn, r *Ride) { r.To = "" })
	db, err := store.Open(s, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	update(t, db, func(tx *store.Txn) error {
		return all(
			stops.Insert(tx, &Stop{ID: "s"}),
			stops.Insert(tx, &Stop{ID: "t"}),
			rides.Insert(tx, &Ride{ID: "loop", From: "s", To: "s"}),
			rides.Insert(tx, &Ride{ID: "there", From: "s", To: "t"}),
		)
	})
	update(t, db, func(tx *store.Txn) error { return stops.Delete(tx, "s") })
	view(t, db, func(tx *store.Txn) error {
		got := rows(tx, rides)
		want := []Ride{{ID: "loop"}, {ID: "there", To: "t"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rides (-want +got):\n%s", diff)
		}
		return tx.Verify()
	})
}

func TestDeleteOfARecordInsertedInTheSameTransaction(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	before := l.snapshot(t, db)
	update(t, db, func(tx *store.Txn) error {
		return all(
			l.authors.Insert(tx, &Author{ID: "ck", Name: "Clarke"}),
			l.books.Insert(tx, &Book{ID: "b9", AuthorID: "ck", Title: "Piranesi", ISBN: "isbn-9"}),
			l.loans.Insert(tx, &Loan{ID: "n9", BookID: "b9", MemberID: "m1", Due: day0}),
			l.authors.Delete(tx, "ck"),
			l.loans.Delete(tx, "n9"),
		)
	})
	if diff := cmp.Diff(before, l.snapshot(t, db)); diff != "" {
		t.Errorf("contents changed (-before +after):\n%s", diff)
	}
}

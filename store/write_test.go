package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb/store"
)

// writeCase is one write made on the seeded library and the error it must
// fail with. A failed write must leave the transaction as it was, so each
// case commits after its write and compares the contents.
type writeCase struct {
	name  string
	write func(tx *store.Txn) error
	want  storeErr
}

func runWriteCases(t *testing.T, l *library, cases []writeCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			db := l.open(t)
			l.seed(t, db)
			before := l.snapshot(t, db)
			update(t, db, func(tx *store.Txn) error {
				checkErr(t, tt.write(tx), tt.want)
				if diff := cmp.Diff(before, l.dump(tx)); diff != "" {
					t.Errorf("the failed write changed the transaction (-before +after):\n%s", diff)
				}
				return tx.Verify()
			})
			if diff := cmp.Diff(before, l.snapshot(t, db)); diff != "" {
				t.Errorf("contents changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestUniqueIndexesRefuseASecondRecord(t *testing.T) {
	l := newLibrary()
	runWriteCases(t, l, []writeCase{
		{"insert with a taken email", func(tx *store.Txn) error {
			return l.members.Insert(tx, &Member{ID: "m9", Email: "ann@example.org", Joined: day0})
		}, storeErr{Kind: store.ErrConflict, Table: "members", Field: "email", Value: "ann@example.org"}},
		{"update to a taken email", func(tx *store.Txn) error {
			return l.members.Update(tx, &Member{ID: "m2", Email: "ann@example.org", Joined: day0})
		}, storeErr{Kind: store.ErrConflict, Table: "members", Field: "email", Value: "ann@example.org"}},
		{"upsert with a taken email", func(tx *store.Txn) error {
			return l.members.Upsert(tx, &Member{ID: "m9", Email: "bob@example.org", Joined: day0})
		}, storeErr{Kind: store.ErrConflict, Table: "members", Field: "email", Value: "bob@example.org"}},
		{"compound key taken", func(tx *store.Txn) error {
			return l.books.Insert(tx, &Book{ID: "b9", AuthorID: "le", Title: "The Dispossessed", ISBN: "isbn-9"})
		}, storeErr{Kind: store.ErrConflict, Table: "books", Field: "authorId+title", Value: "le/The Dispossessed"}},
		{"insert of an existing id", func(tx *store.Txn) error {
			return l.authors.Insert(tx, &Author{ID: "le", Name: "someone else"})
		}, storeErr{Kind: store.ErrConflict, Table: "authors", Field: "id", Value: "le"}},
		{"update of a missing id", func(tx *store.Txn) error {
			return l.authors.Update(tx, &Author{ID: "zz", Name: "nobody"})
		}, storeErr{Kind: store.ErrNotFound, Table: "authors", Field: "id", Value: "zz"}},
		{"delete of a missing id", func(tx *store.Txn) error {
			return l.authors.Delete(tx, "zz")
		}, storeErr{Kind: store.ErrNotFound, Table: "authors", Field: "id", Value: "zz"}},
	})
}

// A conflict names both rows: the one refused (the error's ID) and the one
// that holds the value (its reason).
func TestConflictErrorNamesTheOtherRecord(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	err := db.Update(func(tx *store.Txn) error {
		return l.members.Insert(tx, &Member{ID: "m9", Email: "bob@example.org", Joined: day0})
	})
	var se *store.Error
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *store.Error", err)
	}
	if !strings.Contains(se.Reason, "m2") || !strings.Contains(err.Error(), "m2") {
		t.Errorf("error %q does not name m2, the member that has the email", err)
	}
	if want := `members.email "bob@example.org" (id "m9"): `; se.ID != "m9" || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
}

func TestUniqueValuesThatDoNotConflict(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	update(t, db, func(tx *store.Txn) error {
		return all(
			// An update that keeps its own unique values.
			l.members.Update(tx, &Member{ID: "m1", Email: "ann@example.org", Joined: days(-1)}),
			// A compound key that shares one part with another's.
			l.books.Insert(tx, &Book{ID: "b9", AuthorID: "pr", Title: "The Dispossessed", ISBN: "isbn-9"}),
			// A value freed in this transaction can be taken in it.
			l.members.Update(tx, &Member{ID: "m2", Email: "bob@example.net", Joined: days(-10)}),
			l.members.Insert(tx, &Member{ID: "m3", Email: "bob@example.org", Joined: day0}),
			// Values that differ only in case are different values.
			l.members.Insert(tx, &Member{ID: "m4", Email: "ANN@example.org", Joined: day0}),
		)
	})
	view(t, db, func(tx *store.Txn) error {
		if m, ok := l.memberEmail.First(tx, "bob@example.org"); !ok || m.ID != "m3" {
			t.Errorf("bob@example.org = %+v, %v; want m3", m, ok)
		}
		return tx.Verify()
	})
	// A value freed by a delete can be taken.
	update(t, db, func(tx *store.Txn) error {
		return all(
			l.loans.Delete(tx, "n2"),
			l.members.Delete(tx, "m3"),
			l.members.Insert(tx, &Member{ID: "m5", Email: "bob@example.org", Joined: day0}),
		)
	})
	verify(t, db)
}

func TestInsertUpdateUpsert(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	get := func(id string) (Author, bool) {
		var a Author
		var ok bool
		view(t, db, func(tx *store.Txn) error {
			p, found := l.authors.Get(tx, id)
			if found {
				a, ok = *p, true
			}
			return nil
		})
		return a, ok
	}
	// Upsert inserts a record that is not there...
	update(t, db, func(tx *store.Txn) error { return l.authors.Upsert(tx, &Author{ID: "tp", Name: "T. P."}) })
	if got, ok := get("tp"); !ok || got.Name != "T. P." {
		t.Errorf("after upsert of a new id: %+v, %v", got, ok)
	}
	// ...and replaces one that is.
	update(t, db, func(tx *store.Txn) error { return l.authors.Upsert(tx, &Author{ID: "tp", Name: "Tamora Pierce"}) })
	if got, ok := get("tp"); !ok || got.Name != "Tamora Pierce" {
		t.Errorf("after upsert of an existing id: %+v, %v", got, ok)
	}
	// Update replaces.
	update(t, db, func(tx *store.Txn) error { return l.authors.Update(tx, &Author{ID: "le", Name: "Le Guin"}) })
	if got, _ := get("le"); got.Name != "Le Guin" {
		t.Errorf("after update: %+v", got)
	}
	// Upsert checks what Insert checks.
	err := db.Update(func(tx *store.Txn) error {
		return l.books.Upsert(tx, &Book{ID: "b9", AuthorID: "nobody", Title: "x", ISBN: "isbn-9"})
	})
	checkErr(t, err, storeErr{Kind: store.ErrForeignKey, Table: "books", Field: "authorId", Value: "nobody"})
	verify(t, db)
}

func TestReadOnlyTransactionsDoNotWrite(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	before := l.snapshot(t, db)
	view(t, db, func(tx *store.Txn) error {
		if tx.Writable() {
			t.Error("a View transaction is writable")
		}
		for name, err := range map[string]error{
			"insert": l.authors.Insert(tx, &Author{ID: "new", Name: "x"}),
			"update": l.authors.Update(tx, &Author{ID: "le", Name: "x"}),
			"upsert": l.authors.Upsert(tx, &Author{ID: "le", Name: "x"}),
			"delete": l.authors.Delete(tx, "le"),
		} {
			if err == nil {
				t.Errorf("%s in a View succeeded", name)
			}
		}
		return nil
	})
	update(t, db, func(tx *store.Txn) error {
		if !tx.Writable() {
			t.Error("an Update transaction is not writable")
		}
		return nil
	})
	if diff := cmp.Diff(before, l.snapshot(t, db)); diff != "" {
		t.Errorf("contents changed (-before +after):\n%s", diff)
	}
}

func TestValidateHookRejectsWrites(t *testing.T) {
	l := newLibrary()
	l.authors.Validate(func(a *Author) error {
		if a.Name == "" {
			return store.Invalid("authors", "name", "", "required")
		}
		return nil
	})
	runWriteCases(t, l, []writeCase{
		{"insert", func(tx *store.Txn) error { return l.authors.Insert(tx, &Author{ID: "x"}) },
			storeErr{Kind: store.ErrInvalid, Table: "authors", Field: "name"}},
		{"update", func(tx *store.Txn) error { return l.authors.Update(tx, &Author{ID: "le"}) },
			storeErr{Kind: store.ErrInvalid, Table: "authors", Field: "name"}},
	})
}

func TestForeignKeyChecks(t *testing.T) {
	l := newLibrary()
	runWriteCases(t, l, []writeCase{
		{"required foreign key empty", func(tx *store.Txn) error {
			return l.loans.Insert(tx, &Loan{ID: "n9", BookID: "b1", Due: day0})
		}, storeErr{Kind: store.ErrInvalid, Table: "loans", Field: "memberId"}},
		{"dangling foreign key on insert", func(tx *store.Txn) error {
			return l.loans.Insert(tx, &Loan{ID: "n9", BookID: "b1", MemberID: "m9", Due: day0})
		}, storeErr{Kind: store.ErrForeignKey, Table: "loans", Field: "memberId", Value: "m9"}},
		{"dangling optional foreign key", func(tx *store.Txn) error {
			return l.loans.Insert(tx, &Loan{ID: "n9", BookID: "b9", MemberID: "m1", Due: day0})
		}, storeErr{Kind: store.ErrForeignKey, Table: "loans", Field: "bookId", Value: "b9"}},
		{"dangling foreign key on update", func(tx *store.Txn) error {
			return l.loans.Update(tx, &Loan{ID: "n1", BookID: "b1", MemberID: "m9", Due: day0})
		}, storeErr{Kind: store.ErrForeignKey, Table: "loans", Field: "memberId", Value: "m9"}},
		{"dangling foreign key to a non-primary unique index", func(tx *store.Txn) error {
			return l.excerpts.Insert(tx, &Excerpt{ID: "x9", ISBN: "isbn-9", AuthorID: "le"})
		}, storeErr{Kind: store.ErrForeignKey, Table: "excerpts", Field: "isbn", Value: "isbn-9"}},
		{"foreign key names a primary key, not another index", func(tx *store.Txn) error {
			// "isbn-1" is a value of books.isbn, but loans.bookId refers to books.id.
			return l.loans.Insert(tx, &Loan{ID: "n9", BookID: "isbn-1", MemberID: "m1", Due: day0})
		}, storeErr{Kind: store.ErrForeignKey, Table: "loans", Field: "bookId", Value: "isbn-1"}},
		{"changing a referenced key", func(tx *store.Txn) error {
			// Excerpt x1 quotes isbn-1.
			return l.books.Update(tx, &Book{ID: "b1", AuthorID: "le", Title: "A Wizard of Earthsea", ISBN: "isbn-1b"})
		}, storeErr{Kind: store.ErrForeignKey, Table: "books", Field: "isbn", Value: "isbn-1"}},
		{"upsert changing a referenced key", func(tx *store.Txn) error {
			return l.books.Upsert(tx, &Book{ID: "b3", AuthorID: "pr", Title: "Mort", ISBN: "isbn-3b"})
		}, storeErr{Kind: store.ErrForeignKey, Table: "books", Field: "isbn", Value: "isbn-3"}},
	})
}

func TestForeignKeysThatPass(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	update(t, db, func(tx *store.Txn) error {
		return all(
			// An optional foreign key may be empty.
			l.loans.Insert(tx, &Loan{ID: "n9", MemberID: "m1", Due: day0}),
			// A record may refer to one inserted earlier in the transaction.
			l.authors.Insert(tx, &Author{ID: "ck", Name: "Clarke"}),
			l.books.Insert(tx, &Book{ID: "b9", AuthorID: "ck", Title: "Piranesi", ISBN: "isbn-9"}),
			l.excerpts.Insert(tx, &Excerpt{ID: "x9", ISBN: "isbn-9", AuthorID: "ck"}),
			// A referenced key can change once nothing refers to it...
			l.books.Update(tx, &Book{ID: "b3", AuthorID: "pr", Title: "Mort", ISBN: "isbn-3"}), // unchanged
			l.excerpts.Delete(tx, "x2"),
			l.books.Update(tx, &Book{ID: "b3", AuthorID: "pr", Title: "Mort", ISBN: "isbn-3b"}),
			// ...and a record's other fields can change while others refer to it.
			l.books.Update(tx, &Book{ID: "b1", AuthorID: "le", Title: "Earthsea", ISBN: "isbn-1"}),
			// A record can move its own foreign key to another existing record.
			l.loans.Update(tx, &Loan{ID: "n1", BookID: "b3", MemberID: "m2", Due: day0}),
		)
	})
	view(t, db, func(tx *store.Txn) error {
		b3, _ := l.books.Get(tx, "b3")
		if diff := cmp.Diff([]string{"n1", "n2"}, loanIDs(l.loansOfBook.Get(tx, b3))); diff != "" {
			t.Errorf("loans of b3 (-want +got):\n%s", diff)
		}
		return tx.Verify()
	})
}

// Every error about one row of a write names that row by its id, whatever
// was wrong with it: in a load of many rows, table, field and value alone do
// not find it.
func TestWriteErrorsNameTheRow(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	for _, c := range []struct {
		name  string
		write func(tx *store.Txn) error
		id    string
	}{
		{"a foreign key that names nothing", func(tx *store.Txn) error {
			return l.loans.Insert(tx, &Loan{ID: "n9", MemberID: "m-nobody", Due: days(1)})
		}, "n9"},
		{"a required field missing", func(tx *store.Txn) error {
			return l.loans.Insert(tx, &Loan{ID: "n9", Due: days(1)})
		}, "n9"},
		{"a unique value taken", func(tx *store.Txn) error {
			return l.books.Insert(tx, &Book{ID: "b9", AuthorID: "pr", Title: "Small Gods", ISBN: "isbn-1"})
		}, "b9"},
		{"a delete restricted", func(tx *store.Txn) error { return l.members.Delete(tx, "m2") }, "m2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := db.Update(c.write)
			var se *store.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want a *store.Error", err)
			}
			if se.ID != c.id || !strings.Contains(err.Error(), `"`+c.id+`"`) {
				t.Errorf("error %v (id %q), want one naming the row %q", err, se.ID, c.id)
			}
		})
	}
}

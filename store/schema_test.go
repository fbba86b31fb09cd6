package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/oauthdb/oauthdb/store"
)

// A broken declaration is an error from Open, never a panic, then or later.

func TestOpenRefusesBrokenSchemas(t *testing.T) {
	tests := []struct {
		name   string
		schema func() *store.Schema
		want   string // a part of the error message
	}{
		{"no tables", store.NewSchema, "no tables"},
		{"table with no name", func() *store.Schema {
			s := store.NewSchema()
			store.NewTable(s, "", func(a *Author) string { return a.ID })
			return s
		}, "no name"},
		{"duplicate table names", func() *store.Schema {
			s := store.NewSchema()
			store.NewTable(s, "people", func(a *Author) string { return a.ID })
			store.NewTable(s, "people", func(m *Member) string { return m.ID })
			return s
		}, `"people" declared twice`},
		{"two indexes of one name", func() *store.Schema {
			l := newLibrary()
			store.StringIndex(l.members, "email", func(m *Member) string { return m.Email })
			return l.s
		}, `two indexes named "email"`},
		{"an index named like the primary key", func() *store.Schema {
			l := newLibrary()
			store.StringIndex(l.members, "id", func(m *Member) string { return m.Email })
			return l.s
		}, `two indexes named "id"`},
		{"index with no name", func() *store.Schema {
			l := newLibrary()
			store.StringIndex(l.members, "", func(m *Member) string { return m.Email })
			return l.s
		}, "index"},
		{"index name ending in _prefix", func() *store.Schema {
			// go-memdb reads a query on "x_prefix" as a prefix query on "x".
			l := newLibrary()
			store.StringIndex(l.members, "email_prefix", func(m *Member) string { return m.Email }).Unique()
			return l.s
		}, "_prefix"},
		{"optional primary key", func() *store.Schema {
			l := newLibrary()
			l.authors.ID().Optional()
			return l.s
		}, "id"},
		{"relation to a non-unique index", func() *store.Schema {
			l := newLibrary()
			store.One("sameAuthor", l.excerptAuthor, l.bookAuthor, store.Restrict)
			return l.s
		}, "not unique"},
		{"set null on a required foreign key", func() *store.Schema {
			l := newLibrary()
			store.One("creditedBook", l.excerptAuthor, l.authors.ID(), store.SetNull).
				ClearWith(func(_ *store.Txn, e *Excerpt) { e.AuthorID = "" })
			return l.s
		}, "set null on a required foreign key"},
		{"set null without ClearWith", func() *store.Schema {
			l := newLibrary()
			store.One("returnedBook", l.loanBook, l.books.ID(), store.SetNull)
			return l.s
		}, "ClearWith"},
		{"unknown delete action", func() *store.Schema {
			l := newLibrary()
			store.One("odd", l.loanBook, l.books.ID(), store.Action(42))
			return l.s
		}, "unknown delete action"},
		{"relation to a table of another schema", func() *store.Schema {
			l, other := newLibrary(), newLibrary()
			store.One("otherBook", l.loanBook, other.books.ID(), store.Restrict)
			return l.s
		}, "another schema"},
		{"relation on a custom index", func() *store.Schema {
			l := newLibrary()
			dueDay := store.NewIndex(l.loans, "dueDay", "due",
				func(n *Loan, dst []byte) ([]byte, bool) {
					return store.AppendString(dst, n.Due.Format("2006-01-02")), true
				},
				func(q string, dst []byte) []byte { return store.AppendString(dst, q) })
			store.One("dueDay", dueDay, l.books.ID(), store.Restrict)
			return l.s
		}, "StringIndexes"},
		{"relation with no name", func() *store.Schema {
			l := newLibrary()
			store.One("", l.loanBook, l.books.ID(), store.Restrict)
			return l.s
		}, "no name"},
		{"many relation with no name", func() *store.Schema {
			l := newLibrary()
			store.Many("", l.lentBook)
			return l.s
		}, "no name"},
		{"two relations of one name from one table", func() *store.Schema {
			l := newLibrary()
			store.One("book", l.loanMember, l.members.ID(), store.Restrict)
			return l.s
		}, "declared twice"},
		{"two many relations of one name from one table", func() *store.Schema {
			l := newLibrary()
			store.Many("loans", l.lentBook)
			return l.s
		}, "declared twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := openNoPanic(tt.schema())
			if err == nil {
				t.Fatalf("Open succeeded (%v), want an error mentioning %q", db, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: %v; want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// A relation registers itself when it is declared: there is no list to
// leave it out of, so a declared relation always checks its foreign key and
// carries its delete action.
func TestDeclaredRelationsAreWired(t *testing.T) {
	s := store.NewSchema()
	shelves := store.NewTable(s, "shelves", func(sh *Shelf) string { return sh.ID })
	jars := store.NewTable(s, "jars", func(j *Jar) string { return j.ID })
	store.One("shelf", store.StringIndex(jars, "shelfId", func(j *Jar) string { return j.ShelfID }), shelves.ID(), store.Cascade)
	db, err := store.Open(s, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *store.Txn) error { return jars.Insert(tx, &Jar{ID: "j", ShelfID: "nowhere"}) })
	if !errors.Is(err, store.ErrForeignKey) {
		t.Errorf("a jar on no shelf: %v, want ErrForeignKey", err)
	}
	update(t, db, func(tx *store.Txn) error {
		return all(shelves.Insert(tx, &Shelf{ID: "top"}), jars.Insert(tx, &Jar{ID: "j", ShelfID: "top"}))
	})
	update(t, db, func(tx *store.Txn) error { return shelves.Delete(tx, "top") })
	view(t, db, func(tx *store.Txn) error {
		if _, ok := jars.Get(tx, "j"); ok {
			t.Error("the shelf's delete did not cascade to its jar")
		}
		return nil
	})
}

// A declaration that lacks what it is built from is a mistake in the
// program, caught when it runs: at start-up, since declarations are
// package-level values.
func TestIncompleteDeclarationsPanic(t *testing.T) {
	l := newLibrary()
	for name, declare := range map[string]func(){
		"One without a target":    func() { store.One[Loan, Book]("lost", l.loanBook, nil, store.Restrict) },
		"Many without an inverse": func() { store.Many[Book, Loan]("lost", nil) },
	} {
		func() {
			defer func() {
				if msg, _ := recover().(string); !strings.Contains(msg, "lost") {
					t.Errorf("%s: recovered %q, want a panic naming the relation", name, msg)
				}
			}()
			declare()
		}()
	}
}

func openNoPanic(s *store.Schema) (db *store.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("Open panicked: %v", r)
		}
	}()
	return store.Open(s, store.Config{})
}

func TestOpenAcceptsTheLibrary(t *testing.T) {
	l := newLibrary()
	if _, err := store.Open(l.s, store.Config{}); err != nil {
		t.Fatal(err)
	}
	// Relations are optional in a schema, and a Many is optional beside its One.
	one := store.NewSchema()
	store.NewTable(one, "authors", func(a *Author) string { return a.ID })
	if _, err := store.Open(one, store.Config{}); err != nil {
		t.Errorf("one table, no relations: %v", err)
	}
	// A declaration can open more than one database; they share nothing.
	db1, db2 := l.open(t), l.open(t)
	update(t, db1, func(tx *store.Txn) error { return l.authors.Insert(tx, &Author{ID: "a", Name: "A"}) })
	view(t, db2, func(tx *store.Txn) error {
		if _, ok := l.authors.Get(tx, "a"); ok {
			t.Error("a record written to one database is in another")
		}
		return nil
	})
}

package store_test

import (
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
		{"no tables", func() *store.Schema { return &store.Schema{} }, "no tables"},
		{"table with no name", func() *store.Schema {
			return &store.Schema{Tables: []store.TableDef{store.NewTable("", func(a *Author) string { return a.ID })}}
		}, "no name"},
		{"nil table", func() *store.Schema {
			return &store.Schema{Tables: []store.TableDef{nil}}
		}, "no name"},
		{"typed nil table", func() *store.Schema {
			var authors *store.Table[Author]
			return &store.Schema{Tables: []store.TableDef{authors}}
		}, "no name"},
		{"duplicate table names", func() *store.Schema {
			a := store.NewTable("people", func(a *Author) string { return a.ID })
			m := store.NewTable("people", func(m *Member) string { return m.ID })
			return &store.Schema{Tables: []store.TableDef{a, m}}
		}, `"people" declared twice`},
		{"the same table twice", func() *store.Schema {
			l := newLibrary()
			return &store.Schema{Tables: []store.TableDef{l.authors, l.authors}}
		}, `"authors" declared twice`},
		{"two indexes of one name", func() *store.Schema {
			l := newLibrary()
			store.StringIndex(l.members, "email", func(m *Member) string { return m.Email })
			return l.schema()
		}, `two indexes named "email"`},
		{"an index named like the primary key", func() *store.Schema {
			l := newLibrary()
			store.StringIndex(l.members, "id", func(m *Member) string { return m.Email })
			return l.schema()
		}, `two indexes named "id"`},
		{"index with no name", func() *store.Schema {
			l := newLibrary()
			store.StringIndex(l.members, "", func(m *Member) string { return m.Email })
			return l.schema()
		}, "index"},
		{"index name ending in _prefix", func() *store.Schema {
			// go-memdb reads a query on "x_prefix" as a prefix query on "x".
			l := newLibrary()
			store.StringIndex(l.members, "email_prefix", func(m *Member) string { return m.Email }).Unique()
			return l.schema()
		}, "_prefix"},
		{"optional primary key", func() *store.Schema {
			l := newLibrary()
			l.authors.ID().Optional()
			return l.schema()
		}, "id"},
		{"relation to a non-unique index", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Relations = append(s.Relations, store.One("sameAuthor", l.excerptAuthor, l.bookAuthor, store.Restrict))
			return s
		}, "not unique"},
		{"set null on a required foreign key", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Relations = append(s.Relations, store.One("creditedBook", l.excerptAuthor, l.authors.ID(), store.SetNull).
				ClearWith(func(e *Excerpt) { e.AuthorID = "" }))
			return s
		}, "set null on a required foreign key"},
		{"set null without ClearWith", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Relations = append(s.Relations, store.One("returnedBook", l.loanBook, l.books.ID(), store.SetNull))
			return s
		}, "ClearWith"},
		{"unknown delete action", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Relations = append(s.Relations, store.One("odd", l.loanBook, l.books.ID(), store.Action(42)))
			return s
		}, "unknown delete action"},
		{"many whose inverse is not in the schema", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Relations = append(s.Relations, store.Many("reviews", store.One("book", l.loanBook, l.books.ID(), store.Restrict)))
			return s
		}, "not in the schema"},
		{"many without an inverse", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Relations = append(s.Relations, store.Many[Book, Loan]("lost", nil))
			return s
		}, "no inverse"},
		{"relation from a table not in the schema", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Tables = []store.TableDef{l.authors, l.books, l.excerpts, l.members} // no loans
			return s
		}, "not an index of a table in the schema"},
		{"relation to a table not in the schema", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Tables = []store.TableDef{l.authors, l.books, l.excerpts, l.loans} // no members
			return s
		}, "not an index of a table in the schema"},
		{"relation on a time index", func() *store.Schema {
			l := newLibrary()
			dueDay := store.NewIndex(l.loans, "dueDay", "due",
				func(n *Loan, dst []byte) ([]byte, bool) {
					return store.AppendString(dst, n.Due.Format("2006-01-02")), true
				},
				func(q string, dst []byte) []byte { return store.AppendString(dst, q) })
			s := l.schema()
			s.Relations = append(s.Relations, store.One("dueDay", dueDay, l.books.ID(), store.Restrict))
			return s
		}, "StringIndexes"},
		{"relation with no name", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Relations = append(s.Relations, store.One("", l.loanBook, l.books.ID(), store.Restrict))
			return s
		}, "no name"},
		{"two relations of one name from one table", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Relations = append(s.Relations, store.One("book", l.loanMember, l.members.ID(), store.Restrict))
			return s
		}, "declared twice"},
		{"a relation listed twice", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Relations = append(s.Relations, l.borrower)
			return s
		}, "listed twice"},
		{"nil relation", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			s.Relations = append(s.Relations, nil)
			return s
		}, "nil relation"},
		{"typed nil relation", func() *store.Schema {
			l := newLibrary()
			s := l.schema()
			var r *store.OneRelation[Loan, Book]
			s.Relations = append(s.Relations, r)
			return s
		}, "nil relation"},
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

func openNoPanic(s *store.Schema) (db *store.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("Open panicked: %v", r)
		}
	}()
	return store.Open(s)
}

func TestOpenAcceptsTheLibrary(t *testing.T) {
	l := newLibrary()
	if _, err := store.Open(l.schema()); err != nil {
		t.Fatal(err)
	}
	// Relations are optional in a schema, and a Many is optional beside its One.
	if _, err := store.Open(&store.Schema{Tables: []store.TableDef{newLibrary().authors}}); err != nil {
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

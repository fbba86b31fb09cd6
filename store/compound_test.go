package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/oauthdb/oauthdb/store"
)

// A CompoundIndex keys a record by all its parts, empty ones too; a query
// may give the first parts only; a part holding NUL is refused in a record
// and matches nothing in a query, so no two combinations share a key.
func TestCompoundIndex(t *testing.T) {
	type grant struct{ ID, Client, User, Ref string }
	s := store.NewSchema()
	grants := store.NewTable(s, "grant", func(g *grant) string { return g.ID })
	byTuple := store.CompoundIndex(grants, "tuple", []string{"client", "user", "ref"},
		func(g *grant) string { return g.Client },
		func(g *grant) string { return g.User },
		func(g *grant) string { return g.Ref }).Unique()
	db, err := store.Open(s, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *store.Txn) error {
		for _, g := range []grant{{"1", "a", "u", ""}, {"2", "a", "u", "r"}, {"3", "ab", "", ""}} {
			if err := grants.Insert(tx, &g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *store.Txn) error {
		if err := grants.Insert(tx, &grant{"4", "a", "u", ""}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second (a, u, \"\"): %v, want ErrConflict", err)
		}
		var e *store.Error
		err := grants.Insert(tx, &grant{"5", "a", "u\x00r", ""})
		if !errors.Is(err, store.ErrInvalid) || !errors.As(err, &e) || e.Field != "user" {
			t.Errorf("a part with NUL: %v, want ErrInvalid naming user", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *store.Txn) error {
		ids := func(q ...string) []string {
			var out []string
			for g := range byTuple.Get(tx, q) {
				out = append(out, g.ID)
			}
			return out
		}
		for _, tt := range []struct {
			q    []string
			want []string
		}{
			{[]string{"a"}, []string{"1", "2"}},
			{[]string{"a", "u"}, []string{"1", "2"}},
			{[]string{"a", "u", ""}, []string{"1"}},
			{[]string{"ab"}, []string{"3"}},
			{[]string{"a\x00u"}, nil},
		} {
			if got := ids(tt.q...); !slices.Equal(got, tt.want) {
				t.Errorf("Get(%q) = %v, want %v", tt.q, got, tt.want)
			}
		}
		if g, ok := byTuple.First(tx, []string{"a", "u", "r"}); !ok || g.ID != "2" {
			t.Errorf("First(a, u, r) = %v, %v", g, ok)
		}
		return nil
	})
}

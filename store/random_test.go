package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb/store"
)

// Random writes on a small key space, so that conflicts, dangling keys,
// cascades, set nulls and restricts all happen. After every write:
//
//   - a write that failed did so with a *store.Error of a known kind and
//     left the transaction exactly as it was;
//   - the contents satisfy the schema's invariants, checked here on a plain
//     dump and not by the engine: unique values, foreign keys;
//   - Verify, the engine's own check of its indexes, finds nothing.
//
// Some transactions are aborted at the end, and must leave the database
// as it was before them.
func TestRandomWritesKeepTheDatabaseConsistent(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	ops := 1500
	if testing.Short() {
		seeds, ops = seeds[:1], 300
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			randomWrites(t, seed, ops)
		})
	}
}

func randomWrites(t *testing.T, seed uint64, ops int) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	l := newLibrary()
	db := l.open(t)
	pick := func(prefix string, n int) string { return fmt.Sprintf("%s%d", prefix, r.IntN(n)) }
	maybe := func(prefix string, n int) string {
		if r.IntN(4) == 0 {
			return ""
		}
		return pick(prefix, n)
	}
	record := func() (table string, rec any) {
		switch r.IntN(5) {
		case 0:
			return "authors", &Author{ID: pick("a", 4), Name: pick("name", 3)}
		case 1:
			return "books", &Book{ID: pick("b", 8), AuthorID: pick("a", 5), Title: pick("t", 3), ISBN: pick("i", 9)}
		case 2:
			return "excerpts", &Excerpt{ID: pick("x", 6), ISBN: pick("i", 9), AuthorID: pick("a", 5)}
		case 3:
			return "members", &Member{ID: pick("m", 5), Email: pick("e", 6), CardHash: maybe("c", 3), Joined: days(r.IntN(5) - 2)}
		default:
			return "loans", &Loan{ID: pick("n", 8), BookID: maybe("b", 9), MemberID: pick("m", 6), Due: days(r.IntN(5))}
		}
	}
	write := func(tx *store.Txn) (string, error) {
		table, rec := record()
		verb := []string{"insert", "insert", "insert", "upsert", "upsert", "update", "update", "delete"}[r.IntN(8)]
		desc := fmt.Sprintf("%s %s %+v", verb, table, rec)
		switch rec := rec.(type) {
		case *Author:
			return desc, apply(tx, l.authors, verb, rec, rec.ID)
		case *Book:
			return desc, apply(tx, l.books, verb, rec, rec.ID)
		case *Excerpt:
			return desc, apply(tx, l.excerpts, verb, rec, rec.ID)
		case *Member:
			return desc, apply(tx, l.members, verb, rec, rec.ID)
		case *Loan:
			return desc, apply(tx, l.loans, verb, rec, rec.ID)
		}
		panic("unreachable")
	}

	outcomes := map[string]int{}
	errAbort := errors.New("abort")
	for done := 0; done < ops; {
		before := l.snapshot(t, db)
		abort := r.IntN(5) == 0
		err := db.Update(func(tx *store.Txn) error {
			for range 1 + r.IntN(8) {
				done++
				prev := l.dump(tx)
				desc, werr := write(tx)
				now := l.dump(tx)
				if werr != nil {
					var se *store.Error
					if !errors.As(werr, &se) {
						t.Fatalf("%s: error %v (%T) is not a *store.Error", desc, werr, werr)
					}
					outcomes[se.Err.Error()]++
					if diff := cmp.Diff(prev, now); diff != "" {
						t.Fatalf("%s failed with %v and changed the transaction (-before +after):\n%s", desc, werr, diff)
					}
				} else {
					outcomes["ok"]++
					countEffects(outcomes, prev, now)
				}
				if err := invariants(now); err != nil {
					t.Fatalf("after %s (err %v): %v", desc, werr, err)
				}
				if err := tx.Verify(); err != nil {
					t.Fatalf("after %s: Verify: %v", desc, err)
				}
			}
			if abort {
				return errAbort
			}
			return nil
		})
		if abort {
			if err != errAbort {
				t.Fatalf("aborted Update returned %v", err)
			}
			if diff := cmp.Diff(before, l.snapshot(t, db)); diff != "" {
				t.Fatalf("an aborted Update changed the database (-before +after):\n%s", diff)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	verify(t, db)
	t.Logf("outcomes: %v; final sizes %v", outcomes, sizes(l.snapshot(t, db)))
	for _, kind := range []string{"ok", "conflict", "not found", "foreign key violation", "cascade", "set null"} {
		if outcomes[kind] == 0 {
			t.Errorf("no write ended in %q: the test does not exercise it", kind)
		}
	}
}

func apply[T any](tx *store.Txn, t *store.Table[T], verb string, rec *T, id string) error {
	switch verb {
	case "insert":
		return t.Insert(tx, rec)
	case "update":
		return t.Update(tx, rec)
	case "upsert":
		return t.Upsert(tx, rec)
	default:
		return t.Delete(tx, id)
	}
}

// countEffects counts the delete actions a successful write carried out.
func countEffects(outcomes map[string]int, prev, now contents) {
	before, after := sizes(prev), sizes(now)
	removed := 0
	for i := range before {
		if after[i] < before[i] {
			removed += before[i] - after[i]
		}
	}
	if removed > 1 {
		outcomes["cascade"]++
	}
	had := map[string]bool{}
	for _, n := range prev.Loans {
		had[n.ID] = n.BookID != ""
	}
	for _, n := range now.Loans {
		if had[n.ID] && n.BookID == "" {
			outcomes["set null"]++
			return
		}
	}
}

func sizes(c contents) []int {
	return []int{len(c.Authors), len(c.Books), len(c.Excerpts), len(c.Members), len(c.Loans)}
}

// invariants checks the library's schema on a dump, without the engine.
func invariants(c contents) error {
	authors := map[string]bool{}
	for _, a := range c.Authors {
		authors[a.ID] = true
	}
	books, isbns, titles := map[string]bool{}, map[string]string{}, map[[2]string]string{}
	for _, b := range c.Books {
		books[b.ID] = true
		if !authors[b.AuthorID] {
			return fmt.Errorf("book %s: author %q does not exist", b.ID, b.AuthorID)
		}
		if other, dup := isbns[b.ISBN]; dup {
			return fmt.Errorf("books %s and %s share isbn %s", other, b.ID, b.ISBN)
		}
		isbns[b.ISBN] = b.ID
		at := [2]string{b.AuthorID, b.Title}
		if other, dup := titles[at]; dup {
			return fmt.Errorf("books %s and %s share author and title %v", other, b.ID, at)
		}
		titles[at] = b.ID
	}
	for _, x := range c.Excerpts {
		if _, ok := isbns[x.ISBN]; !ok {
			return fmt.Errorf("excerpt %s: isbn %q names no book", x.ID, x.ISBN)
		}
		if !authors[x.AuthorID] {
			return fmt.Errorf("excerpt %s: author %q does not exist", x.ID, x.AuthorID)
		}
	}
	members, emails, cards := map[string]bool{}, map[string]string{}, map[string]string{}
	for _, m := range c.Members {
		members[m.ID] = true
		if other, dup := emails[m.Email]; dup {
			return fmt.Errorf("members %s and %s share email %s", other, m.ID, m.Email)
		}
		emails[m.Email] = m.ID
		if m.CardHash != "" {
			if other, dup := cards[m.CardHash]; dup {
				return fmt.Errorf("members %s and %s share a card", other, m.ID)
			}
			cards[m.CardHash] = m.ID
		}
	}
	for _, n := range c.Loans {
		if n.BookID != "" && !books[n.BookID] {
			return fmt.Errorf("loan %s: book %q does not exist", n.ID, n.BookID)
		}
		if !members[n.MemberID] {
			return fmt.Errorf("loan %s: member %q does not exist", n.ID, n.MemberID)
		}
	}
	return nil
}

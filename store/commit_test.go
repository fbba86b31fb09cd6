package store_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb/store"
)

// OnCommit sees every commit, in order, with what it changed, before Update
// returns; Index counts the commits.
func TestOnCommit(t *testing.T) {
	s := store.NewSchema()
	shelves := store.NewTable(s, "shelves", func(sh *Shelf) string { return sh.ID })
	var mu sync.Mutex
	var got []store.Commit
	db, err := store.Open(s, store.Config{OnCommit: func(c store.Commit) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, c)
	}})
	if err != nil {
		t.Fatal(err)
	}
	update(t, db, func(tx *store.Txn) error {
		return all(shelves.Insert(tx, &Shelf{ID: "a", Room: "x"}), shelves.Insert(tx, &Shelf{ID: "b", Room: "y"}))
	})
	if db.Index() != 1 || len(got) != 1 {
		t.Fatalf("after one commit: Index %d, %d commits seen", db.Index(), len(got))
	}
	update(t, db, func(tx *store.Txn) error {
		return all(shelves.Update(tx, &Shelf{ID: "a", Room: "z"}), shelves.Delete(tx, "b"))
	})
	// A failed write is no commit.
	if err := db.Update(func(tx *store.Txn) error { return errors.New("no") }); err == nil {
		t.Fatal("the failing Update succeeded")
	}
	if db.Index() != 2 || len(got) != 2 {
		t.Fatalf("after a failed write: Index %d, %d commits seen", db.Index(), len(got))
	}
	c := got[1]
	if c.Index != 2 || len(c.Changes) != 2 {
		t.Fatalf("second commit: %+v", c)
	}
	if b, a := c.Changes[0].Before.(*Shelf), c.Changes[0].After.(*Shelf); b.Room != "x" || a.Room != "z" {
		t.Errorf("the update's change: %+v -> %+v", b, a)
	}
	if c.Changes[1].Before.(*Shelf).ID != "b" || c.Changes[1].After != nil {
		t.Errorf("the delete's change: %+v", c.Changes[1])
	}
}

// Writers racing each other are seen in commit order: indexes rise by one.
func TestOnCommitOrder(t *testing.T) {
	s := store.NewSchema()
	shelves := store.NewTable(s, "shelves", func(sh *Shelf) string { return sh.ID })
	var seen []uint64 // appended only inside OnCommit: no lock, so -race checks the ordering claim
	db, err := store.Open(s, store.Config{OnCommit: func(c store.Commit) { seen = append(seen, c.Index) }})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				update(t, db, func(tx *store.Txn) error {
					return shelves.Upsert(tx, &Shelf{ID: string(rune('a' + w)), Room: string(rune('0' + i%10))})
				})
			}
		}()
	}
	wg.Wait()
	for i, n := range seen {
		if n != uint64(i+1) {
			t.Fatalf("commit %d seen as index %d", i+1, n)
		}
	}
	if len(seen) != 200 || db.Index() != 200 {
		t.Errorf("%d commits seen, Index %d; want 200", len(seen), db.Index())
	}
}

// A state built off to the side replaces the DB's at once; what watched
// the old state is woken; the replace is a commit of its own.
func TestFreshAndReplace(t *testing.T) {
	s := store.NewSchema()
	shelves := store.NewTable(s, "shelves", func(sh *Shelf) string { return sh.ID })
	var commits []store.Commit
	db, err := store.Open(s, store.Config{Env: "env", OnCommit: func(c store.Commit) { commits = append(commits, c) }})
	if err != nil {
		t.Fatal(err)
	}
	update(t, db, func(tx *store.Txn) error { return shelves.Insert(tx, &Shelf{ID: "old"}) })
	var woken <-chan struct{}
	view(t, db, func(tx *store.Txn) error { woken = tx.Replaced(); return nil })

	side, err := db.Fresh()
	if err != nil {
		t.Fatal(err)
	}
	update(t, side, func(tx *store.Txn) error {
		if tx.Env() != "env" {
			t.Errorf("the side database's Env is %v", tx.Env())
		}
		return shelves.Insert(tx, &Shelf{ID: "new"})
	})
	view(t, db, func(tx *store.Txn) error {
		if _, ok := shelves.Get(tx, "new"); ok {
			t.Error("the side database's rows are visible before Replace")
		}
		return nil
	})
	select {
	case <-woken:
		t.Fatal("woken before Replace")
	default:
	}
	if err := db.Replace(side); err != nil {
		t.Fatal(err)
	}
	<-woken
	view(t, db, func(tx *store.Txn) error {
		var ids []string
		for sh := range shelves.All(tx) {
			ids = append(ids, sh.ID)
		}
		if diff := cmp.Diff([]string{"new"}, ids); diff != "" {
			t.Errorf("after Replace (-want +got):\n%s", diff)
		}
		return nil
	})
	if len(commits) != 2 || !commits[1].Replaced || commits[1].Index != 2 || db.Index() != 2 {
		t.Errorf("commits %+v, Index %d", commits, db.Index())
	}
	// Writes go on, on the new state.
	update(t, db, func(tx *store.Txn) error { return shelves.Insert(tx, &Shelf{ID: "next"}) })
	verify(t, db)

	other := store.NewSchema()
	store.NewTable(other, "shelves", func(sh *Shelf) string { return sh.ID })
	foreign, err := store.Open(other, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Replace(foreign); err == nil {
		t.Error("Replace with a database of another schema succeeded")
	}
}

package store_test

import (
	"errors"
	"fmt"
	"runtime/debug"
	"testing"

	"github.com/oauthdb/oauthdb/store"
)

// gcPercent reads the collector's target (GOGC).
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// insertAuthors inserts n authors whose ids start with prefix.
func insertAuthors(t *testing.T, l *library, tx *store.Txn, prefix string, n int) {
	t.Helper()
	for i := range n {
		if err := l.authors.Insert(tx, &Author{ID: fmt.Sprintf("%s%05d", prefix, i), Name: "A"}); err != nil {
			t.Fatal(err)
		}
	}
}

// A transaction that writes many records raises the collector's target
// while it runs, and puts back the one it found when it ends, committed or
// not; a target already higher, or a collector that is off, is left alone.
func TestBulkWriteRaisesTheCollectorsTargetWhileItRuns(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	errStop := errors.New("abort")
	for _, c := range []struct {
		gogc, during int
		commit       bool
	}{
		{100, store.BulkGCPercent, true},
		{50, store.BulkGCPercent, false},
		{store.BulkGCPercent * 2, store.BulkGCPercent * 2, true},
		{-1, -1, true},
	} {
		t.Run(fmt.Sprintf("GOGC=%d,commit=%v", c.gogc, c.commit), func(t *testing.T) {
			l := newLibrary()
			db := l.open(t)
			debug.SetGCPercent(c.gogc)
			err := db.Update(func(tx *store.Txn) error {
				insertAuthors(t, l, tx, "a", store.BulkWrites-1)
				if got := gcPercent(); got != c.gogc {
					t.Errorf("before the bulk: GOGC %d, want %d", got, c.gogc)
				}
				insertAuthors(t, l, tx, "b", 1)
				if got := gcPercent(); got != c.during {
					t.Errorf("during the bulk: GOGC %d, want %d", got, c.during)
				}
				if !c.commit {
					return errStop
				}
				return nil
			})
			if err != nil && err != errStop {
				t.Fatal(err)
			}
			if got := gcPercent(); got != c.gogc {
				t.Errorf("after: GOGC %d, want %d as before", got, c.gogc)
			}
		})
	}
}

// Bulk writes to two databases at once share the raise: the target comes
// back when the last one ends.
func TestBulkWritesAtOnceShareTheRaise(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	l1, l2 := newLibrary(), newLibrary()
	db1, db2 := l1.open(t), l2.open(t)
	update(t, db1, func(tx1 *store.Txn) error {
		insertAuthors(t, l1, tx1, "a", store.BulkWrites)
		update(t, db2, func(tx2 *store.Txn) error {
			insertAuthors(t, l2, tx2, "a", store.BulkWrites)
			return nil
		})
		if got := gcPercent(); got != store.BulkGCPercent {
			t.Errorf("one bulk write ended, the other runs: GOGC %d, want %d", got, store.BulkGCPercent)
		}
		return nil
	})
	if got := gcPercent(); got != 100 {
		t.Errorf("both ended: GOGC %d, want 100", got)
	}
}

package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb/store"
)

// An Update either commits all of its writes or none of them.

func TestUpdateThatFailsLeavesEveryTableAsBefore(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	before := l.snapshot(t, db)
	errStop := errors.New("changed my mind")
	err := db.Update(func(tx *store.Txn) error {
		err := all(
			l.authors.Insert(tx, &Author{ID: "ck", Name: "Clarke"}),
			l.books.Insert(tx, &Book{ID: "b9", AuthorID: "ck", Title: "Piranesi", ISBN: "isbn-9"}),
			l.members.Update(tx, &Member{ID: "m2", Email: "bob@example.net", Joined: day0}),
			l.loans.Upsert(tx, &Loan{ID: "n9", BookID: "b9", MemberID: "m2", Due: day0}),
			l.authors.Delete(tx, "le"), // cascades and sets null
			l.loans.Delete(tx, "n2"),
		)
		if err != nil {
			t.Fatalf("writes: %v", err)
		}
		// Inside the transaction, the writes are visible.
		if _, ok := l.books.Get(tx, "b1"); ok {
			t.Error("inside the transaction: b1 not deleted")
		}
		return errStop
	})
	if err != errStop {
		t.Fatalf("Update returned %v, want fn's error as it is", err)
	}
	if diff := cmp.Diff(before, l.snapshot(t, db)); diff != "" {
		t.Errorf("contents changed (-before +after):\n%s", diff)
	}
	verify(t, db)
}

func TestPanicInUpdateAbortsAndReleasesTheWriter(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	before := l.snapshot(t, db)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic to pass through Update", r)
			}
		}()
		_ = db.Update(func(tx *store.Txn) error {
			if err := l.authors.Delete(tx, "le"); err != nil {
				t.Error(err)
			}
			panic("boom")
		})
	}()
	if diff := cmp.Diff(before, l.snapshot(t, db)); diff != "" {
		t.Errorf("contents changed (-before +after):\n%s", diff)
	}
	// The writer lock was released: another Update runs.
	done := make(chan error, 1)
	go func() {
		done <- db.Update(func(tx *store.Txn) error {
			return l.authors.Insert(tx, &Author{ID: "ck", Name: "Clarke"})
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an Update after a panicking one never ran: the writer lock is held")
	}
	verify(t, db)
}

func TestReaderSeesASnapshotWhileAWriterIsMidTransaction(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	before := l.snapshot(t, db)

	seen := make(chan contents)
	update(t, db, func(tx *store.Txn) error {
		if err := all(
			l.authors.Delete(tx, "le"),
			l.members.Insert(tx, &Member{ID: "m9", Email: "new@example.org", Joined: day0}),
		); err != nil {
			return err
		}
		// A reader started now, in another goroutine, does not see the
		// uncommitted writes, and is not blocked by the writer.
		go func() {
			var c contents
			_ = db.View(func(rx *store.Txn) error { c = l.dump(rx); return nil })
			seen <- c
		}()
		select {
		case c := <-seen:
			if diff := cmp.Diff(before, c); diff != "" {
				t.Errorf("reader saw uncommitted writes (-before +seen):\n%s", diff)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("View blocked behind an Update")
		}
		return nil
	})
	after := l.snapshot(t, db)
	if len(after.Authors) != 1 || len(after.Members) != 3 {
		t.Errorf("after commit: %d authors, %d members; want 1, 3", len(after.Authors), len(after.Members))
	}
}

func TestReadTransactionKeepsItsSnapshotAcrossCommits(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	before := l.snapshot(t, db)
	view(t, db, func(tx *store.Txn) error {
		// A commit made while this read transaction is open...
		update(t, db, func(wx *store.Txn) error { return l.authors.Delete(wx, "le") })
		// ...is not visible in it.
		if diff := cmp.Diff(before, l.dump(tx)); diff != "" {
			t.Errorf("read transaction saw a later commit (-before +seen):\n%s", diff)
		}
		return tx.Verify()
	})
	if got := l.snapshot(t, db); len(got.Authors) != 1 {
		t.Errorf("a new read transaction sees %d authors, want 1", len(got.Authors))
	}
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	// Writers move loan n1 between members and flip m2's email; every
	// committed state has exactly 3 loans and members with distinct emails.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				member := []string{"m1", "m2"}[(i+w)%2]
				err := db.Update(func(tx *store.Txn) error {
					n1, _ := l.loans.Get(tx, "n1")
					moved := *n1
					moved.MemberID = member
					return l.loans.Update(tx, &moved)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 200 {
				err := db.View(func(tx *store.Txn) error {
					c := l.dump(tx)
					if len(c.Loans) != 3 || len(c.Members) != 2 {
						t.Errorf("saw %d loans, %d members", len(c.Loans), len(c.Members))
					}
					// The loan index agrees with the table in one snapshot.
					n := 0
					for _, m := range []string{"m1", "m2"} {
						for range l.loanMember.Get(tx, m) {
							n++
						}
					}
					if n != 3 {
						t.Errorf("memberId index holds %d loans, want 3", n)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	verify(t, db)
}

func TestViewAndUpdateReturnFnsError(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	sentinel := errors.New("mine")
	if err := db.View(func(*store.Txn) error { return sentinel }); err != sentinel {
		t.Errorf("View returned %v, want fn's error", err)
	}
	if err := db.Update(func(*store.Txn) error { return sentinel }); err != sentinel {
		t.Errorf("Update returned %v, want fn's error", err)
	}
	// A panicking View does not break later ones.
	func() {
		defer func() { _ = recover() }()
		_ = db.View(func(*store.Txn) error { panic("boom") })
	}()
	view(t, db, func(tx *store.Txn) error { return tx.Verify() })
}

package store_test

import (
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb/store"
)

// fillMembers inserts n members m0000…, with an email each, who joined
// one minute apart.
func fillMembers(t testing.TB, l *library, db *store.DB, n int) {
	t.Helper()
	update(t, db, func(tx *store.Txn) error {
		for i := range n {
			m := &Member{ID: fmt.Sprintf("m%04d", i), Email: fmt.Sprintf("%04d@example.org", i),
				Joined: day0.Add(time.Duration(i) * time.Minute)}
			if err := l.members.Insert(tx, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// fillLoans gives member "m0000" n loans with no book, due one day apart.
func fillLoans(t testing.TB, l *library, db *store.DB, n int) {
	t.Helper()
	update(t, db, func(tx *store.Txn) error {
		for i := range n {
			if err := l.loans.Insert(tx, &Loan{ID: fmt.Sprintf("n%04d", i), MemberID: "m0000", Due: days(i)}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Iterators stop when the loop does: range-over-func panics if an iterator
// calls yield after it returned false, so these loops would fail loudly.
func TestIteratorsStopWhenTheLoopBreaks(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	fillMembers(t, l, db, 50)
	fillLoans(t, l, db, 50)
	view(t, db, func(tx *store.Txn) error {
		m0, _ := l.members.Get(tx, "m0000")
		seqs := map[string]iter.Seq[*Member]{
			"Table.All":         l.members.All(tx),
			"Index.Get":         l.memberJoined.Get(tx, day0), // a single row: break at once
			"Index.LowerBound":  l.memberJoined.LowerBound(tx, day0),
			"unique LowerBound": l.memberEmail.LowerBound(tx, ""),
		}
		for name, seq := range seqs {
			var got []string
			for m := range seq {
				got = append(got, m.ID)
				if len(got) == 3 || m.ID == "m0000" && name == "Index.Get" {
					break
				}
			}
			want := []string{"m0000", "m0001", "m0002"}
			if name == "Index.Get" {
				want = want[:1]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", name, diff)
			}
		}
		var loans []string
		for n := range l.loansOf.Get(tx, m0) {
			loans = append(loans, n.ID)
			if len(loans) == 2 {
				break
			}
		}
		if diff := cmp.Diff([]string{"n0000", "n0001"}, loans); diff != "" {
			t.Errorf("Many.Get (-want +got):\n%s", diff)
		}
		// An iterator can be ranged over again, and from the start.
		seq := l.members.All(tx)
		for range 2 {
			n := 0
			for range seq {
				n++
			}
			if n != 50 {
				t.Errorf("ranging again over All: %d rows, want 50", n)
			}
		}
		return nil
	})
}

// Nested iterations share the transaction's key buffer; each must still
// walk its own query.
func TestNestedIterations(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	view(t, db, func(tx *store.Txn) error {
		var got []string
		for a := range l.authors.All(tx) {
			for b := range l.bookAuthor.Get(tx, a.ID) {
				for x := range l.excerptISBN.Get(tx, b.ISBN) {
					got = append(got, a.ID+"/"+b.ID+"/"+x.ID)
				}
				for n := range l.loanBook.Get(tx, b.ID) {
					m, _ := l.borrower.Get(tx, n)
					got = append(got, a.ID+"/"+b.ID+"/"+n.ID+"/"+m.Email)
				}
			}
		}
		want := []string{
			"le/b1/x1", "le/b1/n1/ann@example.org",
			"le/b2/x3", "le/b2/n3/ann@example.org",
			"pr/b3/x2", "pr/b3/n2/bob@example.org",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		return nil
	})
}

// Iterating allocates per query, not per row: walking 1000 rows costs what
// walking 10 does, give or take the radix iterator's stack, which grows
// with the depth of the tree (logarithmic in the rows).
func TestIterationDoesNotAllocatePerRow(t *testing.T) {
	const slack = 3 // the radix iterator's stack, one more level deep
	type walk struct {
		name string
		run  func(l *library, tx *store.Txn) int
	}
	walks := []walk{
		{"Table.All", func(l *library, tx *store.Txn) int {
			n := 0
			for range l.members.All(tx) {
				n++
			}
			return n
		}},
		{"Index.LowerBound on a time index", func(l *library, tx *store.Txn) int {
			n := 0
			for range l.memberJoined.LowerBound(tx, day0) {
				n++
			}
			return n
		}},
		{"Index.Get on a non-unique index", func(l *library, tx *store.Txn) int {
			n := 0
			for range l.loanMember.Get(tx, "m0000") {
				n++
			}
			return n
		}},
		{"Many.Get", func(l *library, tx *store.Txn) int {
			m, _ := l.members.Get(tx, "m0000")
			n := 0
			for range l.loansOf.Get(tx, m) {
				n++
			}
			return n
		}},
	}
	allocs := func(rows int, w walk) float64 {
		l := newLibrary()
		db := l.open(t)
		fillMembers(t, l, db, rows)
		fillLoans(t, l, db, rows)
		var tx *store.Txn
		// Keep one read transaction open and measure the walk alone.
		release := make(chan struct{})
		ready := make(chan struct{})
		go func() {
			_ = db.View(func(rx *store.Txn) error { tx = rx; close(ready); <-release; return nil })
		}()
		<-ready
		defer close(release)
		if got := w.run(l, tx); got != rows {
			t.Fatalf("%s walked %d rows, want %d", w.name, got, rows)
		}
		return testing.AllocsPerRun(100, func() { w.run(l, tx) })
	}
	for _, w := range walks {
		small, large := allocs(10, w), allocs(1000, w)
		t.Logf("%s: %v allocations for 10 rows, %v for 1000", w.name, small, large)
		if large > small+slack {
			t.Errorf("%s: %v allocations for 1000 rows, %v for 10: it allocates per row", w.name, large, small)
		}
	}
}

// Lookups by a unique key allocate nothing of their own: the one
// allocation is go-memdb's, which opens an iradix.Txn on the index for
// every query (Txn.readableIndex).
func TestLookupAllocations(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	fillMembers(t, l, db, 100)
	view(t, db, func(tx *store.Txn) error {
		get := testing.AllocsPerRun(100, func() { l.members.Get(tx, "m0042") })
		first := testing.AllocsPerRun(100, func() { l.memberEmail.First(tx, "0042@example.org") })
		miss := testing.AllocsPerRun(100, func() { l.members.Get(tx, "nobody") })
		t.Logf("allocations: Get %v, First %v, miss %v", get, first, miss)
		if get > 1 || first > 1 || miss > 1 {
			t.Errorf("unique lookups allocate: Get %v, First %v, miss %v; want go-memdb's 1", get, first, miss)
		}
		return nil
	})
}

// Records are immutable once stored: a program must not modify a record it
// inserted or read. What the engine guarantees in return is that a write
// stores a new pointer and never touches the old one, so a record read
// earlier keeps its values.
func TestUpdatesStoreNewRecordsAndLeaveOldOnesAlone(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	type read struct {
		ptr  *Member
		want Member
	}
	var reads []read
	remember := func() {
		view(t, db, func(tx *store.Txn) error {
			m, _ := l.members.Get(tx, "m1")
			if len(reads) > 0 && m == reads[len(reads)-1].ptr {
				t.Fatalf("update %d kept the pointer of the previous record", len(reads))
			}
			reads = append(reads, read{m, *m})
			return nil
		})
	}
	remember()
	for i := range 500 {
		update(t, db, func(tx *store.Txn) error {
			old, _ := l.members.Get(tx, "m1")
			next := *old
			next.Email = fmt.Sprintf("ann+%d@example.org", i)
			next.Joined = old.Joined.Add(time.Second)
			if i%2 == 0 {
				next.CardHash = fmt.Sprintf("card%d", i)
			} else {
				next.CardHash = ""
			}
			return l.members.Update(tx, &next)
		})
		if i%50 == 0 {
			remember()
		}
	}
	remember()
	for i, r := range reads {
		if diff := cmp.Diff(r.want, *r.ptr); diff != "" {
			t.Errorf("record read at step %d changed (-then +now):\n%s", i, diff)
		}
	}
	view(t, db, func(tx *store.Txn) error {
		// Only the last email finds the member; the earlier ones are gone.
		if m, ok := l.memberEmail.First(tx, "ann+499@example.org"); !ok || m.ID != "m1" {
			t.Errorf("latest email finds %v, %v", m, ok)
		}
		if m, ok := l.memberEmail.First(tx, "ann+498@example.org"); ok {
			t.Errorf("an old email still finds %+v", m)
		}
		if m, ok := l.memberEmail.First(tx, "ann@example.org"); ok {
			t.Errorf("the first email still finds %+v", m)
		}
		return tx.Verify()
	})
}

// Insert stores the pointer it is given (records are not copied on the
// way in): that is why the caller must not modify it afterwards.
func TestInsertStoresThePointerItIsGiven(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	a := &Author{ID: "a", Name: "A"}
	update(t, db, func(tx *store.Txn) error { return l.authors.Insert(tx, a) })
	view(t, db, func(tx *store.Txn) error {
		if got, _ := l.authors.Get(tx, "a"); got != a {
			t.Errorf("Get returned %p, want the inserted %p", got, a)
		}
		return nil
	})
}

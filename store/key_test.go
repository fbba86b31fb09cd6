package store_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb/store"
)

// Keys: a string key is terminated, so that no string's key is a prefix of
// another's; a time key is fixed-width and sorts in time order.

func TestAppendStringIsPrefixFree(t *testing.T) {
	words := []string{"", "a", "ab", "abc", "abd", "b", "a b", "ab\xff"}
	for _, a := range words {
		for _, b := range words {
			if a == b {
				continue
			}
			ka, kb := store.AppendString(nil, a), store.AppendString(nil, b)
			if bytes.HasPrefix(kb, ka) {
				t.Errorf("key of %q is a prefix of key of %q", a, b)
			}
			if got := bytes.Compare(ka, kb) < 0; got != (a < b) {
				t.Errorf("key order of %q, %q = %v, want string order", a, b, got)
			}
		}
		if got, want := store.AppendBytes(nil, []byte(a)), store.AppendString(nil, a); !bytes.Equal(got, want) {
			t.Errorf("AppendBytes(%q) = %q, want AppendString's %q", a, got, want)
		}
	}
}

func TestAppendStringAppends(t *testing.T) {
	got := store.AppendString(store.AppendString([]byte("x"), "a"), "b")
	if want := []byte("xa\x00b\x00"); !bytes.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestValidKeyString(t *testing.T) {
	for s, want := range map[string]bool{"": true, "abc": true, "é": true, "a\x00": false, "\x00": false, "a\x00b": false} {
		if got := store.ValidKeyString(s); got != want {
			t.Errorf("ValidKeyString(%q) = %v, want %v", s, got, want)
		}
	}
}

// instants is a list of times in increasing order, across the Unix epoch,
// within one second and at the ends of the representable range.
var instants = []time.Time{
	time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), // just after the zero time
	time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
	time.Unix(-1e9, 0),
	time.Unix(-2, 999_999_999),
	time.Unix(-1, 0),
	time.Unix(-1, 1),
	time.Unix(-1, 500_000_000),
	time.Unix(0, -1).Add(0), // one nanosecond before the epoch: Unix() = -1
	time.Unix(0, 0),
	time.Unix(0, 1),
	time.Unix(0, 999_999_999),
	time.Unix(1, 0),
	time.Unix(1e9, 0),
	time.Unix(1e9, 1),
	time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
}

func TestAppendTimeSortsInTimeOrder(t *testing.T) {
	for i := 1; i < len(instants); i++ {
		if !instants[i-1].Before(instants[i]) {
			t.Fatalf("test data: %v is not before %v", instants[i-1], instants[i])
		}
	}
	for i, a := range instants {
		ka := store.AppendTime(nil, a)
		if len(ka) != 12 {
			t.Errorf("key of %v has %d bytes, want 12", a, len(ka))
		}
		for j, b := range instants {
			kb := store.AppendTime(nil, b)
			if got, want := bytes.Compare(ka, kb), cmpInt(i, j); got != want {
				t.Errorf("key order of %v, %v = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestAppendTimeIgnoresLocation(t *testing.T) {
	utc := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	tokyo := utc.In(time.FixedZone("JST", 9*3600))
	if !bytes.Equal(store.AppendTime(nil, utc), store.AppendTime(nil, tokyo)) {
		t.Error("one instant in two locations has two keys")
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The same rules seen through a database.

func TestStringKeyNeverMatchesALongerString(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	update(t, db, func(tx *store.Txn) error {
		return all(
			l.authors.Insert(tx, &Author{ID: "abc", Name: "long"}),
			l.books.Insert(tx, &Book{ID: "b1", AuthorID: "abc", Title: "T", ISBN: "abc"}),
			l.members.Insert(tx, &Member{ID: "m1", Email: "abc", Joined: day0}),
		)
	})
	view(t, db, func(tx *store.Txn) error {
		if got := bookIDs(l.bookAuthor.Get(tx, "ab")); len(got) != 0 {
			t.Errorf(`books by author "ab" = %v, want none (only "abc" has books)`, got)
		}
		if got := bookIDs(l.bookAuthor.Get(tx, "abc")); !slices.Equal(got, []string{"b1"}) {
			t.Errorf(`books by author "abc" = %v, want [b1]`, got)
		}
		if m, ok := l.memberEmail.First(tx, "ab"); ok {
			t.Errorf(`member with email "ab" = %+v, want none`, m)
		}
		if b, ok := l.bookISBN.First(tx, "ab"); ok {
			t.Errorf(`book with ISBN "ab" = %+v, want none`, b)
		}
		if a, ok := l.authors.Get(tx, "ab"); ok {
			t.Errorf(`author "ab" = %+v, want none`, a)
		}
		if a, ok := l.authors.Get(tx, ""); ok {
			t.Errorf(`author "" = %+v, want none`, a)
		}
		return nil
	})
	// And the other way round: "abc" does not exist when only "ab" does.
	update(t, db, func(tx *store.Txn) error {
		return l.authors.Insert(tx, &Author{ID: "ab", Name: "short"})
	})
	update(t, db, func(tx *store.Txn) error {
		checkErr(t, l.books.Insert(tx, &Book{ID: "b2", AuthorID: "abcd", Title: "T", ISBN: "i2"}),
			storeErr{Kind: store.ErrForeignKey, Table: "books", Field: "authorId", Value: "abcd"})
		return nil
	})
}

func TestTimeIndexRangeScanIsInTimeOrder(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	// Insert in an order unrelated to time, with ids unrelated to time.
	order := []int{7, 2, 12, 0, 9, 4, 14, 1, 11, 5, 13, 3, 10, 6, 8}
	update(t, db, func(tx *store.Txn) error {
		for _, i := range order {
			m := &Member{ID: string(rune('z' - i)), Email: string(rune('a'+i)) + "@x", Joined: instants[i]}
			if err := l.members.Insert(tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	joined := func(seq func(func(*Member) bool)) []time.Time {
		var out []time.Time
		for m := range seq {
			out = append(out, m.Joined)
		}
		return out
	}
	view(t, db, func(tx *store.Txn) error {
		for from := range instants {
			got := joined(l.memberJoined.LowerBound(tx, instants[from]))
			if diff := cmp.Diff(instants[from:], got); diff != "" {
				t.Errorf("LowerBound(%v) (-want +got):\n%s", instants[from], diff)
			}
		}
		// A bound between two instants starts at the later one.
		got := joined(l.memberJoined.LowerBound(tx, time.Unix(-1, 2)))
		if diff := cmp.Diff(instants[6:], got); diff != "" {
			t.Errorf("LowerBound(between) (-want +got):\n%s", diff)
		}
		// Get on a time index is an exact match.
		got = joined(l.memberJoined.Get(tx, time.Unix(0, 0)))
		if diff := cmp.Diff([]time.Time{time.Unix(0, 0)}, got); diff != "" {
			t.Errorf("Get(epoch) (-want +got):\n%s", diff)
		}
		return nil
	})
}

func TestCompoundIndexPrefixQuery(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	update(t, db, func(tx *store.Txn) error {
		return all(
			l.authors.Insert(tx, &Author{ID: "l", Name: "a prefix of le"}),
			l.books.Insert(tx, &Book{ID: "b4", AuthorID: "le", Title: "Always Coming Home", ISBN: "isbn-4"}),
			l.books.Insert(tx, &Book{ID: "b5", AuthorID: "l", Title: "e", ISBN: "isbn-5"}),
		)
	})
	view(t, db, func(tx *store.Txn) error {
		tests := []struct {
			q    byAuthorTitle
			want []string
		}{
			// By author alone: every book of the author, in title order
			// ("A Wizard…" < "Always…" < "The…").
			{byAuthorTitle{Author: "le"}, []string{"b1", "b4", "b2"}},
			{byAuthorTitle{Author: "pr"}, []string{"b3"}},
			// Author "l" and title "e" do not run into author "le".
			{byAuthorTitle{Author: "l"}, []string{"b5"}},
			{byAuthorTitle{Author: "nobody"}, []string{}},
			// The whole key.
			{byAuthorTitle{Author: "le", Title: "The Dispossessed"}, []string{"b2"}},
			{byAuthorTitle{Author: "le", Title: "The"}, []string{}},
			{byAuthorTitle{Author: "pr", Title: "The Dispossessed"}, []string{}},
		}
		for _, tt := range tests {
			got := bookIDs(l.bookAuthorTitle.Get(tx, tt.q))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Get(%+v) (-want +got):\n%s", tt.q, diff)
			}
			// First is the first of Get, on a unique index as on any other.
			b, ok := l.bookAuthorTitle.First(tx, tt.q)
			switch {
			case len(tt.want) == 0 && ok:
				t.Errorf("First(%+v) = %s, want none", tt.q, b.ID)
			case len(tt.want) > 0 && (!ok || b.ID != tt.want[0]):
				t.Errorf("First(%+v) = %v, %v; want %s", tt.q, b, ok, tt.want[0])
			}
		}
		return nil
	})
}

func TestOptionalFieldsAreLeftOutOfTheIndex(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	update(t, db, func(tx *store.Txn) error {
		return all(
			// No book (optional foreign key), no return date (optional time).
			l.loans.Insert(tx, &Loan{ID: "n9", MemberID: "m2", Due: days(3)}),
			// No card (optional secret unique): two members without one do
			// not conflict.
			l.members.Insert(tx, &Member{ID: "m3", Email: "cy@example.org", Joined: day0}),
			l.members.Insert(tx, &Member{ID: "m4", Email: "di@example.org", Joined: day0}),
			l.members.Insert(tx, &Member{ID: "m5", Email: "ed@example.org", Joined: day0, CardHash: "h5"}),
		)
	})
	view(t, db, func(tx *store.Txn) error {
		// Every loan is in the due index; only those with a book are in the
		// bookId index and only returned ones in the returned index.
		if got := loanIDs(l.loanDue.LowerBound(tx, time.Time{})); len(got) != 4 {
			t.Errorf("due index holds %v, want all 4 loans", got)
		}
		if got := loanIDs(l.loanBook.LowerBound(tx, "")); !slices.Equal(got, []string{"n1", "n3", "n2"}) {
			t.Errorf("bookId index holds %v, want [n1 n3 n2] (by book)", got)
		}
		if got := loanIDs(l.loanBook.Get(tx, "")); len(got) != 0 {
			t.Errorf(`loans of book "" = %v, want none`, got)
		}
		if got := loanIDs(l.loanReturned.LowerBound(tx, time.Time{})); len(got) != 0 {
			t.Errorf("returned index holds %v, want none", got)
		}
		if got := memberIDs(l.memberCard.LowerBound(tx, "")); !slices.Equal(got, []string{"m5"}) {
			t.Errorf("card index holds %v, want [m5]", got)
		}
		n9, _ := l.loans.Get(tx, "n9")
		if b, ok := l.lentBook.Get(tx, n9); ok {
			t.Errorf("book of a loan without one = %+v", b)
		}
		return tx.Verify()
	})
	// Setting the optional field later puts the record in the index, and
	// clearing it takes it out again.
	update(t, db, func(tx *store.Txn) error {
		return l.loans.Update(tx, &Loan{ID: "n9", MemberID: "m2", Due: days(3), Returned: days(2)})
	})
	view(t, db, func(tx *store.Txn) error {
		if got := loanIDs(l.loanReturned.LowerBound(tx, time.Time{})); !slices.Equal(got, []string{"n9"}) {
			t.Errorf("returned index holds %v, want [n9]", got)
		}
		return tx.Verify()
	})
	update(t, db, func(tx *store.Txn) error {
		return l.loans.Update(tx, &Loan{ID: "n9", MemberID: "m2", Due: days(3)})
	})
	view(t, db, func(tx *store.Txn) error {
		if got := loanIDs(l.loanReturned.LowerBound(tx, time.Time{})); len(got) != 0 {
			t.Errorf("returned index holds %v, want none", got)
		}
		return tx.Verify()
	})
}

func TestRequiredFieldsMustBeSet(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	tests := []struct {
		name  string
		write func(tx *store.Txn) error
		want  storeErr
	}{
		{"empty id", func(tx *store.Txn) error { return l.authors.Insert(tx, &Author{Name: "anon"}) },
			storeErr{Kind: store.ErrInvalid, Table: "authors", Field: "id"}},
		{"empty required string", func(tx *store.Txn) error {
			return l.members.Insert(tx, &Member{ID: "m9", Joined: day0})
		}, storeErr{Kind: store.ErrInvalid, Table: "members", Field: "email"}},
		{"zero required time", func(tx *store.Txn) error {
			return l.members.Insert(tx, &Member{ID: "m9", Email: "x@y"})
		}, storeErr{Kind: store.ErrInvalid, Table: "members", Field: "joined"}},
		{"empty required foreign key", func(tx *store.Txn) error {
			return l.books.Insert(tx, &Book{ID: "b9", Title: "Orphan", ISBN: "isbn-9"})
		}, storeErr{Kind: store.ErrInvalid, Table: "books", Field: "authorId"}},
		{"cleared on update", func(tx *store.Txn) error {
			return l.members.Update(tx, &Member{ID: "m1", Joined: day0})
		}, storeErr{Kind: store.ErrInvalid, Table: "members", Field: "email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := l.snapshot(t, db)
			err := db.Update(func(tx *store.Txn) error {
				err := tt.write(tx)
				checkErr(t, err, tt.want)
				return err
			})
			if err == nil {
				t.Fatal("Update committed")
			}
			if diff := cmp.Diff(before, l.snapshot(t, db)); diff != "" {
				t.Errorf("contents changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestNULInAnIndexedStringIsInvalid(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	tests := []struct {
		name  string
		write func(tx *store.Txn) error
		want  storeErr
	}{
		{"in a primary key", func(tx *store.Txn) error {
			return l.authors.Insert(tx, &Author{ID: "le\x00x", Name: "x"})
		}, storeErr{Kind: store.ErrInvalid, Table: "authors", Field: "id"}},
		{"in a unique index", func(tx *store.Txn) error {
			return l.members.Insert(tx, &Member{ID: "m9", Email: "ann@example.org\x00", Joined: day0})
		}, storeErr{Kind: store.ErrInvalid, Table: "members", Field: "email"}},
		{"in an optional index", func(tx *store.Txn) error {
			return l.loans.Insert(tx, &Loan{ID: "n9", BookID: "b1\x00", MemberID: "m1", Due: day0})
		}, storeErr{Kind: store.ErrInvalid, Table: "loans", Field: "bookId"}},
		{"in a foreign key", func(tx *store.Txn) error {
			// "le\x00" would otherwise have the key of "le" and pass the check.
			return l.books.Insert(tx, &Book{ID: "b9", AuthorID: "le\x00", Title: "x", ISBN: "isbn-9"})
		}, storeErr{Kind: store.ErrInvalid, Table: "books", Field: "authorId"}},
		{"alone", func(tx *store.Txn) error {
			return l.authors.Insert(tx, &Author{ID: "\x00", Name: "x"})
		}, storeErr{Kind: store.ErrInvalid, Table: "authors", Field: "id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := l.snapshot(t, db)
			_ = db.Update(func(tx *store.Txn) error {
				checkErr(t, tt.write(tx), tt.want)
				return nil // commit: the failed write must have changed nothing
			})
			if diff := cmp.Diff(before, l.snapshot(t, db)); diff != "" {
				t.Errorf("contents changed (-before +after):\n%s", diff)
			}
		})
	}
}

package store_test

import (
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb/store"
)

// The engine is specified here on a small lending library of its own:
//
//	authors ◄─cascade── books ◄─cascade── excerpts ──restrict─► authors
//	                      ▲   (by isbn)
//	                      └─set null── loans ──restrict─► members
//
//   - a book belongs to an author (required, cascade): deleting an author
//     deletes their books;
//   - an excerpt quotes a book by its ISBN (required, cascade: a relation to a
//     unique index that is not the primary key) and credits an author
//     (required, restrict);
//   - a loan is of a book (optional, set null: the loan stays on record when
//     the book is withdrawn) and to a member (required, restrict);
//   - members have a unique email, a secret unique card hash (optional) and a
//     time index on when they joined; loans have a time index on their due
//     date and an optional one on their return;
//   - books have a compound unique index on (author, title), queried by
//     author alone as a prefix.

type Author struct {
	ID, Name string
}

type Book struct {
	ID, AuthorID, Title, ISBN string
}

type Excerpt struct {
	ID, ISBN, AuthorID, Text string
}

type Member struct {
	ID, Email, CardHash string
	Joined              time.Time
}

type Loan struct {
	ID, BookID, MemberID string
	Due, Returned        time.Time
}

// byAuthorTitle queries the compound (author, title) index; an empty Title
// queries by author alone.
type byAuthorTitle struct{ Author, Title string }

type library struct {
	s        *store.Schema
	authors  *store.Table[Author]
	books    *store.Table[Book]
	excerpts *store.Table[Excerpt]
	members  *store.Table[Member]
	loans    *store.Table[Loan]

	bookAuthor      *store.Index[Book, string]
	bookISBN        *store.Index[Book, string]
	bookAuthorTitle *store.Index[Book, byAuthorTitle]
	excerptISBN     *store.Index[Excerpt, string]
	excerptAuthor   *store.Index[Excerpt, string]
	memberEmail     *store.Index[Member, string]
	memberCard      *store.Index[Member, string]
	memberJoined    *store.Index[Member, time.Time]
	loanBook        *store.Index[Loan, string]
	loanMember      *store.Index[Loan, string]
	loanDue         *store.Index[Loan, time.Time]
	loanReturned    *store.Index[Loan, time.Time]

	writtenBy   *store.OneRelation[Book, Author]
	booksOf     *store.ManyRelation[Author, Book]
	quotes      *store.OneRelation[Excerpt, Book]
	excerptsOf  *store.ManyRelation[Book, Excerpt]
	creditedTo  *store.OneRelation[Excerpt, Author]
	lentBook    *store.OneRelation[Loan, Book]
	loansOfBook *store.ManyRelation[Book, Loan]
	borrower    *store.OneRelation[Loan, Member]
	loansOf     *store.ManyRelation[Member, Loan]
}

// newLibrary declares the schema. Declarations are values of their own, so
// every test declares a fresh one.
func newLibrary() *library {
	l := &library{s: store.NewSchema()}
	l.authors = store.NewTable(l.s, "authors", func(a *Author) string { return a.ID })

	l.books = store.NewTable(l.s, "books", func(b *Book) string { return b.ID })
	l.bookAuthor = store.StringIndex(l.books, "authorId", func(b *Book) string { return b.AuthorID })
	l.bookISBN = store.StringIndex(l.books, "isbn", func(b *Book) string { return b.ISBN }).Unique()
	l.bookAuthorTitle = store.NewIndex(l.books, "authorTitle", "authorId+title",
		func(b *Book, dst []byte) ([]byte, bool) {
			dst = store.AppendString(dst, b.AuthorID)
			return store.AppendString(dst, b.Title), true
		},
		func(q byAuthorTitle, dst []byte) []byte {
			dst = store.AppendString(dst, q.Author)
			if q.Title != "" {
				dst = store.AppendString(dst, q.Title)
			}
			return dst
		}).Unique()

	l.excerpts = store.NewTable(l.s, "excerpts", func(e *Excerpt) string { return e.ID })
	l.excerptISBN = store.StringIndex(l.excerpts, "isbn", func(e *Excerpt) string { return e.ISBN })
	l.excerptAuthor = store.StringIndex(l.excerpts, "authorId", func(e *Excerpt) string { return e.AuthorID })

	l.members = store.NewTable(l.s, "members", func(m *Member) string { return m.ID })
	l.memberEmail = store.StringIndex(l.members, "email", func(m *Member) string { return m.Email }).Unique()
	l.memberCard = store.StringIndex(l.members, "cardHash", func(m *Member) string { return m.CardHash }).Unique().Optional().Secret()
	l.memberJoined = store.TimeIndex(l.members, "joined", func(m *Member) time.Time { return m.Joined })

	l.loans = store.NewTable(l.s, "loans", func(n *Loan) string { return n.ID })
	l.loanBook = store.StringIndex(l.loans, "bookId", func(n *Loan) string { return n.BookID }).Optional()
	l.loanMember = store.StringIndex(l.loans, "memberId", func(n *Loan) string { return n.MemberID })
	l.loanDue = store.TimeIndex(l.loans, "due", func(n *Loan) time.Time { return n.Due })
	l.loanReturned = store.TimeIndex(l.loans, "returned", func(n *Loan) time.Time { return n.Returned }).Optional()

	l.writtenBy = store.One("author", l.bookAuthor, l.authors.ID(), store.Cascade)
	l.booksOf = store.Many("books", l.writtenBy)
	l.quotes = store.One("book", l.excerptISBN, l.bookISBN, store.Cascade)
	l.excerptsOf = store.Many("excerpts", l.quotes)
	l.creditedTo = store.One("author", l.excerptAuthor, l.authors.ID(), store.Restrict)
	l.lentBook = store.One("book", l.loanBook, l.books.ID(), store.SetNull).
		ClearWith(func(_ *store.Txn, n *Loan) { n.BookID = "" })
	l.loansOfBook = store.Many("loans", l.lentBook)
	l.borrower = store.One("member", l.loanMember, l.members.ID(), store.Restrict)
	l.loansOf = store.Many("loans", l.borrower)
	return l
}

func (l *library) open(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(l.s, store.Config{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

var day0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func days(n int) time.Time { return day0.AddDate(0, 0, n) }

// seed fills the library with:
//
//	authors  le (Le Guin), pr (Pratchett)
//	books    b1 Earthsea (le), b2 Dispossessed (le), b3 Mort (pr)
//	excerpts x1 from b1 credited to le, x2 from b3 credited to pr,
//	         x3 from b2 credited to pr (a foreword)
//	members  m1 ann@, m2 bob@
//	loans    n1 b1→m1, n2 b3→m2, n3 b2→m1
func (l *library) seed(t testing.TB, db *store.DB) {
	t.Helper()
	err := db.Update(func(tx *store.Txn) error {
		return all(
			l.authors.Insert(tx, &Author{ID: "le", Name: "Ursula K. Le Guin"}),
			l.authors.Insert(tx, &Author{ID: "pr", Name: "Terry Pratchett"}),
			l.books.Insert(tx, &Book{ID: "b1", AuthorID: "le", Title: "A Wizard of Earthsea", ISBN: "isbn-1"}),
			l.books.Insert(tx, &Book{ID: "b2", AuthorID: "le", Title: "The Dispossessed", ISBN: "isbn-2"}),
			l.books.Insert(tx, &Book{ID: "b3", AuthorID: "pr", Title: "Mort", ISBN: "isbn-3"}),
			l.excerpts.Insert(tx, &Excerpt{ID: "x1", ISBN: "isbn-1", AuthorID: "le", Text: "Only in silence the word"}),
			l.excerpts.Insert(tx, &Excerpt{ID: "x2", ISBN: "isbn-3", AuthorID: "pr", Text: "THERE'S NO JUSTICE"}),
			l.excerpts.Insert(tx, &Excerpt{ID: "x3", ISBN: "isbn-2", AuthorID: "pr", Text: "a foreword"}),
			l.members.Insert(tx, &Member{ID: "m1", Email: "ann@example.org", Joined: days(-30)}),
			l.members.Insert(tx, &Member{ID: "m2", Email: "bob@example.org", Joined: days(-10)}),
			l.loans.Insert(tx, &Loan{ID: "n1", BookID: "b1", MemberID: "m1", Due: days(14)}),
			l.loans.Insert(tx, &Loan{ID: "n2", BookID: "b3", MemberID: "m2", Due: days(7)}),
			l.loans.Insert(tx, &Loan{ID: "n3", BookID: "b2", MemberID: "m1", Due: days(21)}),
		)
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
}

// all returns the first non-nil error.
func all(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// contents is every row of the library, by value, in primary-key order.
type contents struct {
	Authors  []Author
	Books    []Book
	Excerpts []Excerpt
	Members  []Member
	Loans    []Loan
}

func (l *library) dump(tx *store.Txn) contents {
	return contents{
		Authors:  rows(tx, l.authors),
		Books:    rows(tx, l.books),
		Excerpts: rows(tx, l.excerpts),
		Members:  rows(tx, l.members),
		Loans:    rows(tx, l.loans),
	}
}

func (l *library) snapshot(t testing.TB, db *store.DB) contents {
	t.Helper()
	var c contents
	if err := db.View(func(tx *store.Txn) error { c = l.dump(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	return c
}

func rows[T any](tx *store.Txn, t *store.Table[T]) []T {
	var out []T
	for rec := range t.All(tx) {
		out = append(out, *rec)
	}
	return out
}

func ids[T any](seq iter.Seq[*T], id func(*T) string) []string {
	out := []string{}
	for rec := range seq {
		out = append(out, id(rec))
	}
	return out
}

func bookIDs(seq iter.Seq[*Book]) []string {
	return ids(seq, func(b *Book) string { return b.ID })
}
func loanIDs(seq iter.Seq[*Loan]) []string {
	return ids(seq, func(n *Loan) string { return n.ID })
}
func memberIDs(seq iter.Seq[*Member]) []string {
	return ids(seq, func(m *Member) string { return m.ID })
}

// storeErr is the part of a *store.Error a test states.
type storeErr struct {
	Kind                error
	Table, Field, Value string
}

// checkErr asserts that err is a *store.Error of the given kind, table,
// field and value.
func checkErr(t testing.TB, err error, want storeErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v on %s.%s", want.Kind, want.Table, want.Field)
	}
	if !errors.Is(err, want.Kind) {
		t.Fatalf("error %q is not %v", err, want.Kind)
	}
	var se *store.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %q (%T) is not a *store.Error", err, err)
	}
	got := storeErr{Kind: want.Kind, Table: se.Table, Field: se.Field, Value: se.Value}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("error %q (-want +got):\n%s", err, diff)
	}
}

func update(t testing.TB, db *store.DB, fn func(tx *store.Txn) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t testing.TB, db *store.DB, fn func(tx *store.Txn) error) {
	t.Helper()
	if err := db.View(fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func verify(t testing.TB, db *store.DB) {
	t.Helper()
	view(t, db, func(tx *store.Txn) error { return tx.Verify() })
}

func TestSeededLibraryIsConsistent(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	verify(t, db)
	view(t, db, func(tx *store.Txn) error {
		b1, _ := l.books.Get(tx, "b1")
		author, ok := l.writtenBy.Get(tx, b1)
		if !ok || author.ID != "le" {
			t.Errorf("b1's author = %v, %v; want le", author, ok)
		}
		le, _ := l.authors.Get(tx, "le")
		if diff := cmp.Diff([]string{"b1", "b2"}, bookIDs(l.booksOf.Get(tx, le))); diff != "" {
			t.Errorf("books of le (-want +got):\n%s", diff)
		}
		m1, _ := l.members.Get(tx, "m1")
		if diff := cmp.Diff([]string{"n1", "n3"}, loanIDs(l.loansOf.Get(tx, m1))); diff != "" {
			t.Errorf("loans of m1 (-want +got):\n%s", diff)
		}
		return nil
	})
}

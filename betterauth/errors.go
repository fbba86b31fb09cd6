package betterauth

import (
	"errors"
	"strconv"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/store"
)

// Errors of the loader, besides those of the root package (oauthdb.ErrInvalid,
// ErrConflict, ErrForeignKey) that a refused row wraps. Each of them is
// also an oauthdb.ErrInvalid.
var (
	// ErrUnknownTable: a table name that is neither a better-auth model nor
	// one oauthdb keeps (see Tables, NotModeled and SkipTables).
	ErrUnknownTable error = invalid("unknown table")
	// ErrNotModeled: DecodeRow was given a row of a better-auth table that
	// oauthdb does not keep.
	ErrNotModeled error = invalid("a better-auth table oauthdb does not keep")
	// ErrMalformed: the input is not JSON, is cut short, or is not of the
	// shape { "<table>": [ {row}, ... ], ... }.
	ErrMalformed error = invalid("malformed input")
	// ErrTooLarge: a row, or the input between two rows, is longer than the
	// limit (WithMaxRowBytes).
	ErrTooLarge error = invalid("row too large")
)

// invalid is a sentinel error of this package, each also an
// oauthdb.ErrInvalid.
type invalid string

func (e invalid) Error() string      { return string(e) }
func (invalid) Is(target error) bool { return target == oauthdb.ErrInvalid }

// RowError is the error for a row that could not be decoded or stored: it
// names the table, the row's place in its table, its id and the field that
// was wrong — never a value but the row's id and what the root package's
// errors name (never a token hash or a secret), each bounded.
type RowError struct {
	// Table is the table's name; empty when the input failed outside any
	// table. Error cuts a long one (store.Bound).
	Table string
	// Index is the row's position in its table in the input, from 0; -1
	// when the error is not about one row.
	Index int
	// ID is the row's id, when it could be read.
	ID string
	// Field is the column that was wrong, if one was.
	Field string
	// Err is what was wrong: an *oauthdb.Error (which the door returns, and
	// which a decoding error is too, wrapping oauthdb.ErrInvalid), or
	// ErrMalformed, ErrTooLarge, ErrUnknownTable, ErrNotModeled.
	Err error
}

// Error formats the error as `betterauth: oauthAccessToken row 3 (id
// "abc"), field scopes: <why>`.
func (e *RowError) Error() string {
	s := "betterauth: "
	switch {
	case e.Table != "" && plainName(e.Table):
		s += store.Bound(e.Table)
	case e.Table != "":
		s += strconv.Quote(store.Bound(e.Table)) // an unknown table's name, as the input spelled it
	case e.Index < 0:
		s += "input"
	}
	if e.Index >= 0 {
		s += " row " + strconv.Itoa(e.Index)
	}
	if e.ID != "" {
		s += " (id " + strconv.Quote(store.Bound(e.ID)) + ")"
	}
	if e.Field != "" {
		s += ", field " + e.Field
	}
	return s + ": " + e.reason()
}

// reason is what was wrong, without repeating the table and field that an
// *oauthdb.Error names too.
func (e *RowError) reason() string {
	var oe *oauthdb.Error
	if !errors.As(e.Err, &oe) || oe.Table != e.Table || (oe.Field != e.Field && e.Field != "") {
		return e.Err.Error()
	}
	r := oe.Reason
	if r == "" && oe.Err != nil {
		r = oe.Err.Error()
	}
	if oe.Field != "" && e.Field == "" {
		r = oe.Field + ": " + r
	}
	if oe.Value != "" {
		r = strconv.Quote(oe.Value) + ": " + r
	}
	return r
}

// Unwrap returns Err, for errors.Is and errors.As.
func (e *RowError) Unwrap() error { return e.Err }

// plainName reports whether a table name can be printed as it is.
func plainName(s string) bool {
	for _, c := range s {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

package store

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// Sentinel errors. Every error the engine returns for bad input wraps one of
// them in an [*Error], so callers test the kind with [errors.Is] and read the
// details with [errors.As].
var (
	// ErrNotFound reports that a row looked up by its key does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports that a write would give a unique index a second row
	// under one key.
	ErrConflict = errors.New("conflict")
	// ErrForeignKey reports a foreign key that names no row, or a delete or
	// key change that other rows' foreign keys forbid.
	ErrForeignKey = errors.New("foreign key violation")
	// ErrInvalid reports a record that is not valid on its own: a missing
	// required field or a malformed value.
	ErrInvalid = errors.New("invalid")
)

// Error describes what was wrong with one write or lookup: the table, the
// field and the value involved. Value is empty when the field holds a secret
// (a token hash, a session token): an error must never carry one. Nor does
// it carry an unbounded value: a long one is cut (see Bound).
type Error struct {
	// Table is the name of the table the operation addressed.
	Table string
	// ID is the primary key of the row at fault, when the error is about
	// one row being written or deleted: for a duplicate, the row that was
	// refused, not the one that holds the value.
	ID string
	// Field is the field (or index) that was wrong, if any.
	Field string
	// Value is the offending value, or empty when it is secret or absent;
	// a long value is cut to its first bytes and its length (see Bound).
	Value string
	// Reason says what was wrong in a few words.
	Reason string
	// Err is the sentinel error: ErrNotFound, ErrConflict, ErrForeignKey or
	// ErrInvalid.
	Err error
}

// Error formats the error as `table.field "value" (id "row"): reason`, the
// row's id left out when there is none or the field is the id itself.
func (e *Error) Error() string {
	s := e.Table
	if e.Field != "" {
		s += "." + e.Field
	}
	if e.Value != "" {
		s += " " + strconv.Quote(Bound(e.Value))
	}
	if e.ID != "" && !(e.Field == "id" && e.Value == e.ID) {
		s += " (id " + strconv.Quote(Bound(e.ID)) + ")"
	}
	reason := e.Reason
	if reason == "" && e.Err != nil {
		reason = e.Err.Error()
	}
	return s + ": " + reason
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

// Invalid returns an ErrInvalid error for field of table. Validation hooks
// use it to report a malformed record.
func Invalid(table, field, value, reason string) error {
	return &Error{Table: table, Field: field, Value: Bound(value), Reason: reason, Err: ErrInvalid}
}

// An error quotes at most boundPrefix bytes of a value; a value longer than
// boundMax is cut. Bound's own output is never longer than boundMax, so
// bounding a bounded value changes nothing.
const (
	boundPrefix = 64
	boundMax    = boundPrefix + len("… ( bytes)") + 20
)

// Bound returns v as an error may quote it: whole if it is short, else its
// first 64 bytes (cut at a character boundary) and its length, as in
// "abc… (1048576 bytes)". An error never holds an unbounded value: a 1 MiB
// key in a request must not become a 1 MiB log line.
func Bound(v string) string {
	if len(v) <= boundMax {
		return v
	}
	cut := boundPrefix
	for cut > boundPrefix-utf8.UTFMax && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "… (" + strconv.Itoa(len(v)) + " bytes)"
}

package store

import (
	"bytes"
	"errors"
	"iter"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"
)

// indexKind says how an index builds its keys, and so what the engine may
// assume of them.
type indexKind int

const (
	// customIndex: keys built by functions the engine does not know.
	customIndex indexKind = iota
	// stringIndex: one string field; no key is a prefix of another.
	stringIndex
	// timeIndex: one time field, 12 bytes in time order.
	timeIndex
	// compoundIndex: several string fields; a query may give the first few.
	compoundIndex
)

// Index is an index of a table of T, queried with values of type Q.
//
// An index is two small functions: one appends the key of a stored record,
// the other appends the key of a query value. Both build keys with the
// helpers of key.go, so that the two always agree. Build an index with
// [StringIndex], [TimeIndex] or [CompoundIndex] before the [DB] opens; its
// options (Unique, Optional, Secret) are set then too.
type Index[T, Q any] struct {
	table    *Table[T]
	name     string
	field    string
	kind     indexKind
	unique   bool
	optional bool
	secret   bool
	key      func(rec *T, dst []byte) ([]byte, bool)
	query    func(q Q, dst []byte) []byte
	value    func(rec *T) string // string indexes only: the indexed field
	// valid reports whether a query value can match at all: a string with a
	// NUL byte cannot, and must not be let run into the key's terminator.
	valid func(q Q) bool
	// badField names the string field of rec that cannot be part of a key
	// (it holds a NUL byte), or returns "".
	badField func(rec *T) string
	// keyLen returns the length of rec's key, to allocate it once.
	keyLen func(rec *T) int
	// parts and fields are a compound index's part getters and names.
	parts  []func(rec *T) string
	fields []string
}

// newIndex adds an index named name to t. key appends the key of a record
// and reports false when the record has no value for the index; query
// appends the key of a query value. field names the record field(s) the
// index is built from, for error messages.
//
// A query matches every key it is a prefix of, so a compound index built as
// appendString(a) + appendString(b) can be queried by a alone.
func newIndex[T, Q any](t *Table[T], name, field string, kind indexKind,
	key func(rec *T, dst []byte) ([]byte, bool), query func(q Q, dst []byte) []byte) *Index[T, Q] {
	t.declare("index " + name)
	ix := &Index[T, Q]{table: t, name: name, field: field, kind: kind, key: key, query: query}
	t.indexes = append(t.indexes, ix)
	return ix
}

// StringIndex adds an index on the string field that get returns, named
// after the field. Unless the index is Optional, an empty value is a
// missing required field.
func StringIndex[T any](t *Table[T], field string, get func(rec *T) string) *Index[T, string] {
	ix := newIndex(t, field, field, stringIndex,
		func(rec *T, dst []byte) ([]byte, bool) {
			v := get(rec)
			if v == "" {
				return dst, false
			}
			return appendString(dst, v), true
		},
		func(q string, dst []byte) []byte { return appendString(dst, q) })
	ix.value = get
	ix.valid = validKeyString
	ix.badField = func(rec *T) string {
		if !validKeyString(get(rec)) {
			return field
		}
		return ""
	}
	ix.keyLen = func(rec *T) int { return len(get(rec)) + 1 }
	return ix
}

// CompoundIndex adds an index named name on several string fields
// together, in the order given: a record's key holds every part, empty ones
// included, so that a unique CompoundIndex allows one record per
// combination. A query gives the parts in the same order; a query of only
// the first few parts matches every record that starts with them. No part
// may hold a NUL byte, in a record or in a query. fields name the parts and
// gets read them, one for one. An Optional CompoundIndex leaves out the
// records whose parts are all empty.
func CompoundIndex[T any](t *Table[T], name string, fields []string, gets ...func(rec *T) string) *Index[T, []string] {
	if len(fields) != len(gets) || len(gets) == 0 {
		panic("store: CompoundIndex " + name + " needs one field name per part")
	}
	var ix *Index[T, []string]
	ix = newIndex(t, name, strings.Join(fields, ","), compoundIndex,
		func(rec *T, dst []byte) ([]byte, bool) {
			empty := true
			for _, get := range gets {
				v := get(rec)
				empty = empty && v == ""
				dst = appendString(dst, v)
			}
			return dst, !(empty && ix.optional)
		},
		func(q []string, dst []byte) []byte {
			for _, part := range q {
				dst = appendString(dst, part)
			}
			return dst
		})
	ix.valid = func(q []string) bool {
		for _, part := range q {
			if !validKeyString(part) {
				return false
			}
		}
		return true
	}
	ix.badField = func(rec *T) string {
		for i, get := range gets {
			if !validKeyString(get(rec)) {
				return fields[i]
			}
		}
		return ""
	}
	ix.keyLen = func(rec *T) int {
		n := 0
		for _, get := range gets {
			n += len(get(rec)) + 1
		}
		return n
	}
	ix.parts, ix.fields = gets, fields
	return ix
}

// TimeIndex adds an index on the time field that get returns, named after
// the field, for range scans in time order. Unless the index is
// Optional, a zero time is a missing required field.
func TimeIndex[T any](t *Table[T], field string, get func(rec *T) time.Time) *Index[T, time.Time] {
	ix := newIndex(t, field, field, timeIndex,
		func(rec *T, dst []byte) ([]byte, bool) {
			v := get(rec)
			if v.IsZero() {
				return dst, false
			}
			return appendTime(dst, v), true
		},
		func(q time.Time, dst []byte) []byte { return appendTime(dst, q) })
	ix.keyLen = func(*T) int { return timeKeyLen }
	return ix
}

// Unique makes the index unique: the engine refuses a second row under the
// same key with ErrConflict. It returns ix, for chaining.
func (ix *Index[T, Q]) Unique() *Index[T, Q] {
	ix.table.declare("Unique")
	ix.unique = true
	return ix
}

// Optional lets records have no value for the index; such records are left
// out of it. It returns ix, for chaining.
func (ix *Index[T, Q]) Optional() *Index[T, Q] {
	ix.table.declare("Optional")
	ix.optional = true
	return ix
}

// Secret keeps the index's values out of error messages: use it for token
// hashes and other values that must not be logged. It returns ix.
func (ix *Index[T, Q]) Secret() *Index[T, Q] {
	ix.table.declare("Secret")
	ix.secret = true
	return ix
}

// Table returns the name of the index's table.
func (ix *Index[T, Q]) Table() string { return ix.table.name }

// Field returns the field(s) the index is built from.
func (ix *Index[T, Q]) Field() string { return ix.field }

// IsSecret reports whether the index's values are kept out of errors.
func (ix *Index[T, Q]) IsSecret() bool { return ix.secret }

// First returns the first record whose key matches q, in key order.
func (ix *Index[T, Q]) First(tx *Txn, q Q) (*T, bool) {
	if ix.valid != nil && !ix.valid(q) {
		return nil, false
	}
	k := key(tx, ix, q)
	var obj any
	if ix.unique {
		obj = tx.firstUnique(ix.table.name, ix, k)
	} else {
		obj = tx.first(ix.table.name, ix.name, k)
	}
	if obj == nil && ix.unique && ix.kind != stringIndex {
		// go-memdb looks a unique index up by its exact key, but a query on
		// a compound index may be a prefix of keys (its first parts): look
		// for those too. A string index's keys are never prefixes of each
		// other, so its miss is final.
		obj = tx.get(ix.table.name, ix.name, k).Next()
	}
	if obj == nil {
		return nil, false
	}
	return obj.(*T), true
}

// Get iterates over the records whose key matches q, in key order. It
// allocates once per call, not per record.
func (ix *Index[T, Q]) Get(tx *Txn, q Q) iter.Seq[*T] {
	if ix.valid != nil && !ix.valid(q) {
		return func(func(*T) bool) {}
	}
	return rows[T](func() memdb.ResultIterator { return tx.get(ix.table.name, ix.name, key(tx, ix, q)) })
}

// All iterates over the records that have a value for the index, in key
// order: on a time index, from the earliest time on.
func (ix *Index[T, Q]) All(tx *Txn) iter.Seq[*T] {
	return rows[T](func() memdb.ResultIterator { return tx.get(ix.table.name, ix.name, nil) })
}

// lowerBound iterates, in key order, over the records whose key is greater
// than or equal to the key of q.
func (ix *Index[T, Q]) lowerBound(tx *Txn, q Q) iter.Seq[*T] {
	return rows[T](func() memdb.ResultIterator { return tx.lowerBound(ix.table.name, ix.name, key(tx, ix, q)) })
}

// rows iterates over the records a go-memdb iterator yields; the iterator
// is opened when the loop starts, so the key is built then.
func rows[T any](open func() memdb.ResultIterator) iter.Seq[*T] {
	return func(yield func(*T) bool) {
		it := open()
		for obj := it.Next(); obj != nil; obj = it.Next() {
			if !yield(obj.(*T)) {
				return
			}
		}
	}
}

// FirstBytes is First on a string index queried with the bytes of the
// string, without converting them: for a hot path whose key is computed
// into a buffer, such as a token hash.
func FirstBytes[T any](tx *Txn, ix *Index[T, string], b []byte) (*T, bool) {
	if ix.kind != stringIndex { // a custom index: its query may differ
		return ix.First(tx, string(b))
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return nil, false
	}
	k := appendBytes(tx.buf[:0], b)
	tx.buf = k[:0]
	var obj any
	if ix.unique {
		obj = tx.firstUnique(ix.table.name, ix, k)
	} else {
		obj = tx.first(ix.table.name, ix.name, k)
	}
	if obj == nil {
		return nil, false
	}
	return obj.(*T), true
}

// anyIndex is an index seen without its types, as the engine walks them.
type anyIndex interface {
	indexName() string
	fieldName() string
	isUnique() bool
	isOptional() bool
	isSecret() bool
	// keyOf appends the key of a record to dst.
	keyOf(obj any, dst []byte) ([]byte, bool)
	// invalidField names a string field of obj that cannot be in a key.
	invalidField(obj any) string
	memSchema() *memdb.IndexSchema
}

func (ix *Index[T, Q]) indexName() string { return ix.name }
func (ix *Index[T, Q]) fieldName() string { return ix.field }
func (ix *Index[T, Q]) isUnique() bool    { return ix.unique }
func (ix *Index[T, Q]) isOptional() bool  { return ix.optional }
func (ix *Index[T, Q]) isSecret() bool    { return ix.secret }

func (ix *Index[T, Q]) keyOf(obj any, dst []byte) ([]byte, bool) {
	return ix.key(obj.(*T), dst)
}

func (ix *Index[T, Q]) invalidField(obj any) string {
	if ix.badField == nil {
		return ""
	}
	return ix.badField(obj.(*T))
}

func (ix *Index[T, Q]) memSchema() *memdb.IndexSchema {
	return &memdb.IndexSchema{
		Name:         ix.name,
		Unique:       ix.unique,
		AllowMissing: ix.optional,
		Indexer:      memIndexer[T, Q]{ix},
	}
}

// memIndexer adapts an Index to go-memdb. Queries never reach go-memdb as
// values to convert: the typed layer builds the key and passes it in a
// *keyArg, so FromArgs only hands it back.
type memIndexer[T, Q any] struct{ ix *Index[T, Q] }

var errNoKey = errors.New("store: index queried without a prepared key")

// FromObject is go-memdb's: the key of a record in this index.
func (m memIndexer[T, Q]) FromObject(raw any) (bool, []byte, error) {
	rec, ok := raw.(*T)
	if !ok {
		return false, nil, errors.New("store: index " + m.ix.name + " given a record of another table")
	}
	// The key is kept in the tree for as long as the record is stored:
	// allocate it once, at its final size. go-memdb appends the primary key
	// to the key of a non-unique index.
	n := 32 // a guess, for a custom index whose keys the engine does not build
	if m.ix.keyLen != nil {
		n = m.ix.keyLen(rec)
	}
	if !m.ix.unique {
		n += len(m.ix.table.id.value(rec)) + 1
	}
	key, ok := m.ix.key(rec, make([]byte, 0, n))
	return ok, key, nil
}

// FromArgs is go-memdb's: the key of a query, which the typed query methods
// have prepared (a *keyArg); anything else is an error.
func (m memIndexer[T, Q]) FromArgs(args ...any) ([]byte, error) {
	if len(args) == 1 {
		if k, ok := args[0].(*keyArg); ok {
			return k.b, nil
		}
	}
	return nil, errNoKey
}

// PrefixFromArgs is go-memdb's: a prepared key, used as a prefix.
func (m memIndexer[T, Q]) PrefixFromArgs(args ...any) ([]byte, error) {
	return m.FromArgs(args...)
}

package store

import "time"

// What the tests of package store_test use of the engine's internals.

// NewIndex adds a custom index to t, as the engine's own index kinds do.
func NewIndex[T, Q any](t *Table[T], name, field string,
	key func(rec *T, dst []byte) ([]byte, bool), query func(q Q, dst []byte) []byte) *Index[T, Q] {
	return newIndex(t, name, field, customIndex, key, query)
}

// LowerBound iterates over the records whose key is at or after q's.
func (ix *Index[T, Q]) LowerBound(tx *Txn, q Q) func(func(*T) bool) { return ix.lowerBound(tx, q) }

// Upsert inserts rec, or replaces the record with its primary key.
func (t *Table[T]) Upsert(tx *Txn, rec *T) error { return t.upsert(tx, rec) }

// Writable reports whether tx may write.
func (tx *Txn) Writable() bool { return tx.write }

func AppendString(dst []byte, s string) []byte  { return appendString(dst, s) }
func AppendBytes(dst, b []byte) []byte          { return appendBytes(dst, b) }
func AppendTime(dst []byte, t time.Time) []byte { return appendTime(dst, t) }
func ValidKeyString(s string) bool              { return validKeyString(s) }

// The bulk write's collector target (gc.go).
const (
	BulkWrites    = bulkWrites
	BulkGCPercent = bulkGCPercent
)

package store

import (
	"iter"

	"github.com/hashicorp/go-memdb"
)

// Table is a table of records of type T, stored as *T. Its primary index,
// "id", is a unique string index on the field that NewTable is given.
type Table[T any] struct {
	schema   *Schema
	name     string
	id       *Index[T, string]
	indexes  []anyIndex
	validate func(*T) error
}

// NewTable declares, in s, a table named name whose primary key is the
// string that id returns. Declare its other indexes with StringIndex,
// TimeIndex or CompoundIndex, and its relations with One and Many.
func NewTable[T any](s *Schema, name string, id func(rec *T) string) *Table[T] {
	s.declare("NewTable", name)
	t := &Table[T]{schema: s, name: name}
	t.id = StringIndex(t, "id", id).Unique()
	s.tables = append(s.tables, t)
	return t
}

// Validate sets a function that checks a record before every write to the
// table; an error it returns (best made with Invalid) rejects the write.
// The engine itself checks required index fields, unique indexes and
// foreign keys. It returns t, so that a table's declaration can carry its
// validation.
func (t *Table[T]) Validate(fn func(rec *T) error) *Table[T] {
	t.declare("Validate")
	t.validate = fn
	return t
}

// declare panics if a DB has opened on t's schema (see Schema).
func (t *Table[T]) declare(what string) { t.schema.declare(what, t.name) }

// ID returns the table's primary index.
func (t *Table[T]) ID() *Index[T, string] { return t.id }

// Key returns rec's primary key.
func (t *Table[T]) Key(rec *T) string { return t.id.value(rec) }

// Get returns the record with the given primary key.
func (t *Table[T]) Get(tx *Txn, id string) (*T, bool) { return t.id.First(tx, id) }

// All iterates over every record of the table in primary-key order.
func (t *Table[T]) All(tx *Txn) iter.Seq[*T] { return t.id.All(tx) }

// Insert stores a new record. It fails with ErrConflict when a record with
// the same primary key or the same value of a unique index exists, with
// ErrForeignKey when a foreign key names no record, and with ErrInvalid when
// a required field is missing or the table's validation rejects it. The
// record must not be modified after the call.
func (t *Table[T]) Insert(tx *Txn, rec *T) error { return tx.put(t, rec, putInsert) }

// Update replaces the stored record that has rec's primary key with rec. It
// fails with ErrNotFound when there is none, and as Insert does otherwise.
// Changing a field that other records' foreign keys refer to fails with
// ErrForeignKey while such records exist.
func (t *Table[T]) Update(tx *Txn, rec *T) error { return tx.put(t, rec, putUpdate) }

// upsert inserts rec, or replaces the record with its primary key.
func (t *Table[T]) upsert(tx *Txn, rec *T) error { return tx.put(t, rec, putUpsert) }

// Delete removes the record with the given primary key and carries out the
// delete actions of the relations that refer to it: it deletes the records
// of cascading relations (and theirs, in turn), clears the foreign keys of
// set-null relations, and fails with ErrForeignKey, changing nothing, when a
// restricting relation still has records.
func (t *Table[T]) Delete(tx *Txn, id string) error {
	rec, ok := t.Get(tx, id)
	if !ok {
		if tx.mirror != nil {
			return nil // the source's cascade removed it earlier in the transaction
		}
		v := reveal(id, "", t.id)
		return &Error{Table: t.name, ID: v, Field: "id", Value: v, Err: ErrNotFound}
	}
	return tx.delete(t, rec)
}

// DeleteRecord is Delete for a record already read in this transaction.
func (t *Table[T]) DeleteRecord(tx *Txn, rec *T) error { return tx.delete(t, rec) }

// anyTable is a table seen without its type, as the engine walks them.
type anyTable interface {
	tableName() string
	tableIndexes() []anyIndex
	primaryKey(obj any) string
	idIndex() anyIndex
	check(obj any) error
	memSchema() *memdb.TableSchema
}

func (t *Table[T]) tableName() string        { return t.name }
func (t *Table[T]) tableIndexes() []anyIndex { return t.indexes }
func (t *Table[T]) idIndex() anyIndex        { return t.id }
func (t *Table[T]) primaryKey(obj any) string {
	return t.id.value(obj.(*T))
}

func (t *Table[T]) check(obj any) error {
	if t.validate == nil {
		return nil
	}
	return t.validate(obj.(*T))
}

// memSchema is the table's schema for go-memdb.
func (t *Table[T]) memSchema() *memdb.TableSchema {
	s := &memdb.TableSchema{Name: t.name, Indexes: make(map[string]*memdb.IndexSchema, len(t.indexes))}
	for _, ix := range t.indexes {
		s.Indexes[ix.indexName()] = ix.memSchema()
	}
	return s
}

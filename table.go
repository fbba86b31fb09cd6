package oauthdb

import (
	"fmt"
	"slices"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

// A table of the data model is declared once, in schema.go, by a tableOf:
// the store's table — its name, primary key and indexes, and the relations
// declared on it (relations.go) — its record's field list, the record's
// own rules, and its place in a Snapshot. The list of them, tables, is the
// one place the seven tables are named together: what handles the rows of
// every table alike walks it rather than naming each table — the write
// methods and the door, Tx.Insert and Tx.Get, a Snapshot's helpers and
// Restore, the snapshot stream's sections (snapio.go), the change feed's
// copies (feed.go), a replica's apply (MirrorTx, replica.go), and
// DecodeRecord (fields.go), through which package betterauth decodes.

// tableOf is the declaration of a table of records T. It is the store's
// table too, so that an operation reads and writes it as it reads and
// writes any store table (users.Get, accessTokens.Insert).
type tableOf[T any] struct {
	*store.Table[T]
	name string
	// fields is the record's field list (schema.go): the door, normalize,
	// the snapshot stream and DecodeRecord walk it.
	fields func(*T, fieldCodec)
	// check is the record's own rules, beyond what each of its fields
	// must be; nil for none (see the door).
	check func(*T, *door)
	// rows is the table's place in a Snapshot.
	rows func(*Snapshot) *[]T
	// tokens is, for a table of tokens, the kind it holds (tokens.go),
	// whose marks a replica keeps; nil for the others.
	tokens *tokenKind[T]
}

// declare declares a table of the data model on schema: its name, its
// primary key, its field list and its place in a Snapshot. Its rows pass
// the door (tableOf.validate) on every write.
func declare[T any](name string, id func(*T) string, fields func(*T, fieldCodec), rows func(*Snapshot) *[]T) *tableOf[T] {
	t := &tableOf[T]{name: name, fields: fields, rows: rows}
	t.Table = store.NewTable(schema, name, id).Validate(t.validate)
	declared = append(declared, t)
	return t
}

// declared are the tables declare made, in the order it made them: a test
// holds tables to them.
var declared []table

// checkedBy sets the record's own rules and returns t, for the
// declaration.
func (t *tableOf[T]) checkedBy(check func(*T, *door)) *tableOf[T] {
	t.check = check
	return t
}

// table is a table of the data model seen without its record type: what
// the code that handles every table alike calls. A record given as any is
// a value or a pointer; one of another table is not the table's (ok false).
type table interface {
	tableName() string
	// get returns the stored record with primary key id, as the pointer
	// the store holds; nil if there is none.
	get(st *store.Txn, id string) any
	// value returns a stored record, given as its pointer, as a value a
	// caller may keep; nil for nil.
	value(stored any) any
	// visit returns a copy of from (zero if from is nil) whose fields c
	// was given.
	visit(from any, c fieldCodec) (rec any, ok bool)
	// insertRecord inserts rec as Tx.Insert does.
	insertRecord(tx *Tx, rec any) (ok bool, err error)
	// mirrorRecord stores rec as MirrorTx.Put does, mirrorAll the table's
	// rows of a Snapshot as MirrorTx.PutAll does, and mirrorDelete removes
	// a row as MirrorTx.Delete does.
	mirrorRecord(mt *MirrorTx, rec any) (ok bool, err error)
	mirrorAll(mt *MirrorTx, s Snapshot) error
	mirrorDelete(mt *MirrorTx, id string) error
	// The table's rows in a Snapshot.
	collect(tx *Tx, s *Snapshot)
	clone(s *Snapshot)
	size(s Snapshot) int
	add(s *Snapshot, rec any) bool
	each(s Snapshot, yield func(string, any) bool) bool
	restore(tx *Tx, s Snapshot) error
	// section is the table's section of a snapshot stream (snapio.go).
	section() snapTable
}

// errNoRecord is the error of op given v as a record, when v is none.
func errNoRecord(op string, v any) error {
	return fmt.Errorf("oauthdb: %s: a %T is no record: %w", op, v, ErrInvalid)
}

// errNoTable is the error for a table name that is none of the data
// model's.
func errNoTable(name string) error {
	return &Error{Table: store.Bound(name), Reason: "not a table of the data model", Err: ErrInvalid}
}

// tableNamed returns the table of the data model named name, or nil.
func tableNamed(name string) table {
	for _, t := range tables {
		if t.tableName() == name {
			return t
		}
	}
	return nil
}

func (t *tableOf[T]) tableName() string { return t.name }

// of returns a copy of rec if it is a record of the table, given as a
// value or a non-nil pointer.
func (t *tableOf[T]) of(rec any) (*T, bool) {
	switch r := rec.(type) {
	case T:
		return &r, true
	case *T:
		if r != nil {
			c := *r
			return &c, true
		}
	}
	return nil, false
}

// validate is the door (recordcheck.go): what every field of a record must
// be, then the record's own rules. The first fault is the error.
func (t *tableOf[T]) validate(rec *T) error {
	f := door{table: t.name}
	t.fields(rec, &f)
	if t.check != nil {
		t.check(rec, &f)
	}
	return f.err
}

// normalize puts rec in the form the DB keeps, its timestamps as they are.
func (t *tableOf[T]) normalize(rec *T) { t.fields(rec, &normalizer{}) }

// insert stores a new record in the form the DB keeps (normalize), with a
// zero createdAt and updatedAt set to the DB's clock. It changes rec.
func (t *tableOf[T]) insert(tx *Tx, rec *T) error {
	t.fields(rec, &normalizer{stamp: stampInsert, now: tx.db.now()})
	return t.Insert(tx.st, rec)
}

// update replaces the stored record with rec's primary key by rec, in the
// form the DB keeps, with updatedAt set to now and, if rec has no
// createdAt, the stored one: a record's creation is not an update's to
// erase. It changes rec. old is the stored record if the caller has read
// it already, or nil.
func (t *tableOf[T]) update(tx *Tx, rec, old *T, now time.Time) error {
	n := normalizer{stamp: stampUpdate, now: now}
	created := timeField{name: "createdAt"}
	if t.fields(rec, &created); created.at.IsZero() {
		if old == nil {
			old, _ = t.Get(tx.st, t.Key(rec))
		}
		if old != nil {
			t.fields(old, &created)
			n.created = created.at
		}
	}
	t.fields(rec, &n)
	return t.Update(tx.st, rec)
}

func (t *tableOf[T]) get(st *store.Txn, id string) any {
	if rec, ok := t.Get(st, id); ok {
		return rec
	}
	return nil
}

func (t *tableOf[T]) value(stored any) any {
	if r, ok := stored.(*T); ok && r != nil {
		return *r
	}
	return nil
}

func (t *tableOf[T]) visit(from any, c fieldCodec) (any, bool) {
	var rec T
	if from != nil {
		r, ok := t.of(from)
		if !ok {
			return nil, false
		}
		rec = *r
	}
	t.fields(&rec, c)
	return rec, true
}

func (t *tableOf[T]) insertRecord(tx *Tx, rec any) (bool, error) {
	r, ok := t.of(rec)
	if !ok {
		return false, nil
	}
	return true, t.insert(tx, r)
}

func (t *tableOf[T]) collect(tx *Tx, s *Snapshot) {
	*t.rows(s) = slices.Collect(values(t.All(tx.st)))
}

func (t *tableOf[T]) clone(s *Snapshot) {
	rows := t.rows(s)
	*rows = slices.Clone(*rows)
}

func (t *tableOf[T]) size(s Snapshot) int { return len(*t.rows(&s)) }

func (t *tableOf[T]) add(s *Snapshot, rec any) bool {
	r, ok := t.of(rec)
	if ok {
		rows := t.rows(s)
		*rows = append(*rows, *r)
	}
	return ok
}

func (t *tableOf[T]) each(s Snapshot, yield func(string, any) bool) bool {
	for _, r := range *t.rows(&s) {
		if !yield(t.name, r) {
			return false
		}
	}
	return true
}

// restore inserts the table's rows of s, as the write methods insert them.
func (t *tableOf[T]) restore(tx *Tx, s Snapshot) error {
	return t.eachRow(s, func(r *T) error { return t.insert(tx, r) })
}

// eachRow calls fn with a copy of each of the table's rows of s, in order,
// and stops at the first error.
func (t *tableOf[T]) eachRow(s Snapshot, fn func(*T) error) error {
	for _, r := range *t.rows(&s) {
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// updateThen updates the stored record with rec's primary key as update
// does, at the DB's clock now, and then, if there was one, calls then with
// the record as it was and now: for the writes whose meaning depends on
// what a record was (UpdateSession, UpdateClient).
func (t *tableOf[T]) updateThen(tx *Tx, rec *T, then func(old *T, now time.Time) error) error {
	now := tx.db.now()
	old, _ := t.Get(tx.st, t.Key(rec))
	if err := t.update(tx, rec, old, now); err != nil || old == nil {
		return err
	}
	return then(old, now)
}

// timeField reads one time field of a record, by its name in the field
// list.
type timeField struct {
	noFields
	name string
	at   time.Time
}

func (f *timeField) time(name string, v *time.Time) {
	if name == f.name {
		f.at = *v
	}
}

package store

import (
	"fmt"
	"iter"
)

// Action is what deleting a record does to the records that refer to it
// through a relation.
type Action int

const (
	// Restrict refuses the delete while referring records exist. It is the
	// zero Action: a relation that says nothing restricts.
	Restrict Action = iota
	// Cascade deletes the referring records too.
	Cascade
	// SetNull clears the referring records' foreign key.
	SetNull
)

// String returns the action's name.
func (a Action) String() string {
	switch a {
	case Restrict:
		return "restrict"
	case Cascade:
		return "cascade"
	case SetNull:
		return "set null"
	}
	return "unknown action"
}

// OneRelation is a foreign key: each record of F refers to at most one
// record of T, the one whose unique index To holds the value of F's index
// From. It is also the relation that carries the delete action.
type OneRelation[F, T any] struct {
	name     string
	from     *Index[F, string]
	to       *Index[T, string]
	onDelete Action
	clear    func(tx *Txn, rec *F)
}

// One declares the relation named name from F to T, in the schema of F's
// table: the value of from's field is looked up in to, a unique index of T
// in the same schema. from must be a StringIndex; if it is Optional, the
// foreign key may be empty. onDelete says what deleting a T does to the F
// records that refer to it; SetNull also needs ClearWith. A broken
// declaration is an error from Open; a missing index is a mistake in the
// program, and panics here.
func One[F, T any](name string, from *Index[F, string], to *Index[T, string], onDelete Action) *OneRelation[F, T] {
	if from == nil || to == nil {
		panic("store: One " + name + " needs both a from and a to index")
	}
	from.table.declare("One " + name)
	r := &OneRelation[F, T]{name: name, from: from, to: to, onDelete: onDelete}
	from.table.schema.relations = append(from.table.schema.relations, r)
	return r
}

// ClearWith sets the function that clears the foreign key on a copy of a
// record, for the SetNull action. It is given the transaction, whose Env
// tells it about the database (a clock, a mode), so that clearing may change
// more than the key; everything it changes is checked as any write is. It
// returns r, for chaining.
func (r *OneRelation[F, T]) ClearWith(clear func(tx *Txn, rec *F)) *OneRelation[F, T] {
	r.from.table.declare("ClearWith")
	r.clear = clear
	return r
}

// Name returns the relation's name.
func (r *OneRelation[F, T]) Name() string { return r.name }

// Get follows the relation from rec: it returns the record of T that rec
// refers to, or false when rec's foreign key is empty or names no record.
func (r *OneRelation[F, T]) Get(tx *Txn, rec *F) (*T, bool) {
	v := r.from.value(rec)
	if v == "" {
		return nil, false
	}
	return r.to.First(tx, v)
}

// Many is the inverse of a OneRelation: the records of F that refer to a
// record of T, found by a lookup on F's index of the foreign key.
type ManyRelation[T, F any] struct {
	name    string
	inverse *OneRelation[F, T]
}

// Many declares the relation named name from T to the F records that refer
// to it through inverse, in the schema of inverse.
func Many[T, F any](name string, inverse *OneRelation[F, T]) *ManyRelation[T, F] {
	if inverse == nil {
		panic("store: Many " + name + " needs its inverse One")
	}
	inverse.to.table.declare("Many " + name)
	r := &ManyRelation[T, F]{name: name, inverse: inverse}
	inverse.to.table.schema.relations = append(inverse.to.table.schema.relations, r)
	return r
}

// Get iterates over the records of F that refer to rec.
func (r *ManyRelation[T, F]) Get(tx *Txn, rec *T) iter.Seq[*F] {
	return r.inverse.from.Get(tx, r.inverse.to.value(rec))
}

// foreignKey is a OneRelation seen without its types, as the engine checks
// and carries out its foreign keys.
type foreignKey interface {
	relationName() string
	fromTable() anyTable
	toTable() anyTable
	fromIndex() anyIndex
	toIndex() anyIndex
	action() Action
	// fkValue returns the foreign key of a record of F.
	fkValue(obj any) string
	// targetValue returns the value of a record of T that F records refer to.
	targetValue(obj any) string
	// exists reports whether a record of T has the value v.
	exists(tx *Txn, v string) bool
	// referrers collects the records of F that refer to v.
	referrers(tx *Txn, v string) []any
	// cleared returns a copy of a record of F with the foreign key cleared.
	cleared(tx *Txn, obj any) any
}

func (r *OneRelation[F, T]) relationName() string { return r.name }
func (r *OneRelation[F, T]) fromTable() anyTable  { return r.from.table }
func (r *OneRelation[F, T]) toTable() anyTable    { return r.to.table }
func (r *OneRelation[F, T]) fromIndex() anyIndex  { return r.from }
func (r *OneRelation[F, T]) toIndex() anyIndex    { return r.to }
func (r *OneRelation[F, T]) action() Action       { return r.onDelete }
func (r *OneRelation[F, T]) fkValue(obj any) string {
	return r.from.value(obj.(*F))
}
func (r *OneRelation[F, T]) targetValue(obj any) string {
	return r.to.value(obj.(*T))
}
func (r *OneRelation[F, T]) exists(tx *Txn, v string) bool {
	_, ok := r.to.First(tx, v)
	return ok
}

func (r *OneRelation[F, T]) referrers(tx *Txn, v string) []any {
	if v == "" {
		return nil
	}
	var refs []any
	for rec := range r.from.Get(tx, v) {
		refs = append(refs, rec)
	}
	return refs
}

func (r *OneRelation[F, T]) cleared(tx *Txn, obj any) any {
	c := *obj.(*F)
	r.clear(tx, &c)
	return &c
}

// TargetTable returns the name of the table the relation leads to.
func (r *OneRelation[F, T]) TargetTable() string { return r.to.table.name }

// TargetField returns the field of the target that the foreign key matches.
func (r *OneRelation[F, T]) TargetField() string { return r.to.field }

// Key returns rec's foreign key: the value looked up in the target.
func (r *OneRelation[F, T]) Key(rec *F) string { return r.from.value(rec) }

func (r *ManyRelation[T, F]) relationName() string { return r.name }

// What Open checks of a relation's declaration (see Schema.check).

func (r *OneRelation[F, T]) sourceTable() anyTable { return r.from.table }

func (r *OneRelation[F, T]) validate(s *Schema) error {
	if r.name == "" {
		return fmt.Errorf("store: a relation from %s has no name", r.from.table.name)
	}
	where := fmt.Sprintf("store: relation %s.%s", r.from.table.name, r.name)
	if r.to.table.schema != s {
		return fmt.Errorf("%s: its target %s is a table of another schema", where, r.to.table.name)
	}
	if r.from.kind != stringIndex || r.to.kind != stringIndex {
		return fmt.Errorf("%s: both ends must be StringIndexes", where)
	}
	if !r.to.unique {
		return fmt.Errorf("%s: target index %s.%s is not unique", where, r.to.table.name, r.to.name)
	}
	switch r.onDelete {
	case Restrict, Cascade:
	case SetNull:
		if !r.from.optional {
			return fmt.Errorf("%s: set null on a required foreign key %q", where, r.from.field)
		}
		if r.clear == nil {
			return fmt.Errorf("%s: set null needs ClearWith", where)
		}
	default:
		return fmt.Errorf("%s: unknown delete action %d", where, r.onDelete)
	}
	return nil
}

func (r *ManyRelation[T, F]) sourceTable() anyTable { return r.inverse.to.table }

func (r *ManyRelation[T, F]) validate(s *Schema) error {
	if r.name == "" {
		return fmt.Errorf("store: a many relation from %s has no name", r.inverse.to.table.name)
	}
	return nil
}

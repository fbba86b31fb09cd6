package store

import (
	"fmt"
	"iter"
	"slices"
	"strings"
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
// record of T, the one whose unique index To holds the record's foreign key.
// It is also the relation that carries the delete action. Its referrers are
// found through an index of F: the foreign key's own StringIndex (One), or a
// CompoundIndex whose first parts name the target (OneIn).
type OneRelation[F, T any] struct {
	name string
	// from is the foreign key's StringIndex (One); nil for OneIn.
	from *Index[F, string]
	// via is the CompoundIndex its referrers are filed in, under the first
	// depth parts, the last of which is the foreign key (OneIn); nil for One.
	via   *Index[F, []string]
	depth int
	// under returns the parts a target's referrers are filed under (OneIn).
	under    func(rec *T) []string
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
	return register(&OneRelation[F, T]{name: name, from: from, to: to, onDelete: onDelete}, from.table)
}

// OneIn declares the relation named name from F to T whose foreign key is
// part depth (counting from 1) of via, a CompoundIndex of F, and whose
// referrers are found in via under the first depth parts: under returns
// those parts for a record of T, and they must be the parts of every record
// that refers to it, which every write checks. So one compound index serves
// several relations when one key implies another: a token's session implies
// its user, and an index on (userId, sessionId) finds a user's tokens by the
// first part and a session's by both, with the check that a token's user is
// its session's user. An empty foreign key refers to nothing.
func OneIn[F, T any](name string, via *Index[F, []string], depth int, to *Index[T, string], under func(rec *T) []string,
	onDelete Action) *OneRelation[F, T] {
	if via == nil || to == nil || under == nil {
		panic("store: OneIn " + name + " needs its compound index, its target index and under")
	}
	return register(&OneRelation[F, T]{name: name, via: via, depth: depth, under: under, to: to, onDelete: onDelete}, via.table)
}

func register[F, T any](r *OneRelation[F, T], from *Table[F]) *OneRelation[F, T] {
	from.declare("One " + r.name)
	from.schema.relations = append(from.schema.relations, r)
	return r
}

// ClearWith sets the function that clears the foreign key on a copy of a
// record, for the SetNull action. It is given the transaction, whose Env
// tells it about the database (a clock, a mode), so that clearing may change
// more than the key; everything it changes is checked as any write is. It
// returns r, for chaining.
func (r *OneRelation[F, T]) ClearWith(clear func(tx *Txn, rec *F)) *OneRelation[F, T] {
	r.fromTableT().declare("ClearWith")
	r.clear = clear
	return r
}

func (r *OneRelation[F, T]) fromTableT() *Table[F] {
	if r.from != nil {
		return r.from.table
	}
	return r.via.table
}

// Name returns the relation's name.
func (r *OneRelation[F, T]) Name() string { return r.name }

// Key returns rec's foreign key: the value looked up in the target.
func (r *OneRelation[F, T]) Key(rec *F) string {
	if r.from != nil {
		return r.from.value(rec)
	}
	return r.via.parts[r.depth-1](rec)
}

// Get follows the relation from rec: it returns the record of T that rec
// refers to, or false when rec's foreign key is empty or names no record.
func (r *OneRelation[F, T]) Get(tx *Txn, rec *F) (*T, bool) {
	v := r.Key(rec)
	if v == "" {
		return nil, false
	}
	return r.to.First(tx, v)
}

// referrersOf iterates over the records of F that refer to target. A target
// without a key has none: an empty foreign key names nothing.
func (r *OneRelation[F, T]) referrersOf(tx *Txn, target *T) iter.Seq[*F] {
	v := r.to.value(target)
	if v == "" {
		return func(func(*F) bool) {}
	}
	if r.from != nil {
		return r.from.Get(tx, v)
	}
	return r.via.Get(tx, r.under(target))
}

// parts returns the parts of rec that name its target, joined: what must
// equal under of the target (OneIn); "" for One.
func (r *OneRelation[F, T]) parts(rec *F) string {
	if r.via == nil {
		return ""
	}
	var b []byte
	for _, get := range r.via.parts[:r.depth] {
		b = appendString(b, get(rec))
	}
	return string(b)
}

// underOf returns under of target, joined as parts joins a referrer's.
func (r *OneRelation[F, T]) underOf(target *T) string {
	var b []byte
	for _, part := range r.under(target) {
		b = appendString(b, part)
	}
	return string(b)
}

// Many is the inverse of a OneRelation: the records of F that refer to a
// record of T, found by a lookup on the index the OneRelation files them in.
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

// Get iterates over the records of F that refer to rec, in the order of the
// index they are found in: by primary key for a One, by the parts after the
// foreign key and then the primary key for a OneIn.
func (r *ManyRelation[T, F]) Get(tx *Txn, rec *T) iter.Seq[*F] {
	return r.inverse.referrersOf(tx, rec)
}

// ByID is Get in primary-key order. Where the index is in that order
// already, it streams; otherwise it collects the records and sorts them.
func (r *ManyRelation[T, F]) ByID(tx *Txn, rec *T) iter.Seq[*F] {
	in := r.inverse
	if in.via == nil || in.depth == len(in.via.parts) {
		return r.Get(tx, rec)
	}
	return func(yield func(*F) bool) {
		refs := slices.Collect(r.Get(tx, rec))
		key := in.fromTableT().Key
		slices.SortFunc(refs, func(a, b *F) int { return strings.Compare(key(a), key(b)) })
		for _, f := range refs {
			if !yield(f) {
				return
			}
		}
	}
}

// foreignKey is a OneRelation seen without its types, as the engine checks
// and carries out its foreign keys.
type foreignKey interface {
	relationName() string
	fromTable() anyTable
	toTable() anyTable
	// fromIndex is the index the referrers are found in.
	fromIndex() anyIndex
	// fieldName names the foreign key's field.
	fieldName() string
	toIndex() anyIndex
	action() Action
	// fkValue returns the foreign key of a record of F.
	fkValue(obj any) string
	// fkParts returns what of a record of F names its target, joined:
	// its foreign key, and for OneIn the parts before it.
	fkParts(obj any) string
	// targetKey returns the key of a record of T that its referrers hold.
	targetKey(obj any) string
	// targetValue returns what of a record of T its referrers refer to, and
	// may not change while they do: its key and, for OneIn, under.
	targetValue(obj any) string
	// target returns the record of T with key v.
	target(tx *Txn, v string) (any, bool)
	// matches reports whether a record of F may refer to target: for OneIn,
	// whether its parts are target's under.
	matches(obj, target any) bool
	// referrers collects the records of F that refer to target.
	referrers(tx *Txn, target any) []any
	// cleared returns a copy of a record of F with the foreign key cleared.
	cleared(tx *Txn, obj any) any
}

func (r *OneRelation[F, T]) relationName() string { return r.name }
func (r *OneRelation[F, T]) fromTable() anyTable  { return r.fromTableT() }
func (r *OneRelation[F, T]) toTable() anyTable    { return r.to.table }
func (r *OneRelation[F, T]) toIndex() anyIndex    { return r.to }
func (r *OneRelation[F, T]) action() Action       { return r.onDelete }

func (r *OneRelation[F, T]) fromIndex() anyIndex {
	if r.from != nil {
		return r.from
	}
	return r.via
}

func (r *OneRelation[F, T]) fieldName() string {
	if r.from != nil {
		return r.from.field
	}
	return r.via.fields[r.depth-1]
}

func (r *OneRelation[F, T]) fkValue(obj any) string { return r.Key(obj.(*F)) }

func (r *OneRelation[F, T]) fkParts(obj any) string {
	return r.Key(obj.(*F)) + "\x00" + r.parts(obj.(*F))
}

func (r *OneRelation[F, T]) targetKey(obj any) string { return r.to.value(obj.(*T)) }

func (r *OneRelation[F, T]) targetValue(obj any) string {
	t := obj.(*T)
	if r.via == nil {
		return r.to.value(t)
	}
	return r.to.value(t) + "\x00" + r.underOf(t)
}

func (r *OneRelation[F, T]) target(tx *Txn, v string) (any, bool) {
	t, ok := r.to.First(tx, v)
	return t, ok
}

func (r *OneRelation[F, T]) matches(obj, target any) bool {
	if r.via == nil {
		return true
	}
	// Part by part, as parts and underOf would compare joined: a write
	// checks every foreign key, and joining allocates.
	rec, under := obj.(*F), r.under(target.(*T))
	if len(under) != r.depth {
		return false
	}
	for i, get := range r.via.parts[:r.depth] {
		if get(rec) != under[i] {
			return false
		}
	}
	return true
}

func (r *OneRelation[F, T]) referrers(tx *Txn, target any) []any {
	var refs []any
	for rec := range r.referrersOf(tx, target.(*T)) {
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

func (r *ManyRelation[T, F]) relationName() string { return r.name }

// What Open checks of a relation's declaration (see Schema.check).

func (r *OneRelation[F, T]) sourceTable() anyTable { return r.fromTableT() }

func (r *OneRelation[F, T]) validate(s *Schema) error {
	from := r.fromTableT()
	if r.name == "" {
		return fmt.Errorf("store: a relation from %s has no name", from.name)
	}
	where := fmt.Sprintf("store: relation %s.%s", from.name, r.name)
	if r.to.table.schema != s {
		return fmt.Errorf("%s: its target %s is a table of another schema", where, r.to.table.name)
	}
	if r.to.kind != stringIndex {
		return fmt.Errorf("%s: both ends must be StringIndexes", where)
	}
	if r.from != nil && r.from.kind != stringIndex {
		return fmt.Errorf("%s: both ends must be StringIndexes", where)
	}
	if r.via != nil && (r.via.kind != compoundIndex || r.depth < 1 || r.depth > len(r.via.parts)) {
		return fmt.Errorf("%s: OneIn needs a CompoundIndex with at least %d parts", where, r.depth)
	}
	if !r.to.unique {
		return fmt.Errorf("%s: target index %s.%s is not unique", where, r.to.table.name, r.to.name)
	}
	switch r.onDelete {
	case Restrict, Cascade:
	case SetNull:
		if r.from != nil && !r.from.optional {
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

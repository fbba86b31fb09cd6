package store

import (
	"errors"
	"fmt"
)

type putMode int

const (
	putInsert putMode = iota
	putUpdate
	putUpsert
)

var errReadOnly = errors.New("store: write in a read-only transaction")

// put checks a record against everything it depends on — its own fields,
// its primary key, the unique indexes, its foreign keys and the foreign keys
// that refer to it — and only then stores it. A failed put changes nothing.
func (tx *Txn) put(t anyTable, obj any, mode putMode) error {
	if !tx.write {
		return errReadOnly
	}
	name := t.tableName()
	if err := t.check(obj); err != nil {
		return err
	}
	for _, ix := range t.tableIndexes() {
		if err := checkIndexField(t, ix, obj); err != nil {
			return err
		}
	}
	id := t.primaryKey(obj)
	idKey := AppendString(nil, id)
	existing := tx.first(name, "id", idKey)
	switch {
	case mode == putInsert && existing != nil:
		return &Error{Table: name, Field: "id", Value: id, Reason: "a record with this id exists", Err: ErrConflict}
	case mode == putUpdate && existing == nil:
		return &Error{Table: name, Field: "id", Value: id, Err: ErrNotFound}
	}
	for _, ix := range t.tableIndexes() {
		if !ix.isUnique() || ix.indexName() == "id" {
			continue
		}
		k, ok := ix.keyOf(obj)
		if !ok {
			continue
		}
		if other := tx.first(name, ix.indexName(), k); other != nil && t.primaryKey(other) != id {
			return &Error{Table: name, Field: ix.fieldName(), Value: visible(ix, k),
				Reason: "value already used by " + t.primaryKey(other), Err: ErrConflict}
		}
	}
	for _, fk := range tx.db.info.outbound[t] {
		v := fk.fkValue(obj)
		if v == "" {
			continue // optional: a required one was refused above
		}
		if existing != nil && fk.fkValue(existing) == v {
			continue // unchanged, and checked when it was written
		}
		if !fk.exists(tx, v) {
			return &Error{Table: name, Field: fk.fromIndex().fieldName(), Value: v,
				Reason: "no " + fk.toTable().tableName() + " has " + fk.toIndex().fieldName() + " " + quote(v),
				Err:    ErrForeignKey}
		}
	}
	if existing != nil {
		for _, fk := range tx.db.info.inbound[t] {
			old := fk.targetValue(existing)
			if old == fk.targetValue(obj) || old == "" {
				continue
			}
			if refs := fk.referrers(tx, old, nil); len(refs) > 0 {
				return &Error{Table: name, Field: fk.toIndex().fieldName(), Value: old,
					Reason: fmt.Sprintf("cannot change: %d %s record(s) refer to it through %s",
						len(refs), fk.fromTable().tableName(), fk.fromIndex().fieldName()),
					Err: ErrForeignKey}
			}
		}
	}
	if err := tx.mem.Insert(name, obj); err != nil {
		return fmt.Errorf("store: %s: %w", name, err)
	}
	return nil
}

// checkIndexField refuses a record that lacks a value for a required index,
// or whose value cannot be a key.
func checkIndexField(t anyTable, ix anyIndex, obj any) error {
	if _, ok := ix.keyOf(obj); !ok {
		if ix.isOptional() {
			return nil
		}
		return &Error{Table: t.tableName(), Field: ix.fieldName(), Reason: "required", Err: ErrInvalid}
	}
	if v, isString := stringValue(ix, obj); isString && !ValidKeyString(v) {
		return &Error{Table: t.tableName(), Field: ix.fieldName(), Reason: "holds a NUL byte", Err: ErrInvalid}
	}
	return nil
}

// stringValue returns the indexed field of a string index.
func stringValue(ix anyIndex, obj any) (string, bool) {
	sv, ok := ix.(interface{ stringOf(any) (string, bool) })
	if !ok {
		return "", false
	}
	return sv.stringOf(obj)
}

func (ix *Index[T, Q]) stringOf(obj any) (string, bool) {
	if ix.value == nil {
		return "", false
	}
	return ix.value(obj.(*T)), true
}

// visible returns the value of a key for an error message: the string it
// holds, or nothing for a secret index.
func visible(ix anyIndex, k []byte) string {
	if ix.isSecret() {
		return ""
	}
	for len(k) > 0 && k[len(k)-1] == 0 {
		k = k[:len(k)-1]
	}
	out := make([]byte, len(k))
	for i, c := range k {
		if c == 0 {
			c = '/'
		}
		out[i] = c
	}
	return string(out)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// A deletion is planned first and carried out after: deleting while walking
// an index would pull rows from under the walk, and a restrict found half-way
// must leave nothing deleted.
type deletion struct {
	deletes []planned
	clears  []planned
	guards  []planned // restrict: refused unless the referrer is deleted too
	doomed  map[rowID]bool
}

type planned struct {
	table anyTable
	obj   any
	fk    foreignKey
}

type rowID struct {
	table anyTable
	id    string
}

func (tx *Txn) delete(t anyTable, obj any) error {
	if !tx.write {
		return errReadOnly
	}
	d := &deletion{doomed: map[rowID]bool{}}
	tx.plan(d, t, obj)
	for _, g := range d.guards {
		if !d.doomed[rowID{g.table, g.table.primaryKey(g.obj)}] {
			return &Error{Table: t.tableName(), Field: "id", Value: t.primaryKey(obj),
				Reason: fmt.Sprintf("%s %s refers to it through %s (restrict)",
					g.table.tableName(), g.table.primaryKey(g.obj), g.fk.fromIndex().fieldName()),
				Err: ErrForeignKey}
		}
	}
	for _, p := range d.deletes {
		if err := tx.mem.Delete(p.table.tableName(), p.obj); err != nil {
			return fmt.Errorf("store: %s: %w", p.table.tableName(), err)
		}
	}
	for _, c := range d.clears {
		id := c.table.primaryKey(c.obj)
		if d.doomed[rowID{c.table, id}] {
			continue
		}
		// Read the row again: another relation may have cleared it already.
		cur := tx.first(c.table.tableName(), "id", AppendString(nil, id))
		if cur == nil || c.fk.fkValue(cur) != c.fk.fkValue(c.obj) {
			continue
		}
		if err := tx.put(c.table, c.fk.cleared(cur), putUpdate); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Txn) plan(d *deletion, t anyTable, obj any) {
	d.doomed[rowID{t, t.primaryKey(obj)}] = true
	d.deletes = append(d.deletes, planned{table: t, obj: obj})
	for _, fk := range tx.db.info.inbound[t] {
		for _, ref := range fk.referrers(tx, fk.targetValue(obj), nil) {
			from := fk.fromTable()
			switch fk.action() {
			case Cascade:
				if !d.doomed[rowID{from, from.primaryKey(ref)}] {
					tx.plan(d, from, ref)
				}
			case SetNull:
				d.clears = append(d.clears, planned{table: from, obj: ref, fk: fk})
			default:
				d.guards = append(d.guards, planned{table: from, obj: ref, fk: fk})
			}
		}
	}
}

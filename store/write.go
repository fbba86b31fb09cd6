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
// that refer to it — and only then stores it. A failed put changes nothing,
// and its error names the row.
func (tx *Txn) put(t anyTable, obj any, mode putMode) error {
	return atRow(tx.store(t, obj, mode), t, obj)
}

// atRow gives an *Error about a record of t, as a write of obj returns it,
// obj's primary key: in a load of many rows, table, field and value alone
// do not find the one at fault.
func atRow(err error, t anyTable, obj any) error {
	var e *Error
	if errors.As(err, &e) && e.Table == t.tableName() && e.ID == "" {
		e.ID = reveal(t.primaryKey(obj), "", t.idIndex())
	}
	return err
}

func (tx *Txn) store(t anyTable, obj any, mode putMode) error {
	if !tx.write {
		return errReadOnly
	}
	name := t.tableName()
	if err := tx.checkRecord(t, obj); err != nil {
		return err
	}
	id := t.primaryKey(obj)
	idIx := t.idIndex()
	idKey, _ := tx.keyOf(idIx, obj)
	existing := tx.firstUnique(name, idIx, idKey)
	if tx.mirror != nil {
		mode = putUpsert // the source wrote it; whether it was here is the source's business
	}
	switch {
	case mode == putInsert && existing != nil:
		return &Error{Table: name, Field: "id", Value: reveal(id, "", idIx), Reason: "a record with this id exists", Err: ErrConflict}
	case mode == putUpdate && existing == nil:
		return &Error{Table: name, Field: "id", Value: reveal(id, "", idIx), Err: ErrNotFound}
	}
	for _, ix := range t.tableIndexes() {
		if !ix.isUnique() || ix.indexName() == "id" {
			continue
		}
		k, ok := tx.keyOf(ix, obj)
		if !ok {
			continue
		}
		if other := tx.firstUnique(name, ix, k); other != nil && t.primaryKey(other) != id {
			return &Error{Table: name, Field: ix.fieldName(), Value: reveal(keyText(k), "", ix),
				Reason: "value already used by " + recordName(t, other), Err: ErrConflict}
		}
	}
	if tx.mirror != nil {
		// Foreign keys wait for the end of the transaction (Dangling):
		// the source's own cascades come as rows of their own, later.
		tx.mirror.written = append(tx.mirror.written, mirrored{t, id})
		if err := tx.mem.Insert(name, obj); err != nil {
			return fmt.Errorf("store: %s: %w", name, err)
		}
		tx.wrote(t, obj, existing)
		return nil
	}
	for _, fk := range tx.db.info.outbound[t] {
		v := fk.fkValue(obj)
		if v == "" {
			continue // optional: a required one was refused above
		}
		if existing != nil && fk.fkParts(existing) == fk.fkParts(obj) {
			continue // unchanged, and checked when it was written
		}
		target, ok := fk.target(tx, v)
		if !ok {
			return &Error{Table: name, Field: fk.fieldName(), Value: reveal(v, "", fk.fromIndex(), fk.toIndex()),
				Reason: "no " + fk.toTable().tableName() + " has this " + fk.toIndex().fieldName(),
				Err:    ErrForeignKey}
		}
		if !fk.matches(obj, target) {
			return &Error{Table: name, Field: fk.fieldName(), Value: reveal(v, "", fk.fromIndex(), fk.toIndex()),
				Reason: "its " + fk.fromIndex().fieldName() + " do not match the " + fk.toTable().tableName() + "'s",
				Err:    ErrForeignKey}
		}
	}
	if existing != nil {
		for _, fk := range tx.db.info.inbound[t] {
			key := fk.targetKey(existing)
			if key == "" || fk.targetValue(existing) == fk.targetValue(obj) {
				continue
			}
			if refs := fk.referrers(tx, existing); len(refs) > 0 {
				return &Error{Table: name, Field: fk.toIndex().fieldName(), Value: reveal(key, "", fk.toIndex(), fk.fromIndex()),
					Reason: fmt.Sprintf("cannot change: %d %s record(s) refer to it through %s",
						len(refs), fk.fromTable().tableName(), fk.fieldName()),
					Err: ErrForeignKey}
			}
		}
	}
	if err := tx.mem.Insert(name, obj); err != nil {
		return fmt.Errorf("store: %s: %w", name, err)
	}
	tx.wrote(t, obj, existing)
	return nil
}

// wrote counts a record stored (gc.go), and notes its unique keys and
// those of the record it replaced as touched by the transaction
// (touched.go).
func (tx *Txn) wrote(t anyTable, obj, existing any) {
	tx.counted()
	if existing != nil {
		tx.touch(t, existing, false)
	}
	tx.touch(t, obj, true)
}

// keyOf builds the key of a record in the transaction's buffer: the
// checks of a write build many keys and keep none.
func (tx *Txn) keyOf(ix anyIndex, obj any) ([]byte, bool) {
	k, ok := ix.keyOf(obj, tx.buf[:0])
	tx.buf = k[:0]
	return k, ok
}

// checkRecord checks what a record must be on its own: the table's
// validation and its index fields.
func (tx *Txn) checkRecord(t anyTable, obj any) error {
	if err := t.check(obj); err != nil {
		return err
	}
	for _, ix := range t.tableIndexes() {
		if err := tx.checkIndexField(t, ix, obj); err != nil {
			return err
		}
	}
	return nil
}

// checkIndexField refuses a record that lacks a value for a required index,
// or whose value cannot be a key.
func (tx *Txn) checkIndexField(t anyTable, ix anyIndex, obj any) error {
	if _, ok := tx.keyOf(ix, obj); !ok {
		if ix.isOptional() {
			return nil
		}
		return &Error{Table: t.tableName(), Field: ix.fieldName(), Reason: "required", Err: ErrInvalid}
	}
	if field := ix.invalidField(obj); field != "" {
		return &Error{Table: t.tableName(), Field: field, Reason: "holds a NUL byte", Err: ErrInvalid}
	}
	return nil
}

// reveal returns v as an error may show it: bounded (see Bound), or hidden
// when one of ixs holds secrets. Every value an error names goes through
// here.
func reveal(v, hidden string, ixs ...anyIndex) string {
	for _, ix := range ixs {
		if ix.isSecret() {
			return hidden
		}
	}
	return Bound(v)
}

// keyText returns the text of a key, for an error: a compound key's parts
// joined by "/".
func keyText(k []byte) string {
	if len(k) > 0 && k[len(k)-1] == 0 {
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

// recordName names a record of t in an error's reason: by its table and
// primary key, unless that is a secret.
func recordName(t anyTable, obj any) string {
	return reveal(t.tableName()+" "+t.primaryKey(obj), "a record of "+t.tableName(), t.idIndex())
}

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
	if tx.mirror != nil {
		// No delete actions: the source's come as rows of their own.
		tx.mirror.deleted = append(tx.mirror.deleted, obj)
		tx.mirror.deletedFrom = append(tx.mirror.deletedFrom, t)
		if err := tx.mem.Delete(t.tableName(), obj); err != nil {
			return fmt.Errorf("store: %s: %w", t.tableName(), err)
		}
		tx.counted()
		tx.touch(t, obj, false)
		return nil
	}
	d := &deletion{doomed: map[rowID]bool{}}
	tx.plan(d, t, obj)
	for _, g := range d.guards {
		if !d.doomed[rowID{g.table, g.table.primaryKey(g.obj)}] {
			id := reveal(t.primaryKey(obj), "", t.idIndex())
			return &Error{Table: t.tableName(), ID: id, Field: "id", Value: id,
				Reason: fmt.Sprintf("%s refers to it through %s (restrict)",
					recordName(g.table, g.obj), g.fk.fieldName()),
				Err: ErrForeignKey}
		}
	}
	// A set null writes the referring record, and the table may refuse the
	// cleared record: build every one and check it before anything changes.
	cleared := d.cleared(tx)
	for _, c := range cleared {
		if err := tx.checkRecord(c.table, c.obj); err != nil {
			return atRow(err, c.table, c.obj)
		}
	}
	for _, p := range d.deletes {
		if err := tx.mem.Delete(p.table.tableName(), p.obj); err != nil {
			return fmt.Errorf("store: %s: %w", p.table.tableName(), err)
		}
		tx.counted()
		tx.touch(p.table, p.obj, false)
	}
	for _, c := range cleared {
		if err := tx.put(c.table, c.obj, putUpdate); err != nil {
			return err
		}
	}
	return nil
}

// cleared returns the records that the set-null relations rewrite, each
// once, with every foreign key that named a deleted record cleared.
func (d *deletion) cleared(tx *Txn) []planned {
	var out []planned
	at := map[rowID]int{}
	for _, c := range d.clears {
		row := rowID{c.table, c.table.primaryKey(c.obj)}
		if d.doomed[row] {
			continue
		}
		i, seen := at[row]
		cur := c.obj
		if seen {
			cur = out[i].obj
		}
		// Two relations may share the field: the first has cleared it.
		if c.fk.fkValue(cur) != c.fk.fkValue(c.obj) {
			continue
		}
		next := c.fk.cleared(tx, cur)
		if seen {
			out[i].obj = next
		} else {
			at[row] = len(out)
			out = append(out, planned{table: c.table, obj: next})
		}
	}
	return out
}

func (tx *Txn) plan(d *deletion, t anyTable, obj any) {
	d.doomed[rowID{t, t.primaryKey(obj)}] = true
	d.deletes = append(d.deletes, planned{table: t, obj: obj})
	for _, fk := range tx.db.info.inbound[t] {
		for _, ref := range fk.referrers(tx, obj) {
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

// mirrorLog is what a Mirror transaction wrote, for Dangling.
type mirrorLog struct {
	written     []mirrored
	deleted     []any
	deletedFrom []anyTable
}

type mirrored struct {
	table anyTable
	id    string
}

// Dangler is a record that a Mirror transaction left with a foreign key
// that names nothing (or names a record it may not refer to: see OneIn).
type Dangler struct {
	// Table and ID name the record; Field the foreign key.
	Table, ID, Field string
}

// Mirror runs fn in a write transaction for a database that follows
// another's rows, a replica: writes apply as the source made them. Insert
// and Update both store the record, whether or not one with its key is
// there; Delete removes it, with none of the delete actions, and a record
// already gone is no error; record validation and unique values are checked
// at once, foreign keys not at all until fn calls Dangling — the source's
// cascades and set-nulls come as rows of their own, after the change that
// caused them, so a transaction may be inconsistent until its end. The
// transaction commits when fn returns nil, as Update's does.
func (db *DB) Mirror(fn func(tx *Txn) error) error {
	return db.Update(func(tx *Txn) error {
		tx.mirror = &mirrorLog{}
		return fn(tx)
	})
}

// Dangling returns, in a Mirror transaction, the records it leaves with a
// foreign key that names nothing: records it wrote, and the referrers of
// records it deleted. The caller decides what becomes of them (a replica
// drops them, counting them as refused) and calls Dangling again, since
// dropping a record can leave its own referrers dangling.
func (tx *Txn) Dangling() []Dangler {
	if tx.mirror == nil {
		return nil
	}
	var out []Dangler
	// A load's Mirror writes hundreds of thousands of rows: a map sized
	// once, and one buffer for their keys.
	seen := make(map[mirrored]bool, len(tx.mirror.written))
	var idKey []byte
	check := func(t anyTable, obj any) {
		key := mirrored{t, t.primaryKey(obj)}
		if seen[key] {
			return
		}
		seen[key] = true
		for _, fk := range tx.db.info.outbound[t] {
			v := fk.fkValue(obj)
			if v == "" {
				continue
			}
			if target, ok := fk.target(tx, v); !ok || !fk.matches(obj, target) {
				out = append(out, Dangler{Table: t.tableName(), ID: key.id, Field: fk.fieldName()})
				return
			}
		}
	}
	for _, w := range tx.mirror.written {
		idKey = appendString(idKey[:0], w.id)
		if obj := tx.firstUnique(w.table.tableName(), w.table.idIndex(), idKey); obj != nil {
			check(w.table, obj)
		}
	}
	for i, obj := range tx.mirror.deleted {
		t := tx.mirror.deletedFrom[i]
		for _, fk := range tx.db.info.inbound[t] {
			for _, ref := range fk.referrers(tx, obj) {
				check(fk.fromTable(), ref)
			}
		}
	}
	return out
}

// Record returns the record of the table named table with the primary key
// id, for a caller that names its tables at run time, as a replica applying
// another database's rows does; Table.Get is the typed way. An unknown table
// holds nothing.
func (tx *Txn) Record(table, id string) (any, bool) {
	t, ok := tx.db.info.tables[table]
	if !ok {
		return nil, false
	}
	obj := tx.firstUnique(table, t.idIndex(), appendString(nil, id))
	return obj, obj != nil
}

// IDs returns the primary keys of every record of the table named table, in
// order; an unknown table is an error.
func (tx *Txn) IDs(table string) ([]string, error) {
	t, ok := tx.db.info.tables[table]
	if !ok {
		return nil, fmt.Errorf("store: no table %q", Bound(table))
	}
	var ids []string
	it := tx.get(table, "id", nil)
	for obj := it.Next(); obj != nil; obj = it.Next() {
		ids = append(ids, t.primaryKey(obj))
	}
	return ids, nil
}

// Drop deletes, in a Mirror transaction, the record of the table named
// table with the primary key id, as Delete does there: for a replica that
// drops a record it cannot keep. A record not there is no error.
func (tx *Txn) Drop(table, id string) error {
	if tx.mirror == nil {
		return errors.New("store: Drop outside a Mirror transaction")
	}
	t, ok := tx.db.info.tables[table]
	if !ok {
		return fmt.Errorf("store: Drop: no table %q", table)
	}
	obj := tx.firstUnique(table, t.idIndex(), appendString(nil, id))
	if obj == nil {
		return nil
	}
	return tx.delete(t, obj)
}

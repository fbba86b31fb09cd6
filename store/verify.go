package store

import (
	"fmt"
	"sort"
	"strconv"
)

// Verify walks every index of every table and checks the database's
// invariants: each index holds exactly the records of its table that have a
// value for it, each under the key its current value gives, each entry points
// at the live record, unique indexes hold no duplicates, and every foreign
// key names an existing record. It reports the
// first violation. It reads everything, so it is for tests and audits, not
// for a hot path.
func (tx *Txn) Verify() error {
	names := make([]string, 0, len(tx.db.info.tables))
	for name := range tx.db.info.tables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := tx.db.info.tables[name]
		live := map[string]any{}
		it := tx.get(name, "id", nil)
		for obj := it.Next(); obj != nil; obj = it.Next() {
			live[t.primaryKey(obj)] = obj
		}
		for _, ix := range t.tableIndexes() {
			want := 0
			seen := map[string]bool{}
			for id, obj := range live {
				k, ok := ix.keyOf(obj, nil)
				if !ok {
					continue
				}
				want++
				// The record is found under its key: go-memdb files a record
				// of a non-unique index under the key followed by its id.
				full := k
				if !ix.isUnique() {
					full = appendString(k[:len(k):len(k)], id)
				}
				if tx.first(name, ix.indexName(), full) != obj {
					return fmt.Errorf("store: %s.%s: %s is not under the key of its value", name, ix.indexName(), reveal(id, "(secret)", t.idIndex()))
				}
				if ix.isUnique() {
					if seen[string(k)] {
						return fmt.Errorf("store: %s.%s: two records share a unique key", name, ix.indexName())
					}
					seen[string(k)] = true
				}
			}
			got := 0
			it := tx.get(name, ix.indexName(), nil)
			for obj := it.Next(); obj != nil; obj = it.Next() {
				got++
				id := t.primaryKey(obj)
				if live[id] != obj {
					return fmt.Errorf("store: %s.%s: entry for %s points at a record that is not the live one", name, ix.indexName(), reveal(id, "(secret)", t.idIndex()))
				}
			}
			if got != want {
				return fmt.Errorf("store: %s.%s: %d entries for %d records with a value", name, ix.indexName(), got, want)
			}
		}
		for _, fk := range tx.db.info.outbound[t] {
			for id, obj := range live {
				v := fk.fkValue(obj)
				if v == "" {
					continue
				}
				target, ok := fk.target(tx, v)
				if !ok {
					return fmt.Errorf("store: %s %s: %s %s names no %s", name, reveal(id, "(secret)", t.idIndex()),
						fk.fieldName(), reveal(strconv.Quote(v), "(secret)", fk.fromIndex(), fk.toIndex()), fk.toTable().tableName())
				}
				if !fk.matches(obj, target) {
					return fmt.Errorf("store: %s %s: %s does not match the %s it names", name, reveal(id, "(secret)", t.idIndex()),
						fk.fromIndex().fieldName(), fk.toTable().tableName())
				}
			}
		}
	}
	return nil
}

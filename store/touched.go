package store

import (
	"hash/maphash"

	"github.com/hashicorp/go-memdb"
)

// Reads in a write transaction, without go-memdb's copy.
//
// go-memdb answers a read in a write transaction from a clone of each index
// the transaction has changed, and cloning an index drops the cache of radix
// nodes the transaction has already made writable (go-immutable-radix's
// Txn.Clone). Every write checks first — its primary key, its unique values,
// its foreign keys — so each row's checks dropped the cache of its own
// table's primary and unique indexes, and each insert then copied their
// paths from the root again: on a restore of 86,000 rows that was 40% of
// the bytes allocated.
//
// A lookup by an exact key of a unique index needs no clone when the
// transaction has not written that key: the state the transaction started
// from answers it exactly. So a write transaction notes a hash of every key
// of a unique index it writes or removes (touch), and firstUnique reads the
// starting state for any other key. A hash that collides only sends a read
// to go-memdb's clone, which is always right.

// touchSeed seeds the hashes of touched keys; any seed does.
var touchSeed = maphash.MakeSeed()

// touchHash is the hash of a key of an index, as touched notes it.
func touchHash(table, index string, key []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(touchSeed)
	h.WriteString(table)
	h.WriteByte(0)
	h.WriteString(index)
	h.WriteByte(0)
	h.Write(key)
	return h.Sum64()
}

// touch notes the keys that obj has in t's unique indexes, before obj is
// written to t or removed from it.
func (tx *Txn) touch(t anyTable, obj any) {
	if tx.touched == nil {
		tx.touched = map[uint64]struct{}{}
	}
	for _, ix := range t.tableIndexes() {
		if !ix.isUnique() {
			continue
		}
		if k, ok := tx.keyOf(ix, obj); ok {
			tx.touched[touchHash(t.tableName(), ix.indexName(), k)] = struct{}{}
		}
	}
}

// firstUnique is first for an exact key of a unique index.
func (tx *Txn) firstUnique(table, index string, key []byte) any {
	if !tx.write {
		return tx.first(table, index, key)
	}
	if _, ok := tx.touched[touchHash(table, index, key)]; ok {
		return tx.first(table, index, key)
	}
	if tx.start == nil {
		// The writer holds go-memdb's lock: the state does not move
		// until this transaction commits.
		tx.start = tx.db.mem.Load().Txn(false)
	}
	return tx.firstIn(tx.start, table, index, key)
}

// firstIn looks key up in mem, a transaction of go-memdb.
func (tx *Txn) firstIn(mem *memdb.Txn, table, index string, key []byte) any {
	tx.arg.b = key
	obj, err := mem.First(table, index, tx.args...)
	tx.arg.b = nil
	if err != nil {
		// Only an unknown table or index, which Open rules out.
		panic(err)
	}
	return obj
}

package store

import (
	"bytes"
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
// An exact lookup in a unique index needs no clone. A write transaction
// notes, under a hash of each key of a unique index that it writes or
// removes, the record it stored under that key, or nil for a removal
// (touch). A lookup of a key it has not touched is answered by the state the
// transaction started from, which is exact for such a key; one of a key it
// stored a record under, by that record, once its key is checked (the hash
// may be another key's). Anything else — a key it removed, a hash another
// key holds — goes to go-memdb's clone, which is always right.

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

// touch notes the keys that obj has in t's unique indexes, once obj is
// written to t or removed from it: as keys obj is stored under, or as keys
// removed with it (stored false).
func (tx *Txn) touch(t anyTable, obj any, stored bool) {
	if tx.touched == nil {
		tx.touched = map[uint64]any{}
	}
	var under any
	if stored {
		under = obj
	}
	for _, ix := range t.tableIndexes() {
		if !ix.isUnique() {
			continue
		}
		if k, ok := tx.keyOf(ix, obj); ok {
			tx.touched[touchHash(t.tableName(), ix.indexName(), k)] = under
		}
	}
}

// firstUnique is first for an exact key of ix, a unique index of table.
func (tx *Txn) firstUnique(table string, ix anyIndex, key []byte) any {
	if !tx.write {
		return tx.first(table, ix.indexName(), key)
	}
	obj, touched := tx.touched[touchHash(table, ix.indexName(), key)]
	if !touched {
		if tx.start == nil {
			// The writer holds go-memdb's lock: the state does not move
			// until this transaction commits.
			tx.start = tx.db.mem.Load().Txn(false)
		}
		return tx.firstIn(tx.start, table, ix.indexName(), key)
	}
	if obj != nil {
		// key may be in tx.buf: the record's key is built apart.
		k, ok := ix.keyOf(obj, tx.keyBuf[:0])
		tx.keyBuf = k[:0]
		if ok && bytes.Equal(k, key) {
			return obj
		}
	}
	return tx.first(table, ix.indexName(), key)
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

package store

import (
	"fmt"
	"sync"

	"github.com/hashicorp/go-memdb"
)

// DB is a database of the tables of a Schema, held in memory. It is safe
// for concurrent use: any number of readers run alongside one writer, and a
// reader never sees part of a write.
type DB struct {
	mem     *memdb.MemDB
	info    *schemaInfo
	env     any
	readers sync.Pool
}

// Open checks the schema and opens an empty database of it. A broken
// declaration — a relation to a non-unique index or to another schema's
// table, two tables of one name — is an error here. env is whatever the
// layer above wants its delete actions to see of this database (see
// Txn.Env); it may be nil. Opening fixes the schema's declarations.
func Open(s *Schema, env any) (*DB, error) {
	info, err := s.check()
	if err != nil {
		return nil, err
	}
	ms := &memdb.DBSchema{Tables: make(map[string]*memdb.TableSchema, len(info.tables))}
	for name, t := range info.tables {
		ms.Tables[name] = t.memSchema()
	}
	mem, err := memdb.NewMemDB(ms)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s.opened.Store(true)
	db := &DB{mem: mem, info: info, env: env}
	db.readers.New = func() any { return db.newTxn(false) }
	return db, nil
}

// Txn is a transaction: a consistent snapshot of the database and, in
// Update, the writes made on it. A Txn must be used only inside the function
// it was passed to, and by one goroutine.
type Txn struct {
	db    *DB
	mem   *memdb.Txn
	write bool
	// buf holds the key of the current query; arg hands it to go-memdb
	// without converting or allocating.
	buf  []byte
	arg  keyArg
	args []any
}

type keyArg struct{ b []byte }

func (db *DB) newTxn(write bool) *Txn {
	tx := &Txn{db: db, write: write, buf: make([]byte, 0, 128)}
	tx.args = []any{&tx.arg}
	return tx
}

// View runs fn in a read transaction. Read transactions are cheap: they
// take no lock and are reused.
func (db *DB) View(fn func(tx *Txn) error) error {
	tx := db.readers.Get().(*Txn)
	tx.mem = db.mem.Txn(false)
	err := fn(tx)
	tx.mem = nil
	db.readers.Put(tx)
	return err
}

// Update runs fn in a write transaction, the only one at a time. When fn
// returns nil the writes commit; when it returns an error (or panics) none
// of them do.
func (db *DB) Update(fn func(tx *Txn) error) error {
	tx := db.newTxn(true)
	tx.mem = db.mem.Txn(true)
	defer tx.mem.Abort() // after Commit, a no-op
	if err := fn(tx); err != nil {
		return err
	}
	tx.mem.Commit()
	return nil
}

// Env returns the env the database was opened with.
func (tx *Txn) Env() any { return tx.db.env }

// first, get and lowerBound hand a prepared key to go-memdb. The typed
// query methods build it in tx.buf and keep the buffer if it grew.
func (tx *Txn) first(table, index string, key []byte) any {
	tx.arg.b = key
	obj, err := tx.mem.First(table, index, tx.args...)
	tx.arg.b = nil
	if err != nil {
		// Only an unknown table or index, which Open rules out.
		panic(err)
	}
	return obj
}

func (tx *Txn) get(table, index string, key []byte) memdb.ResultIterator {
	var it memdb.ResultIterator
	var err error
	if key == nil {
		it, err = tx.mem.Get(table, index)
	} else {
		tx.arg.b = key
		it, err = tx.mem.Get(table, index, tx.args...)
		tx.arg.b = nil
	}
	if err != nil {
		panic(err)
	}
	return it
}

func (tx *Txn) lowerBound(table, index string, key []byte) memdb.ResultIterator {
	tx.arg.b = key
	it, err := tx.mem.LowerBound(table, index, tx.args...)
	tx.arg.b = nil
	if err != nil {
		panic(err)
	}
	return it
}

// key builds the key of a query value in the transaction's buffer.
func key[T, Q any](tx *Txn, ix *Index[T, Q], q Q) []byte {
	k := ix.query(q, tx.buf[:0])
	tx.buf = k[:0]
	return k
}

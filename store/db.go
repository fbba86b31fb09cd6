package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"
)

// DB is a database of the tables of a Schema, held in memory. It is safe
// for concurrent use: any number of readers run alongside one writer, and a
// reader never sees part of a write.
type DB struct {
	info *schemaInfo
	cfg  Config
	// mem is the state: replaced whole by Replace, so readers load it.
	mem atomic.Pointer[memdb.MemDB]
	// writeMu orders writes and what runs after each commit: go-memdb
	// releases its own writer lock inside Commit, before OnCommit could run.
	writeMu sync.Mutex
	// index counts commits; see Index.
	index atomic.Uint64
	// replaced is closed when Replace abandons the state it was made for.
	replaced atomic.Pointer[chan struct{}]
	readers  sync.Pool
}

// Config is what a DB is opened with beside its schema.
type Config struct {
	// Env is whatever the layer above wants its delete actions to see of
	// this database (see Txn.Env); it may be nil.
	Env any
	// OnCommit, if set, runs after every commit (once it is visible and
	// Index counts it), in commit order, before Update returns and before
	// any other write can commit: the place to invalidate what was derived
	// from the state, or to publish what changed. It must not call Update.
	OnCommit func(Commit)
}

// Commit is what one Update, or one Replace, changed.
type Commit struct {
	// Index is the commit's index: 1 for the first commit, one more for each.
	Index uint64
	// Changes are the records written, in the order of their last write:
	// Before is nil for an insert, After nil for a delete.
	Changes []Change
	// Replaced is set when the whole state was replaced (Replace): Changes
	// is then empty, and everything derived from the old state is stale.
	Replaced bool
}

// Change is one record's change in a commit: pointers to the stored
// records, which must not be modified.
type Change struct {
	Table         string
	Before, After any
}

// Open checks the schema and opens an empty database of it. A broken
// declaration — a relation to a non-unique index or to another schema's
// table, two tables of one name — is an error here. Opening fixes the
// schema's declarations.
func Open(s *Schema, cfg Config) (*DB, error) {
	info, err := s.check()
	if err != nil {
		return nil, err
	}
	db, err := newDB(info, cfg)
	if err != nil {
		return nil, err
	}
	s.opened.Store(true)
	return db, nil
}

func newDB(info *schemaInfo, cfg Config) (*DB, error) {
	db := &DB{info: info, cfg: cfg}
	ms := &memdb.DBSchema{Tables: make(map[string]*memdb.TableSchema, len(info.tables))}
	for name, t := range info.tables {
		ms.Tables[name] = t.memSchema()
	}
	mem, err := memdb.NewMemDB(ms)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db.mem.Store(mem)
	ch := make(chan struct{})
	db.replaced.Store(&ch)
	db.readers.New = func() any { return db.newTxn(false) }
	return db, nil
}

// Index returns the index of the last commit (0 before the first). It is
// raised as soon as a commit is visible, before its OnCommit runs: so a View
// that starts after reading index n sees at least commit n, and a value
// derived from it is stale only if the index has moved since — what a
// cache checks before it keeps one, while OnCommit clears those it kept.
func (db *DB) Index() uint64 { return db.index.Load() }

// Fresh returns an empty database of db's schema and Env, with no OnCommit:
// a state built off to the side, to be swapped in whole by Replace.
func (db *DB) Fresh() (*DB, error) {
	return newDB(db.info, Config{Env: db.cfg.Env})
}

// Replace makes the state of other, a database that Fresh made, db's
// state at once: readers see the old state or the new, never a mix. It is
// a commit of its own (Commit.Replaced), and what waited on the old state
// (see Txn.Replaced) is woken. other must not be used afterwards.
func (db *DB) Replace(other *DB) error {
	if other.info != db.info {
		return fmt.Errorf("store: Replace with a database of another schema")
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	db.mem.Store(other.mem.Load())
	n := db.index.Add(1)
	if db.cfg.OnCommit != nil {
		db.cfg.OnCommit(Commit{Index: n, Replaced: true})
	}
	ch := make(chan struct{})
	close(*db.replaced.Swap(&ch))
	return nil
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
	// replacedCh is closed when Replace abandons the state mem reads.
	replacedCh *chan struct{}
	// watch, in ViewWatch, collects the watch channels of what is read;
	// tables holds each table's own channel, watched past watchLimit.
	watch      memdb.WatchSet
	watchLimit int
	tables     map[string]<-chan struct{}
	// mirror, in a Mirror transaction, logs what it wrote (write.go).
	mirror *mirrorLog
	// start, in a write transaction, reads the state it started from;
	// touched holds what it wrote under each unique key, by the key's hash;
	// keyBuf builds a record's key apart from buf (touched.go).
	start   *memdb.Txn
	touched map[uint64]any
	keyBuf  []byte
	// writes counts the records written, to raise the collector's target
	// for a bulk write (gc.go).
	writes int
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
	// The channel before the state: a Replace between the two loads then
	// wakes a watcher for nothing, rather than leaving it asleep.
	tx.replacedCh = db.replaced.Load()
	tx.mem = db.mem.Load().Txn(false)
	err := fn(tx)
	tx.mem = nil
	db.readers.Put(tx)
	return err
}

// Update runs fn in a write transaction, the only one at a time. When fn
// returns nil the writes commit, and OnCommit runs before Update returns;
// when it returns an error (or panics) none of them do.
func (db *DB) Update(fn func(tx *Txn) error) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	tx := db.newTxn(true)
	tx.replacedCh = db.replaced.Load()
	tx.mem = db.mem.Load().Txn(true)
	defer tx.mem.Abort() // after Commit, a no-op
	defer func() {
		if tx.writes >= bulkWrites {
			lowerGC()
		}
	}()
	if db.cfg.OnCommit != nil {
		tx.mem.TrackChanges()
	}
	if err := fn(tx); err != nil {
		return err
	}
	changes := tx.mem.Changes()
	tx.mem.Commit()
	n := db.index.Add(1)
	if db.cfg.OnCommit != nil {
		c := Commit{Index: n, Changes: make([]Change, len(changes))}
		for i, ch := range changes {
			c.Changes[i] = Change{Table: ch.Table, Before: ch.Before, After: ch.After}
		}
		db.cfg.OnCommit(c)
	}
	return nil
}

// Env returns the Env the database was opened with.
func (tx *Txn) Env() any { return tx.db.cfg.Env }

// Replaced returns a channel that is closed when Replace abandons the state
// this transaction reads: a watch on that state must wake then, since its
// own channels never will.
func (tx *Txn) Replaced() <-chan struct{} { return *tx.replacedCh }

// first, get and lowerBound hand a prepared key to go-memdb. The typed
// query methods build it in tx.buf and keep the buffer if it grew.
func (tx *Txn) first(table, index string, key []byte) any {
	if tx.watch == nil {
		return tx.firstIn(tx.mem, table, index, key)
	}
	tx.arg.b = key
	ch, obj, err := tx.mem.FirstWatch(table, index, tx.args...)
	tx.arg.b = nil
	if err != nil {
		panic(err) // as in firstIn
	}
	tx.watched(table, ch)
	return obj
}

// watched adds a watch channel of table to the transaction's watch set, or
// past its limit the table's own channel: a large read watches the table
// rather than a channel per record, so that waiting on it takes few
// goroutines (go-memdb waits on 32 channels per goroutine).
func (tx *Txn) watched(table string, ch <-chan struct{}) {
	if len(tx.watch) < tx.watchLimit {
		tx.watch.Add(ch)
		return
	}
	all, ok := tx.tables[table]
	if !ok {
		it, err := tx.mem.Get(table, "id")
		if err != nil {
			panic(err)
		}
		all = it.WatchCh()
		tx.tables[table] = all
	}
	tx.watch.Add(all)
}

// Watch is what a transaction of ViewWatch read, to wait on until it may
// have changed.
type Watch struct {
	set      memdb.WatchSet
	replaced <-chan struct{}
}

// ViewWatch runs fn in a read transaction, as View does, and returns a
// Watch of everything fn read — the records found, the lookups that found
// nothing, the ranges iterated — watching at most about limit channels
// before it watches whole tables instead.
func (db *DB) ViewWatch(limit int, fn func(tx *Txn) error) (*Watch, error) {
	tx := db.newTxn(false)
	tx.replacedCh = db.replaced.Load()
	tx.mem = db.mem.Load().Txn(false)
	tx.watch, tx.watchLimit, tx.tables = memdb.NewWatchSet(), max(limit, 1), map[string]<-chan struct{}{}
	if err := fn(tx); err != nil {
		return nil, err
	}
	return &Watch{set: tx.watch, replaced: *tx.replacedCh}, nil
}

// Wait blocks until something the transaction read may have changed, or the
// state it read was replaced (nil), or ctx is done (ctx's error).
func (w *Watch) Wait(ctx context.Context) error {
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	fired := make(chan error, 1)
	go func() { fired <- w.set.WatchCtx(inner) }()
	select {
	case err := <-fired:
		if err != nil {
			return ctx.Err()
		}
		return nil
	case <-w.replaced:
		cancel()
		<-fired
		return nil
	}
}

func (tx *Txn) get(table, index string, key []byte) memdb.ResultIterator {
	if key == nil {
		it, err := tx.mem.Get(table, index)
		return tx.opened(table, it, err)
	}
	tx.arg.b = key
	it, err := tx.mem.Get(table, index, tx.args...)
	tx.arg.b = nil
	return tx.opened(table, it, err)
}

func (tx *Txn) lowerBound(table, index string, key []byte) memdb.ResultIterator {
	tx.arg.b = key
	it, err := tx.mem.LowerBound(table, index, tx.args...)
	tx.arg.b = nil
	return tx.opened(table, it, err)
}

// opened returns an iterator go-memdb opened on table, watched if the
// transaction watches. Its error can only be an unknown table or index,
// which Open rules out.
func (tx *Txn) opened(table string, it memdb.ResultIterator, err error) memdb.ResultIterator {
	if err != nil {
		panic(err)
	}
	if tx.watch != nil {
		tx.watched(table, it.WatchCh())
	}
	return it
}

// key builds the key of a query value in the transaction's buffer.
func key[T, Q any](tx *Txn, ix *Index[T, Q], q Q) []byte {
	k := ix.query(q, tx.buf[:0])
	tx.buf = k[:0]
	return k
}

package pgreplica

import (
	"context"
	"iter"
	"time"

	"github.com/jackc/pglogrepl"
)

// LSN is a PostgreSQL log sequence number: a position in the primary's WAL.
type LSN = pglogrepl.LSN

// Value is one column of a row as Postgres sent it: its text form, written
// by the column type's output function under the session settings that the
// replica fixes on every connection (see SessionSettings), so that a value
// reads the same in a Snapshot and in a Txn. TypeOID says how to decode it
// (pgtype's OID constants name them: JSONBOID, TimestamptzOID, BoolOID,
// TextArrayOID, ...).
type Value struct {
	// Null is true for SQL NULL; Text is then empty.
	Null bool
	// Unchanged is true, in an Update's New row only, for a TOASTed column
	// that the update did not change: Postgres does not send it again, and
	// the value the sink already holds stays. Text is then empty.
	Unchanged bool
	// Text is the value in Postgres' text format.
	Text string
	// TypeOID is the column's type.
	TypeOID uint32
}

// Row is a row by column name.
type Row map[string]Value

// Op is what a Change does to its table.
type Op int

// The operations a Change can carry.
const (
	// Insert adds Change.New.
	Insert Op = iota + 1
	// Update replaces the row identified by Change.Key with Change.New.
	Update
	// Delete removes the row identified by Change.Key.
	Delete
	// Truncate removes every row of the table.
	Truncate
)

// String returns the operation's SQL name.
func (op Op) String() string {
	switch op {
	case Insert:
		return "INSERT"
	case Update:
		return "UPDATE"
	case Delete:
		return "DELETE"
	case Truncate:
		return "TRUNCATE"
	}
	return "Op(?)"
}

// Change is one row change of a transaction, in the order Postgres made it.
// The effects of foreign keys are changes of their own in the same
// transaction, after the change that caused them: deleting a user is a
// Delete of the user followed by Deletes of its sessions and tokens (ON
// DELETE CASCADE) and Updates of the tokens whose sessionId became NULL (ON
// DELETE SET NULL).
type Change struct {
	// Table is the table's name, without its schema.
	Table string
	// Op is what the change does.
	Op Op
	// Key identifies the row that an Update or Delete changes, with its
	// values from before the change: its replica identity columns (only "id"
	// under the default identity, the primary key) or, under REPLICA
	// IDENTITY FULL, the whole old row. Nil for Insert and Truncate.
	Key Row
	// New is the row after an Insert or Update; nil for Delete and Truncate.
	// In an Update, a TOASTed column the update left alone is Unchanged.
	New Row
}

// Txn is one committed Postgres transaction's changes to the replicated
// tables.
type Txn struct {
	// XID is the transaction's ID on the primary.
	XID uint32
	// CommitLSN is where the transaction's commit record starts. Commit
	// LSNs increase strictly from one Txn to the next.
	CommitLSN LSN
	// EndLSN is where its commit record ends: the position the replica
	// acknowledges once the sink has applied it.
	EndLSN LSN
	// CommitTime is when the primary committed it, by the primary's clock.
	CommitTime time.Time
	// Changes are the row changes, in the order they were made; never
	// empty.
	Changes []Change
}

// Snapshot is a consistent copy of the replicated tables: every transaction
// whose commit LSN is below LSN and nothing else. The stream of Txns that
// follows a Load starts exactly there.
type Snapshot struct {
	// LSN is the slot's consistent point.
	LSN LSN
	// Tables are the tables in Config.Tables order (parents before
	// children, for a sink that checks foreign keys as it loads).
	Tables []Table
}

// Table is one table of a Snapshot.
type Table struct {
	// Name is the table's name, without its schema.
	Name string
	// Columns are its columns in table order.
	Columns []Column
	// Rows are all its rows, in no particular order; every Row has every
	// column, none of them Unchanged.
	Rows []Row
}

// Column is a column's name and type.
type Column struct {
	Name    string // as in the table, camelCase for better-auth's
	TypeOID uint32 // the column's type, as in Value.TypeOID
}

// Sink receives the replicated tables: a snapshot, then every transaction
// after it. A Replica calls it from one goroutine at a time, never
// concurrently, and hands over the Snapshot and Txn values: the sink may
// keep them.
//
// A sink that cannot take a row it is given (a foreign key it does not
// know, a value it cannot decode) should count it, log it and go on, and
// return nil. An error means the sink cannot go on from where it is: the
// replica then drops its connection and, once reconnected, calls Load with
// a fresh snapshot (a full resync), so that the sink starts over from a
// consistent state. Apply must therefore apply all of a transaction or
// nothing of it.
type Sink interface {
	// Load replaces everything the sink holds with snap: the initial load,
	// or a full resync (the sink should build the new state off to the
	// side and swap it in, so that readers never see it half-built).
	Load(ctx context.Context, snap Snapshot) error
	// Apply applies one transaction. Transactions come in commit order,
	// each exactly once after the Load they follow.
	Apply(ctx context.Context, tx Txn) error
}

// A StreamingSink is a Sink that takes rows as they arrive, so that a
// transaction or a snapshot of any size costs it the memory of a row rather
// than of all of them (a Follower's sink is one). The replica calls
// ApplyStream instead of Apply, and LoadStream instead of Load.
//
// ApplyStream is called for every transaction, empty ones included: changes
// yields its changes in order and ends with it; tx's EndLSN, and its final
// CommitLSN and CommitTime, are set once changes has ended (its Changes stay
// nil). LoadStream replaces everything the sink holds with the snapshot
// taken at lsn: rows yields its rows as Inserts, table by table in
// Config.Tables order, as they are read. A non-nil error yielded means the
// stream or the read failed: the sink must then keep nothing of it and
// return an error. As with Apply and Load, all of it or nothing, and it
// counts only if the sink read the sequence to its end and returned nil.
type StreamingSink interface {
	Sink
	ApplyStream(ctx context.Context, tx *Txn, changes iter.Seq2[Change, error]) error
	LoadStream(ctx context.Context, lsn LSN, rows iter.Seq2[Change, error]) error
}

// An Advancer is a Sink that keeps its position with its state, so that a
// saved state says where the stream resumes (a Follower's DB does). The
// replica calls Advance, between transactions, when its position moves
// with no transaction to apply: WAL that held only other tables' changes,
// or heartbeats. An error is treated as Apply's.
type Advancer interface {
	Sink
	Advance(ctx context.Context, lsn LSN) error
}

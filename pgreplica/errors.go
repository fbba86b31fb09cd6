package pgreplica

import (
	"errors"
	"fmt"
)

// ErrRunning is returned by Run while another Run of the same Replica is
// still going.
var ErrRunning = errors.New("pgreplica: the replica is already running")

// ErrSilent ends a connection on which nothing arrived from the primary for
// Config.Timeout.
var ErrSilent = errors.New("pgreplica: no message from the primary within the timeout")

// ErrSlotLost ends a session whose slot cannot serve the stream the sink
// needs: dropped, invalidated, its WAL removed, or acknowledged past the
// sink's position. The next session loads a fresh snapshot.
var ErrSlotLost = errors.New("pgreplica: the replication slot is lost")

// ErrSchemaChanged ends a session in which a replicated table's columns
// changed (ALTER TABLE): the rows the sink holds may no longer be what
// Postgres holds (a dropped column, a column added with a default), and the
// stream will not say so, so the next session resyncs.
var ErrSchemaChanged = errors.New("pgreplica: a replicated table's columns changed")

// ConfigError is a Config that New refuses.
type ConfigError struct {
	Field  string // the Config field
	Reason string
}

// Error describes the failure.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("pgreplica: config: %s %s", e.Field, e.Reason)
}

// SetupError is a failure to prepare a session: connecting, the
// publication, the slot.
type SetupError struct {
	Step string // what was being done
	Err  error
}

// Error describes the failure.
func (e *SetupError) Error() string { return fmt.Sprintf("pgreplica: %s: %v", e.Step, e.Err) }

// Unwrap returns the underlying error.
func (e *SetupError) Unwrap() error { return e.Err }

// LoadError is a failure of the initial load or a resync: reading the
// snapshot, or the sink's Load.
type LoadError struct {
	Table string // the table being read, or "" when Sink.Load failed
	Err   error
}

// Error describes the failure.
func (e *LoadError) Error() string {
	if e.Table == "" {
		return fmt.Sprintf("pgreplica: sink load: %v", e.Err)
	}
	return fmt.Sprintf("pgreplica: load table %q: %v", e.Table, e.Err)
}

// Unwrap returns the underlying error.
func (e *LoadError) Unwrap() error { return e.Err }

// ApplyError is an error returned by Sink.Apply. It ends the connection, and
// the next session resyncs.
type ApplyError struct {
	XID       uint32
	CommitLSN LSN
	Err       error
}

// Error describes the failure.
func (e *ApplyError) Error() string {
	return fmt.Sprintf("pgreplica: sink apply of transaction %d (commit %s): %v", e.XID, e.CommitLSN, e.Err)
}

// Unwrap returns the sink's error.
func (e *ApplyError) Unwrap() error { return e.Err }

// ProtocolError is a message from the primary that the replica cannot make
// sense of: one it does not parse, or one out of place (a change outside a
// transaction, a relation it was never told about). It ends the connection.
type ProtocolError struct {
	What string
}

// Error describes the failure.
func (e *ProtocolError) Error() string { return "pgreplica: replication protocol: " + e.What }

// StreamError is a failure of the replication connection while streaming:
// an error the primary reported, or the connection lost.
type StreamError struct {
	Err error
}

// Error describes the failure.
func (e *StreamError) Error() string { return fmt.Sprintf("pgreplica: stream: %v", e.Err) }

// Unwrap returns the underlying error.
func (e *StreamError) Unwrap() error { return e.Err }

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/pgreplica"
)

// A source is where the served data comes from, and how fresh it is: an
// embedded dataset (the sample, or a snapshot file) loaded before the
// server listens, or a live replica of better-auth's Postgres (package
// pgreplica), which loads while the server listens and then follows every
// commit.
type source interface {
	// DB is the store the server reads. It is the same DB for the source's
	// life: a replica's resync replaces the DB's content, not the DB.
	DB() *oauthdb.DB
	// Ready reports whether introspection may be answered now: the data is
	// loaded and, for a replica, fresh enough (-max-lag). It is asked on
	// every introspection, so it must be cheap: an atomic load, not a lock.
	// A source that is not ready makes the server answer 503, failing
	// closed, and /healthz 503.
	Ready() bool
	// Replica reports the replica's state for /healthz and /metrics, and
	// false when the source is not a replica.
	Replica() (replicaStatus, bool)
	// Run does the source's work until ctx is done (a replica streams). It
	// returns nil at once when there is nothing to run; an error stops the
	// server.
	Run(ctx context.Context) error
}

// replicaStatus is what a replica reports of itself.
type replicaStatus struct {
	// Loaded is whether the first load (or the last resync) is done.
	Loaded bool
	// Lag is how far the data may trail Postgres: the time since the
	// replica was last caught up.
	Lag time.Duration
	// AppliedLSN is the replica's position: it holds every transaction
	// committed in Postgres before it (compare with pg_current_wal_lsn()).
	AppliedLSN pgreplica.LSN
	// RowsApplied and RowsRefused count the rows the replica applied and
	// those it could not apply and skipped.
	RowsApplied, RowsRefused uint64
	// SlotRetainedBytes is the WAL the replica's slot holds on the
	// primary; StateWritten when its state was last written (zero with
	// none).
	SlotRetainedBytes int64
	StateWritten      time.Time
}

// embedded is a source whose data is loaded once, before the server
// starts, and never changes: the sample dataset, or a snapshot file.
type embedded struct {
	db *oauthdb.DB
}

// DB returns the DB the data was loaded into.
func (e *embedded) DB() *oauthdb.DB { return e.db }

// Ready is always true: the data was loaded before the server started.
func (e *embedded) Ready() bool { return true }

// Replica reports that an embedded dataset is no replica.
func (e *embedded) Replica() (replicaStatus, bool) { return replicaStatus{}, false }

// Run has nothing to run: the data never changes.
func (e *embedded) Run(ctx context.Context) error { return nil }

// loadSnapshot opens a DB holding the records of a snapshot file: the JSON
// of an oauthdb.Snapshot, better-auth's table names as keys.
func loadSnapshot(path string, opts ...oauthdb.Option) (*oauthdb.DB, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var snap oauthdb.Snapshot
	if err := json.NewDecoder(f).Decode(&snap); err != nil {
		return nil, 0, fmt.Errorf("%s: not the JSON of a snapshot: %w", path, err)
	}
	db, err := oauthdb.Open(opts...)
	if err != nil {
		return nil, 0, err
	}
	if err := db.Restore(snap); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return db, snap.Len(), nil
}

// following is a source that is a live replica of better-auth's Postgres:
// a pgreplica.Follower keeps its DB in step, loading it after the server
// listens and then applying every commit. It is ready while the DB is
// fresh: the DB itself fails closed (oauthdb.ErrStale) past -max-lag.
type following struct {
	db *oauthdb.DB
	f  *pgreplica.Follower
}

// newFollowing opens a replica DB and the Follower that keeps it in step.
func newFollowing(o *serveOptions, log *slog.Logger, opts []oauthdb.Option) (*following, error) {
	db, err := oauthdb.Open(append(opts, oauthdb.WithReplica())...)
	if err != nil {
		return nil, err
	}
	f, err := pgreplica.NewFollower(pgreplica.FollowerConfig{
		Config: pgreplica.Config{DSN: postgresDSN(o.postgres), Slot: o.slot, Logger: log,
			// A proof every fifth of -max-lag, at most every second: the
			// replica stays fresh with room for a heartbeat's round trip.
			StatusInterval: min(pgreplica.DefaultStatusInterval, o.maxLag/5),
			SlotTTL:        o.slotTTL, SlotPrefix: fleetSlotPrefix},
		MaxLag:      o.maxLag,
		StateDir:    o.stateDir,
		SharedMarks: o.sharedMarks,
	}, db)
	if err != nil {
		return nil, err
	}
	if o.slotTTL > 0 && o.stateDir != "" && !strings.HasPrefix(o.slot, fleetSlotPrefix) {
		log.Warn("oauthdb serve: the slot's name does not start with "+fleetSlotPrefix+
			": the other instances will not reclaim it if this one is gone for good", "slot", o.slot)
	}
	return &following{db: db, f: f}, nil
}

// DB returns the replica DB.
func (s *following) DB() *oauthdb.DB { return s.db }

// Ready reports whether the replica answers now: loaded and caught up
// within -max-lag. One atomic load.
func (s *following) Ready() bool { return s.db.Now().Before(s.db.FreshUntil()) }

// Replica reports the Follower's state.
func (s *following) Replica() (replicaStatus, bool) {
	st := s.f.Status()
	lag := time.Duration(0)
	if !st.CaughtUpAt.IsZero() {
		lag = time.Since(st.CaughtUpAt)
	}
	return replicaStatus{Loaded: st.Loaded, Lag: lag, AppliedLSN: st.AppliedLSN, RowsApplied: st.Rows, RowsRefused: st.Refused,
		SlotRetainedBytes: st.SlotRetainedBytes, StateWritten: st.StateWritten}, true
}

// Run streams until ctx is done, and then writes the replica's state and
// releases its directory.
func (s *following) Run(ctx context.Context) error {
	err := s.f.Run(ctx)
	s.f.Close()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// postgresDSN is the DSN of -postgres for pgreplica. An empty one means
// what it means to libpq: every setting from the PG* variables and the
// password file. pgreplica refuses an empty DSN, which in a program is
// more often a mistake; a blank one is the same to pgx's parser.
func postgresDSN(dsn string) string {
	if strings.TrimSpace(dsn) == "" {
		return " "
	}
	return dsn
}

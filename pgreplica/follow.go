package pgreplica

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/betterauth"
	"github.com/oauthdb/oauthdb/store"
)

// DefaultMaxLag is how old, by default, a Follower's last proof of being
// caught up may be before its DB fails closed.
const DefaultMaxLag = 5 * time.Second

// Follower keeps an oauthdb replica (a DB opened with oauthdb.WithReplica)
// in step with better-auth's tables in Postgres: a Replica whose sink
// decodes every row with package betterauth and applies each transaction
// with one DB.Mirror, and which vouches for the DB (DB.SetFreshUntil) as
// long as the replica proves it is caught up (Status.CaughtUpAt).
//
// The DB fails closed: until the first load and catch-up, and whenever the
// last proof is older than MaxLag (the stream stopped, fell behind, or is
// being resynced), it calls no token active (oauthdb.ErrStale). An answer
// at time t reflects every transaction Postgres committed before t -
// MaxLag: a token revoked in Postgres is inactive on every follower within
// MaxLag, whatever happens to the network, and in a few milliseconds while
// all is well.
//
// A row the DB cannot keep (one it cannot decode, one its door refuses, one
// that names a row it does not have) is refused: counted, logged by table
// and id (never a value), and not kept in any form, so that a refusal can
// only make a token inactive, never keep one active.
//
// Proofs, and MaxLag, are measured on the wall clock. The DB may run on
// another (oauthdb.WithClock: a test's, at a moment of its own scenario):
// the Follower vouches on the DB's clock for the time the last proof has
// left, and decides the marks that depend on the time on the DB's clock
// too. On the wall clock, the DB's default, that is the proof's moment
// plus MaxLag exactly, and the DB fails closed at that instant by itself;
// a clock that stands still ends nothing by itself, and such a DB fails
// closed when the Follower next looks, within a vouch interval (MaxLag/50,
// at most 100 ms).
type Follower struct {
	r       *Replica
	db      *oauthdb.DB
	sink    *dbSink
	maxLag  time.Duration
	every   time.Duration
	running atomic.Bool

	// state is the durable state, nil without a StateDir; stateEvery is
	// how often it is written, and restored whether Run read it already.
	state       *followerState
	stateEvery  time.Duration
	restored    bool
	sharedMarks bool
	log         *slog.Logger
}

// FollowerConfig configures a Follower.
type FollowerConfig struct {
	// Config is the replica's. Its Tables default to DefaultTables.
	Config
	// MaxLag is how old the last proof that the replica is caught up may
	// be while the DB still answers (see Status.Fresh); default
	// DefaultMaxLag. It must be longer than Config.StatusInterval, since
	// proofs come once per interval, plus the time a heartbeat takes to
	// come back (see the package doc).
	MaxLag time.Duration

	// StateDir, when set, is a directory of the Follower's own where its
	// state outlives the process: its DB's rows, marks and position (see
	// the package doc, A Follower's state). Run reads it at start and
	// resumes the slot, a permanent one, from there; the answers stay
	// monotonic across a restart. Without a StateDir the slot is temporary
	// (Config.TemporarySlot): nothing is left behind, and every session
	// loads.
	StateDir string
	// StateInterval is how often the state is written while the position
	// moves; default DefaultStateInterval. It bounds how much WAL the slot
	// holds back, and how much a restart after a crash streams again.
	StateInterval time.Duration

	// SharedMarks makes the Follower share its marks with the others of
	// its fleet through a table of oauthdb's own in Postgres, MarksTable,
	// added to the replicated tables: a Follower that starts later then
	// knows what the others held inactive (see follow_fleet.go). Opt-in:
	// the role needs to write that table.
	SharedMarks bool
}

// NewFollower returns a Follower that keeps db, which must be a replica,
// in step with cfg's database. It does not connect: Run does.
func NewFollower(cfg FollowerConfig, db *oauthdb.DB) (*Follower, error) {
	if db == nil {
		return nil, &ConfigError{Field: "db", Reason: "is nil"}
	}
	if !db.IsReplica() {
		return nil, &ConfigError{Field: "db", Reason: "is not a replica: open it with oauthdb.WithReplica"}
	}
	if cfg.MaxLag == 0 {
		cfg.MaxLag = DefaultMaxLag
	}
	interval := cfg.StatusInterval
	if interval == 0 {
		interval = DefaultStatusInterval
	}
	if cfg.MaxLag <= interval {
		return nil, &ConfigError{Field: "MaxLag", Reason: fmt.Sprintf("%v is not longer than StatusInterval (%v)", cfg.MaxLag, interval)}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.StateInterval <= 0 {
		cfg.StateInterval = DefaultStateInterval
	}
	if cfg.SharedMarks {
		// Last, after the tokens its rows name.
		tables := cfg.Tables
		if len(tables) == 0 {
			tables = DefaultTables
		}
		cfg.Tables = append(slices.Clip(tables), MarksTable)
	}
	f := &Follower{db: db, maxLag: cfg.MaxLag, every: vouchInterval(cfg.MaxLag), stateEvery: cfg.StateInterval, log: log,
		sharedMarks: cfg.SharedMarks}
	if cfg.StateDir == "" {
		cfg.TemporarySlot = true
	} else {
		st, err := openState(cfg.StateDir)
		if err != nil {
			return nil, &ConfigError{Field: "StateDir", Reason: err.Error()}
		}
		f.state = st
		cfg.Durable = st.durableLSN
	}
	f.sink = &dbSink{db: db, log: log, loads: make(chan struct{}, 1), maxLag: cfg.MaxLag}
	r, err := New(cfg.Config, f.sink)
	if err != nil {
		if f.state != nil {
			f.state.unlock()
		}
		return nil, err
	}
	f.r, f.sink.r = r, r
	return f, nil
}

// onClockOf returns the moment of db's clock at which the wall clock will
// read wall: wall itself when db runs on the wall clock — its reading falls
// between two of the wall clock's, and nothing is added to the proof — and
// otherwise wall moved by how far db's clock is from the wall's now,
// measured against the later wall reading, so that a moment vouched for
// comes no later than the proof allows.
func onClockOf(db *oauthdb.DB, wall time.Time) time.Time {
	before := time.Now()
	now := db.Now()
	after := time.Now()
	if !now.Before(before) && !now.After(after) {
		return wall
	}
	return wall.Add(now.Sub(after))
}

// vouchInterval is how often a Follower reads the replica's status to
// vouch for the DB: often enough that the DB goes stale at most a few
// percent of MaxLag late, or fresh that soon after catching up.
func vouchInterval(maxLag time.Duration) time.Duration {
	return min(max(maxLag/50, 5*time.Millisecond), 100*time.Millisecond)
}

// Run replicates until ctx is done and returns ctx's error, or ErrRunning
// if the Follower is already running. When it returns, the DB is stale.
// With a StateDir, the first Run reads the saved state, if any, before it
// connects (an error reading it is returned: see followerState.read), and
// every Run writes the state before it returns.
func (f *Follower) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer f.running.Store(false)
	if f.state != nil && !f.restored {
		start := time.Now()
		pos, ok, info, err := f.state.read(f.db)
		if err != nil {
			return fmt.Errorf("pgreplica: read the state in %s: %w", f.state.dir, err)
		}
		if ok {
			f.r.resume(pos.lsn, pos.systemID)
			f.log.Info("pgreplica: read the saved state", "slot", f.r.cfg.Slot, "snapshot", info, "took", time.Since(start))
		}
		f.restored = true
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.vouch(ctx)
	}()
	if f.state != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.persist(ctx)
		}()
	}
	if f.sharedMarks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.shareMarks(ctx)
		}()
	}
	err := f.r.Run(ctx)
	cancel()
	wg.Wait()
	f.db.SetFreshUntil(time.Time{})
	if f.state != nil {
		if werr := f.state.write(f.db); werr != nil {
			f.log.Error("pgreplica: cannot write the state", "slot", f.r.cfg.Slot, "dir", f.state.dir, "err", werr)
		}
	}
	return err
}

// persist writes the state every StateInterval, and soon after a load,
// until ctx is done.
func (f *Follower) persist(ctx context.Context) {
	t := time.NewTicker(f.stateEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.sink.loads:
		}
		if err := f.state.write(f.db); err != nil {
			f.log.Error("pgreplica: cannot write the state", "slot", f.r.cfg.Slot, "dir", f.state.dir, "err", err)
		}
	}
}

// Close releases the state directory. A Follower with a StateDir holds it
// locked from NewFollower on; Close it when done with the Follower (after
// Run returned).
func (f *Follower) Close() error {
	if f.state != nil {
		f.state.unlock()
	}
	return nil
}

// vouch keeps the DB's freshness in step with the replica's status until
// ctx is done.
func (f *Follower) vouch(ctx context.Context) {
	t := time.NewTicker(f.every)
	defer t.Stop()
	for {
		st := f.r.Status()
		if st.Loaded && !st.CaughtUpAt.IsZero() {
			// The rows were current at CaughtUpAt: they may serve until
			// MaxLag after it, on the DB's clock.
			f.db.SetFreshUntil(onClockOf(f.db, st.CaughtUpAt.Add(f.maxLag)))
		} else {
			f.db.SetFreshUntil(time.Time{})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// FollowerStatus is a Follower's state, for health checks and metrics.
type FollowerStatus struct {
	// Status is the replica's.
	Status
	// Fresh is whether the DB answers now; FreshUntil is when, by the
	// DB's clock, it goes stale unless vouched for again (zero when it is
	// stale).
	Fresh      bool
	FreshUntil time.Time
	// Rows counts the rows loaded and the row changes applied since the
	// Follower was made; Refused those refused (see Follower), and
	// LastRefusal is the latest, or nil.
	Rows, Refused uint64
	LastRefusal   *oauthdb.Refusal
	// With a StateDir: StateLSN is the position the state on disk covers
	// (the replica acknowledges no further), StateWritten when it was
	// written and StateBytes its size, and StateError the last write's
	// error, nil once one succeeds.
	StateLSN     LSN
	StateWritten time.Time
	StateBytes   int64
	StateError   error
}

// Status returns the Follower's state now. It is safe to call at any time.
func (f *Follower) Status() FollowerStatus {
	until := f.db.FreshUntil()
	st := FollowerStatus{
		Status:     f.r.Status(),
		FreshUntil: until,
		Fresh:      !until.IsZero() && f.db.Now().Before(until),
		Rows:       f.sink.rows.Load(),
		Refused:    f.sink.refused.Load(),
	}
	if last := f.sink.last.Load(); last != nil {
		r := *last
		st.LastRefusal = &r
	}
	if f.state != nil {
		f.state.status(&st)
	}
	return st
}

// WaitApplied waits until the DB holds every transaction committed in
// Postgres before lsn (pg_current_wal_lsn() after the commit), or ctx is
// done.
func (f *Follower) WaitApplied(ctx context.Context, lsn LSN) error {
	return f.r.WaitApplied(ctx, lsn)
}

// dbSink is the Sink of a Follower: it turns rows into oauthdb records.
type dbSink struct {
	db      *oauthdb.DB
	r       *Replica // whose source the positions name
	maxLag  time.Duration
	log     *slog.Logger
	loads   chan struct{} // a send after each Load, for a prompt state write
	rows    atomic.Uint64
	refused atomic.Uint64
	last    atomic.Pointer[oauthdb.Refusal]
	// pending are the refusals of the Load or Apply under way, counted
	// once it commits.
	pending []oauthdb.Refusal
	// vals is put's room for a row's values, reused row after row.
	vals map[string]betterauth.Value
}

// markSlack widens the moment a transaction's marks are decided as of
// (its commit time plus MaxLag) by what the primary's clock, which stamps
// the commit, and the follower's, which answers, may disagree by.
const markSlack = time.Second

// maxLoggedRefusals is how many refusals one Load or Apply logs one by one;
// the rest are logged as a count.
const maxLoggedRefusals = 10

// Load replaces the DB's rows with the snapshot's: the Sink's door, which
// the replica does not use (see LoadStream).
func (s *dbSink) Load(ctx context.Context, snap Snapshot) error {
	return s.LoadStream(ctx, snap.LSN, func(yield func(Change, error) bool) {
		for _, t := range snap.Tables {
			for _, row := range t.Rows {
				if !yield(Change{Table: t.Name, Op: Insert, New: row}, nil) {
					return
				}
			}
		}
	})
}

// LoadStream replaces the DB's rows with the snapshot's, off to the side,
// row by row as they are read. Reading and decoding run on a goroutine of
// their own, a batch of rows ahead of the DB's write transaction, which
// takes the decoded rows in order: the two halves of a load take about as
// long, and a replica loads on two cores in about half the time. At most
// loadQueue batches wait between them, so the memory a load holds beyond
// the DB stays bounded; an error on either side stops both.
func (s *dbSink) LoadStream(ctx context.Context, lsn LSN, rows iter.Seq2[Change, error]) error {
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan []decoded, loadQueue)
	free := make(chan []decoded, loadQueue+2)
	var readErr error
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(batches)
		readErr = s.decodeLoad(ctx, rows, batches, free, &n)
	}()
	defer func() {
		cancel() // the reader stops at its next batch, if it has not
		<-done
	}()
	s.pending = s.pending[:0]
	refused, err := s.db.Reload(func(mt *oauthdb.MirrorTx) error {
		if err := mt.SetPosition(s.position(lsn)); err != nil {
			return err
		}
		for batch := range batches {
			for _, d := range batch {
				if err := s.store(mt, d); err != nil {
					return err
				}
			}
			clear(batch)
			select {
			case free <- batch[:0]:
			default:
			}
		}
		// batches is closed once readErr is set.
		if readErr != nil {
			return readErr
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	s.rows.Add(uint64(n))
	s.count(refused)
	select {
	case s.loads <- struct{}{}:
	default:
	}
	return nil
}

// loadBatch is how many decoded rows a load's reader hands over at once,
// and loadQueue how many batches may wait for the DB: enough to ride out
// the DB's pauses (a collection, a burst of copied radix nodes) for a few
// MB of rows.
const (
	loadBatch = 512
	loadQueue = 8
)

// decodeLoad reads a load's rows to their end, decodes them, and sends
// them on in batches, reusing those that come back on free; it counts the
// rows in n. It stops, with ctx's error, as soon as ctx is done.
func (s *dbSink) decodeLoad(ctx context.Context, rows iter.Seq2[Change, error], batches chan<- []decoded,
	free <-chan []decoded, n *int) error {
	vals := map[string]betterauth.Value{}
	batch := make([]decoded, 0, loadBatch)
	send := func() error {
		if err := ctx.Err(); err != nil {
			return err // a send may still find room after the DB stopped
		}
		select {
		case batches <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case batch = <-free:
		default:
			batch = make([]decoded, 0, loadBatch)
		}
		return nil
	}
	for c, err := range rows {
		if err != nil {
			return err
		}
		*n++
		batch = append(batch, s.decode(c.Table, c.New, nil, vals))
		if len(batch) == loadBatch {
			if err := send(); err != nil {
				return err
			}
		}
	}
	return send()
}

// Advance records a position reached with no transaction to apply.
func (s *dbSink) Advance(_ context.Context, lsn LSN) error {
	_, err := s.db.Mirror(func(mt *oauthdb.MirrorTx) error { return mt.SetPosition(s.position(lsn)) })
	return err
}

// position is the DB's position for lsn of the replica's source.
func (s *dbSink) position(lsn LSN) string {
	return position{systemID: s.r.Status().SystemID, lsn: lsn}.String()
}

// Apply applies one whole transaction: the Sink's door, which the replica
// does not use (see ApplyStream).
func (s *dbSink) Apply(ctx context.Context, tx Txn) error {
	return s.ApplyStream(ctx, &tx, func(yield func(Change, error) bool) {
		for _, c := range tx.Changes {
			if !yield(c, nil) {
				return
			}
		}
	})
}

// ApplyStream applies one transaction with one Mirror, change by change as
// the stream delivers them: the DB's write transaction stays open while the
// transaction arrives, and a change is garbage once applied, so that a
// transaction of any size costs no more than its rows in the DB.
func (s *dbSink) ApplyStream(_ context.Context, tx *Txn, changes iter.Seq2[Change, error]) error {
	s.pending = s.pending[:0]
	n := 0
	refused, err := s.db.Mirror(func(mt *oauthdb.MirrorTx) error {
		// The marks are decided as of the last moment a fresh follower
		// can have answered from the rows before tx (see markSlack), on
		// the DB's clock: on the wall clock a function of the stream, the
		// same when tx is streamed again after a crash.
		mt.SetMarkTime(onClockOf(s.db, tx.CommitTime.Add(s.maxLag+markSlack)))
		for c, err := range changes {
			if err != nil {
				return err
			}
			n++
			if err := s.applyChange(mt, c); err != nil {
				return err
			}
		}
		// Known once the transaction has ended.
		return mt.SetPosition(s.position(tx.EndLSN))
	})
	if err != nil {
		return err
	}
	s.rows.Add(uint64(n))
	s.count(refused)
	return nil
}

// applyChange applies one row change.
func (s *dbSink) applyChange(mt *oauthdb.MirrorTx, c Change) error {
	switch c.Op {
	case Insert:
		return s.put(mt, c.Table, c.New, nil)
	case Update:
		// The row as the replica holds it, for the columns Postgres leaves
		// out (TOAST): under its old key if the key changed, in which case
		// that row goes.
		id := c.New["id"].Text
		if k := c.Key["id"]; !k.Null && k.Text != "" {
			id = k.Text
		}
		old, _ := mt.Get(c.Table, id)
		if id != c.New["id"].Text {
			if err := s.delete(mt, c.Table, id); err != nil {
				return err
			}
		}
		return s.put(mt, c.Table, c.New, old)
	case Delete:
		return s.delete(mt, c.Table, c.Key["id"].Text)
	case Truncate:
		err := mt.Truncate(c.Table)
		if errors.Is(err, oauthdb.ErrInvalid) {
			return nil // a table oauthdb does not keep
		}
		return err
	}
	return nil
}

// put decodes a row and stores it. A row with columns Postgres left out as
// Unchanged is decoded onto old, the row the update replaces, whose values
// they keep (nil if the replica has none, and then the row is refused).
func (s *dbSink) put(mt *oauthdb.MirrorTx, table string, row Row, old any) error {
	if s.vals == nil {
		s.vals = map[string]betterauth.Value{}
	}
	return s.store(mt, s.decode(table, row, old, s.vals))
}

// decoded is a row of the source as the DB takes it (store): a record, a
// mark, or the reason the row is refused.
type decoded struct {
	table, id string
	// rec is the record, nil if there is none to store: the row is
	// refused (refusal says why, field which column), is a mark, or is of
	// a table oauthdb does not keep.
	rec            any
	field, refusal string
	mark           *oauthdb.Mark
}

// decode decodes a row of table, onto old as put says, with vals as room
// for its values: it touches neither the DB nor the sink's state, so that a
// load decodes on a goroutine of its own.
func (s *dbSink) decode(table string, row Row, old any, vals map[string]betterauth.Value) decoded {
	if table == MarksTable {
		// Another Follower's mark (or this one's, back).
		m, ok := markOf(row)
		if !ok {
			return decoded{table: table, id: row["token_id"].Text, refusal: "is not a mark"}
		}
		return decoded{table: table, mark: &m}
	}
	id := row["id"].Text
	clear(vals)
	var base any
	for name, v := range row {
		if !v.Unchanged {
			vals[name] = v.BetterAuth()
			continue
		}
		if old == nil {
			return decoded{table: table, id: id, refusal: "an update leaves columns out and the replica has no row to take them from"}
		}
		base = old
	}
	rec, err := betterauth.DecodeRowOnto(table, base, vals)
	if errors.Is(err, betterauth.ErrNotModeled) || errors.Is(err, betterauth.ErrUnknownTable) {
		return decoded{table: table, id: id} // Config.Tables named a table oauthdb does not keep
	}
	if err != nil {
		field := ""
		var re *betterauth.RowError
		if errors.As(err, &re) {
			field = re.Field
		}
		return decoded{table: table, id: id, field: field, refusal: "cannot be decoded"}
	}
	return decoded{table: table, id: id, rec: rec}
}

// store applies a decoded row to the DB.
func (s *dbSink) store(mt *oauthdb.MirrorTx, d decoded) error {
	switch {
	case d.mark != nil:
		return mt.Mark(*d.mark)
	case d.refusal != "":
		return s.refuse(mt, d.table, d.id, d.field, d.refusal)
	case d.rec != nil:
		return mt.Put(d.rec)
	}
	return nil
}

// BetterAuth returns the value as package betterauth decodes it. An
// Unchanged value has none: fill it in from the row it replaces first.
func (v Value) BetterAuth() betterauth.Value {
	if v.Null {
		return betterauth.NullValue()
	}
	return betterauth.TextValue(v.Text, v.TypeOID)
}

func (s *dbSink) delete(mt *oauthdb.MirrorTx, table, id string) error {
	err := mt.Delete(table, id)
	if errors.Is(err, oauthdb.ErrInvalid) {
		return nil // a table oauthdb does not keep
	}
	return err
}

// refuse drops the DB's row of a change that cannot be applied, so that it
// keeps nothing the source has changed, and records the refusal.
func (s *dbSink) refuse(mt *oauthdb.MirrorTx, table, id, field, reason string) error {
	if err := s.delete(mt, table, id); err != nil {
		return err
	}
	s.pending = append(s.pending, oauthdb.Refusal{Table: table, ID: store.Bound(id),
		Err: &oauthdb.Error{Table: table, Field: field, Reason: reason, Err: oauthdb.ErrInvalid}})
	return nil
}

// count records the refusals of a Load or Apply that committed: the
// sink's own and the DB's.
func (s *dbSink) count(refused []oauthdb.Refusal) {
	all := append(s.pending, refused...)
	s.pending = s.pending[:0]
	for i := range all {
		r := all[i]
		s.refused.Add(1)
		s.last.Store(&r)
		if i < maxLoggedRefusals {
			s.log.Warn("pgreplica: row refused", "table", r.Table, "id", r.ID, "err", r.Err)
		}
	}
	if len(all) > maxLoggedRefusals {
		s.log.Warn("pgreplica: more rows refused", "count", len(all)-maxLoggedRefusals)
	}
}

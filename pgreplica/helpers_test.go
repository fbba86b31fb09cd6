package pgreplica_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oauthdb/oauthdb/internal/pgtest"
	"github.com/oauthdb/oauthdb/pgreplica"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Tables is what a sink holds, or what Postgres holds: table -> id -> row.
type Tables map[string]map[string]pgreplica.Row

// sinkUnderTest is a sink whose content can be read back as rows in the
// stream's text form. The plumbing tests run against the recorder below;
// another sink (oauthdb's) can take its place by offering the same.
type sinkUnderTest interface {
	pgreplica.Sink
	Tables() Tables
}

// recorder is a sink that applies what it receives to maps of rows and
// records every call, so that the tests can check both the state and the
// sequence.
type recorder struct {
	mu     sync.Mutex
	loads  []pgreplica.Snapshot
	txns   []pgreplica.Txn // every Apply since the test began
	epochs []int           // len(txns) at each Load
	state  Tables
	faults []string // changes that made no sense against the state

	// failApply, when set, is asked before each Apply; a non-nil error is
	// returned instead of applying.
	failApply func(pgreplica.Txn) error
}

func newRecorder() *recorder { return &recorder{state: Tables{}} }

func (r *recorder) Load(_ context.Context, snap pgreplica.Snapshot) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loads = append(r.loads, snap)
	r.epochs = append(r.epochs, len(r.txns))
	r.state = Tables{}
	for _, t := range snap.Tables {
		rows := make(map[string]pgreplica.Row, len(t.Rows))
		for _, row := range t.Rows {
			rows[row["id"].Text] = row
		}
		r.state[t.Name] = rows
	}
	return nil
}

func (r *recorder) Apply(_ context.Context, tx pgreplica.Txn) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failApply != nil {
		if err := r.failApply(tx); err != nil {
			return err
		}
	}
	r.txns = append(r.txns, tx)
	for _, c := range tx.Changes {
		rows := r.state[c.Table]
		if rows == nil {
			rows = map[string]pgreplica.Row{}
			r.state[c.Table] = rows
		}
		switch c.Op {
		case pgreplica.Insert:
			id := c.New["id"].Text
			if _, ok := rows[id]; ok {
				r.faults = append(r.faults, fmt.Sprintf("txn %d: insert of existing %s %s", tx.XID, c.Table, id))
			}
			rows[id] = c.New
		case pgreplica.Update:
			id := c.Key["id"].Text
			old, ok := rows[id]
			if !ok {
				r.faults = append(r.faults, fmt.Sprintf("txn %d: update of missing %s %s", tx.XID, c.Table, id))
			}
			row := maps.Clone(c.New)
			for col, v := range row {
				if v.Unchanged {
					row[col] = old[col]
				}
			}
			delete(rows, id)
			rows[row["id"].Text] = row
		case pgreplica.Delete:
			id := c.Key["id"].Text
			if _, ok := rows[id]; !ok {
				r.faults = append(r.faults, fmt.Sprintf("txn %d: delete of missing %s %s", tx.XID, c.Table, id))
			}
			delete(rows, id)
		case pgreplica.Truncate:
			clear(rows)
		}
	}
	return nil
}

func (r *recorder) Tables() Tables {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Tables{}
	for name, rows := range r.state {
		if len(rows) > 0 {
			out[name] = maps.Clone(rows)
		}
	}
	return out
}

func (r *recorder) snapshot() (loads []pgreplica.Snapshot, txns []pgreplica.Txn, epochs []int, faults []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.loads), slices.Clone(r.txns), slices.Clone(r.epochs), slices.Clone(r.faults)
}

// checkOrder checks that, within each load epoch, transactions came in
// strictly increasing commit order, after the load's LSN, and that no
// change made no sense: what "every transaction once, in order" looks like
// from the sink.
func (r *recorder) checkOrder(t testing.TB) {
	t.Helper()
	loads, txns, epochs, faults := r.snapshot()
	for _, f := range faults {
		t.Errorf("recorder: %s", f)
	}
	for e, start := range epochs {
		end := len(txns)
		if e+1 < len(epochs) {
			end = epochs[e+1]
		}
		prev := loads[e].LSN
		for _, tx := range txns[start:end] {
			if tx.CommitLSN < prev {
				t.Errorf("load %d: transaction %d committed at %s after one at or past %s: applied twice or out of order",
					e, tx.XID, tx.CommitLSN, prev)
			}
			if tx.EndLSN <= tx.CommitLSN {
				t.Errorf("transaction %d: end %s not after commit %s", tx.XID, tx.EndLSN, tx.CommitLSN)
			}
			prev = tx.EndLSN
		}
	}
}

// env is one test's Postgres database with better-auth's schema.
type env struct {
	t   testing.TB
	srv *pgtest.Server
	db  string
	dsn string
}

// newEnv makes a database on the shared server, for a test that does not
// stop the server; slot names must then be unique across the binary's
// tests, which slot() takes care of.
func newEnv(t testing.TB, extraDDL ...string) *env {
	t.Helper()
	return envOn(t, pgtest.Shared(t), extraDDL...)
}

// newOwnEnv makes a database on a server of the test's own, which it may
// stop, kill or configure.
func newOwnEnv(t testing.TB, settings ...string) *env {
	t.Helper()
	return envOn(t, pgtest.Start(t, settings...))
}

func envOn(t testing.TB, srv *pgtest.Server, extraDDL ...string) *env {
	t.Helper()
	db := srv.CreateDatabase(t, append([]string{pgtest.BetterAuthSchema}, extraDDL...)...)
	return &env{t: t, srv: srv, db: db, dsn: srv.DSN(db)}
}

// conn returns a pgx connection to the database, closed when the test ends.
func (e *env) conn() *pgx.Conn {
	e.t.Helper()
	c, err := pgx.Connect(context.Background(), e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// exec runs SQL, failing the test on error.
func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	// Long enough for a benchmark's dataset on a busy shared machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// slotIs reports whether the slot exists and is temporary or permanent, as
// kind says; kind "" asks whether it does not exist.
func (e *env) slotIs(slot, kind string) bool {
	e.t.Helper()
	var temporary bool
	err := e.queryRow(`SELECT temporary FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&temporary)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return kind == ""
	case err != nil:
		e.t.Fatal(err)
	}
	return kind == map[bool]string{true: "temporary", false: "permanent"}[temporary]
}

// count runs a query that counts, failing the test on error.
func (e *env) count(sql string) int {
	e.t.Helper()
	var n int
	if err := e.queryRow(sql).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// queryRow runs a query on a connection of its own, closed once the row is
// read: for tests that poll.
func (e *env) queryRow(sql string, args ...any) pgx.Row {
	e.t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	return closingRow{c.QueryRow(ctx, sql, args...), c}
}

// closingRow closes its connection once scanned.
type closingRow struct {
	pgx.Row
	conn *pgx.Conn
}

func (r closingRow) Scan(dest ...any) error {
	defer r.conn.Close(context.Background())
	return r.Row.Scan(dest...)
}

// walLSN returns the primary's current WAL position: waiting for a replica
// to reach it waits for every commit made before.
func (e *env) walLSN() pgreplica.LSN {
	e.t.Helper()
	var s string
	c, err := pgx.Connect(context.Background(), e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.QueryRow(context.Background(), "SELECT pg_current_wal_lsn()::text").Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	var lsn pgreplica.LSN
	if err := lsn.Scan(s); err != nil {
		e.t.Fatal(err)
	}
	return lsn
}

// read returns the tables as Postgres holds them, read in the replica's
// text form.
func (e *env) read(tables []string) Tables {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgconn.ParseConfig(e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	maps.Copy(cfg.RuntimeParams, pgreplica.SessionSettings())
	c, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close(ctx)
	out := Tables{}
	for _, name := range tables {
		res := c.ExecParams(ctx, fmt.Sprintf(`SELECT * FROM "public".%q`, name), nil, nil, nil, nil).Read()
		if res.Err != nil {
			e.t.Fatal(res.Err)
		}
		rows := map[string]pgreplica.Row{}
		for _, vals := range res.Rows {
			row := pgreplica.Row{}
			for i, fd := range res.FieldDescriptions {
				v := pgreplica.Value{TypeOID: fd.DataTypeOID}
				if vals[i] == nil {
					v.Null = true
				} else {
					v.Text = string(vals[i])
				}
				row[fd.Name] = v
			}
			rows[row["id"].Text] = row
		}
		if len(rows) > 0 {
			out[name] = rows
		}
	}
	return out
}

// replica runs a replica of the env's database into sink until the test
// ends (or stop is called), and reports Run's result.
type replica struct {
	*pgreplica.Replica
	cancel context.CancelFunc
	done   chan error
}

// startReplica starts a replica and waits until it streams; each of before
// is called on it before it runs.
func (e *env) startReplica(cfg pgreplica.Config, sink pgreplica.Sink, before ...func(*pgreplica.Replica)) *replica {
	e.t.Helper()
	r, err := pgreplica.New(e.testConfig(cfg), sink)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range before {
		f(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rep := &replica{Replica: r, cancel: cancel, done: make(chan error, 1)}
	go func() { rep.done <- r.Run(ctx) }()
	e.t.Cleanup(func() { rep.stop(e.t) })
	rep.waitStreaming(e.t)
	return rep
}

// testConfig fills in what the tests' replicas share: the env's database,
// a slot name unique on the server, the test's log, and short intervals.
func (e *env) testConfig(cfg pgreplica.Config) pgreplica.Config {
	if cfg.DSN == "" {
		cfg.DSN = e.dsn
	}
	// Slots are the cluster's, not the database's: the database's name
	// makes them unique on a shared server.
	cfg.Slot = e.db + "_" + cfg.Slot
	if cfg.Logger == nil {
		cfg.Logger = testLogger(e.t)
	}
	if cfg.StatusInterval == 0 {
		cfg.StatusInterval = 100 * time.Millisecond
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	}
	return cfg
}

// waitStreaming waits until the replica has loaded and streams, so that
// what the test writes next comes through the stream, not the snapshot.
func (r *replica) waitStreaming(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := r.Status()
		if st.Loaded && st.Connected {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica not streaming after 30 s: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop cancels Run and waits for it to return; it may be called twice.
func (r *replica) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if !ok {
			return // stopped before
		}
		if err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
		close(r.done)
	case <-time.After(10 * time.Second):
		t.Error("Run did not return within 10 s of its context's cancellation")
	}
}

// waitFor waits until the replica has applied everything committed before
// lsn, failing the test after a while.
func (r *replica) waitFor(t testing.TB, lsn pgreplica.LSN) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.WaitApplied(ctx, lsn); err != nil {
		t.Fatalf("replica did not reach %s: %v; status %+v", lsn, err, r.Status())
	}
}

// converged waits for the replica to catch up with the primary and checks
// that the sink holds exactly what Postgres does.
func (e *env) converged(r *replica, sink sinkUnderTest, tables []string) {
	e.t.Helper()
	r.waitFor(e.t, e.walLSN())
	want := e.read(tables)
	if diff := cmp.Diff(want, sink.Tables()); diff != "" {
		e.t.Errorf("sink differs from Postgres (-postgres +sink):\n%s", diff)
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

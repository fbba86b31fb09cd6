package pgreplica_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oauthdb/oauthdb/internal/pgtest"
	"github.com/oauthdb/oauthdb/pgreplica"
)

var (
	steps = flag.Int("pgreplica.steps", 300, "workload operations per phase of the workload tests (more for a longer soak)")
	seed  = flag.Uint64("pgreplica.seed", 0, "workload seed (0: derived from the time, and logged)")
)

func workloadSeed(t *testing.T) uint64 {
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("workload seed %d (replay with -pgreplica.seed=%d)", s, s)
	return s
}

// workload runs a pgtest.Workload in a goroutine of its own, through
// restarts and kills of the server: a step that fails on a lost connection
// is retried on a new one (a failed transaction left nothing; the second
// transaction of a sign-out may be lost, which leaves a valid state too).
type workload struct {
	e    *env
	w    *pgtest.Workload
	conn *pgx.Conn
	done atomic.Int64 // steps done
}

func (e *env) newWorkload(seed uint64) *workload {
	c, err := pgx.Connect(context.Background(), e.dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	wl := &workload{e: e, conn: c}
	wl.w = pgtest.NewWorkload(c, seed)
	e.t.Cleanup(func() { wl.conn.Close(context.Background()) })
	return wl
}

// run does n steps, reconnecting as needed, and returns the first error
// that a reconnect does not cure within 30 s.
func (wl *workload) run(ctx context.Context, n int) error {
	for range n {
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := wl.w.Step(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				return err
			}
			if !wl.conn.IsClosed() && wl.conn.Ping(ctx) == nil {
				return err // not a lost connection: a real failure
			}
			time.Sleep(20 * time.Millisecond)
			c, cerr := pgx.Connect(ctx, wl.e.dsn)
			if cerr != nil {
				continue
			}
			wl.conn.Close(ctx)
			wl.conn = c
			wl.w.SetConn(c)
		}
		wl.done.Add(1)
	}
	return nil
}

// background runs the workload in a goroutine until stop is called, and
// stop returns its error. Tests sequence their events on steps done and on
// replica state, never on time.
func (wl *workload) background() (stop func() error) {
	ch := make(chan error, 1)
	var halt atomic.Bool
	go func() {
		for !halt.Load() {
			if err := wl.run(context.Background(), 1); err != nil {
				ch <- err
				return
			}
		}
		ch <- nil
	}()
	return func() error {
		halt.Store(true)
		return <-ch
	}
}

// waitSteps waits until the workload has done n more steps than it had
// when called.
func (wl *workload) waitSteps(t testing.TB, n int) {
	t.Helper()
	target := wl.done.Load() + int64(n)
	deadline := time.Now().Add(60 * time.Second)
	for wl.done.Load() < target {
		if time.Now().After(deadline) {
			t.Fatalf("workload stuck at %d steps", wl.done.Load())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitSessions waits until the replica streams in its n-th session.
func (r *replica) waitSessions(t testing.TB, n uint64) {
	t.Helper()
	waitSessions(t, r.Status, n)
}

// waitSessions waits until a replica whose status is given streams in its
// n-th session.
func waitSessions(t testing.TB, status func() pgreplica.Status, n uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st := status(); st.Connected && st.Sessions >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica not streaming in session %d after 30 s: %+v", n, status())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Several replicas, started before and during a random workload (so that
// snapshots are taken while transactions commit), all end up holding what
// Postgres holds, each having received every transaction once and in order.
func TestWorkloadConvergesOnSeveralReplicas(t *testing.T) {
	e := newEnv(t)
	wl := e.newWorkload(workloadSeed(t))
	if err := wl.run(context.Background(), *steps/3); err != nil {
		t.Fatal(err)
	}
	sinks := []*recorder{newRecorder(), newRecorder(), newRecorder()}
	reps := []*replica{e.startReplica(pgreplica.Config{Slot: "replica_0"}, sinks[0])}
	stop := wl.background()
	for i := 1; i < len(sinks); i++ {
		wl.waitSteps(t, *steps/3)
		reps = append(reps, e.startReplica(pgreplica.Config{Slot: fmt.Sprintf("replica_%d", i)}, sinks[i]))
	}
	wl.waitSteps(t, *steps/3)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("operations: %v", wl.w.Counts)
	for i, r := range reps {
		e.converged(r, sinks[i], pgreplica.DefaultTables)
		sinks[i].checkOrder(t)
		st := r.Status()
		t.Logf("replica %d: %d transactions applied, %d skipped, %d loads", i, st.Applied, st.Skipped, st.Loads)
		if st.Loads != 1 || st.Sessions != 1 {
			t.Errorf("replica %d: %d loads and %d sessions without a fault, want 1 and 1", i, st.Loads, st.Sessions)
		}
		if st.Applied == 0 {
			t.Errorf("replica %d applied no transaction: it did not stream during the workload", i)
		}
	}
}

// A fast restart and a kill of Postgres in the middle of the workload: the
// replica reconnects, resumes from its slot without a resync, and receives
// nothing twice.
func TestConvergesAcrossPostgresRestartAndKill(t *testing.T) {
	e := newOwnEnv(t)
	wl := e.newWorkload(workloadSeed(t))
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	stop := wl.background()
	wl.waitSteps(t, *steps/3)
	e.srv.Restart(t)
	r.waitSessions(t, 2)
	wl.waitSteps(t, *steps/3)
	e.srv.Kill(t)
	e.srv.Start(t)
	r.waitSessions(t, 3)
	wl.waitSteps(t, *steps/3)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	e.converged(r, sink, pgreplica.DefaultTables)
	sink.checkOrder(t)
	st := r.Status()
	t.Logf("%d transactions applied, %d skipped as resent, %d sessions", st.Applied, st.Skipped, st.Sessions)
	if st.Loads != 1 {
		t.Errorf("%d loads: a restart of Postgres must not need a resync", st.Loads)
	}
	if st.Sessions < 3 {
		t.Errorf("%d sessions across a restart and a kill, want at least 3", st.Sessions)
	}
}

// dropSlot terminates the replica's WAL sender and drops its slot in one
// statement, before the replica can reconnect and take the slot again (the
// test gives it a backoff long enough), retrying if it did.
func (e *env) dropSlot(slot string) {
	e.t.Helper()
	ctx := context.Background()
	c := e.conn()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.Exec(ctx, `SELECT CASE WHEN active_pid IS NULL THEN true ELSE pg_terminate_backend(active_pid, 5000) END,
			pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, slot)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("drop slot %s: %v", slot, err)
		}
	}
}

// A dropped slot cannot be resumed: the replica makes a new one and loads
// the sink again, and converges.
func TestSlotDroppedResyncs(t *testing.T) {
	e := newEnv(t)
	wl := e.newWorkload(workloadSeed(t))
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1", MinBackoff: 300 * time.Millisecond, MaxBackoff: time.Second}, sink)
	stop := wl.background()
	wl.waitSteps(t, *steps/2)
	e.dropSlot(e.db + "_r1")
	r.waitSessions(t, 2)
	wl.waitSteps(t, *steps/2)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	e.converged(r, sink, pgreplica.DefaultTables)
	sink.checkOrder(t)
	if st := r.Status(); st.Loads != 2 {
		t.Errorf("%d loads, want 2 (the initial load and one resync)", st.Loads)
	}
}

// A slot whose WAL was removed (max_slot_wal_keep_size exceeded while the
// replica was away) is invalidated; the replica resyncs.
func TestSlotWithRemovedWALResyncs(t *testing.T) {
	e := newOwnEnv(t, "max_slot_wal_keep_size=1MB", "max_wal_size=32MB", "min_wal_size=32MB")
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	e.exec(insertUser, "u1")
	r.waitFor(t, e.walLSN())
	r.stop(t)

	for i := range 4 {
		e.exec(insertUser, fmt.Sprintf("w%d", i))
		e.exec(`SELECT pg_switch_wal()`)
	}
	e.exec(`CHECKPOINT`)
	var status string
	c := e.conn()
	if err := c.QueryRow(context.Background(), `SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1`, e.db+"_r1").Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "lost" {
		t.Fatalf("slot wal_status %q after the WAL moved on, want lost", status)
	}

	r2 := e.startReplica(pgreplica.Config{Slot: "r1", ResumeLSN: r.Status().AppliedLSN}, sink)
	e.exec(insertUser, "u2")
	e.converged(r2, sink, pgreplica.DefaultTables)
	if st := r2.Status(); st.Loads != 1 {
		t.Errorf("the resumed replica loaded %d times, want 1 (a resync)", st.Loads)
	}
}

// A replica that stops and runs again, in the same process or in a new one
// whose sink kept its state, resumes from its slot: no load, nothing twice.
// One whose sink starts empty loads.
func TestReplicaRestartResumesFromSlot(t *testing.T) {
	e := newEnv(t)
	wl := e.newWorkload(workloadSeed(t))
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	if err := wl.run(context.Background(), *steps/3); err != nil {
		t.Fatal(err)
	}
	e.converged(r, sink, pgreplica.DefaultTables)

	// The same Replica, run again.
	r.stop(t)
	if err := wl.run(context.Background(), *steps/3); err != nil {
		t.Fatal(err)
	}
	again := &replica{Replica: r.Replica}
	ctx, cancel := context.WithCancel(context.Background())
	again.cancel, again.done = cancel, make(chan error, 1)
	go func() { again.done <- r.Run(ctx) }()
	t.Cleanup(func() { again.stop(t) })
	e.converged(again, sink, pgreplica.DefaultTables)
	again.stop(t)

	// A new Replica over the same sink, told where the sink is.
	if err := wl.run(context.Background(), *steps/3); err != nil {
		t.Fatal(err)
	}
	r2 := e.startReplica(pgreplica.Config{Slot: "r1", ResumeLSN: r.Status().AppliedLSN}, sink)
	e.converged(r2, sink, pgreplica.DefaultTables)
	sink.checkOrder(t)
	if loads, _, _, _ := sink.snapshot(); len(loads) != 1 {
		t.Errorf("%d loads across two restarts of the replica, want 1", len(loads))
	}
	if st := r2.Status(); st.Loads != 0 {
		t.Errorf("the resumed replica loaded %d times", st.Loads)
	}
	r2.stop(t)

	// A new Replica with an empty sink.
	fresh := newRecorder()
	r3 := e.startReplica(pgreplica.Config{Slot: "r1"}, fresh)
	e.converged(r3, fresh, pgreplica.DefaultTables)
	if st := r3.Status(); st.Loads != 1 {
		t.Errorf("a replica with an empty sink loaded %d times, want 1", st.Loads)
	}
}

// An error from Sink.Apply is not swallowed: it shows in Status, the replica
// resyncs, and the transaction that failed arrives through the new snapshot.
func TestApplyErrorResyncs(t *testing.T) {
	e := newEnv(t)
	sink := newRecorder()
	failed := false
	sink.failApply = func(tx pgreplica.Txn) error {
		if !failed && tx.Changes[0].Table == "session" {
			failed = true
			return fmt.Errorf("sink refuses")
		}
		return nil
	}
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	e.exec(insertUser, "u1")
	e.exec(insertSession, "s1", "u1")
	e.exec(insertUser, "u2")
	e.converged(r, sink, pgreplica.DefaultTables)
	st := r.Status()
	if st.Loads != 2 {
		t.Errorf("%d loads, want 2", st.Loads)
	}
	var ae *pgreplica.ApplyError
	if !errors.As(st.LastError, &ae) || ae.Err.Error() != "sink refuses" {
		t.Errorf("LastError = %v, want the ApplyError", st.LastError)
	}
}

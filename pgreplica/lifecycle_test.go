package pgreplica_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb/pgreplica"
)

func TestNewRejectsBadConfig(t *testing.T) {
	sink := newRecorder()
	for name, cfg := range map[string]pgreplica.Config{
		"no DSN":               {Slot: "s"},
		"bad DSN":              {DSN: "postgres://u:secret@[::1", Slot: "s"},
		"no slot":              {DSN: "host=/tmp"},
		"slot with capitals":   {DSN: "host=/tmp", Slot: "Slot"},
		"quote in publication": {DSN: "host=/tmp", Slot: "s", Publication: `a"b`},
		"repeated table":       {DSN: "host=/tmp", Slot: "s", Tables: []string{"user", "user"}},
		"timeout too short":    {DSN: "host=/tmp", Slot: "s", StatusInterval: time.Second, Timeout: time.Second},
		"backoff upside down":  {DSN: "host=/tmp", Slot: "s", MinBackoff: time.Second, MaxBackoff: time.Millisecond},
	} {
		_, err := pgreplica.New(cfg, sink)
		var ce *pgreplica.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: New returned %v, want a ConfigError", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the DSN's password: %v", name, err)
		}
	}
	if _, err := pgreplica.New(pgreplica.Config{DSN: "host=/tmp", Slot: "s"}, nil); err == nil {
		t.Error("New accepted a nil sink")
	}
}

// A second Run of a running replica is refused; cancelling the context stops
// Run, which leaves no goroutine behind.
func TestRunStopsCleanly(t *testing.T) {
	e := newEnv(t)
	before := runtime.NumGoroutine()
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	e.exec(insertUser, "u1")
	r.waitFor(t, e.walLSN())
	if err := r.Run(context.Background()); !errors.Is(err, pgreplica.ErrRunning) {
		t.Errorf("a second Run returned %v, want ErrRunning", err)
	}
	r.stop(t)
	if st := r.Status(); st.Connected {
		t.Error("still connected after Run returned")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Run returned, %d before:\n%s",
				runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// While nothing changes the replica stays fresh, on the primary's answers to
// its status updates; while the primary is down it goes stale; once the
// primary is back it is fresh again.
func TestFreshWhileIdleStaleWhileDown(t *testing.T) {
	e := newOwnEnv(t)
	r := e.startReplica(pgreplica.Config{Slot: "r1", StatusInterval: 50 * time.Millisecond}, newRecorder())
	waitUntil(t, "fresh", func() bool { return r.Status().Fresh(time.Second, time.Now()) })
	first := r.Status().CaughtUpAt
	waitUntil(t, "caught-up time to advance while idle", func() bool { return r.Status().CaughtUpAt.After(first) })

	e.srv.Stop(t)
	waitUntil(t, "disconnected", func() bool { return !r.Status().Connected })
	down := r.Status().CaughtUpAt
	waitUntil(t, "stale", func() bool { return !r.Status().Fresh(200*time.Millisecond, time.Now()) })
	if st := r.Status(); !st.CaughtUpAt.Equal(down) {
		t.Errorf("caught-up time moved from %v to %v while the primary was down", down, st.CaughtUpAt)
	}
	if st := r.Status(); st.LastError == nil {
		t.Error("no LastError while the primary is down")
	}

	e.srv.Start(t)
	waitUntil(t, "fresh again", func() bool { return r.Status().Fresh(200*time.Millisecond, time.Now()) })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// When Postgres resends transactions the replica applied but had not yet
// acknowledged (here: it streams from the slot's position after a lost
// connection, acknowledging seldom), the replica skips them: none is applied
// twice.
func TestResentTransactionsAreSkipped(t *testing.T) {
	e := newEnv(t)
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1", StatusInterval: time.Hour, Timeout: 2 * time.Hour}, sink,
		pgreplica.StreamFromSlot)
	for _, id := range []string{"u1", "u2", "u3"} {
		e.exec(insertUser, id)
	}
	r.waitFor(t, e.walLSN())
	e.exec(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1`, e.db+"_r1")
	r.waitSessions(t, 2)
	e.exec(insertUser, "u4")
	e.converged(r, sink, pgreplica.DefaultTables)
	sink.checkOrder(t)
	if st := r.Status(); st.Skipped != 3 || st.Applied != 4 {
		t.Errorf("%d transactions skipped and %d applied, want 3 and 4", st.Skipped, st.Applied)
	}
}

// A publication that exists is reused, and extended with the tables it
// lacks; a replica of fewer tables ignores the others' changes.
func TestPublicationReusedAndExtended(t *testing.T) {
	e := newEnv(t)
	few := newRecorder()
	rFew := e.startReplica(pgreplica.Config{Slot: "few", Publication: "shared_pub", Tables: []string{"user"}}, few)
	all := newRecorder()
	rAll := e.startReplica(pgreplica.Config{Slot: "all", Publication: "shared_pub"}, all)
	var n int
	if err := e.conn().QueryRow(context.Background(),
		`SELECT count(*) FROM pg_publication_tables WHERE pubname = 'shared_pub'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(pgreplica.DefaultTables) {
		t.Errorf("publication has %d tables, want %d", n, len(pgreplica.DefaultTables))
	}
	e.exec(insertUser, "u1")
	e.exec(insertSession, "s1", "u1")
	e.converged(rFew, few, []string{"user"})
	e.converged(rAll, all, pgreplica.DefaultTables)
}

// A publication that does not publish every kind of change would lose
// deletes: the replica refuses it, and says why.
func TestPublicationWithoutDeletesIsRefused(t *testing.T) {
	e := newEnv(t, `CREATE PUBLICATION inserts_only FOR ALL TABLES WITH (publish = 'insert, update')`)
	sink := newRecorder()
	r, err := pgreplica.New(pgreplica.Config{DSN: e.dsn, Slot: e.db + "_r1", Publication: "inserts_only", Logger: testLogger(t)}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	waitUntil(t, "an error", func() bool { return r.Status().LastError != nil })
	cancel()
	<-done
	var se *pgreplica.SetupError
	if err := r.Status().LastError; !errors.As(err, &se) || !strings.Contains(err.Error(), "does not publish every kind") {
		t.Errorf("LastError = %v", err)
	}
	if st := r.Status(); st.Loaded || st.Loads != 0 {
		t.Errorf("loaded from a publication that loses deletes: %+v", st)
	}
}

// A Load that fails is retried with a fresh snapshot.
func TestLoadErrorRetries(t *testing.T) {
	e := newEnv(t)
	e.exec(insertUser, "u1")
	sink := &failingLoad{recorder: newRecorder(), fails: 2}
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	e.exec(insertUser, "u2")
	e.converged(r, sink, pgreplica.DefaultTables)
	if st := r.Status(); st.Loads != 1 || sink.fails != 0 {
		t.Errorf("%d loads recorded with %d failures left, want 1 and 0", st.Loads, sink.fails)
	}
	var le *pgreplica.LoadError
	if err := r.Status().LastError; !errors.As(err, &le) {
		t.Errorf("LastError = %v, want the LoadError", err)
	}
}

type failingLoad struct {
	*recorder
	fails int // Loads to fail before one succeeds; only Run's goroutine uses it
}

func (f *failingLoad) Load(ctx context.Context, snap pgreplica.Snapshot) error {
	if f.fails > 0 {
		f.fails--
		return errors.New("sink cannot load")
	}
	return f.recorder.Load(ctx, snap)
}

// A sink whose position is ahead of the primary's WAL (its state came from
// elsewhere) is not resumed but loaded.
func TestResumeAheadOfThePrimaryLoads(t *testing.T) {
	e := newEnv(t)
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	r.stop(t)
	r2 := e.startReplica(pgreplica.Config{Slot: "r1", ResumeLSN: e.walLSN() + 1<<40}, sink)
	e.exec(insertUser, "u1")
	e.converged(r2, sink, pgreplica.DefaultTables)
	if st := r2.Status(); st.Loads != 1 {
		t.Errorf("%d loads, want 1", st.Loads)
	}
}

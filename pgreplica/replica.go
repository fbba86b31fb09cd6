package pgreplica

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Replica keeps a Sink in step with tables of a Postgres database through
// logical replication. Make one with New and call Run.
type Replica struct {
	cfg     Config
	sink    Sink
	log     *slog.Logger
	pos     *tracker
	running atomic.Bool

	// beatPrefix starts the content of this replica's heartbeats.
	beatPrefix string

	// resumeSystemID is the cluster of the state the sink resumes from,
	// until the first session has checked it. Only Run's goroutine uses
	// it.
	resumeSystemID string

	// columns are the replicated tables' columns as the sink knows them:
	// from the last Load, then from relation messages. Only Run's
	// goroutine uses it.
	columns map[string][]Column

	// fromSlot makes sessions ask to stream from the slot's confirmed
	// position instead of the replica's own, as a client that kept no
	// position would; Postgres then resends what it sent but never saw
	// acknowledged. Only tests set it, to exercise the skipping.
	fromSlot bool

	// hold, when set (only tests set it), parks Run's goroutine before it
	// starts a session or reads a message, as a SIGSTOP of the process
	// would, until the test releases it.
	hold atomic.Pointer[holdGate]
}

// holdGate is a test's hold on a replica (see Replica.hold).
type holdGate struct {
	parkOnce sync.Once
	parked   chan struct{} // closed once Run's goroutine is parked
	release  chan struct{} // closed by the test to let it go on
}

// park waits while a test holds the replica.
func (r *Replica) park() {
	g := r.hold.Load()
	if g == nil {
		return
	}
	g.parkOnce.Do(func() { close(g.parked) })
	<-g.release
}

// New returns a replica of cfg's tables into sink. It does not connect: Run
// does.
func New(cfg Config, sink Sink) (*Replica, error) {
	if sink == nil {
		return nil, &ConfigError{Field: "sink", Reason: "is nil"}
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Replica{
		cfg:            cfg,
		sink:           sink,
		log:            cfg.Logger.With("slot", cfg.Slot),
		pos:            newTracker(cfg.ResumeLSN),
		columns:        make(map[string][]Column),
		beatPrefix:     newBeatPrefix(cfg.Slot),
		resumeSystemID: cfg.ResumeSystemID,
	}, nil
}

// resume says, before Run, that the sink holds the tables as of lsn in the
// cluster systemID, as Config.ResumeLSN and ResumeSystemID do: for a sink
// that reads its saved state only once it runs.
func (r *Replica) resume(lsn LSN, systemID string) {
	r.pos.restored(lsn)
	r.resumeSystemID = systemID
}

// Run replicates until ctx is done, and returns ctx's error (or ErrRunning
// if another Run is going). It connects, loads the sink when it holds
// nothing consistent yet, and streams; when a session ends for any reason
// (connection lost, primary restarted, slot lost, sink error) it records the
// error in Status, logs it, waits a jittered backoff and starts another,
// which resumes from the slot or, when that cannot work, resyncs. Run may be
// called again after it returned: it resumes where the last one stopped.
func (r *Replica) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer r.running.Store(false)
	bo := backoff{min: r.cfg.MinBackoff, max: r.cfg.MaxBackoff}
	for {
		r.park()
		streamed, err := r.session(ctx)
		if ctx.Err() != nil {
			r.pos.connected(false)
			return ctx.Err()
		}
		r.pos.ended(err)
		if streamed {
			bo.reset()
		}
		wait := bo.next()
		r.log.Warn("pgreplica: session ended; reconnecting", "error", err, "backoff", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Status returns the replica's state now. It is safe to call at any time
// from any goroutine.
func (r *Replica) Status() Status { return r.pos.status() }

// WaitApplied waits until the sink holds every transaction committed before
// lsn, or ctx is done. (While a resync is under way it does not: the sink's
// old state is no measure.) Take lsn from pg_current_wal_lsn() after a commit
// to wait for that commit.
func (r *Replica) WaitApplied(ctx context.Context, lsn LSN) error {
	for {
		ch, done := r.pos.wait(lsn)
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// backoff is a doubling wait with jitter: each wait is drawn from the upper
// half of the current step, so that replicas restarted together spread out
// without any waiting less than half the step.
type backoff struct {
	min, max time.Duration
	step     time.Duration
}

func (b *backoff) reset() { b.step = 0 }

func (b *backoff) next() time.Duration {
	if b.step == 0 {
		b.step = b.min
	} else {
		b.step = min(2*b.step, b.max)
	}
	half := b.step / 2
	return half + rand.N(b.step-half+1)
}

package pgreplica

import (
	"sync"
	"time"
)

// Status is a replica's state, for health checks and for validating fail
// closed: a validator that needs its answers to be at most d old serves
// only while Fresh(d, time.Now()).
type Status struct {
	// Loaded is true once a Load has returned, and false again from a
	// failed Apply until the resync's Load returns.
	Loaded bool
	// Connected is true while the replica streams from the primary.
	Connected bool
	// AppliedLSN is the replica's position: every transaction whose commit
	// LSN is below it is in the sink, and nothing after it. It is what the
	// replica acknowledges to the primary, and what a sink's saved state
	// should record for Config.ResumeLSN.
	AppliedLSN LSN
	// ServerWALEnd is how far the primary had sent the stream, as of its
	// last keepalive.
	ServerWALEnd LSN
	// Acknowledged is the position last acknowledged to the primary: the
	// slot's confirmed position, from which Postgres resends after a
	// reconnect. It trails AppliedLSN when Config.Durable holds it back.
	Acknowledged LSN
	// SystemID is the system identifier of the primary's cluster, from its
	// last session: what a saved state records (Config.ResumeSystemID).
	SystemID string
	// SlotRetainedBytes is how much WAL the replica's slot holds on the
	// primary (pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)), and
	// SlotWALStatus its wal_status (reserved, extended, unreserved, lost):
	// what the slot costs the primary, read with each heartbeat.
	SlotRetainedBytes int64
	SlotWALStatus     string
	// SlotsReclaimed counts the slots of dead replicas this one dropped
	// (Config.SlotTTL).
	SlotsReclaimed uint64
	// LastCommitTime is the commit time, by the primary's clock, of the
	// last transaction applied (or zero).
	LastCommitTime time.Time
	// CaughtUpAt is the proof of freshness: a local time T such that
	// every transaction the primary had committed before T is in the sink,
	// proven by a heartbeat the replica wrote into the WAL at T and then
	// received on its stream (see the package doc, Freshness);
	// CaughtUpLSN is that heartbeat's position. Zero until the first
	// heartbeat comes back. (A resync keeps it: a slot made after T loads
	// everything committed before T too.) While all is well it advances
	// every StatusInterval, a round trip behind; it stops when the stream
	// stops or falls behind, and a keepalive never moves it.
	CaughtUpAt  time.Time
	CaughtUpLSN LSN
	// Loads counts Loads (the initial load and every resync), Applied the
	// transactions applied, Skipped those received again after a reconnect
	// and skipped, Sessions the connections made.
	Loads, Applied, Skipped, Sessions uint64
	// LastError is the error that ended the last session that failed, or
	// nil if none did. A session ended by Run's context leaves it as it
	// was.
	LastError error
}

// Fresh reports whether, at now, the sink held everything the primary had
// committed at most maxAge ago.
func (s Status) Fresh(maxAge time.Duration, now time.Time) bool {
	return s.Loaded && !s.CaughtUpAt.IsZero() && now.Sub(s.CaughtUpAt) <= maxAge
}

// tracker is the replica's LSN bookkeeping, in one place: what the sink
// holds, what may be skipped, and what to acknowledge. The stream goroutine
// writes it; Status and WaitApplied read it from anywhere.
type tracker struct {
	mu      sync.Mutex
	st      Status
	changed chan struct{} // closed and replaced whenever AppliedLSN moves
	beats   []beat        // heartbeats on their way, oldest first
}

func newTracker(resume LSN) *tracker {
	t := &tracker{changed: make(chan struct{})}
	if resume != 0 {
		t.restored(resume)
	}
	return t
}

// restored records that the sink holds the tables as of lsn, from a state
// saved by an earlier run: loaded, though not by a Load.
func (t *tracker) restored(lsn LSN) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Loaded = true
	t.st.AppliedLSN = lsn
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *tracker) status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st
}

// position returns whether the sink holds a consistent state, and its LSN.
func (t *tracker) position() (loaded bool, applied LSN) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.Loaded, t.st.AppliedLSN
}

// skip reports whether a transaction committed at commitLSN is already in
// the sink. Postgres resends, after a reconnect, what was sent but not yet
// acknowledged; this is what keeps those from being applied twice.
func (t *tracker) skip(commitLSN LSN) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return commitLSN < t.st.AppliedLSN
}

// advance moves the position forward to lsn (never back) and wakes the
// waiters. Called with mu held.
func (t *tracker) advance(lsn LSN) {
	if lsn > t.st.AppliedLSN {
		t.st.AppliedLSN = lsn
		close(t.changed)
		t.changed = make(chan struct{})
	}
}

// loaded records that the sink now holds the snapshot taken at lsn.
func (t *tracker) loaded(lsn LSN) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Loaded = true
	t.st.Loads++
	// A resync may land before the old position: the new state replaces
	// the old one, so the position is set, not advanced.
	t.st.AppliedLSN = lsn
	close(t.changed)
	t.changed = make(chan struct{})
}

// unload records that the sink's state can no longer be followed, so the
// next session must load.
func (t *tracker) unload() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Loaded = false
}

// applied records that the sink applied tx.
func (t *tracker) applied(tx *Txn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Applied++
	t.st.LastCommitTime = tx.CommitTime
	t.advance(tx.EndLSN)
}

// skipped records a transaction that was received again and skipped, or
// that had no change to the replicated tables.
func (t *tracker) skipped(tx *Txn, resent bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if resent {
		t.st.Skipped++
		return
	}
	t.advance(tx.EndLSN)
}

// keepalive records a keepalive: the primary had sent the stream up to
// walEnd. When no transaction is pending (idle), every transaction that
// committed before walEnd has been received and applied, so the position
// advances to it: acknowledging it lets the primary recycle WAL that held
// only other tables' changes. It says nothing of the time: see CaughtUpAt.
func (t *tracker) keepalive(walEnd LSN, idle bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.ServerWALEnd = walEnd
	if idle && t.st.Loaded {
		t.advance(walEnd)
	}
}

// emitting records a heartbeat about to be written.
func (t *tracker) emitting(b beat) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.beats) == maxPendingBeats {
		t.beats = append(t.beats[:0], t.beats[1:]...)
	}
	t.beats = append(t.beats, b)
}

// message records a non-transactional logical decoding message received
// between transactions, at lsn: every transaction committed before it has
// been applied. If it is one of the replica's heartbeats, the replica is
// fresh as of the moment before it was written.
func (t *tracker) message(nonce string, lsn LSN) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.st.Loaded {
		return
	}
	t.advance(lsn)
	for i, b := range t.beats {
		if b.nonce != nonce {
			continue
		}
		// The older ones were written before it: they can only prove less.
		t.beats = append(t.beats[:0], t.beats[i+1:]...)
		if b.at.After(t.st.CaughtUpAt) {
			t.st.CaughtUpAt, t.st.CaughtUpLSN = b.at, lsn
		}
		return
	}
}

// acknowledged records the position acknowledged to the primary.
func (t *tracker) acknowledged(lsn LSN) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Acknowledged = lsn
}

// identified records the primary's system identifier, and reports whether
// it is the one the sink's resumed state came from (want), if any.
func (t *tracker) identified(systemID, want string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.SystemID = systemID
	return want == "" || want == systemID
}

// slotCost records what the replica's slot holds back on the primary.
func (t *tracker) slotCost(retained int64, walStatus string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.SlotRetainedBytes, t.st.SlotWALStatus = retained, walStatus
}

// reclaimed counts a dead replica's slot dropped.
func (t *tracker) reclaimed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.SlotsReclaimed++
}

func (t *tracker) connected(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Connected = on
	if on {
		t.st.Sessions++
	}
}

func (t *tracker) ended(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Connected = false
	t.st.LastError = err
}

// wait returns a channel closed when the position next moves or the sink
// is loaded, and whether the sink holds everything before lsn now.
func (t *tracker) wait(lsn LSN) (<-chan struct{}, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed, t.st.Loaded && t.st.AppliedLSN >= lsn
}

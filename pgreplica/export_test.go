package pgreplica

import "time"

// StreamFromSlot makes r's sessions stream from the slot's confirmed
// position rather than r's own, so that Postgres resends what r applied but
// had not yet acknowledged.
func StreamFromSlot(r *Replica) { r.fromSlot = true }

// Hold parks r's goroutine the next time it starts a session or is about to
// read a message, as a SIGSTOP of the process would (the connection stays
// open, nothing is read or sent), and returns once it is parked; release
// lets it go on.
func Hold(r *Replica) (release func()) {
	g := &holdGate{parked: make(chan struct{}), release: make(chan struct{})}
	r.hold.Store(g)
	select {
	case <-g.parked:
	case <-time.After(30 * time.Second):
		panic("pgreplica: Hold: the replica did not park within 30 s")
	}
	return func() {
		r.hold.Store(nil)
		close(g.release)
	}
}

// HoldFollower holds f's replica (see Hold).
func HoldFollower(f *Follower) (release func()) { return Hold(f.r) }

// SetSlotTTL sets f's Config.SlotTTL past its validation, which asks for a
// minute at least: tests reclaim slots within seconds.
func SetSlotTTL(f *Follower, ttl time.Duration) { f.r.cfg.SlotTTL = ttl }

package oauthdb

import (
	"context"
	"slices"
	"sync"

	"github.com/oauthdb/oauthdb/store"
)

// The change feed: every commit's changes, delivered to subscribers in
// commit order. A subscriber that falls behind is told, once it has room,
// that it missed events and must resync; it is never skipped silently, and
// it never holds up a writer: a commit only ever tries to put one event into
// each subscriber's buffer, and moves on.

// Change is one record's change in a commit. Before and After are copies of
// the record (a User, a Session, an OAuthClient, ... value): Before is nil
// for an insert, After nil for a delete.
type Change struct {
	// Table is the record's table: TableUser, TableSession, ...
	Table string
	// Before is the record as it was, After as it is now.
	Before, After any
}

// Event is what a subscription receives.
type Event struct {
	// Index is the commit's index: one more for each commit of the DB.
	Index uint64
	// Changes are the records the commit changed, each once, in the order
	// of their last write.
	Changes []Change
	// Replaced says the whole state was replaced (Restore, ReadSnapshot, a
	// replica's resync) at Index: what a subscriber derived from the old
	// state is stale; resync.
	Replaced bool
	// Missed says the subscriber fell behind: the events before Index that
	// it did not receive are lost. Resync from a snapshot read after this
	// event, then go on with the events that follow it: applying an After
	// that the snapshot already holds changes nothing.
	Missed bool
}

// Subscription receives the events of a DB's commits; see DB.Subscribe.
type Subscription struct {
	db     *DB
	events chan Event
	// missed is set when an event could not be delivered; the next commit
	// then tries to deliver a Missed event first. Only the writer (under
	// the store's commit order) and Close touch it, under mu.
	mu     sync.Mutex
	missed bool
	closed bool
}

// Subscribe returns a subscription to the DB's commits from now on, with
// room for buffer events (at least 1) before it falls behind. Close it when
// done: that frees everything it holds.
func (db *DB) Subscribe(buffer int) *Subscription {
	s := &Subscription{db: db, events: make(chan Event, max(buffer, 1))}
	db.feed.Lock()
	db.subs = append(db.subs, s)
	db.feed.Unlock()
	return s
}

// Events returns the channel the events arrive on, in commit order. It is
// closed by Close.
func (s *Subscription) Events() <-chan Event { return s.events }

// Close ends the subscription and closes its channel. It is safe to call
// more than once, and from any goroutine.
func (s *Subscription) Close() {
	s.db.feed.Lock()
	for i, o := range s.db.subs {
		if o == s {
			s.db.subs = append(s.db.subs[:i:i], s.db.subs[i+1:]...)
			break
		}
	}
	s.db.feed.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.events)
	}
}

// publish delivers an event to every subscriber, without ever waiting. It
// runs in OnCommit, so events go out in commit order.
func (db *DB) publish(c store.Commit) {
	db.feed.Lock()
	subs := db.subs
	db.feed.Unlock()
	if len(subs) == 0 {
		return
	}
	ev := Event{Index: c.Index, Replaced: c.Replaced, Changes: make([]Change, 0, len(c.Changes))}
	for _, ch := range c.Changes {
		t := tableNamed(ch.Table)
		if t == nil {
			continue // a replica's own bookkeeping is no record of the data model
		}
		// Copies: the stored records are shared and must not change.
		ev.Changes = append(ev.Changes, Change{Table: ch.Table, Before: t.value(ch.Before), After: t.value(ch.After)})
	}
	for _, s := range subs {
		own := ev
		own.Changes = slices.Clone(ev.Changes) // each subscriber may keep or change its own
		s.deliver(own)
	}
}

func (s *Subscription) deliver(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.missed {
		select {
		case s.events <- Event{Index: ev.Index, Missed: true}:
			s.missed = false
		default:
			return // still behind: this event is lost too, and told of later
		}
	}
	select {
	case s.events <- ev:
	default:
		s.missed = true
	}
}

// watchLimit is how many watch channels a Watch keeps before it watches
// whole tables: waiting takes a goroutine per 32 of them.
const watchLimit = 2048

// Watch runs query in a read transaction, as View does, and returns a
// function that blocks until anything query read may have changed — a
// record it found, a lookup that found nothing, a relation or table it
// iterated — or the whole state was replaced, and then returns nil; or until
// ctx is done, and returns ctx's error. Run the query again to see what
// changed: the usual loop of a long poll. A query that reads more than a
// few thousand records watches their whole tables instead, so that a wake
// may come from another record of the same table.
func (db *DB) Watch(query func(tx *Tx) error) (wait func(ctx context.Context) error, err error) {
	w, err := db.st.ViewWatch(watchLimit, func(st *store.Txn) error {
		return query(&Tx{db: db, st: st})
	})
	if err != nil {
		return nil, err
	}
	return w.Wait, nil
}

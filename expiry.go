package oauthdb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

// SweepResult counts the expired rows one sweep deleted, by table. Rows
// deleted with them (the access tokens of a refresh token) are not counted.
type SweepResult struct {
	AccessTokens  int
	RefreshTokens int
	Sessions      int
	Verifications int
}

// Total is the number of rows the sweep deleted.
func (r SweepResult) Total() int {
	return r.AccessTokens + r.RefreshTokens + r.Sessions + r.Verifications
}

// The sweep's own queue. Each table whose rows expire has, in every DB
// that is no replica, a queue of hints (expiry, id) in expiry order: a
// min-heap, to which a commit adds a hint for each row it inserts and each
// row whose expiry it changes (DB.committed), and from which the sweep takes
// the hints that are due. A hint is checked against the row before the row
// goes: if the row is gone, or expires at another time now (which has a
// hint of its own), the hint is dropped. So nothing takes a hint out but the
// sweep, and a row's hints are gone once their times have come.
//
// It replaces an expiresAt index in go-memdb, which cost every row about
// 450 B (a radix leaf, a node, a watch channel for each, and the key) where
// a hint costs 32 B; it is read only by the sweep, a writer, so it need not
// be a snapshot: it is what the last commit left. A Replace (a restore, a
// resync) leaves it stale, and the next sweep refills it from the rows, so
// that a restore does not walk what it has just written. Commits and the
// sweep both run under the store's writer lock (OnCommit runs there, and
// SweepExpired is an Update), which is what guards the queues.

// expiring is a table whose rows the sweep deletes once they expire, and
// how a row's expiry is read.
type expiring[T any] struct {
	t         *tableOf[T]
	expiresAt func(*T) time.Time
	// queue is the table's place in DB.expiries.
	queue int
}

// expiringTables are the tables expires declared, each at its queue.
var expiringTables []expiringTable

// expiringTable is an expiring table seen without its record type.
type expiringTable interface {
	tableName() string
	// changed adds the hint a commit's change of a row needs, if any.
	changed(q *expiryQueue, before, after any)
	queueOf(db *DB) *expiryQueue
}

// expires declares that the rows of t expire at their field named field,
// which expiresAt reads, for the sweep; the door refuses a row without one.
func expires[T any](t *tableOf[T], field string, expiresAt func(*T) time.Time) *expiring[T] {
	e := &expiring[T]{t: t, expiresAt: expiresAt, queue: len(expiringTables)}
	expiringTables = append(expiringTables, e)
	check := t.check
	t.check = func(rec *T, f *door) {
		if expiresAt(rec).IsZero() {
			f.fail(field, "", "required")
		}
		if check != nil {
			check(rec, f)
		}
	}
	return e
}

func (e *expiring[T]) tableName() string           { return e.t.name }
func (e *expiring[T]) queueOf(db *DB) *expiryQueue { return &db.expiries[e.queue] }
func (e *expiring[T]) hint(rec *T) expiryHint      { return hintAt(e.expiresAt(rec), e.t.Key(rec)) }

func (e *expiring[T]) changed(q *expiryQueue, before, after any) {
	a := after.(*T)
	if b, ok := before.(*T); ok && b != nil && e.expiresAt(b).Equal(e.expiresAt(a)) {
		return
	}
	q.push(e.hint(a))
}

func (e *expiring[T]) hints(st *store.Txn) []expiryHint {
	// Counted first, to allocate once: the walk may follow a restore, whose
	// collection charges its marking to the allocations made then.
	n := 0
	for range e.t.All(st) {
		n++
	}
	hs := make([]expiryHint, 0, n)
	for rec := range e.t.All(st) {
		hs = append(hs, e.hint(rec))
	}
	return hs
}

// noteExpiries keeps the DB's expiry queues in step with a commit: it runs
// in OnCommit, under the store's writer lock.
func (db *DB) noteExpiries(c store.Commit) {
	if db.expiries == nil {
		return
	}
	if c.Replaced {
		// Refilled by the next sweep, not here: a restore is done sooner,
		// and the walk of its rows falls to a janitor.
		for i := range db.expiries {
			db.expiries[i] = expiryQueue{stale: true}
		}
		return
	}
	for _, ch := range c.Changes {
		for _, e := range expiringTables {
			if e.tableName() != ch.Table {
				continue
			}
			switch q := e.queueOf(db); {
			case q.stale:
			case ch.After == nil:
				// A delete leaves the row's hints to be dropped when due,
				// or with the rest (below).
				q.rows--
			default:
				if ch.Before == nil {
					q.rows++
				}
				e.changed(q, ch.Before, ch.After)
			}
			break
		}
	}
	// The hints of deleted rows wait for their time. A DB that deletes and
	// never sweeps would gather them without end: past twice its rows,
	// they all go, and the next sweep walks the rows.
	for i := range db.expiries {
		if q := &db.expiries[i]; len(q.heap) > 2*q.rows+1024 {
			*q = expiryQueue{stale: true}
		}
	}
}

// SweepExpired deletes at most limit expired rows — access tokens, refresh
// tokens, sessions and verifications, in that order, each table in expiry
// order (rows expiring at the same instant in the order of their IDs) — in
// one write transaction. A row has expired when its expiry is not after the
// DB's clock. The sweep takes its rows from a queue kept in expiry order
// (see above), so its cost is in what it deletes, not in the size of the
// tables. Deleting a refresh token deletes its access tokens; deleting a
// session does what DeleteSession does: its tokens' sessionId is cleared,
// and in strict mode its access tokens are revoked, so that none is active
// again for having lost its expired session.
//
// Validation never relies on the sweep: an expired token is inactive
// whether or not it has been swept.
func (db *DB) SweepExpired(limit int) (SweepResult, error) {
	var res SweepResult
	if limit <= 0 {
		return res, nil
	}
	err := db.Update(func(tx *Tx) error {
		s := sweeper{now: db.now(), left: limit}
		err := s.all(tx, &res)
		if err != nil {
			// The deletes are undone: their rows are due again. Put back
			// here, under the writer lock that guards the queues.
			for _, t := range s.taken {
				t.q.push(t.h)
			}
		}
		return err
	})
	if err != nil {
		return SweepResult{}, err
	}
	return res, nil
}

// all sweeps each table in turn, counting into res.
func (s *sweeper) all(tx *Tx, res *SweepResult) error {
	var err error
	if res.AccessTokens, err = sweep(tx, s, accessTokensExpire); err != nil {
		return err
	}
	if res.RefreshTokens, err = sweep(tx, s, refreshTokensExpire); err != nil {
		return err
	}
	if res.Sessions, err = sweep(tx, s, sessionsExpire); err != nil {
		return err
	}
	res.Verifications, err = sweep(tx, s, verificationsExpire)
	return err
}

// sweeper is one SweepExpired: its clock, the rows it may still delete,
// and the hints it took for rows it deleted, which go back to their queues
// if the transaction does not commit.
type sweeper struct {
	now   time.Time
	left  int
	taken []takenHint
}

type takenHint struct {
	q *expiryQueue
	h expiryHint
}

// sweep deletes up to s.left expired rows of e's table, collecting them
// first: deleting while taking hints would let a cascade pull rows from
// under the collection.
func sweep[T any](tx *Tx, s *sweeper, e *expiring[T]) (int, error) {
	if s.left <= 0 {
		return 0, nil
	}
	q := e.queueOf(tx.db)
	if q.stale {
		q.fill(e.hints(tx.st))
	}
	var doomed []*T
	for len(doomed) < s.left && q.due(s.now) {
		h := q.pop()
		rec, ok := e.t.Get(tx.st, h.id)
		if !ok || e.hint(rec) != h {
			continue // gone, or it expires at another time, which has its hint
		}
		if len(doomed) > 0 && e.t.Key(doomed[len(doomed)-1]) == h.id {
			continue // the same hint twice: the row was inserted again as it was
		}
		s.taken = append(s.taken, takenHint{q, h})
		doomed = append(doomed, rec)
	}
	n := 0
	for _, rec := range doomed {
		// A cascade of an earlier delete may have taken it already.
		if _, ok := e.t.Get(tx.st, e.t.Key(rec)); !ok {
			continue
		}
		if err := e.t.DeleteRecord(tx.st, rec); err != nil {
			return n, err
		}
		n++
	}
	s.left -= n
	return n, nil
}

// expiryQueue is a min-heap of hints, soonest first, and the count of the
// table's rows. A stale queue holds none and is to be filled from the
// table's rows before it is read.
type expiryQueue struct {
	heap  []expiryHint
	rows  int
	stale bool
}

// expiryHint says that the row with this id expires at the instant sec,
// nsec (Unix time): a time.Time's own range and precision, in 32 B.
type expiryHint struct {
	sec  int64
	nsec int32
	id   string
}

func hintAt(t time.Time, id string) expiryHint {
	return expiryHint{sec: t.Unix(), nsec: int32(t.Nanosecond()), id: id}
}

// before orders hints by time, then by id: the order of the index the
// queue replaces, and the one SweepExpired promises.
func (h expiryHint) before(o expiryHint) bool {
	if h.sec != o.sec {
		return h.sec < o.sec
	}
	if h.nsec != o.nsec {
		return h.nsec < o.nsec
	}
	return h.id < o.id
}

// due reports whether the soonest hint's time is not after now.
func (q *expiryQueue) due(now time.Time) bool {
	if len(q.heap) == 0 {
		return false
	}
	h, sec := q.heap[0], now.Unix()
	return h.sec < sec || h.sec == sec && h.nsec <= int32(now.Nanosecond())
}

func (q *expiryQueue) push(h expiryHint) {
	q.heap = append(q.heap, h)
	for i := len(q.heap) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.heap[i].before(q.heap[p]) {
			break
		}
		q.heap[i], q.heap[p] = q.heap[p], q.heap[i]
		i = p
	}
}

func (q *expiryQueue) pop() expiryHint {
	h := q.heap[0]
	last := len(q.heap) - 1
	q.heap[0] = q.heap[last]
	q.heap[last] = expiryHint{} // let its id go
	q.heap = q.heap[:last]
	q.down(0)
	if cap(q.heap) > 1024 && len(q.heap) < cap(q.heap)/4 {
		q.heap = slices.Clip(slices.Clone(q.heap)) // give back what a mass expiry emptied
	}
	return h
}

// down moves the hint at i down to its place.
func (q *expiryQueue) down(i int) {
	n := len(q.heap)
	for {
		least := i
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < n && q.heap[c].before(q.heap[least]) {
				least = c
			}
		}
		if least == i {
			return
		}
		q.heap[i], q.heap[least] = q.heap[least], q.heap[i]
		i = least
	}
}

// fill makes hs, in any order, the queue.
func (q *expiryQueue) fill(hs []expiryHint) {
	q.heap, q.rows, q.stale = hs, len(hs), false
	for i := len(hs)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

// RunJanitor sweeps expired rows every interval, in batches of batch rows
// (one write transaction each, so that writers are never held up for
// long), until ctx ends. It returns ctx's error. errs, if not nil, is told
// of each failed sweep. A batch of 0 or less means 1000; an interval of 0 or
// less is an error.
func (db *DB) RunJanitor(ctx context.Context, interval time.Duration, batch int, errs func(error)) error {
	if interval <= 0 {
		return fmt.Errorf("oauthdb: janitor interval %v: %w", interval, ErrInvalid)
	}
	if batch <= 0 {
		batch = 1000
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		for ctx.Err() == nil {
			res, err := db.SweepExpired(batch)
			if err != nil {
				if errs != nil {
					errs(err)
				}
				break
			}
			if res.Total() < batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

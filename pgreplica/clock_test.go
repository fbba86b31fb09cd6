package pgreplica_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/pgreplica"
)

// standingClock is a DB clock that stands still until set: a test's, at a
// moment of its own scenario, as far from the wall clock as it likes.
type standingClock struct{ now atomic.Int64 }

func newStandingClock(at time.Time) *standingClock {
	c := &standingClock{}
	c.set(at)
	return c
}

func (c *standingClock) set(at time.Time) { c.now.Store(at.UnixNano()) }
func (c *standingClock) Now() time.Time   { return time.Unix(0, c.now.Load()).UTC() }

// A Follower measures its proofs, and MaxLag, on the wall clock, and
// vouches for its DB on the DB's own clock: the time a proof has left,
// counted from the DB's now. So a DB whose clock is not the wall's — a
// test's, standing still at a moment months away, before or after —
// answers while the follower proves itself fresh, and fails closed once
// Postgres is gone for longer than MaxLag. A clock that stands still
// cannot end anything by itself: the follower ends it when it next looks,
// within one vouch interval (MaxLag/50, at most 100 ms).
func TestFollowerVouchesOnItsDBsClock(t *testing.T) {
	wall := time.Now()
	for name, at := range map[string]time.Time{
		"eleven months back": wall.AddDate(0, -11, 0),
		"a year ahead":       wall.AddDate(1, 0, 0),
	} {
		t.Run(name, func(t *testing.T) {
			e := newOwnEnv(t)
			access, _ := e.grant("ada")
			const maxLag = 500 * time.Millisecond
			clk := newStandingClock(at)
			f := e.newFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "clock"}, MaxLag: maxLag},
				oauthdb.WithClock(clk.Now))
			f.run(t)
			if err := verdict(f.db, access); errors.Is(err, oauthdb.ErrStale) {
				t.Fatalf("a fresh follower's DB answers %v", err)
			}
			if until, st := f.db.FreshUntil(), f.Status(); until.After(clk.Now().Add(maxLag)) || !st.Fresh {
				t.Errorf("vouched until %v on a clock at %v (MaxLag %v); Status.Fresh %v", until, clk.Now(), maxLag, st.Fresh)
			}

			e.srv.Stop(t)
			stopped := time.Now()
			waitUntil(t, "the DB to fail closed", func() bool { return errors.Is(verdict(f.db, access), oauthdb.ErrStale) })
			if late := time.Since(stopped); late > maxLag+time.Second {
				t.Errorf("Postgres stopped: the DB answered for %v, MaxLag is %v", late, maxLag)
			}
			if f.Status().Fresh {
				t.Errorf("the DB fails closed, yet Status.Fresh")
			}
			// It stays closed: the clock standing still must not keep it open.
			for range 20 {
				time.Sleep(20 * time.Millisecond)
				if err := verdict(f.db, access); !errors.Is(err, oauthdb.ErrStale) {
					t.Fatalf("Postgres down for %v: the DB answers %v", time.Since(stopped), err)
				}
			}

			e.srv.Start(t)
			f.waitFresh(t)
			clk.set(at.Add(7 * 24 * time.Hour)) // the scenario moves on by a week
			waitUntil(t, "the DB to answer on the clock moved on", func() bool { return f.Status().Fresh })
			if until := f.db.FreshUntil(); until.After(clk.Now().Add(maxLag)) {
				t.Errorf("vouched until %v on a clock at %v (MaxLag %v)", until, clk.Now(), maxLag)
			}
		})
	}
}

// On the wall clock, vouching in durations changes nothing: the DB is
// never vouched for past the moment its follower's last proof plus MaxLag.
func TestFollowerVouchesNoLaterThanItsProof(t *testing.T) {
	e := newEnv(t)
	const maxLag = 500 * time.Millisecond
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "proof"}, MaxLag: maxLag})
	deadline := time.Now().Add(2 * time.Second)
	for n := 0; time.Now().Before(deadline); n++ {
		if n%20 == 0 {
			e.exec(`UPDATE "user" SET name = $1 WHERE id = 'nobody'`, fmt.Sprint(n))
		}
		until := f.db.FreshUntil()
		// Read after: the proof FreshUntil was made of is no later.
		proof := f.Status().CaughtUpAt
		if until.After(proof.Add(maxLag)) {
			t.Fatalf("vouched until %v, past the last proof %v + MaxLag %v", until, proof, maxLag)
		}
		time.Sleep(time.Millisecond)
	}
}

// The marks that depend on the time are decided on the DB's clock too: a
// session extended while it still lived, by the DB's clock, marks nothing;
// one extended after it ended marks its token — on a clock eleven months
// behind the wall's, where every row's old expiry is long past by the
// wall clock.
func TestFollowerDecidesMarksOnItsDBsClock(t *testing.T) {
	e := newEnv(t)
	early, _ := e.grant("early") // extended before its session ends
	late, _ := e.grant("late")   // extended after
	at := time.Now().AddDate(0, -11, 0)
	clk := newStandingClock(at)
	f := e.newFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "marks_clock"}}, oauthdb.WithClock(clk.Now))
	f.run(t)
	e.exec(`UPDATE "session" SET "expiresAt" = $1 WHERE id = 'early-s'`, at.Add(time.Hour))
	e.exec(`UPDATE "session" SET "expiresAt" = $1 WHERE id = 'late-s'`, at.Add(-time.Hour))
	f.waitFor(t, e.walLSN())
	f.waitFresh(t)
	if err := verdict(f.db, late); !errors.Is(err, oauthdb.ErrSessionExpired) {
		t.Fatalf("a session ended an hour ago by the DB's clock: %v, want ErrSessionExpired", err)
	}
	e.exec(`UPDATE "session" SET "expiresAt" = $1 WHERE id IN ('early-s', 'late-s')`, at.Add(24*time.Hour))
	f.waitFor(t, e.walLSN())
	f.waitFresh(t)
	if err := verdict(f.db, early); err != nil {
		t.Errorf("a session extended while it lived: %v, want active", err)
	}
	if err := verdict(f.db, late); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("a session extended after it ended: %v, want ErrTokenRevoked (marked)", err)
	}
}

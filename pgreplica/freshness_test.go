package pgreplica_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/pgreplica"
)

// fillerDDL is a table outside the publication, for WAL that the replica
// must read past without applying anything.
const fillerDDL = `CREATE TABLE filler (id bigserial PRIMARY KEY, pad text NOT NULL)`

// backlogMB is how much WAL of the filler table the freshness tests write
// while a replica is away: enough that its WAL sender takes a while to
// decode it after the replica comes back.
const backlogMB = 48

// writeBacklog writes about mb megabytes of WAL to the filler table, in
// transactions of 4 MB. Rows of 900 bytes stay inline and uncompressed.
func (e *env) writeBacklog(mb int) {
	e.t.Helper()
	for range (mb + 3) / 4 {
		e.exec(`INSERT INTO filler (pad) SELECT repeat(md5(g::text), 28) FROM generate_series(1, 4200) g`)
	}
}

// endWALSender terminates the WAL sender streaming slot and waits until it
// is gone.
func (e *env) endWALSender(slot string) {
	e.t.Helper()
	e.exec(`SELECT pg_terminate_backend(active_pid, 10000) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, slot)
}

// poller asks a DB about a token as fast as it can, from two goroutines,
// and records when it was answered active.
type poller struct {
	stop   atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	active []time.Time // the moments it was answered active
	asked  atomic.Int64
}

func pollToken(db *oauthdb.DB, token string) *poller {
	p := &poller{}
	for range 2 {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for !p.stop.Load() {
				_, err := db.ValidateAccessToken(token)
				at := time.Now()
				p.asked.Add(1)
				if err == nil {
					p.mu.Lock()
					p.active = append(p.active, at)
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

// halt stops the poller and returns the moments it was answered active.
func (p *poller) halt() []time.Time {
	p.stop.Store(true)
	p.wg.Wait()
	return p.active
}

// activeAfter returns how many of the moments are after t.
func activeAfter(moments []time.Time, t time.Time) (n int, first time.Time) {
	for _, m := range moments {
		if m.After(t) {
			if n == 0 {
				first = m
			}
			n++
		}
	}
	return n, first
}

// The sequence of issue 18: a follower paused (as SIGSTOP would) while its
// WAL sender is ended, a backlog of other tables' WAL is written, a token is
// revoked, and MaxLag passes; then it is resumed. It must not answer
// active for the token ever after: an answer may be MaxLag old, and the
// revocation is older than that. (A keepalive that finds nothing pending
// right after the reconnect says nothing of the backlog its WAL sender has
// yet to decode.)
func TestPausedFollowerNeverAnswersFromBeforeItsBacklog(t *testing.T) {
	e := newEnv(t, fillerDDL)
	access, _ := e.grant("ada")
	const maxLag = 500 * time.Millisecond
	// A state directory makes the slot permanent: the follower resumes it
	// after the pause, which is where the race was.
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "paused"}, MaxLag: maxLag, StateDir: t.TempDir()})
	if err := verdict(f.db, access); err != nil {
		t.Fatal(err)
	}
	release := pgreplica.HoldFollower(f.Follower)
	e.endWALSender(e.db + "_paused")
	e.writeBacklog(backlogMB)
	e.exec(`UPDATE "oauthAccessToken" SET revoked = now() WHERE id = 'ada-a'`)
	revoked := time.Now()
	revocation := e.walLSN()
	time.Sleep(maxLag + 100*time.Millisecond)

	p := pollToken(f.db, access)
	release()
	f.waitFor(t, revocation)
	active := p.halt()
	if n, first := activeAfter(active, revoked.Add(maxLag)); n > 0 {
		t.Errorf("answered active %d times after resuming (of %d asked), the first %v after the revocation, with MaxLag %v",
			n, p.asked.Load(), first.Sub(revoked), maxLag)
	}
	f.waitFresh(t)
	if err := verdict(f.db, access); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("after catching up: %v, want ErrTokenRevoked", err)
	}
}

// The same race on a plain reconnect: the WAL sender ends, WAL piles up
// while the follower waits to reconnect, a token is revoked; from MaxLag
// after the revocation on, the follower must not answer active for it.
func TestReconnectedFollowerNeverAnswersFromBeforeItsBacklog(t *testing.T) {
	e := newEnv(t, fillerDDL)
	access, _ := e.grant("ada")
	const maxLag = 300 * time.Millisecond
	f := e.startFollower(pgreplica.FollowerConfig{
		Config:   pgreplica.Config{Slot: "reconnect", MinBackoff: time.Second, MaxBackoff: time.Second},
		MaxLag:   maxLag,
		StateDir: t.TempDir(),
	})
	if err := verdict(f.db, access); err != nil {
		t.Fatal(err)
	}
	p := pollToken(f.db, access)
	e.endWALSender(e.db + "_reconnect")
	waitUntil(t, "the session to end", func() bool { return !f.Status().Connected })
	// The backoff leaves at least half a second before the next session:
	// hold that one back until the backlog and the revocation are in.
	release := pgreplica.HoldFollower(f.Follower)
	e.writeBacklog(backlogMB)
	e.exec(`UPDATE "oauthAccessToken" SET revoked = now() WHERE id = 'ada-a'`)
	revoked := time.Now()
	revocation := e.walLSN()
	release()
	f.waitFor(t, revocation)
	t.Logf("caught up %v after the revocation", time.Since(revoked))
	active := p.halt()
	if len(active) > 0 {
		t.Logf("last active %v after the revocation", active[len(active)-1].Sub(revoked))
	}
	if n, first := activeAfter(active, revoked.Add(maxLag)); n > 0 {
		t.Errorf("answered active %d times more than MaxLag (%v) after the revocation (of %d asked), the first %v after it",
			n, maxLag, p.asked.Load(), first.Sub(revoked))
	}
	if st := f.Status(); st.Loads != 1 {
		t.Errorf("%d loads, want the slot resumed", st.Loads)
	}
}

// A follower needs no more than REPLICATION, SELECT on the tables and a
// publication made for it: its heartbeats (pg_logical_emit_message) need
// no privilege of their own.
func TestFollowerNeedsOnlyReplicationAndSelect(t *testing.T) {
	e := newEnv(t)
	role := e.db + "_replicator"
	e.exec(`CREATE ROLE ` + role + ` LOGIN REPLICATION`)
	t.Cleanup(func() { e.exec(`DROP OWNED BY ` + role + `; DROP ROLE ` + role) })
	e.exec(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ` + role)
	e.exec(`CREATE PUBLICATION oauthdb FOR TABLE "user", "session", "oauthClient", "oauthRefreshToken", "oauthAccessToken", "oauthConsent", "verification"`)
	access, _ := e.grant("ada")
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "least", DSN: e.dsn + " user=" + role}})
	if err := verdict(f.db, access); err != nil {
		t.Fatal(err)
	}
	var user string
	if err := e.conn().QueryRow(context.Background(), `SELECT usename FROM pg_stat_replication WHERE application_name = $1`,
		"pgreplica "+e.db+"_least").Scan(&user); err != nil || user != role {
		t.Fatalf("the follower streams as %q (%v), want %q", user, err, role)
	}
	e.exec(`UPDATE "oauthAccessToken" SET revoked = now() WHERE id = 'ada-a'`)
	e.convergedDB(f)
	if err := verdict(f.db, access); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("after the revocation: %v, want ErrTokenRevoked", err)
	}
}

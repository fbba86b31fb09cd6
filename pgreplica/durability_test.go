package pgreplica_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/pgtest"
	"github.com/oauthdb/oauthdb/pgreplica"
)

// markedTokens writes, with SQL, the events after which a follower holds a
// token inactive that Postgres' rows alone would call active (its marks),
// and returns those tokens: better-auth's sign-out stopped after its first
// transaction (the session deleted, the token's sessionId nulled), a
// revocation undone, a disabled client enabled again. f must follow the
// database: it sees each event on its own.
func (e *env) markedTokens(f *follower) []string {
	e.t.Helper()
	signedOut, _ := e.grant("signedout")
	unrevoked, _ := e.grant("unrevoked")
	reenabled, _ := e.grant("reenabled")
	f.waitFor(e.t, e.walLSN())
	for _, tok := range []string{signedOut, unrevoked, reenabled} {
		if err := verdict(f.db, tok); err != nil {
			e.t.Fatalf("before the events: %v", err)
		}
	}
	for _, sql := range pgtest.MarkingEvents("signedout", "unrevoked", "reenabled") {
		e.exec(sql)
		f.waitFor(e.t, e.walLSN()) // one at a time: each is a transaction the follower sees
	}
	tokens := []string{signedOut, unrevoked, reenabled}
	e.wantInactive(f, tokens)
	return tokens
}

// wantInactive checks that the follower answers each token inactive, and
// that Postgres' rows alone would not.
func (e *env) wantInactive(f *follower, tokens []string) {
	e.t.Helper()
	f.waitFresh(e.t)
	for i, tok := range tokens {
		if err := verdict(f.db, tok); !errors.Is(err, oauthdb.ErrTokenRevoked) {
			e.t.Errorf("token %d: %v, want ErrTokenRevoked", i, err)
		}
	}
	rows := e.postgresRows()
	for _, a := range rows.AccessTokens {
		for _, tok := range tokens {
			if a.Token == oauthdb.HashToken(tok) && !a.Revoked.IsZero() {
				e.t.Fatalf("Postgres has token %s revoked: the test shows nothing", a.ID)
			}
		}
	}
}

// A follower's marks outlive it: stopped and replaced by a new follower (a
// new process, a DB of its own) on the same state directory, it answers
// inactive what it answered inactive before, whether it resumes its slot
// or, the slot dropped while it was down, loads again.
func TestFollowerMarksOutliveARestart(t *testing.T) {
	e := newEnv(t)
	cfg := pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "marks"}, StateDir: t.TempDir()}
	f := e.startFollower(cfg)
	tokens := e.markedTokens(f)
	f.close(t)

	resumed := e.startFollower(cfg)
	e.wantInactive(resumed, tokens)
	e.convergedDB(resumed)
	if st := resumed.Status(); st.Loads != 0 {
		t.Errorf("the restarted follower loaded %d times, want 0 (resumed)", st.Loads)
	}
	resumed.close(t)

	e.dropSlot(e.db + "_marks")
	e.exec(`UPDATE "user" SET name = 'moved on' WHERE id = 'signedout'`)
	reloaded := e.startFollower(cfg)
	e.wantInactive(reloaded, tokens)
	e.convergedDB(reloaded)
	if st := reloaded.Status(); st.Loads != 1 {
		t.Errorf("with its slot dropped, the follower loaded %d times, want 1", st.Loads)
	}
}

// copyState copies a follower's state file into a directory of its own, as
// the state a crash would leave behind: the last one written.
func copyState(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	crashed := t.TempDir()
	if err := os.WriteFile(filepath.Join(crashed, "state"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return crashed
}

// After a crash the state on disk is older than what the follower had
// applied. The follower acknowledges to Postgres no further than its state
// covers, so the slot still holds what came after; a restart from that
// state streams it again and makes the same marks again.
func TestFollowerCrashReplaysFromItsState(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	// The state is written after the load, and not again until the
	// follower stops: a crash after the load.
	cfg := pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "crash"}, StateDir: dir, StateInterval: time.Hour}
	f := e.startFollower(cfg)
	waitUntil(t, "the state written after the load", func() bool { return !f.Status().StateWritten.IsZero() })
	tokens := e.markedTokens(f)
	crashed := copyState(t, dir)
	st := f.Status()
	if st.Acknowledged > st.StateLSN || st.AppliedLSN <= st.StateLSN {
		t.Errorf("applied %s, acknowledged %s, state at %s: want acknowledged ≤ state < applied", st.AppliedLSN, st.Acknowledged, st.StateLSN)
	}
	var confirmed string
	if err := e.conn().QueryRow(context.Background(), `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`,
		e.db+"_crash").Scan(&confirmed); err != nil {
		t.Fatal(err)
	}
	var c pgreplica.LSN
	if err := c.Scan(confirmed); err != nil || c > st.StateLSN {
		t.Errorf("the slot is confirmed up to %s (%v), past the state's %s", confirmed, err, st.StateLSN)
	}
	f.close(t)

	cfg.StateDir = crashed
	replayed := e.startFollower(cfg)
	e.wantInactive(replayed, tokens)
	e.convergedDB(replayed)
	if st := replayed.Status(); st.Loads != 0 || st.Applied == 0 {
		t.Errorf("after the crash: %d loads, %d transactions applied; want the slot resumed and the transactions streamed again", st.Loads, st.Applied)
	}
}

// The marks a transaction calls for depend on the stream alone, not on when
// it is applied: a restart that streams a transaction again, after a crash,
// makes exactly the marks the first run made. A session extended before it
// expired marks nothing, even when the replay comes after the old expiry
// (else the restart would revoke a token better-auth holds active); one
// extended after it expired marks its token, in both runs.
func TestFollowerReplayMakesTheSameMarks(t *testing.T) {
	e := newEnv(t)
	early, _ := e.grant("early") // extended before its session expires
	late, _ := e.grant("late")   // extended after
	dir := t.TempDir()
	cfg := pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "replay"}, StateDir: dir, StateInterval: time.Hour}
	f := e.startFollower(cfg)
	waitUntil(t, "the state written after the load", func() bool { return !f.Status().StateWritten.IsZero() })
	// Both are streamed again after the crash. The early session is
	// extended well within its last seconds (more than MaxLag and a second
	// of slack before they end).
	e.exec(`UPDATE "session" SET "expiresAt" = now() + interval '4 seconds' WHERE id = 'early-s'`)
	e.exec(`UPDATE "session" SET "expiresAt" = now() + interval '1 second' WHERE id = 'late-s'`)
	e.exec(`UPDATE "session" SET "expiresAt" = now() + interval '1 day' WHERE id = 'early-s'`)
	waitUntil(t, "the late session to expire", func() bool { return errors.Is(verdict(f.db, late), oauthdb.ErrSessionExpired) })
	e.exec(`UPDATE "session" SET "expiresAt" = now() + interval '1 day' WHERE id = 'late-s'`)
	f.waitFor(t, e.walLSN())
	f.waitFresh(t)
	if err := verdict(f.db, early); err != nil {
		t.Fatalf("a session extended before it expired: %v, want active", err)
	}
	if err := verdict(f.db, late); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Fatalf("a session extended after it expired: %v, want ErrTokenRevoked", err)
	}
	crashed := copyState(t, dir)
	f.close(t)

	// Streamed again once the early session's old expiry has passed.
	time.Sleep(4 * time.Second)
	cfg.StateDir = crashed
	replayed := e.startFollower(cfg)
	if err := verdict(replayed.db, early); err != nil {
		t.Errorf("replayed, a session extended before it expired: %v, want active as before the crash", err)
	}
	if err := verdict(replayed.db, late); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("replayed, a session extended after it expired: %v, want ErrTokenRevoked as before the crash", err)
	}
	if st := replayed.Status(); st.Loads != 0 {
		t.Errorf("the replay loaded %d times, want 0", st.Loads)
	}
}

// With shared marks, a brand-new follower (no state, a load of the rows as
// they are) holds inactive what the fleet held inactive: the marks another
// follower made reach it through a table in Postgres. Without, it knows
// nothing of them. A row of the table goes once its token does.
func TestSharedMarksReachANewFollower(t *testing.T) {
	e := newEnv(t)
	shared := pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "first"}, SharedMarks: true}
	first := e.startFollower(shared)
	tokens := e.markedTokens(first)
	want := len(first.db.Marks())
	waitUntil(t, "the marks in Postgres", func() bool { return e.count(`SELECT count(*) FROM `+pgreplica.MarksTable) == want })

	shared.Slot = "second"
	second := e.startFollower(shared)
	e.wantInactive(second, tokens)
	e.convergedDB(second)
	lone := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "lone"}})
	for i, tok := range tokens {
		if err := verdict(lone.db, tok); err != nil {
			t.Errorf("token %d, without shared marks: %v; the test shows nothing if a new follower knows the marks without them", i, err)
		}
	}

	e.exec(`DELETE FROM "oauthAccessToken" WHERE id = 'unrevoked-a'`)
	waitUntil(t, "the mark of a deleted token to go", func() bool {
		return e.count(`SELECT count(*) FROM `+pgreplica.MarksTable+` WHERE token_id = 'unrevoked-a'`) == 0
	})
}

// A state directory is one Follower's: a second one on it is refused until
// the first is closed. (Two would each hold the other's slot back.)
func TestStateDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	cfg := pgreplica.FollowerConfig{Config: pgreplica.Config{DSN: "host=/nowhere dbname=auth", Slot: "locked"}, StateDir: dir}
	open := func() (*pgreplica.Follower, error) {
		db, err := oauthdb.Open(oauthdb.WithReplica())
		if err != nil {
			t.Fatal(err)
		}
		return pgreplica.NewFollower(cfg, db)
	}
	first, err := open()
	if err != nil {
		t.Fatal(err)
	}
	var ce *pgreplica.ConfigError
	if _, err := open(); !errors.As(err, &ce) || ce.Field != "StateDir" {
		t.Errorf("a second follower on the directory: %v, want a ConfigError on StateDir", err)
	}
	first.Close()
	second, err := open()
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	second.Close()
}

// A state that cannot be read stops Run, naming its directory, before
// anything connects: starting without its marks could answer active a
// token answered inactive before.
func TestFollowerRefusesAStateItCannotRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "state"), []byte("not a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := oauthdb.Open(oauthdb.WithReplica())
	if err != nil {
		t.Fatal(err)
	}
	f, err := pgreplica.NewFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{DSN: "host=/nowhere dbname=auth", Slot: "unread"},
		StateDir: dir}, db)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = f.Run(ctx)
	if !errors.Is(err, oauthdb.ErrSnapshotMalformed) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Run = %v, want the state's error, naming %s", err, dir)
	}
	if st := f.Status(); st.Sessions != 0 || st.LastError != nil {
		t.Errorf("it connected: %+v", st)
	}
}

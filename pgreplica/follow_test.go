package pgreplica_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/betterauth"
	"github.com/oauthdb/oauthdb/pgreplica"
)

// follower runs a Follower of the env's database into a DB of its own
// until the test ends.
type follower struct {
	*pgreplica.Follower
	db     *oauthdb.DB
	cancel context.CancelFunc
	done   chan error
}

// startFollower starts a Follower with the test settings of startReplica
// and waits until its DB answers.
func (e *env) startFollower(cfg pgreplica.FollowerConfig) *follower {
	e.t.Helper()
	f := e.newFollower(cfg)
	f.run(e.t)
	return f
}

// newFollower makes a Follower with the test settings of startReplica,
// into a DB of its own opened with opts, without running it.
func (e *env) newFollower(cfg pgreplica.FollowerConfig, opts ...oauthdb.Option) *follower {
	e.t.Helper()
	cfg.Config = e.testConfig(cfg.Config)
	if cfg.MaxLag == 0 {
		cfg.MaxLag = 500 * time.Millisecond
	}
	db, err := oauthdb.Open(append(opts, oauthdb.WithReplica())...)
	if err != nil {
		e.t.Fatal(err)
	}
	f, err := pgreplica.NewFollower(cfg, db)
	if err != nil {
		e.t.Fatal(err)
	}
	return &follower{Follower: f, db: db}
}

// run runs the follower until the test ends (or stop or close), and waits
// until its DB answers.
func (f *follower) run(t testing.TB) {
	t.Helper()
	f.start(t)
	f.waitFresh(t)
}

// start runs the follower until the test ends (or stop or close).
func (f *follower) start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- f.Run(ctx) }()
	t.Cleanup(func() { f.close(t) })
}

// runAgain runs the stopped follower again, as its process would.
func (f *follower) runAgain(t testing.TB) *follower {
	t.Helper()
	again := &follower{Follower: f.Follower, db: f.db}
	again.run(t)
	return again
}

// close stops the follower and releases its state directory.
func (f *follower) close(t testing.TB) {
	t.Helper()
	f.stop(t)
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func (f *follower) waitFresh(t testing.TB) {
	t.Helper()
	f.waitFreshWithin(t, 30*time.Second)
}

// waitFreshWithin waits until the follower's DB answers, for at most d.
func (f *follower) waitFreshWithin(t testing.TB, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f.Status().Fresh {
		if time.Now().After(deadline) {
			t.Fatalf("follower not fresh after %v: %+v", d, f.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *follower) stop(t testing.TB) {
	t.Helper()
	f.cancel()
	select {
	case err, ok := <-f.done:
		if !ok {
			return
		}
		if err != context.Canceled {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
		close(f.done)
	case <-time.After(10 * time.Second):
		t.Error("Run did not return within 10 s of its context's cancellation")
	}
}

func (f *follower) waitFor(t testing.TB, lsn pgreplica.LSN) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.WaitApplied(ctx, lsn); err != nil {
		t.Fatalf("follower did not reach %s: %v; status %+v", lsn, err, f.Status())
	}
}

// postgresRows reads the tables from Postgres and decodes them as a
// Follower does, stored through the door of a DB of their own.
func (e *env) postgresRows() oauthdb.Snapshot {
	e.t.Helper()
	tables := e.read(pgreplica.DefaultTables)
	db, err := oauthdb.Open()
	if err != nil {
		e.t.Fatal(err)
	}
	err = db.Update(func(tx *oauthdb.Tx) error {
		for _, name := range pgreplica.DefaultTables {
			for _, row := range tables[name] {
				vals := map[string]betterauth.Value{}
				for col, v := range row {
					vals[col] = v.BetterAuth()
				}
				rec, err := betterauth.DecodeRow(name, vals)
				if err != nil {
					return err
				}
				if err := betterauth.Insert(tx, rec); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("Postgres rows: %v", err)
	}
	return db.Rows()
}

// convergedDB waits for the follower to catch up with the primary and
// checks that its DB holds exactly the rows Postgres does.
func (e *env) convergedDB(f *follower) {
	e.t.Helper()
	f.waitFor(e.t, e.walLSN())
	if diff := cmp.Diff(e.postgresRows(), f.db.Rows()); diff != "" {
		e.t.Errorf("follower differs from Postgres (-postgres +follower):\n%s", diff)
	}
	if st := f.Status(); st.Refused != 0 {
		e.t.Errorf("follower refused %d rows, the last %+v", st.Refused, st.LastRefusal)
	}
}

// Three followers, started before and during the random workload, hold
// exactly Postgres' rows, decoded.
func TestFollowersConverge(t *testing.T) {
	e := newEnv(t)
	wl := e.newWorkload(workloadSeed(t))
	if err := wl.run(context.Background(), *steps/3); err != nil {
		t.Fatal(err)
	}
	fs := []*follower{e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "follower_0"}})}
	stop := wl.background()
	for i := 1; i < 3; i++ {
		wl.waitSteps(t, *steps/3)
		fs = append(fs, e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: fmt.Sprintf("follower_%d", i)}}))
	}
	wl.waitSteps(t, *steps/3)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("operations: %v", wl.w.Counts)
	for i, f := range fs {
		e.convergedDB(f)
		st := f.Status()
		t.Logf("follower %d: %d transactions applied, %d loads", i, st.Applied, st.Loads)
		if st.Applied == 0 {
			t.Errorf("follower %d applied no transaction", i)
		}
	}
}

// grant inserts, with SQL as better-auth would, a user with a session, a
// client, and an access and a refresh token for them, live now; it returns
// the access and refresh tokens' plaintext.
func (e *env) grant(id string, scopes ...string) (access, refresh string) {
	e.t.Helper()
	access, refresh = id+"-access-plaintext", id+"-refresh-plaintext"
	sc := `["openid"]`
	if len(scopes) > 0 {
		sc = `["` + strings.Join(scopes, `","`) + `"]`
	}
	e.exec(insertUser, id)
	e.exec(insertSession, id+"-s", id)
	e.exec(`INSERT INTO "oauthClient" (id, "clientId", "redirectUris", "createdAt", "updatedAt") VALUES ($1, $1 || '-cid', '["https://app.example/cb"]', now(), now())`, id+"-c")
	e.exec(`INSERT INTO "oauthRefreshToken" (id, token, "clientId", "sessionId", "userId", scopes, "expiresAt", "createdAt")
		VALUES ($1, $2, $3, $4, $5, $6::jsonb, now() + interval '30 days', now())`, id+"-r", oauthdb.HashToken(refresh), id+"-c-cid", id+"-s", id, sc)
	e.exec(`INSERT INTO "oauthAccessToken" (id, token, "clientId", "sessionId", "userId", "refreshId", scopes, "expiresAt", "createdAt")
		VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, now() + interval '1 hour', now())`, id+"-a", oauthdb.HashToken(access), id+"-c-cid", id+"-s", id, id+"-r", sc)
	return access, refresh
}

func verdict(db *oauthdb.DB, token string) error {
	_, err := db.ValidateAccessToken(token)
	return err
}

// better-auth's sign-out, on its own Postgres schema: the session's delete
// sets its tokens' sessionId to NULL, and a second transaction revokes
// them. In between, the rows say active; the follower does not.
func TestFollowerSignOut(t *testing.T) {
	e := newEnv(t)
	access, refresh := e.grant("ada")
	access2, refresh2 := e.grant("bob", "openid", "offline_access")
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "signout"}})
	for _, tok := range []string{access, access2} {
		if err := verdict(f.db, tok); err != nil {
			t.Fatalf("before sign-out: %v", err)
		}
	}

	e.exec(`DELETE FROM "session" WHERE id IN ('ada-s', 'bob-s')`)
	f.waitFor(t, e.walLSN())
	var tokens int
	if err := e.conn().QueryRow(context.Background(), `SELECT count(*) FROM "oauthAccessToken" WHERE revoked IS NULL AND "sessionId" IS NULL`).Scan(&tokens); err != nil || tokens != 2 {
		t.Fatalf("after the session's delete Postgres has %d unrevoked access tokens without a session (%v), want 2", tokens, err)
	}
	for _, tok := range []string{access, access2} {
		if err := verdict(f.db, tok); !errors.Is(err, oauthdb.ErrTokenRevoked) {
			t.Errorf("between the sign-out's transactions: %v, want ErrTokenRevoked", err)
		}
	}
	if _, err := f.db.ValidateRefreshToken(refresh); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("refresh token without offline_access: %v, want ErrTokenRevoked", err)
	}
	if _, err := f.db.ValidateRefreshToken(refresh2); err != nil {
		t.Errorf("refresh token with offline_access: %v, want active", err)
	}

	e.exec(`UPDATE "oauthAccessToken" SET revoked = now() WHERE "sessionId" IS NULL`)
	e.exec(`UPDATE "oauthRefreshToken" SET revoked = now() WHERE "sessionId" IS NULL AND NOT scopes ? 'offline_access'`)
	e.convergedDB(f)
	if err := verdict(f.db, access); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("after sign-out: %v, want ErrTokenRevoked", err)
	}
}

// A revocation in Postgres is inactive on the follower as soon as it has
// applied the transaction, cache or not.
func TestFollowerRevocation(t *testing.T) {
	e := newEnv(t)
	access, _ := e.grant("ada")
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "revoke"}})
	if err := verdict(f.db, access); err != nil { // cached now
		t.Fatal(err)
	}
	e.exec(`UPDATE "oauthAccessToken" SET revoked = now() WHERE id = 'ada-a'`)
	f.waitFor(t, e.walLSN())
	if err := verdict(f.db, access); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("after revocation: %v, want ErrTokenRevoked", err)
	}
	// Un-revoked in Postgres: a token inactive once is not active again
	// without a new grant.
	e.exec(`UPDATE "oauthAccessToken" SET revoked = NULL WHERE id = 'ada-a'`)
	f.waitFor(t, e.walLSN())
	if err := verdict(f.db, access); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("un-revoked: %v, want ErrTokenRevoked", err)
	}
	// Nor when its client is disabled and enabled again.
	bob, _ := e.grant("bob")
	e.exec(`UPDATE "oauthClient" SET disabled = true WHERE id = 'bob-c'`)
	f.waitFor(t, e.walLSN())
	if err := verdict(f.db, bob); !errors.Is(err, oauthdb.ErrClientDisabled) {
		t.Errorf("client disabled: %v, want ErrClientDisabled", err)
	}
	e.exec(`UPDATE "oauthClient" SET disabled = false WHERE id = 'bob-c'`)
	e.convergedDB(f)
	if err := verdict(f.db, bob); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("client enabled again: %v, want ErrTokenRevoked", err)
	}
}

// Postgres down, killed or restarted: the follower's DB fails closed within
// MaxLag, and answers again once it has caught up.
func TestFollowerFailsClosed(t *testing.T) {
	e := newOwnEnv(t)
	access, _ := e.grant("ada")
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "closed"}, MaxLag: 400 * time.Millisecond})
	if err := verdict(f.db, access); err != nil {
		t.Fatal(err)
	}
	for _, fault := range []string{"stop", "kill"} {
		if fault == "stop" {
			e.srv.Stop(t)
		} else {
			e.srv.Kill(t)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !errors.Is(verdict(f.db, access), oauthdb.ErrStale) {
			if time.Now().After(deadline) {
				t.Fatalf("Postgres %s: the follower still answers after 10 s: %+v", fault, f.Status())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if until := f.Status().FreshUntil; !until.IsZero() && time.Now().Before(until) {
			t.Errorf("stale, yet FreshUntil %v is ahead", until)
		}
		e.srv.Start(t)
		f.waitFresh(t)
		e.exec(`UPDATE "user" SET name = $1 WHERE id = 'ada'`, "Ada after "+fault)
		e.convergedDB(f)
		if err := verdict(f.db, access); err != nil {
			t.Errorf("after Postgres %s and restart: %v", fault, err)
		}
	}
}

// A resync (the slot dropped) swaps in the new state whole and keeps what
// the follower held inactive.
func TestFollowerResync(t *testing.T) {
	e := newEnv(t)
	access, _ := e.grant("ada")
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "resync", MinBackoff: 300 * time.Millisecond, MaxBackoff: time.Second}})
	e.exec(`DELETE FROM "session" WHERE id = 'ada-s'`) // the sign-out's first half
	f.waitFor(t, e.walLSN())
	e.dropSlot(e.db + "_resync")
	e.exec(`UPDATE "user" SET name = 'Ada' WHERE id = 'ada'`)
	deadline := time.Now().Add(30 * time.Second)
	for f.Status().Loads < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no resync after the slot was dropped: %+v", f.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.waitFresh(t)
	e.convergedDB(f)
	if err := verdict(f.db, access); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("after the resync: %v, want ErrTokenRevoked", err)
	}
}

// An UPDATE that leaves a TOASTed column alone does not send it: the
// follower keeps the value it has.
func TestFollowerKeepsToastedValues(t *testing.T) {
	e := newEnv(t)
	e.exec(insertUser, "ada")
	// Incompressible, so that Postgres stores it out of line.
	e.exec(`UPDATE "user" SET image = 'data:image/png;base64,' || (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 2000) g) WHERE id = 'ada'`)
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "toast"}})
	e.exec(`UPDATE "user" SET name = 'Ada Lovelace' WHERE id = 'ada'`)
	e.convergedDB(f)
	var u oauthdb.User
	_ = f.db.View(func(tx *oauthdb.Tx) error { u, _ = tx.User("ada"); return nil })
	if u.Name != "Ada Lovelace" || len(u.Image) < 64000 {
		t.Errorf("user after the update: name %q, image of %d bytes", u.Name, len(u.Image))
	}

	// The same when the update changes the key: the value comes from the
	// row under its old key, which goes.
	e.exec(`UPDATE "user" SET id = 'ada2' WHERE id = 'ada'`)
	e.convergedDB(f)
	_ = f.db.View(func(tx *oauthdb.Tx) error { u, _ = tx.User("ada2"); return nil })
	if len(u.Image) < 64000 {
		t.Errorf("user after its key changed: image of %d bytes", len(u.Image))
	}
}

// A row the DB's door refuses is counted, and what names it goes with it:
// inactive, never kept as it was.
func TestFollowerRefusesWhatItCannotKeep(t *testing.T) {
	e := newEnv(t)
	access, _ := e.grant("ada")
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "refuse"}})
	// A year oauthdb does not keep (Postgres does, to 294276).
	e.exec(`UPDATE "session" SET "expiresAt" = '12000-01-01' WHERE id = 'ada-s'`)
	f.waitFor(t, e.walLSN())
	st := f.Status()
	if st.Refused != 3 || st.LastRefusal == nil {
		t.Fatalf("refused %d rows (last %+v), want 3: the session and its two tokens", st.Refused, st.LastRefusal)
	}
	if err := verdict(f.db, access); !errors.Is(err, oauthdb.ErrTokenNotFound) {
		t.Errorf("a token of the refused session: %v, want ErrTokenNotFound", err)
	}
	var s oauthdb.Session
	_ = f.db.View(func(tx *oauthdb.Tx) error { var err error; s, err = tx.Session("ada-s"); return err })
	if s.ID != "" {
		t.Errorf("the refused session was kept as it was: %+v", s)
	}
}

func TestNewFollowerRefusesBadConfig(t *testing.T) {
	primary, _ := oauthdb.Open()
	replica, _ := oauthdb.Open(oauthdb.WithReplica())
	for name, tc := range map[string]struct {
		cfg pgreplica.FollowerConfig
		db  *oauthdb.DB
	}{
		"nil db":      {pgreplica.FollowerConfig{Config: pgreplica.Config{DSN: "postgres://x/y", Slot: "s"}}, nil},
		"not replica": {pgreplica.FollowerConfig{Config: pgreplica.Config{DSN: "postgres://x/y", Slot: "s"}}, primary},
		"lag":         {pgreplica.FollowerConfig{Config: pgreplica.Config{DSN: "postgres://x/y", Slot: "s"}, MaxLag: time.Second}, replica},
		"no slot":     {pgreplica.FollowerConfig{Config: pgreplica.Config{DSN: "postgres://x/y"}}, replica},
	} {
		var ce *pgreplica.ConfigError
		if _, err := pgreplica.NewFollower(tc.cfg, tc.db); !errors.As(err, &ce) {
			t.Errorf("%s: NewFollower = %v, want a *ConfigError", name, err)
		}
	}
}

// Without a state directory a follower's slot is temporary: it is gone as
// soon as the follower stops, so that nothing holds WAL back for it, and the
// follower run again loads again.
func TestFollowerWithoutStateUsesATemporarySlot(t *testing.T) {
	e := newEnv(t)
	wl := e.newWorkload(workloadSeed(t))
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "temporary"}})
	if !e.slotIs(e.db+"_temporary", "temporary") {
		t.Errorf("the follower's slot is not temporary")
	}
	if err := wl.run(context.Background(), *steps/3); err != nil {
		t.Fatal(err)
	}
	e.convergedDB(f)
	f.stop(t)
	if _, err := f.db.ValidateAccessToken("anything"); !errors.Is(err, oauthdb.ErrStale) {
		t.Errorf("a stopped follower's DB: %v, want ErrStale", err)
	}
	// Postgres drops it once the WAL sender has seen the connection close.
	deadline := time.Now().Add(10 * time.Second)
	for !e.slotIs(e.db+"_temporary", "") {
		if time.Now().After(deadline) {
			t.Fatal("the slot outlived the follower by 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := wl.run(context.Background(), *steps/3); err != nil {
		t.Fatal(err)
	}
	again := f.runAgain(t)
	e.convergedDB(again)
	if st := again.Status(); st.Loads != 2 {
		t.Errorf("the follower run again loaded %d times in all, want 2", st.Loads)
	}
}

// With a state directory the slot is permanent and the follower's state
// outlives it: stopped and run again, or replaced by a new follower (a new
// process, with a DB of its own) on the same directory, it resumes from its
// slot without a load.
func TestFollowerWithStateResumes(t *testing.T) {
	e := newEnv(t)
	wl := e.newWorkload(workloadSeed(t))
	cfg := pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "durable"}, StateDir: t.TempDir()}
	f := e.startFollower(cfg)
	if !e.slotIs(e.db+"_durable", "permanent") {
		t.Errorf("the follower's slot is not permanent")
	}
	if err := wl.run(context.Background(), *steps/3); err != nil {
		t.Fatal(err)
	}
	e.convergedDB(f)
	f.stop(t)

	if err := wl.run(context.Background(), *steps/3); err != nil {
		t.Fatal(err)
	}
	again := f.runAgain(t)
	e.convergedDB(again)
	if st := again.Status(); st.Loads != 1 {
		t.Errorf("the follower run again loaded %d times in all, want 1", st.Loads)
	}
	again.close(t)

	if err := wl.run(context.Background(), *steps/3); err != nil {
		t.Fatal(err)
	}
	next := e.startFollower(cfg)
	e.convergedDB(next)
	st := next.Status()
	if st.Loads != 0 {
		t.Errorf("a new follower on the state loaded %d times, want 0", st.Loads)
	}
	if st.StateWritten.IsZero() || st.StateLSN == 0 || st.StateError != nil {
		t.Errorf("state: written %v at %s, error %v", st.StateWritten, st.StateLSN, st.StateError)
	}
}

// Postgres restarted and killed while the workload runs: a follower with a
// state directory resumes from its slot, without a resync; one without,
// whose slot is temporary, loads again each time. Both converge.
func TestFollowerConvergesAcrossPostgresRestartAndKill(t *testing.T) {
	e := newOwnEnv(t)
	wl := e.newWorkload(workloadSeed(t))
	durable := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "crash"}, StateDir: t.TempDir()})
	temporary := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "crash_tmp"}})
	status := func() pgreplica.Status { return durable.Status().Status }
	stop := wl.background()
	wl.waitSteps(t, *steps/3)
	e.srv.Restart(t)
	waitSessions(t, status, 2)
	wl.waitSteps(t, *steps/3)
	e.srv.Kill(t)
	e.srv.Start(t)
	waitSessions(t, status, 3)
	wl.waitSteps(t, *steps/3)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*follower{durable, temporary} {
		f.waitFresh(t)
		e.convergedDB(f)
	}
	st := durable.Status()
	t.Logf("%d transactions applied, %d skipped as resent, %d sessions", st.Applied, st.Skipped, st.Sessions)
	if st.Loads != 1 || st.Sessions < 3 {
		t.Errorf("%d loads and %d sessions across a restart and a kill, want 1 and at least 3", st.Loads, st.Sessions)
	}
	if st := temporary.Status(); st.Loads != st.Sessions {
		t.Errorf("with a temporary slot: %d loads in %d sessions, want one each", st.Loads, st.Sessions)
	}
}

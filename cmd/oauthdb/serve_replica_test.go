package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/pgtest"
)

// The tests of this file run serve -postgres as a user does: the binary in a
// process of its own, over a real Postgres with better-auth's schema,
// stopped, paused and killed by signals.

// pgServe is a test's Postgres database and the serve processes that
// follow it.
type pgServe struct {
	t   *testing.T
	srv *pgtest.Server
	dsn string
	bin string
}

func newPGServe(t *testing.T, extraDDL ...string) *pgServe {
	t.Helper()
	srv := pgtest.Start(t)
	db := srv.CreateDatabase(t, append([]string{pgtest.BetterAuthSchema}, extraDDL...)...)
	return &pgServe{t: t, srv: srv, dsn: srv.DSN(db), bin: oauthdbBinary(t)}
}

// exec runs SQL on a connection of its own.
func (p *pgServe) exec(sql string, args ...any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		p.t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		p.t.Fatalf("%s: %v", sql, err)
	}
}

// grant inserts, as better-auth would, a user with a session, a
// confidential client (its secret is the id's "-secret") and an access
// token for them (plaintext the id's "-token").
func (p *pgServe) grant(id string) {
	p.t.Helper()
	p.exec(`INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") VALUES ($1, $1, $1 || '@example.com', true, now(), now())`, id)
	p.exec(`INSERT INTO "session" (id, "expiresAt", token, "updatedAt", "userId") VALUES ($1 || '-s', now() + interval '1 day', $1 || '-cookie', now(), $1)`, id)
	p.exec(`INSERT INTO "oauthClient" (id, "clientId", "clientSecret", "redirectUris", "createdAt", "updatedAt")
		VALUES ($1 || '-c', $1 || '-client', $2, '["https://app.example/cb"]', now(), now())`, id, oauthdb.HashSecret(id+"-secret"))
	p.exec(`INSERT INTO "oauthAccessToken" (id, token, "clientId", "sessionId", "userId", scopes, "expiresAt", "createdAt")
		VALUES ($1 || '-a', $2, $1 || '-client', $1 || '-s', $1, '["openid"]', now() + interval '1 hour', now())`, id, oauthdb.HashToken(id+"-token"))
}

// serving is one serve process.
type serving struct {
	*child
	base string
}

// start starts serve -postgres with args after the DSN, and waits until it
// listens.
func (p *pgServe) start(args ...string) *serving {
	p.t.Helper()
	c := &child{cmd: exec.Command(p.bin, append([]string{"serve", "-listen", "127.0.0.1:0", "-postgres", p.dsn}, args...)...),
		stderr: &syncBuffer{}, done: make(chan error, 1)}
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	p.t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Signal(syscall.SIGCONT)
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if p.t.Failed() {
			p.t.Logf("serve's log:\n%s", c.stderr)
		}
	})
	return &serving{child: c, base: waitListening(p.t, c.stderr, c.done)}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// introspect asks about id's token, as id's client, and returns the
// status and whether it was answered active.
func (s *serving) introspect(t *testing.T, id string) (int, bool) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+pathIntrospect, strings.NewReader(url.Values{"token": {id + "-token"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id+"-client", id+"-secret")
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	var body struct {
		Active bool `json:"active"`
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, res.StatusCode == http.StatusOK && body.Active
}

// waitAnswers waits until the process answers introspection (not 503).
func (s *serving) waitAnswers(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := s.introspect(t, id); code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve does not answer after 60 s:\n%s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends sig and waits for the process to end.
func (s *serving) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	code := s.wait(t)
	if sig == syscall.SIGTERM && code != exitOK {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, s.stderr)
	}
}

// The issue 18 sequence, on the real process: serve paused (SIGSTOP), its
// WAL sender ended, a backlog of another table's WAL, a revocation, MaxLag
// gone by; resumed (SIGCONT), it must not answer the revoked token active,
// however hard it is asked.
func TestServeReplicaPausedNeverAnswersFromBeforeItsBacklog(t *testing.T) {
	p := newPGServe(t, `CREATE TABLE filler (id bigserial PRIMARY KEY, pad text NOT NULL)`)
	p.grant("ada")
	const maxLag = time.Second
	s := p.start("-slot", "oauthdb_paused", "-max-lag", maxLag.String(), "-state-dir", t.TempDir())
	s.waitAnswers(t, "ada")
	if _, active := s.introspect(t, "ada"); !active {
		t.Fatal("the token is not active to begin with")
	}
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	p.exec(`SELECT pg_terminate_backend(active_pid, 10000) FROM pg_replication_slots WHERE slot_name = 'oauthdb_paused' AND active_pid IS NOT NULL`)
	for range 12 {
		p.exec(`INSERT INTO filler (pad) SELECT repeat(md5(g::text), 28) FROM generate_series(1, 4200) g`)
	}
	p.exec(`UPDATE "oauthAccessToken" SET revoked = now() WHERE id = 'ada-a'`)
	revoked := time.Now()
	time.Sleep(maxLag + 100*time.Millisecond)

	var active atomic.Int64
	var asked atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if _, a := s.introspect(t, "ada"); a {
					active.Add(1)
				}
				asked.Add(1)
			}
		}()
	}
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Until the revocation is answered, and a while after.
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, a := s.introspect(t, "ada")
		if code == http.StatusOK && !a {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revocation is not answered after 60 s:\n%s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	stop.Store(true)
	wg.Wait()
	if n := active.Load(); n > 0 {
		t.Errorf("answered active %d times (of %d asked) after resuming, the revocation %v old at the end", n, asked.Load(), time.Since(revoked))
	}
	s.stop(t, syscall.SIGTERM)
}

// markedIDs writes the events after which serve holds a token inactive
// that Postgres' rows alone would call active, and returns the grants'
// ids: better-auth's sign-out stopped after its first transaction, a
// revocation undone, a disabled client enabled again. s must follow the
// database, and answers each inactive before it returns.
func (p *pgServe) markedIDs(s *serving) []string {
	p.t.Helper()
	ids := []string{"signedout", "unrevoked", "reenabled"}
	for _, id := range ids {
		p.grant(id)
	}
	for _, sql := range pgtest.MarkingEvents(ids[0], ids[1], ids[2]) {
		p.exec(sql)
		time.Sleep(300 * time.Millisecond) // one at a time: each is a transaction serve sees
	}
	for _, id := range ids {
		s.waitAnswers(p.t, id)
		if _, active := s.introspect(p.t, id); active {
			p.t.Fatalf("%s: active before any restart", id)
		}
	}
	return ids
}

// wantInactive checks that s answers each grant's token inactive.
func (s *serving) wantInactive(t *testing.T, when string, ids []string) {
	t.Helper()
	for _, id := range ids {
		s.waitAnswers(t, id)
		if code, active := s.introspect(t, id); active {
			t.Errorf("%s: %s answered active (%d), inactive before", when, id, code)
		}
	}
}

// serve -postgres on its defaults keeps its answers monotonic across a
// restart of the same instance: after SIGTERM, resuming its slot; after
// SIGTERM with its slot dropped while it was down, loading again; after
// SIGKILL, replaying what its last state lacks.
func TestServeReplicaRestartsKeepAnswersMonotonic(t *testing.T) {
	p := newPGServe(t)
	state := t.TempDir()
	// The defaults' state directory, under a home of the test's own.
	t.Setenv("XDG_STATE_HOME", state)
	args := []string{"-slot", "oauthdb_restart", "-max-lag", "1s"}
	s := p.start(args...)
	ids := p.markedIDs(s)
	s.stop(t, syscall.SIGTERM)
	if matches, _ := filepath.Glob(filepath.Join(state, "oauthdb", "oauthdb_restart", "state")); len(matches) != 1 {
		t.Fatalf("no state under $XDG_STATE_HOME/oauthdb/oauthdb_restart")
	}

	s = p.start(args...)
	s.wantInactive(t, "restarted", ids)
	if !strings.Contains(s.stderr.String(), "read the saved state") {
		t.Errorf("the restart did not read its state:\n%s", s.stderr)
	}
	s.stop(t, syscall.SIGTERM)

	p.exec(`SELECT pg_drop_replication_slot('oauthdb_restart')`)
	s = p.start(args...)
	s.wantInactive(t, "restarted with its slot dropped", ids)
	p.grant("later")
	s.waitAnswers(t, "later")
	p.exec(`UPDATE "oauthAccessToken" SET revoked = now() WHERE id = 'later-a'`)
	time.Sleep(300 * time.Millisecond)
	p.exec(`UPDATE "oauthAccessToken" SET revoked = NULL WHERE id = 'later-a'`)
	time.Sleep(300 * time.Millisecond)
	s.wantInactive(t, "a mark made after the reload", []string{"later"})
	s.stop(t, syscall.SIGKILL) // its state on disk is the reload's

	s = p.start(args...)
	s.wantInactive(t, "restarted after SIGKILL", append(ids, "later"))
	s.stop(t, syscall.SIGTERM)
}

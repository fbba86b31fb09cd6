package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/parity"
	"github.com/oauthdb/oauthdb/internal/testenv"
	"github.com/oauthdb/oauthdb/pgreplica"
)

// maxLag is every replica's here: long enough for a busy machine running
// the race detector, short enough that Postgres stopped for longer costs
// seconds.
const maxLag = 2 * time.Second

// caughtUpTimeout bounds how long a replica may take to apply what
// better-auth committed and answer: a load after a restart is the longest.
const caughtUpTimeout = time.Minute

// replica is what follows better-auth's Postgres: a pgreplica.Follower in
// the test's process, or oauthdb serve as a process of its own.
type replica interface {
	// at sets the replica's clock to better-auth's; a replica on the wall
	// clock has nothing to set.
	at(now time.Time)
	// caughtUp waits until the replica holds every transaction Postgres
	// committed before lsn, and answers.
	caughtUp(t *testing.T, lsn pgreplica.LSN)
	// ask asks the replica about a token as the caller.
	ask(t *testing.T, token string, caller client) answer
	// restart stops the replica and starts it again on its state.
	restart(t *testing.T)
	// loads is how many times the replica has loaded the tables since it
	// last started.
	loads(t *testing.T) int
	// slot is the replica's replication slot.
	slot() string
	// lateBy is how long after its proof's end the replica may still
	// answer: nothing on the wall clock, where it ends by itself; a vouch
	// interval on a clock that stands still (see pgreplica.Follower),
	// with room for a busy machine.
	lateBy() time.Duration
}

// client is a client of the scenario, as a caller of introspection.
type client struct{ name, id, secret string }

// answer is a replica's answer about a token.
type answer struct {
	ours   parity.Answer
	status int         // the HTTP status; 0 when asked in-process
	err    error       // why it is inactive, in-process
	db     *oauthdb.DB // the DB asked, in-process
	stale  bool        // it failed closed: ErrStale, 503
}

// --------------------------------------------------------------- in-process

// follower is a pgreplica.Follower into a DB of its own, on a clock that
// stands at better-auth's, with a state directory: a restart is a new DB
// and a new Follower on the same directory, as a new process would be.
type follower struct {
	cfg    pgreplica.FollowerConfig
	now    atomic.Int64 // the DB's clock, in Unix nanoseconds
	log    *os.File
	f      *pgreplica.Follower
	db     *oauthdb.DB
	cancel context.CancelFunc
	done   chan error
}

func startFollower(t *testing.T, dsn string, now time.Time) *follower {
	t.Helper()
	r := &follower{log: logFile(t, "follower.log"), cfg: pgreplica.FollowerConfig{
		Config: pgreplica.Config{DSN: dsn, Slot: "e2e", StatusInterval: 200 * time.Millisecond,
			MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond},
		MaxLag:   maxLag,
		StateDir: t.TempDir(),
	}}
	r.cfg.Logger = slog.New(slog.NewTextHandler(r.log, nil))
	r.at(now)
	r.start(t)
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("the follower's log (tail):\n%s", testenv.Tail(readLog(r.log), 40))
		}
	})
	return r
}

func (r *follower) start(t *testing.T) {
	t.Helper()
	db, err := oauthdb.Open(oauthdb.WithReplica(), oauthdb.WithClock(r.clock))
	if err != nil {
		t.Fatal(err)
	}
	f, err := pgreplica.NewFollower(r.cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.f, r.db, r.cancel, r.done = f, db, cancel, make(chan error, 1)
	go func() { r.done <- f.Run(ctx) }()
}

func (r *follower) stop(t *testing.T) {
	t.Helper()
	if r.f == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the follower's Run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the follower did not stop within 30 s")
	}
	r.f.Close()
	r.f = nil
}

func (r *follower) clock() time.Time     { return time.Unix(0, r.now.Load()).UTC() }
func (r *follower) at(now time.Time)     { r.now.Store(now.UnixNano()) }
func (r *follower) slot() string         { return r.cfg.Slot }
func (r *follower) loads(*testing.T) int { return int(r.f.Status().Loads) }

// A vouch interval is MaxLag/50; the rest is for a goroutine that a busy
// machine (CI: the race detector, two cores, other packages' tests) runs
// late. Never stale at all, as without the proof, is still far past it.
func (r *follower) lateBy() time.Duration { return maxLag/50 + 500*time.Millisecond }

func (r *follower) caughtUp(t *testing.T, lsn pgreplica.LSN) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), caughtUpTimeout)
	defer cancel()
	if err := r.f.WaitApplied(ctx, lsn); err != nil {
		t.Fatalf("the follower did not reach %s: %v; %+v", lsn, err, r.f.Status())
	}
	for !r.f.Status().Fresh {
		if ctx.Err() != nil {
			t.Fatalf("the follower reached %s and does not answer: %+v", lsn, r.f.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *follower) ask(_ *testing.T, token string, caller client) answer {
	ours, err := parity.Introspect(r.db, token, caller.id)
	return answer{ours: ours, err: err, db: r.db, stale: errors.Is(err, oauthdb.ErrStale)}
}

func (r *follower) restart(t *testing.T) {
	t.Helper()
	r.stop(t)
	r.start(t)
}

// --------------------------------------------------------------- serve

// serving is oauthdb serve -postgres, a process of its own on the wall
// clock, with a state directory; a restart is SIGTERM and a new process.
type serving struct {
	bin, dsn, state string
	cmd             *exec.Cmd
	stderr          *os.File // this process's
	starts          int
	exited          chan struct{}
	base            string
}

// servingSlot is serve's slot, named as its fleet's (oauthdb_*).
const servingSlot = "oauthdb_e2e"

var listening = regexp.MustCompile(`msg="oauthdb serve: listening" url=(http://\S+)`)

func startServing(t *testing.T, dsn string) *serving {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "oauthdb")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/oauthdb/oauthdb/cmd/oauthdb").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s := &serving{bin: bin, dsn: dsn, state: t.TempDir()}
	s.start(t)
	t.Cleanup(func() {
		s.stop(t, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("serve's log (tail):\n%s", testenv.Tail(readLog(s.stderr), 40))
		}
	})
	return s
}

func (s *serving) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "serve", "-listen", "127.0.0.1:0", "-postgres", s.dsn, "-slot", servingSlot,
		"-max-lag", maxLag.String(), "-state-dir", s.state)
	s.starts++
	s.stderr, s.exited = logFile(t, fmt.Sprintf("serve-%d.log", s.starts)), make(chan struct{})
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listening.FindStringSubmatch(readLog(s.stderr)); m != nil {
			s.base = m[1]
			return
		}
		select {
		case <-s.exited:
			t.Fatalf("serve ended before it listened:\n%s", readLog(s.stderr))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen within 30 s:\n%s", readLog(s.stderr))
		}
	}
}

func (s *serving) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Errorf("serve did not end within 30 s of %v", sig)
	}
}

func (s *serving) at(time.Time)          {}
func (s *serving) slot() string          { return servingSlot }
func (s *serving) lateBy() time.Duration { return 0 }
func (s *serving) loads(*testing.T) int {
	return strings.Count(readLog(s.stderr), `msg="pgreplica: loaded"`)
}
func (s *serving) restart(t *testing.T) { s.stop(t, syscall.SIGTERM); s.start(t) }

var httpClient = &http.Client{Timeout: 10 * time.Second}

func (s *serving) caughtUp(t *testing.T, lsn pgreplica.LSN) {
	t.Helper()
	deadline := time.Now().Add(caughtUpTimeout)
	for {
		var health struct {
			Ready   bool `json:"ready"`
			Replica struct {
				AppliedLSN string `json:"appliedLSN"`
			} `json:"replica"`
		}
		res, err := httpClient.Get(s.base + "/healthz")
		if err == nil {
			err = json.NewDecoder(res.Body).Decode(&health)
			res.Body.Close()
		}
		var applied pgreplica.LSN
		if err == nil && health.Ready && applied.Scan(health.Replica.AppliedLSN) == nil && applied >= lsn {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not reach %s and answer within %v: %+v, %v", lsn, caughtUpTimeout, health, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ask introspects as better-auth's callers do: a confidential client with
// HTTP Basic, a public one with its client_id alone (serve answers it 401,
// as better-auth does).
func (s *serving) ask(t *testing.T, token string, caller client) answer {
	t.Helper()
	form := url.Values{"token": {token}}
	if caller.secret == "" {
		form.Set("client_id", caller.id)
	}
	req, err := http.NewRequest(http.MethodPost, s.base+"/introspect", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if caller.secret != "" {
		req.SetBasicAuth(url.QueryEscape(caller.id), url.QueryEscape(caller.secret))
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("serve answered %d, not JSON: %v", res.StatusCode, err)
	}
	return answer{ours: parity.Restrict(body), status: res.StatusCode, stale: res.StatusCode == http.StatusServiceUnavailable}
}

// Package pgtest runs a real, throwaway PostgreSQL server for tests.
//
// Start initialises a cluster in a temporary directory, runs the server from
// the postgres binary found in PATH (as an unprivileged user when the test
// runs as root, since Postgres refuses to run as root), waits until it
// accepts connections, and stops it and removes everything through
// t.Cleanup. The server listens on a Unix socket in its own directory only,
// so tests never collide on a port and nothing listens on the network.
//
// It is configured for logical replication (wal_level=logical and room for
// many slots and WAL senders) and for speed (fsync off): its data does not
// survive a crash of the machine, which no test needs, but it does survive
// Kill, which is a crash of Postgres alone.
//
// A test binary that starts several servers can run its tests through Main,
// which runs initdb once and copies the cluster for every server.
//
// Without PostgreSQL binaries, Start skips the test with a message saying
// so; when the environment variable CI is set it fails the test instead, so
// that CI cannot pass by running nothing.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Superuser is the role the cluster is initialised with: a superuser, and so
// allowed to replicate.
const Superuser = "postgres"

// port is the port number in the socket's name. Every server has a socket
// directory of its own, so they can all use the same number.
const port = 5432

// startTimeout bounds how long Start waits for the server to accept
// connections; a healthy server takes tens of milliseconds.
const startTimeout = 30 * time.Second

// stopTimeout bounds a fast shutdown before the server is killed instead.
const stopTimeout = 30 * time.Second

// settings are the server's configuration, passed on its command line so
// that a copied cluster needs no editing.
var settings = []string{
	"listen_addresses=",
	"wal_level=logical",
	"max_replication_slots=32",
	"max_wal_senders=32",
	"max_connections=100",
	"fsync=off",
	"full_page_writes=off",
	"shared_buffers=32MB",
	"log_min_messages=warning",
	"log_connections=off",
	"log_line_prefix=%m [%p] %q%a ",
}

// Server is one running (or stopped) PostgreSQL cluster of a test.
type Server struct {
	t       testing.TB
	dir     string // owns everything below; removed by cleanup
	dataDir string
	sockDir string
	logPath string
	cred    *syscall.Credential // nil when the test does not run as root

	mu   sync.Mutex
	proc *process // nil while stopped

	nextDB int
}

// process is one run of the postmaster.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd.Wait returned
	err  error         // cmd.Wait's result, valid after done
}

// Start starts a new PostgreSQL server for the test and arranges for it to be
// stopped and removed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bins, ok := lookBinaries()
	if !ok {
		msg := "pgtest: PostgreSQL binaries (initdb, postgres) are not in PATH; " +
			"install PostgreSQL 15 to run this test"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: a test that needs Postgres must not be skipped)")
		}
		t.Skip("SKIPPED: " + msg)
	}
	cred, err := serverCredential()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	dir, err := makeDir("pgtest-", cred)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s := &Server{
		t:       t,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		sockDir: filepath.Join(dir, "sock"),
		logPath: filepath.Join(dir, "server.log"),
		cred:    cred,
	}
	t.Cleanup(s.cleanup)
	if err := os.Mkdir(s.sockDir, 0o755); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := chown(s.sockDir, cred); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := s.initCluster(bins); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s.Start()
	return s
}

// initCluster puts a fresh cluster in the data directory: a copy of the
// process's template when Main made one, else initdb's own output.
func (s *Server) initCluster(bins binaries) error {
	if tmpl := templateDir(); tmpl != "" {
		return copyTree(tmpl, s.dataDir, s.cred)
	}
	return initdb(bins, s.dataDir, s.cred)
}

// DSN returns a connection string for the superuser to database db over the
// server's socket. Add "replication=database" to it for a logical
// replication connection.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.sockDir, port, Superuser, db)
}

// CreateDatabase creates a new, empty database, runs each of ddl in it (as
// one simple-protocol script each, so a script may hold many statements),
// and returns its name.
func (s *Server) CreateDatabase(ddl ...string) string {
	s.t.Helper()
	s.mu.Lock()
	s.nextDB++
	name := fmt.Sprintf("db%d", s.nextDB)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Exec(ctx, "postgres", "CREATE DATABASE "+name); err != nil {
		s.t.Fatalf("pgtest: create database: %v", err)
	}
	for i, script := range ddl {
		if err := s.Exec(ctx, name, script); err != nil {
			s.t.Fatalf("pgtest: database %s: DDL script %d: %v", name, i, err)
		}
	}
	return name
}

// Exec runs sql, which may hold several statements, in database db on a
// connection of its own.
func (s *Server) Exec(ctx context.Context, db, sql string) error {
	conn, err := pgconn.Connect(ctx, s.DSN(db))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql).ReadAll()
	return err
}

// Start starts the server again after Stop or Kill, on the same data
// directory and socket. (The package-level Start calls it once itself.)
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.t.Fatal("pgtest: Start: the server is already running")
	}
	proc, err := s.launch()
	if err != nil {
		s.t.Fatalf("pgtest: %v\n%s", err, s.logTail())
	}
	s.proc = proc
}

// Stop shuts the server down the fast way: clients are disconnected, open
// transactions rolled back, and everything committed stays.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.stop(syscall.SIGINT); err != nil {
		s.t.Fatalf("pgtest: stop: %v", err)
	}
}

// Kill kills the server and all its processes at once, as a crash would;
// the next Start recovers from the WAL.
func (s *Server) Kill() {
	s.t.Helper()
	if err := s.stop(syscall.SIGKILL); err != nil {
		s.t.Fatalf("pgtest: kill: %v", err)
	}
}

// Restart stops the server (fast shutdown) and starts it again.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// LogTail returns the last lines of the server's log, for a failure message.
func (s *Server) LogTail() string { return s.logTail() }

func (s *Server) launch() (*process, error) {
	bins, ok := lookBinaries()
	if !ok {
		return nil, errors.New("postgres is no longer in PATH")
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	args := []string{"-D", s.dataDir, "-p", strconv.Itoa(port), "-k", s.sockDir}
	for _, kv := range settings {
		args = append(args, "-c", kv)
	}
	cmd := exec.Command(bins.postgres, args...)
	cmd.Env = serverEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group, so that Kill reaches every backend, and
		// the postmaster dies with the test binary instead of outliving it.
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: s.cred,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := s.waitReady(p); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return nil, err
	}
	return p, nil
}

// waitReady waits for the postmaster to record, in its pid file, that it
// accepts connections. The pid is checked because a killed server leaves a
// stale file that also says "ready".
func (s *Server) waitReady(p *process) error {
	deadline := time.Now().Add(startTimeout)
	pidFile := filepath.Join(s.dataDir, "postmaster.pid")
	want := strconv.Itoa(p.cmd.Process.Pid)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("postgres exited while starting: %v", p.err)
		default:
		}
		if b, err := os.ReadFile(pidFile); err == nil {
			lines := strings.Split(string(b), "\n")
			// Line 1 is the pid, line 8 the status (PG 10 and later).
			if len(lines) >= 8 && lines[0] == want && strings.TrimSpace(lines[7]) == "ready" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v", startTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop signals the postmaster (SIGINT: fast shutdown) or its whole process
// group (SIGKILL) and waits for it to exit.
func (s *Server) stop(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return errors.New("the server is not running")
	}
	s.proc = nil
	pid := p.cmd.Process.Pid
	if sig == syscall.SIGKILL {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	} else {
		_ = syscall.Kill(pid, sig)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("postgres did not stop within %v: killed", stopTimeout)
	}
	if sig == syscall.SIGKILL {
		// The backends were killed with the postmaster, but reaping them is
		// up to init: wait until none is left attached to the data
		// directory, or the next start would find its shared memory in use.
		return waitGroupGone(pid)
	}
	return nil
}

// waitGroupGone waits until no process of process group pgid is left.
func waitGroupGone(pgid int) error {
	deadline := time.Now().Add(stopTimeout)
	for {
		// Signal 0 checks for existence; ESRCH means the group is empty.
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes of group %d still alive after %v", pgid, stopTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) cleanup() {
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		if err := s.stop(syscall.SIGINT); err != nil {
			s.t.Errorf("pgtest: cleanup: %v", err)
		}
	}
	if s.t.Failed() {
		s.t.Logf("pgtest: server log (tail):\n%s", s.logTail())
	}
	if err := os.RemoveAll(s.dir); err != nil {
		s.t.Errorf("pgtest: cleanup: %v", err)
	}
}

// logTail returns the last 60 lines of the server's log.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// binaries are the paths of the programs the harness runs.
type binaries struct{ initdb, postgres string }

func lookBinaries() (binaries, bool) {
	initdbPath, err1 := exec.LookPath("initdb")
	postgresPath, err2 := exec.LookPath("postgres")
	if err1 != nil || err2 != nil {
		return binaries{}, false
	}
	return binaries{initdb: initdbPath, postgres: postgresPath}, true
}

// serverCredential returns the user to run Postgres as: nobody when the test
// runs as root (or the user named by PGTEST_USER), else nil for the test's
// own user.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	name := os.Getenv("PGTEST_USER")
	if name == "" {
		name = "nobody"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("running as root, and no user %q to run Postgres as: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %q has a non-numeric uid or gid", name)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// serverEnv is the environment of initdb and postgres: only what they need,
// so that no PG* variable of the test's environment changes their behaviour.
func serverEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TZ=UTC"}
}

func initdb(bins binaries, dataDir string, cred *syscall.Credential) error {
	cmd := exec.Command(bins.initdb, "-D", dataDir, "-U", Superuser, "--auth=trust",
		"--no-locale", "--encoding=UTF8", "--no-sync", "--no-instructions")
	cmd.Env = serverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// makeDir makes a new temporary directory that the server's user can use.
// (t.TempDir's parent is private to root, so it cannot be used.)
func makeDir(pattern string, cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return dir, chown(dir, cred)
}

func chown(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return os.Lchown(path, int(cred.Uid), int(cred.Gid))
}

// copyTree copies the cluster at src to dst (which must not exist), owned by
// cred's user; Postgres wants its data directory private to that user.
func copyTree(src, dst string, cred *syscall.Credential) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return err
			}
		case d.Type().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("copy cluster: %s is neither a file nor a directory", rel)
		}
		return chown(target, cred)
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

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
// A test binary that starts several servers should run its tests through
// Main (from TestMain), which runs initdb once and copies the cluster for
// every server, and lets tests that never stop their server share one
// (Shared), each in databases of its own (CreateDatabase). Start-up of an own
// server is then a copy of ~25 MB and tens of milliseconds of start.
//
// Workload writes better-auth-shaped rows (BetterAuthSchema) with SQL, for
// tests that compare a replica with Postgres.
//
// Under root, the server runs as the user nobody, or as the user named by
// the environment variable PGTEST_USER.
//
// Without PostgreSQL's binaries, Start and Shared fail the test, saying so,
// or skip it when the user asked for that (package testenv,
// OAUTHDB_TEST_SKIP_MISSING).
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oauthdb/oauthdb/internal/testenv"
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
	// A replica's heartbeats (pg_logical_emit_message, not flushed by a
	// commit of their own) reach the WAL sender when the WAL writer
	// flushes them: within milliseconds rather than Postgres' default
	// 200 ms, so that tests can hold replicas to a MaxLag of a fraction
	// of a second.
	"wal_writer_delay=10ms",
}

// Server is one running (or stopped) PostgreSQL cluster: a test's own
// (Start), or the test binary's shared one (Shared).
type Server struct {
	dir     string // owns everything below; removed by cleanup
	dataDir string
	sockDir string
	logPath string
	cred    *syscall.Credential // nil when the test does not run as root
	extra   []string            // the test's own settings
	shared  bool                // Shared's: other tests use it too

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
// stopped and removed when the test ends. Each of extra is a setting as
// "name=value", added to (or overriding) the harness's own.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	requireBinaries(t)
	for _, kv := range extra {
		if !strings.Contains(kv, "=") {
			t.Fatalf("pgtest: setting %q is not name=value", kv)
		}
	}
	s, err := newServer(extra)
	if s != nil {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("pgtest: server log (tail):\n%s", s.logTail())
			}
			if err := s.remove(); err != nil {
				t.Errorf("pgtest: cleanup: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s
}

// requireBinaries fails the test when PostgreSQL is not installed, or
// skips it when the user asked for that (testenv.Missing).
func requireBinaries(t testing.TB) {
	t.Helper()
	if _, ok := lookBinaries(); ok {
		return
	}
	testenv.Missing(t, "pgtest: PostgreSQL's binaries (initdb, postgres) are neither on PATH nor in "+
		"/usr/lib/postgresql/<version>/bin: install PostgreSQL 15 or later (Debian: apt-get install postgresql)")
}

// newServer makes a cluster and starts it. On error it returns what it made
// so far (if anything), for the caller to remove.
func newServer(extra []string) (*Server, error) {
	bins, ok := lookBinaries()
	if !ok {
		return nil, errors.New("PostgreSQL binaries not in PATH")
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := makeDir("pgtest-", cred)
	if err != nil {
		return nil, err
	}
	s := &Server{
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		sockDir: filepath.Join(dir, "sock"),
		logPath: filepath.Join(dir, "server.log"),
		cred:    cred,
		extra:   extra,
	}
	if err := os.Mkdir(s.sockDir, 0o755); err != nil {
		return s, err
	}
	if err := chown(s.sockDir, cred); err != nil {
		return s, err
	}
	if tmpl := templateDir(); tmpl != "" {
		err = copyTree(tmpl, s.dataDir, s.cred)
	} else {
		err = initdb(bins, s.dataDir, s.cred)
	}
	if err != nil {
		return s, err
	}
	if err := s.start(); err != nil {
		return s, fmt.Errorf("%w\n%s", err, s.logTail())
	}
	return s, nil
}

// DSN returns a connection string for the superuser to database db over the
// server's socket. Add "replication=database" to it for a logical
// replication connection.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.sockDir, port, Superuser, db)
}

// URL returns DSN's connection as a postgresql:// URL, for clients that
// take no other form (Node's pg).
func (s *Server) URL(db string) string {
	return (&url.URL{Scheme: "postgresql", User: url.User(Superuser), Host: "localhost", Path: "/" + db,
		RawQuery: url.Values{"host": {s.sockDir}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}.Encode()}).String()
}

// CreateDatabase creates a new, empty database for the test, runs each of
// ddl in it (as one simple-protocol script each, so a script may hold many
// statements), and returns its name. When the test ends, the database is
// dropped with the replication slots made in it.
func (s *Server) CreateDatabase(t testing.TB, ddl ...string) string {
	t.Helper()
	s.mu.Lock()
	s.nextDB++
	name := fmt.Sprintf("db%d", s.nextDB)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Exec(ctx, "postgres", "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() { s.dropDatabase(t, name) })
	for i, script := range ddl {
		if err := s.Exec(ctx, name, script); err != nil {
			t.Fatalf("pgtest: database %s: DDL script %d: %v", name, i, err)
		}
	}
	return name
}

// dropDatabase drops a test's database, when its server is shared (an own
// server goes whole): its slots first, which would keep WAL forever and
// make DROP DATABASE fail.
func (s *Server) dropDatabase(t testing.TB, name string) {
	if !s.shared {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Three statements, not one script: DROP DATABASE refuses to run in
	// the transaction a multi-statement query is.
	var err error
	for _, sql := range []string{
		`SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots WHERE database = '` + name + `' AND active_pid IS NOT NULL`,
		`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '` + name + `'`,
		`DROP DATABASE ` + name + ` WITH (FORCE)`,
	} {
		if err = s.Exec(ctx, "postgres", sql); err != nil {
			break
		}
	}
	if err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
	if t.Failed() {
		t.Logf("pgtest: shared server log (tail):\n%s", s.logTail())
	}
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
// directory and socket.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	s.ownedBy(t, "Start")
	if err := s.start(); err != nil {
		t.Fatalf("pgtest: %v\n%s", err, s.logTail())
	}
}

// Stop shuts the server down the fast way: clients are disconnected, open
// transactions rolled back, and everything committed stays.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.ownedBy(t, "Stop")
	if err := s.stop(syscall.SIGINT); err != nil {
		t.Fatalf("pgtest: stop: %v", err)
	}
}

// Kill kills the server and all its processes at once, as a crash of
// Postgres would; the next Start recovers from the WAL.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.ownedBy(t, "Kill")
	if err := s.stop(syscall.SIGKILL); err != nil {
		t.Fatalf("pgtest: kill: %v", err)
	}
}

// Restart stops the server (fast shutdown) and starts it again.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Start(t)
}

// ownedBy fails the test that tries to stop or start the shared server,
// which other tests are using.
func (s *Server) ownedBy(t testing.TB, what string) {
	t.Helper()
	if s.shared {
		t.Fatalf("pgtest: %s of the shared server: use a server of the test's own (Start)", what)
	}
}

// LogTail returns the last lines of the server's log, for a failure message.
func (s *Server) LogTail() string { return s.logTail() }

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("the server is already running")
	}
	proc, err := s.launch()
	if err != nil {
		return err
	}
	s.proc = proc
	return nil
}

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
	for _, kv := range append(slices.Clone(settings), s.extra...) {
		args = append(args, "-c", kv)
	}
	cmd := exec.Command(bins.postgres, args...)
	cmd.Env = serverEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Out of the test's process group, so that a ^C reaches the test
		// (whose cleanup stops the server) and not Postgres directly; and
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
		_ = cmd.Process.Kill()
		<-p.done
		_ = killCluster(s.dataDir)
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

// stop signals the postmaster (SIGINT: fast shutdown) or kills it and every
// process of the cluster (SIGKILL), and waits for them to exit.
func (s *Server) stop(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return errors.New("the server is not running")
	}
	s.proc = nil
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		_ = killCluster(s.dataDir)
		return fmt.Errorf("postgres did not stop within %v: killed", stopTimeout)
	}
	if sig == syscall.SIGKILL {
		// Every child of the postmaster is a session leader of its own, so
		// killing the postmaster reached none of them; one that lingers
		// keeps the shared memory attached and the next start fails.
		return killCluster(s.dataDir)
	}
	return nil
}

// killCluster kills every process working in dataDir (the backends run with
// it as their working directory) until none is left.
func killCluster(dataDir string) error {
	deadline := time.Now().Add(stopTimeout)
	for {
		pids := clusterProcesses(dataDir)
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v of the cluster still alive after %v", pids, stopTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clusterProcesses lists the live (not zombie) processes whose working
// directory is dataDir.
func clusterProcesses(dataDir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || cwd != dataDir {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The state follows the parenthesised command name.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// remove stops the server if it runs and removes its directory.
func (s *Server) remove() error {
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	var err error
	if running {
		err = s.stop(syscall.SIGINT)
	}
	return errors.Join(err, os.RemoveAll(s.dir))
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
		// Debian's postgresql package keeps them off the PATH.
		return installedBinaries("/usr/lib/postgresql")
	}
	return binaries{initdb: initdbPath, postgres: postgresPath}, true
}

// installedBinaries finds initdb and postgres in root/<major>/bin, as
// Debian installs each major version of PostgreSQL, taking the newest.
func installedBinaries(root string) (binaries, bool) {
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "bin"))
	major := func(dir string) int {
		n, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		if err != nil {
			return -1
		}
		return n
	}
	slices.SortFunc(dirs, func(a, b string) int { return major(b) - major(a) })
	for _, dir := range dirs {
		b := binaries{initdb: filepath.Join(dir, "initdb"), postgres: filepath.Join(dir, "postgres")}
		if executable(b.initdb) && executable(b.postgres) {
			return b, true
		}
	}
	return binaries{}, false
}

// executable reports whether path is a file someone may execute.
func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
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
		"--no-locale", "--encoding=UTF8", "--no-sync", "--no-instructions",
		// 1 MB WAL segments instead of 16: the cluster copies faster, and
		// tests that need WAL to move on write less of it.
		"--wal-segsize=1")
	cmd.Env = serverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// makeDir makes a new temporary directory that the server's user can use.
// (t.TempDir's parent is private to root, so it cannot be used.) Its name
// carries the process's pid, for sweepStale.
func makeDir(pattern string, cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", pattern, os.Getpid()))
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

package pgtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// binary is the process-wide state that Main sets up and tears down.
var binary struct {
	mu       sync.Mutex
	inMain   bool
	template string // a cluster's data directory to copy; "" without Main

	sharedMu sync.Mutex // held while the shared server starts
	shared   *Server    // started by the first Shared
	err      error      // why the shared server could not start
}

func templateDir() string {
	binary.mu.Lock()
	defer binary.mu.Unlock()
	return binary.template
}

// Main runs a test binary's tests (call it from TestMain) with one initdb
// for all of them: each Start then copies that cluster, which is several
// times faster than initdb, and Shared can hand out one server to many
// tests. Main removes both before exiting. Without PostgreSQL binaries it
// runs the tests anyway, and Start fails them (or skips them: package
// testenv) as usual.
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	sweepStale()
	if bins, ok := lookBinaries(); ok {
		dir, err := makeTemplate(bins)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary.mu.Lock()
		binary.inMain = true
		binary.template = filepath.Join(dir, "data")
		binary.mu.Unlock()
	}
	code := m.Run()
	binary.sharedMu.Lock()
	shared := binary.shared
	binary.sharedMu.Unlock()
	if shared != nil {
		if err := shared.remove(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: shared server: %v\n", err)
			return 1
		}
	}
	return code
}

// Shared returns the test binary's shared server, starting it on first use:
// tests that neither stop nor reconfigure their server can share one and
// save its start-up, each in databases of its own (CreateDatabase) with
// replication slots of its own. Stop, Kill, Start and Restart fail on it.
// It needs Main; without, it returns a server of the test's own.
func Shared(t testing.TB) *Server {
	t.Helper()
	requireBinaries(t)
	binary.mu.Lock()
	inMain := binary.inMain
	binary.mu.Unlock()
	if !inMain {
		return Start(t)
	}
	binary.sharedMu.Lock()
	defer binary.sharedMu.Unlock()
	if binary.shared == nil && binary.err == nil {
		s, err := newServer(nil)
		if err != nil {
			if s != nil {
				_ = s.remove()
			}
			binary.err = err
		} else {
			s.shared = true
			binary.shared = s
		}
	}
	if binary.err != nil {
		t.Fatalf("pgtest: shared server: %v", binary.err)
	}
	return binary.shared
}

func makeTemplate(bins binaries) (string, error) {
	cred, err := serverCredential()
	if err != nil {
		return "", err
	}
	dir, err := makeDir("pgtest-template-", cred)
	if err != nil {
		return "", err
	}
	if err := initdb(bins, filepath.Join(dir, "data"), cred); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// sweepStale removes the directories that test binaries which died without
// cleaning up (a panic skips Main's cleanup) left behind: those whose pid is
// no longer alive. Their servers died with them (Pdeathsig).
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*"))
	for _, dir := range dirs {
		name := strings.TrimPrefix(filepath.Base(dir), "pgtest-")
		name = strings.TrimPrefix(name, "template-")
		pidText, _, ok := strings.Cut(name, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(dir)
		}
	}
}

package pgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// template is the cluster that Main made for the test binary, copied by
// every Start instead of running initdb again.
var template struct {
	mu  sync.Mutex
	dir string // the cluster's data directory; "" without Main
}

func templateDir() string {
	template.mu.Lock()
	defer template.mu.Unlock()
	return template.dir
}

// Main runs a test binary's tests (call it from TestMain) with one initdb
// for all of them: each Start then copies that cluster, which is several
// times faster than initdb, and Main removes it before exiting. Without
// PostgreSQL binaries it runs the tests anyway, and Start skips or fails
// them as usual.
func Main(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bins, ok := lookBinaries(); ok {
		dir, err := makeTemplate(bins)
		if err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		template.mu.Lock()
		template.dir = filepath.Join(dir, "data")
		template.mu.Unlock()
	}
	return m.Run()
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

package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/oauthdb/oauthdb/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// logFile makes a file in the test's temporary directory for a process's
// or a goroutine's output, read back with readLog while it writes.
func logFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readLog returns what was written to f so far.
func readLog(f *os.File) string {
	b, _ := os.ReadFile(f.Name())
	return string(b)
}

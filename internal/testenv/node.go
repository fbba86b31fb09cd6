package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// minNode is the oldest Node the harnesses run on (their package.json's
// engines).
const minNode = 20

// installTimeout bounds one npm ci: better-sqlite3 compiles from source,
// one to two minutes on a small machine.
const installTimeout = 10 * time.Minute

// stampFile, in node_modules, records what was installed there: the
// lockfile's SHA-256 and the Node version it was built for (better-sqlite3
// is a native module).
const stampFile = ".oauthdb-install"

// Node returns the path of node, with the Node harness in dir (a folder
// with a package-lock.json) installed: npm ci runs first when node_modules
// was not installed from this very lockfile by this very Node. Test
// binaries of several packages may ask at once; one installs, under a file
// lock, and the others wait for it. Without Node 20 or later and npm, or
// when npm ci fails, the test fails (see Missing).
func Node(t testing.TB, dir string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		Missing(t, "node is not on PATH: install Node "+strconv.Itoa(minNode)+" or later with npm (the tests run better-auth and openid-client with it)")
	}
	version, err := exec.Command(node, "--version").Output()
	if err != nil {
		Missing(t, fmt.Sprintf("%s --version: %v", node, err))
	}
	v := strings.TrimSpace(string(version))
	if major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), "."); atoi(major) < minNode {
		Missing(t, fmt.Sprintf("node is %s: the harnesses need Node %d or later", v, minNode))
	}
	if err := install(t, dir, v); err != nil {
		Missing(t, fmt.Sprintf("the Node harness in %s could not be installed: %v", dir, err))
	}
	return node
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// install runs npm ci in dir unless its stamp says node_modules is what
// the lockfile and this Node make.
func install(t testing.TB, dir, nodeVersion string) error {
	lockfile, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(lockfile)
	want := hex.EncodeToString(sum[:]) + " " + nodeVersion + "\n"
	stamp := filepath.Join(dir, "node_modules", stampFile)
	if installed(stamp, want) {
		return nil
	}
	unlock, err := lockFile(filepath.Join(dir, ".npm-ci.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if installed(stamp, want) { // by whoever held the lock before
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm is not on PATH: install npm with Node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	t.Logf("testenv: npm ci in %s (node_modules is missing or not from this package-lock.json and Node %s)", dir, nodeVersion)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci: %w\n%s", err, Tail(out.String(), 40))
	}
	t.Logf("testenv: npm ci in %s took %v", dir, time.Since(start).Round(time.Second))
	// Written last: an install that failed half-way is done again. (A
	// harness without dependencies has no node_modules.)
	if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(want), 0o644)
}

func installed(stamp, want string) bool {
	got, err := os.ReadFile(stamp)
	return err == nil && string(got) == want
}

// Tail returns the last n lines of s: the end of a harness's log, for a
// failure's message.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

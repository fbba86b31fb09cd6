package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// childEnv, set in a test binary run by these tests, names the test it
// runs Missing in, so that the parent can see what a failure or a skip
// prints and how the binary exits.
const childEnv = "TESTENV_CHILD"

// TestMissingChild is what the child binary runs: a test whose tool is
// missing.
func TestMissingChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestMissing in a child process")
	}
	Missing(t, "the frobnicator is not on PATH: install it")
}

// A missing tool fails the test, saying what is missing and naming the
// variable that would skip it; with the variable, the test skips, saying
// so; under CI it fails whatever the variable says.
func TestMissing(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		fail bool
	}{
		{"by default", nil, true},
		{"asked to skip", []string{SkipMissing + "=1"}, false},
		{"asked to skip, in CI", []string{SkipMissing + "=1", "CI=true"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMissingChild$", "-test.v")
			cmd.Env = append(withoutCI(os.Environ()), append(tc.env, childEnv+"=1")...)
			out, err := cmd.CombinedOutput()
			failed := err != nil
			if failed != tc.fail {
				t.Fatalf("failed %v, want %v:\n%s", failed, tc.fail, out)
			}
			if !strings.Contains(string(out), "the frobnicator is not on PATH") {
				t.Errorf("the output does not say what is missing:\n%s", out)
			}
			if tc.fail && !strings.Contains(string(out), SkipMissing+"=1") {
				t.Errorf("the failure does not name %s:\n%s", SkipMissing, out)
			}
			if !tc.fail && !strings.Contains(string(out), "SKIP") {
				t.Errorf("the test did not skip:\n%s", out)
			}
		})
	}
}

func withoutCI(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(kv, SkipMissing+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// A harness installs itself once from its lockfile, and again once the
// lockfile changes; an install that is current is left alone.
func TestNodeInstallsWhenStale(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("package.json", `{"name": "harness", "version": "1.0.0", "private": true}`)
	write("package-lock.json", `{"name": "harness", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {"": {"name": "harness", "version": "1.0.0"}}}`)
	Node(t, dir)
	marker := filepath.Join(dir, "node_modules", "left-alone")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatalf("no node_modules after the install: %v", err)
	}
	Node(t, dir)
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("a current install was done again: %v", err)
	}
	write("package-lock.json", `{"name": "harness", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {"": {"name": "harness", "version": "1.0.0", "license": "MIT"}}}`)
	Node(t, dir)
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the lockfile changed and the install was not done again")
	}
}

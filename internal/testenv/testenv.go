// Package testenv is what the tests need of the machine beyond Go — the
// PostgreSQL server's binaries, Node with npm, curl — and gets what it can:
// a Node harness (interop/betterauth, interop/openidclient) installs itself
// with npm ci when it is missing or stale.
//
// What it cannot get fails the test, saying what is missing and how to get
// it: `go test ./...` on a fresh machine either runs the whole suite or says
// why not, never prints "ok" for tests that did not run. Setting
// OAUTHDB_TEST_SKIP_MISSING=1 skips those tests instead, at the user's
// request — but never when CI is set.
package testenv

import (
	"os"
	"testing"
)

// SkipMissing is the environment variable that, set to anything, skips
// rather than fails a test whose tools are missing (outside CI).
const SkipMissing = "OAUTHDB_TEST_SKIP_MISSING"

// Missing fails the test because what it needs is missing (what says what
// and how to get it), or skips it when the user asked for that with
// SkipMissing and CI is not set.
func Missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(SkipMissing) != "" && os.Getenv("CI") == "" {
		t.Skipf("SKIPPED (%s is set): %s", SkipMissing, what)
	}
	t.Fatalf("%s\n(to skip the tests that need it instead, set %s=1)", what, SkipMissing)
}

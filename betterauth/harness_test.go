package betterauth_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// The harness's better-auth is the one the committed exports and the
// Postgres DDL were made with: package.json declares it, package-lock.json
// pins it, node_modules holds it when installed, and every sample and
// postgres-schema.sql name it. A harness moved to another release without
// its exports and DDL made again fails here, before a parity test compares
// oauthdb with answers of a release nobody runs.
func TestExportsAreOfTheHarnessesBetterAuth(t *testing.T) {
	packages := []string{"better-auth", "@better-auth/oauth-provider", "@better-auth/core"}
	var manifest struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	readJSON(t, filepath.Join(harness, "package.json"), &manifest)
	want := manifest.Dependencies["better-auth"]
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(want) {
		t.Fatalf("package.json pins better-auth to %q, want an exact version", want)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	readJSON(t, filepath.Join(harness, "package-lock.json"), &lock)
	for _, p := range packages {
		if got := manifest.Dependencies[p]; got != want {
			t.Errorf("package.json: %s %s, want %s", p, got, want)
		}
		if got := lock.Packages["node_modules/"+p].Version; got != want {
			t.Errorf("package-lock.json: %s %s, want %s (npm install again)", p, got, want)
		}
		var installed struct {
			Version string `json:"version"`
		}
		path := filepath.Join(harness, "node_modules", p, "package.json")
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue // not installed: the lockfile says what npm ci will install
		}
		readJSON(t, path, &installed)
		if installed.Version != want {
			t.Errorf("node_modules: %s %s, want %s (npm ci)", p, installed.Version, want)
		}
	}
	for _, a := range adapters {
		var made struct {
			BetterAuth    string `json:"betterAuth"`
			OAuthProvider string `json:"oauthProvider"`
		}
		readJSON(t, samplePath(a), &made)
		if made.BetterAuth != want || made.OAuthProvider != want {
			t.Errorf("samples/betterauth-%s.json was made with better-auth %s and oauth-provider %s, want %s: run the export again",
				a, made.BetterAuth, made.OAuthProvider, want)
		}
	}
	ddl, err := os.ReadFile(filepath.Join(harness, "postgres-schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	header := regexp.MustCompile(`(?m)^-- better-auth (\S+) \+ @better-auth/oauth-provider (\S+) `).FindSubmatch(ddl)
	if header == nil {
		t.Errorf("postgres-schema.sql does not say which better-auth made it")
	} else if string(header[1]) != want || string(header[2]) != want {
		t.Errorf("postgres-schema.sql was made by %q, want better-auth %s: run dump-pg-schema.sh again", header[0], want)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

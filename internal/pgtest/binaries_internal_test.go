package pgtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Debian installs each major version of PostgreSQL off the PATH, in
// /usr/lib/postgresql/<major>/bin: the harness takes the newest whole one.
func TestInstalledBinariesTakesTheNewestWholeVersion(t *testing.T) {
	root := t.TempDir()
	put := func(major, name string, mode os.FileMode) {
		dir := filepath.Join(root, major, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := installedBinaries(root); ok {
		t.Fatal("found binaries in an empty root")
	}
	put("9", "initdb", 0o755)
	put("9", "postgres", 0o755)
	put("15", "initdb", 0o755)
	put("15", "postgres", 0o755)
	put("16", "initdb", 0o755) // no postgres: not a whole version
	put("17", "initdb", 0o644) // not executable
	put("17", "postgres", 0o755)
	b, ok := installedBinaries(root)
	want := binaries{initdb: filepath.Join(root, "15", "bin", "initdb"), postgres: filepath.Join(root, "15", "bin", "postgres")}
	if !ok || b != want {
		t.Fatalf("installedBinaries = %+v, %v; want %+v", b, ok, want)
	}
}

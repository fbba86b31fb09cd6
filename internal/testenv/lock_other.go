//go:build !unix

package testenv

// lockFile does not lock on this system: run one test binary at a time
// (go test -p 1) the first time the harnesses install.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }

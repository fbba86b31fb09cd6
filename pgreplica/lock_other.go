//go:build !unix

package pgreplica

// lockDir does not lock on this system: run one process per state
// directory.
func lockDir(string) (unlock func(), err error) { return func() {}, nil }

//go:build unix

package testenv

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockFile waits for an exclusive lock on the file at path, made if
// missing, and returns its release. The lock goes with the process.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

//go:build !linux

package main

import "os"

// isTerminal reports whether f is a character device: a terminal, most
// likely, where terminal attributes are not read (off Linux).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// terminalWidth returns 0: unknown, the caller assumes 80 columns.
func terminalWidth(*os.File) int { return 0 }

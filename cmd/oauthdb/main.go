// Command oauthdb runs the jobs a user of the oauthdb store runs from a
// shell:
//
//	oauthdb bench [flags]
//
// builds the benchmark dataset, loads it into every implementation (oauthdb
// and its baselines: plain maps, go-memdb with reflection indexers, SQLite),
// times each hot path several times and prints one table of medians, their
// spread and their ratios to the baselines (see also bench/README.md);
//
//	oauthdb serve [flags]
//
// answers RFC 7662 token introspection over HTTP from an in-memory oauthdb:
// a sample dataset, a snapshot file, or a live replica of better-auth's
// Postgres (-postgres DSN -slot NAME). "oauthdb help bench" and "oauthdb
// help serve" tell more.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `usage: oauthdb <command> [flags]

commands:
  bench   time oauthdb against its baselines and print a table
  serve   answer token introspection (RFC 7662) from an in-memory oauthdb
  help    print this help, or a command's ("oauthdb help bench")
`

func main() {
	if isWorker() {
		os.Exit(workerMain(os.Stdin, os.Stdout))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: a usage error (unknown command, flag or value) is 2, as for
// the go command and the flag package; a failure while running is 1.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// usageError is a mistake in the command line. It is reported in one line,
// followed by where to find the help, and exits with exitUsage.
type usageError struct {
	cmd string // "" for the top level
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// errUsageShown is a usage error whose explanation (the full usage) has
// already been printed.
var errUsageShown = errors.New("usage shown")

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

// printHelp prints a command's help: its head, then its flags.
func printHelp(w io.Writer, head string, fs *flag.FlagSet) {
	fmt.Fprint(w, head)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// parseArgs parses a command's flags from args: -h prints its help (and is
// flag.ErrHelp), a bad flag or an argument after them is a usage error.
func parseArgs(cmd string, fs *flag.FlagSet, args []string, stdout io.Writer, help func(io.Writer)) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help(stdout)
			return err
		}
		return usagef(cmd, "%v", err)
	}
	if fs.NArg() > 0 {
		return usagef(cmd, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsageShown):
		return exitUsage
	case errors.As(err, &ue):
		name, hint := "oauthdb", "oauthdb help"
		if ue.cmd != "" {
			name, hint = "oauthdb "+ue.cmd, "oauthdb help "+ue.cmd
		}
		fmt.Fprintf(stderr, "%s: %v\nRun '%s' for usage.\n", name, ue.err, hint)
		return exitUsage
	}
	fmt.Fprintf(stderr, "oauthdb: %v\n", err)
	return exitFail
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsageShown
	}
	switch args[0] {
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "serve":
		return runServe(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		return help(args[1:], stdout)
	}
	return usagef("", "unknown command %q", args[0])
}

// help prints the top-level usage or, given a command, that command's help.
func help(args []string, stdout io.Writer) error {
	switch {
	case len(args) == 0:
		fmt.Fprint(stdout, usage)
		return nil
	case len(args) > 1:
		return usagef("", "help takes one command, got %d arguments", len(args))
	case args[0] == "bench":
		printBenchHelp(stdout)
		return nil
	case args[0] == "serve":
		printServeHelp(stdout)
		return nil
	}
	return usagef("", "unknown command %q", args[0])
}

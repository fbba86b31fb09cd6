package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/pgreplica"
)

// Defaults of the serve command.
const (
	defaultListen          = "127.0.0.1:8080"
	defaultMaxLag          = 5 * time.Second
	defaultShutdownTimeout = 10 * time.Second
	defaultSlotTTL         = 15 * time.Minute
)

// fleetSlotPrefix names the slots of serve's fleet: an instance drops one
// that has been unused for -slot-ttl (see pgreplica.Config.SlotTTL).
const fleetSlotPrefix = "oauthdb_"

// The HTTP server's timeouts. An introspection request is small and is
// answered in microseconds, so a client that takes seconds to send one is
// stuck or hostile; keep-alive connections from a service's pool stay
// open between bursts.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

const serveHelpHead = `usage: oauthdb serve [flags]

Serve answers OAuth 2.0 token introspection (RFC 7662) for better-auth's
tokens from an in-memory oauthdb, as better-auth's /oauth2/introspect does,
without a network hop or a database query per request. It serves:

  POST /introspect            (also /oauth2/introspect, /api/auth/oauth2/introspect)
                              token, token_type_hint; the caller authenticates
                              with client_secret_basic or client_secret_post and
                              sees only its own tokens
  GET  /livez                 200 while the process serves HTTP: a liveness
                              probe (restart it when this fails)
  GET  /readyz                200 while introspection is answered, 503 before
                              the data is loaded (and, with a replica, while it
                              is stale): a readiness probe
  GET  /healthz               /readyz's answer, with the replica's lag, WAL
                              position (appliedLSN) and rows
  GET  /metrics               Prometheus formats: oauthdb_*, go_*, process_*

The data is, by default, a SAMPLE dataset made up at start-up (users, clients
of every kind, tokens active, expired and revoked), whose sample credentials
are printed once, with a curl command to try; or -snapshot FILE, the JSON of
an oauthdb.Snapshot (better-auth's table and field names); or -postgres DSN
-slot NAME, a live replica of better-auth's Postgres through logical
replication, which fails closed (503) once it cannot prove it trails
Postgres by less than -max-lag.

A replica keeps its state in -state-dir (by default $XDG_STATE_HOME/oauthdb/
SLOT, or ~/.local/state/oauthdb/SLOT): its rows, the marks that keep a token
it answered inactive from ever answering active again, and its position. A
restart reads it and resumes the slot, a permanent one; -state-dir "" keeps
nothing, and the slot is then temporary (gone with the connection; every
reconnect loads again). An instance drops the slots named oauthdb_* that
have been unused for -slot-ttl: those of instances that are gone.

Examples:

  oauthdb serve                                   # the sample, on 127.0.0.1:8080
  oauthdb serve -snapshot tables.json -issuer https://auth.example.com/api/auth
  oauthdb serve -listen :9000 -cpuprofile cpu.out
  oauthdb serve -postgres "host=db dbname=auth user=replicator" -slot oauthdb_validator_1
  PGHOST=db PGDATABASE=auth PGUSER=replicator PGPASSFILE=/run/secrets/pgpass \
    OAUTHDB_SLOT=oauthdb_validator_1 oauthdb serve -postgres ""

SIGTERM or SIGINT shuts down gracefully: no new connection is accepted, and
requests in flight finish, for at most -shutdown-timeout; a second signal ends
the process at once.

Every flag may also be set by an environment variable: OAUTHDB_ and the flag's
name in capitals, - as _ (OAUTHDB_MAX_LAG=10s); a flag given on the command
line wins. With -postgres, what the DSN leaves out comes from libpq's
variables, which pgx reads: PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD,
PGPASSFILE (default ~/.pgpass), PGSSLMODE, PGSERVICE and the others; -postgres ""
(or OAUTHDB_POSTGRES set empty) takes everything from them, so that no
password need be on the command line, where ps shows it.

flags:
`

// serveOptions are the flags of the serve command.
type serveOptions struct {
	listen, issuer, snapshot string
	postgres, slot           string
	usePostgres              bool // -postgres was given, perhaps empty
	stateDir                 string
	slotTTL                  time.Duration
	sharedMarks              bool
	maxLag, shutdownTimeout  time.Duration
	lenientSessions          bool
	cacheEntries             int
	cpuProfile               string
}

// serveFlags binds the command's flags to o; parsing and the help share it.
func serveFlags(o *serveOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("oauthdb serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&o.listen, "listen", defaultListen, "address to listen on, host:port")
	fs.StringVar(&o.issuer, "issuer", "", "iss of the answers: better-auth's issuer, its baseURL unless its jwt plugin\n"+
		"sets one (default the listen URL, http://host:port)")
	fs.StringVar(&o.snapshot, "snapshot", "", "serve the records of this snapshot file (JSON of an oauthdb.Snapshot)\n"+
		"instead of the sample")
	fs.StringVar(&o.postgres, "postgres", "", "follow better-auth's Postgres at this DSN (libpq's PG* variables fill in\n"+
		"the rest; \"\" takes all from them); pass a password in PGPASSWORD or\n"+
		"PGPASSFILE rather than here, where ps shows it")
	fs.StringVar(&o.slot, "slot", "", "with -postgres: the replica's replication slot")
	fs.DurationVar(&o.maxLag, "max-lag", defaultMaxLag, "with -postgres: answer 503 once the replica trails Postgres by more")
	fs.StringVar(&o.stateDir, "state-dir", "", "with -postgres: the replica's state, which outlives the process (default\n"+
		"$XDG_STATE_HOME/oauthdb/SLOT, else ~/.local/state/oauthdb/SLOT); \"\" for none,\n"+
		"and a temporary slot")
	fs.DurationVar(&o.slotTTL, "slot-ttl", defaultSlotTTL, "with -postgres: drop a slot named "+fleetSlotPrefix+"* unused for this long,\n"+
		"a gone instance's; 0 never")
	fs.BoolVar(&o.sharedMarks, "shared-marks", false, "with -postgres: share the replica's marks with the other instances\n"+
		"through the table "+pgreplica.MarksTable+" in Postgres, which the role must be able to write")
	fs.BoolVar(&o.lenientSessions, "lenient-sessions", false, "keep an access token active when its session has expired, as\n"+
		"better-auth 1.4 to 1.6 did (default: inactive, as 1.7)")
	fs.IntVar(&o.cacheEntries, "cache", oauthdb.DefaultCacheEntries, "tokens of each kind the validation cache holds; 0 turns it off")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", defaultShutdownTimeout, "how long requests in flight may take to finish on SIGTERM")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	fs.VisitAll(func(f *flag.Flag) { f.Usage += " ($" + envName(f.Name) + ")" })
	return fs
}

// envName is the environment variable that may set a flag of serve:
// OAUTHDB_MAX_LAG for -max-lag.
func envName(flag string) string {
	return "OAUTHDB_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag of fs that the command line left alone from its
// environment variable, when that is set (to anything, the empty string
// included): a deployment's settings come from its environment, and an
// operator's flag overrides them. A value a flag refuses is an error
// naming the variable.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		if v, ok := lookup(envName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("$%s: %w", envName(f.Name), err))
			}
		}
	})
	return errors.Join(errs...)
}

func printServeHelp(w io.Writer) { printHelp(w, serveHelpHead, serveFlags(new(serveOptions))) }

// slotPattern is what Postgres takes as a replication slot's name.
var slotPattern = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// parseServe reads serve's flags from args and, for those args leave out,
// from the environment through lookup (os.LookupEnv).
func parseServe(args []string, lookup func(string) (string, bool), stdout io.Writer) (*serveOptions, error) {
	o := &serveOptions{}
	fs := serveFlags(o)
	if err := parseArgs("serve", fs, args, stdout, printServeHelp); err != nil {
		return nil, err
	}
	if err := applyEnv(fs, lookup); err != nil {
		return nil, usagef("serve", "%v", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return nil, usagef("serve", "-listen %q: want host:port", o.listen)
	}
	if o.issuer != "" {
		if u, err := url.Parse(o.issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, usagef("serve", "-issuer %q: want an http or https URL", o.issuer)
		}
	}
	if o.cacheEntries < 0 {
		return nil, usagef("serve", "-cache must not be negative, got %d", o.cacheEntries)
	}
	if o.shutdownTimeout <= 0 {
		return nil, usagef("serve", "-shutdown-timeout must be positive, got %v", o.shutdownTimeout)
	}
	switch {
	case set["postgres"] && set["snapshot"]:
		return nil, usagef("serve", "-snapshot and -postgres are two sources of data: give one")
	case set["postgres"]:
		// The DSN may hold a password: no message quotes it. An empty one
		// is libpq's: everything from the PG* variables.
		o.usePostgres = true
		if !slotPattern.MatchString(o.slot) {
			return nil, usagef("serve", "-postgres needs -slot, 1 to 63 of a-z, 0-9 and _")
		}
		if o.maxLag <= 0 {
			return nil, usagef("serve", "-max-lag must be positive, got %v", o.maxLag)
		}
		if o.slotTTL != 0 && o.slotTTL < time.Minute {
			return nil, usagef("serve", "-slot-ttl must be 0 or at least a minute, got %v", o.slotTTL)
		}
		if !set["state-dir"] {
			dir, err := defaultStateDir(o.slot, lookup)
			if err != nil {
				return nil, usagef("serve", "no directory for the replica's state (%v): give -state-dir, or -state-dir \"\" for none", err)
			}
			o.stateDir = dir
		}
	case set["slot"] || set["max-lag"] || set["state-dir"] || set["slot-ttl"] || set["shared-marks"]:
		return nil, usagef("serve", "-slot, -max-lag, -state-dir, -slot-ttl and -shared-marks go with -postgres")
	case set["snapshot"] && o.snapshot == "":
		return nil, usagef("serve", "-snapshot is empty")
	}
	return o, nil
}

// defaultStateDir is where a replica keeps its state when -state-dir is not
// given: $XDG_STATE_HOME/oauthdb/SLOT, or $HOME/.local/state/oauthdb/SLOT,
// the environment read through lookup.
func defaultStateDir(slot string, lookup func(string) (string, bool)) (string, error) {
	base, _ := lookup("XDG_STATE_HOME")
	if base == "" {
		home, _ := lookup("HOME")
		if home == "" {
			return "", errors.New("neither $XDG_STATE_HOME nor $HOME is set")
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "oauthdb", slot), nil
}

// openSource opens the data the options name. The sample comes with its
// credentials, to print; the other sources with nil.
func (o *serveOptions) openSource(log *slog.Logger) (source, *sample, string, error) {
	opts := []oauthdb.Option{oauthdb.WithValidationCache(o.cacheEntries)}
	if o.lenientSessions {
		opts = append(opts, oauthdb.WithLenientSessions())
	}
	switch {
	case o.usePostgres:
		src, err := newFollowing(o, log, opts)
		if err != nil {
			return nil, nil, "", fmt.Errorf("-postgres: %w", err)
		}
		state := "state in " + o.stateDir
		if o.stateDir == "" {
			state = "no state, a temporary slot"
		}
		return src, nil, fmt.Sprintf("replica of Postgres, slot %s, max lag %v, %s", o.slot, o.maxLag, state), nil
	case o.snapshot != "":
		db, n, err := loadSnapshot(o.snapshot, opts...)
		if err != nil {
			return nil, nil, "", fmt.Errorf("-snapshot: %w", err)
		}
		return &embedded{db: db}, nil, fmt.Sprintf("snapshot %s, %d records", o.snapshot, n), nil
	}
	db, s, err := newSample(opts...)
	if err != nil {
		return nil, nil, "", err
	}
	return &embedded{db: db}, s, "sample dataset", nil
}

func runServe(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		// The first signal starts the graceful shutdown; a second one, the
		// signal's default action: an operator who sends it means now.
		<-ctx.Done()
		stop()
	}()
	return serveMain(ctx, args, stdout, stderr)
}

// serveMain is the serve command until ctx is done, then its graceful
// shutdown.
func serveMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServe(args, os.LookupEnv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	src, smp, what, err := o.openSource(log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	base := baseURL(ln.Addr())
	issuer := o.issuer
	if issuer == "" {
		issuer = base
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			ln.Close()
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	s := newServer(src, issuer, log)
	log.Info("oauthdb serve: listening", "url", base, "issuer", issuer, "data", what)
	if smp != nil {
		printSample(stderr, smp, base+pathIntrospect)
	}
	return s.run(ctx, ln, o.shutdownTimeout)
}

// baseURL is the URL of a listening address; an unspecified host (":8080")
// is reached on the loopback address.
func baseURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// run serves on ln until ctx is done or the source fails, then shuts down:
// it stops accepting, closes idle connections, and waits for the requests
// in flight for at most timeout before it closes their connections too.
func (s *server) run(ctx context.Context, ln net.Listener, timeout time.Duration) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	srcCtx, stopSource := context.WithCancel(context.Background())
	defer stopSource()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	failed := make(chan error, 1)
	// The source ends before the process does: a replica writes its state
	// on the way out.
	srcDone := make(chan struct{})
	defer func() { stopSource(); <-srcDone }()
	go func() {
		defer close(srcDone)
		if err := s.src.Run(srcCtx); err != nil && srcCtx.Err() == nil {
			failed <- err
		}
	}()

	var runErr error
	select {
	case <-ctx.Done():
		s.log.Info("oauthdb serve: shutting down", "timeout", timeout)
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case err := <-failed:
		runErr = fmt.Errorf("source: %w", err)
		s.log.Error("oauthdb serve: the source failed; shutting down", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		<-served
		return errors.Join(runErr, fmt.Errorf("shutdown: requests still in flight after %v were cut off", timeout))
	}
	<-served // http.ErrServerClosed, once Shutdown is done
	stopSource()
	s.log.Info("oauthdb serve: shut down")
	return runErr
}

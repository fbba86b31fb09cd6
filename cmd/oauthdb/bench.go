package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/oauthdb/oauthdb/bench"
)

// Defaults of the bench command. A run's time goes mostly to loading (each
// implementation once for the hot paths, then -count times for Load and
// Restore) and to the garbage collection testing forces before every
// measurement (a second or so for a go-memdb store of 50k tokens), not to
// -benchtime; so the measurements are many and short. See the help for what
// a run cost, measured.
const (
	// defaultTokens is a quarter of bench.DefaultConfig: loading and the
	// forced collections grow with the dataset.
	defaultTokens    = 50000
	defaultCount     = 5
	defaultBenchtime = 300 * time.Millisecond
	// defaultBaselines are the implementations the table divides by: the
	// floor and the usual alternative.
	defaultBaselines = "map,sqlite"
)

const benchHelpHead = `usage: oauthdb bench [flags]

Bench loads one generated dataset into oauthdb and into each of its baselines
(map: plain Go maps, the floor; memdb-reflect: go-memdb with its reflection
indexers; sqlite: SQLite in memory), each in a process of its own, and times
the hot paths of an OAuth provider on each, with the benchmark bodies that
"go test -bench . ./bench/" runs. Load times the dataset loaded into an empty
store, and Restore oauthdb's snapshot of it read back: each once a run, in a
new process with nothing else loaded, as a service starts.

Every figure is measured -count times, -benchtime each. The implementations
take turns: each round measures every operation on every implementation, so
that a drift of the machine touches them all alike. The table gives, per
operation and implementation, the median of the runs, its spread (± the
largest distance of a run from the median, in % of the median), the number
of runs, and the median over each baseline's median (×map, ×sqlite:
"oauthdb is N× the map"). -json prints the same with every run's figures.

The header names the machine and its 1-minute load average at the start and
the end. Above about 1 at the start, other work shares the CPU and the
figures are slower and wider; the write paths of the go-memdb stores most,
as their garbage collection runs beside them on the other core.

What a run costs, measured on the project's 2-core VM: the defaults (50,000
access tokens, -count 5, -benchtime 300ms, every operation) took 5 min 34 s
on a quiet machine, and 2-3 times as long beside other work. The go test
benchmarks and bench/README.md use the full dataset, 200,000 access tokens:

  oauthdb bench -tokens 200000 -count 6   # the hot paths: 9 min 23 s, quiet;
                                          # Load and Restore add 7-15 min
  oauthdb bench -ops Load,Restore         # loads and restores alone

Other examples:

  oauthdb bench -impl map,oauthdb -ops Validate,Rotate -count 10
  oauthdb bench -vs memdb-reflect         # ratios to go-memdb with reflection
  oauthdb bench -json > bench.json

flags:
`

// benchOptions are the flags of the bench command.
type benchOptions struct {
	tokens, clients, users, sessions, refresh int
	seed                                      uint64
	impls, ops, baselines                     string
	count                                     int
	benchtime                                 time.Duration
	interleave                                bool
	json                                      bool
}

// benchFlags binds the command's flags to o. Parsing and the help share it,
// so the help always shows the flags that are parsed.
func benchFlags(o *benchOptions) *flag.FlagSet {
	def := bench.DefaultConfig()
	fs := flag.NewFlagSet("oauthdb bench", flag.ContinueOnError)
	// Errors are reported by run, in one line; the help by printBenchHelp.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.IntVar(&o.tokens, "tokens", defaultTokens, fmt.Sprintf("access tokens in the dataset; the other tables scale with it unless set\n"+
		"(the go test benchmarks and bench/README.md use %d)", def.AccessTokens))
	fs.IntVar(&o.clients, "clients", 0, fmt.Sprintf("clients (default %d per %d access tokens)", def.Clients, def.AccessTokens))
	fs.IntVar(&o.users, "users", 0, fmt.Sprintf("users (default %d per %d access tokens)", def.Users, def.AccessTokens))
	fs.IntVar(&o.sessions, "sessions", 0, fmt.Sprintf("sessions (default %d per %d access tokens)", def.Sessions, def.AccessTokens))
	fs.IntVar(&o.refresh, "refresh", 0, fmt.Sprintf("refresh tokens (default %d per %d access tokens)", def.RefreshTokens, def.AccessTokens))
	fs.Uint64Var(&o.seed, "seed", def.Seed, "dataset seed")
	fs.StringVar(&o.impls, "impl", "all", "implementations to run, comma-separated: "+strings.Join(implNames(), ", "))
	fs.StringVar(&o.ops, "ops", "all", "operations to run, comma-separated: "+strings.Join(caseNames(), ", "))
	fs.StringVar(&o.baselines, "vs", defaultBaselines, "implementations to divide by, comma-separated (\"\": no ratio);\n"+
		"by default those of them that run")
	fs.IntVar(&o.count, "count", defaultCount, "runs of every measurement; the table shows their median")
	fs.DurationVar(&o.benchtime, "benchtime", defaultBenchtime, "measuring time of one run")
	fs.BoolVar(&o.interleave, "interleave", true, "load every implementation at once (each in a process of its own) and take\n"+
		"turns in every round; false: one at a time, its -count runs in a row, as go test -count does")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	return fs
}

func printBenchHelp(w io.Writer) { printHelp(w, benchHelpHead, benchFlags(new(benchOptions))) }

func implNames() []string {
	var names []string
	for _, f := range bench.Factories() {
		names = append(names, f.Name)
	}
	return names
}

// The operations measured on a new, empty store rather than on the loaded
// one: loading the dataset, and restoring oauthdb's snapshot of it.
const (
	opLoad    = "Load"
	opRestore = "Restore"
)

// caseNames returns every operation's name, in the table's order.
func caseNames() []string {
	var names []string
	for _, c := range bench.Cases() {
		names = append(names, c.Name)
	}
	return append(names, opLoad, opRestore)
}

// restores reports whether Restore is measured on impl: oauthdb's snapshot,
// read by oauthdb (with its cache on; the cache plays no part in a restore).
func restores(impl string) bool { return impl == "oauthdb" }

// benchPlan is a parsed, checked command line.
type benchPlan struct {
	benchOptions
	cfg       bench.Config
	factories []bench.Factory
	cases     []bench.Case
	// load and restore: whether Load and Restore are measured.
	load, restore bool
	baselines     []string
}

func parseBench(args []string, stdout io.Writer) (*benchPlan, error) {
	p := &benchPlan{}
	fs := benchFlags(&p.benchOptions)
	if err := parseArgs("bench", fs, args, stdout, printBenchHelp); err != nil {
		return nil, err
	}
	if p.tokens < 1 || p.clients < 0 || p.users < 0 || p.sessions < 0 || p.refresh < 0 {
		return nil, usagef("bench", "-tokens must be at least 1 and the other sizes not negative")
	}
	if p.count < 1 {
		return nil, usagef("bench", "-count must be at least 1, got %d", p.count)
	}
	if p.benchtime <= 0 {
		return nil, usagef("bench", "-benchtime must be positive, got %v", p.benchtime)
	}
	p.cfg = bench.ScaledConfig(p.tokens)
	p.cfg.Seed = p.seed
	for _, s := range []struct {
		dst *int
		v   int
	}{{&p.cfg.Clients, p.clients}, {&p.cfg.Users, p.users}, {&p.cfg.Sessions, p.sessions}, {&p.cfg.RefreshTokens, p.refresh}} {
		if s.v > 0 {
			*s.dst = s.v
		}
	}
	var err error
	if p.factories, err = bench.Select(p.impls); err != nil {
		return nil, usagef("bench", "-impl: %v", err)
	}
	if p.cases, p.load, p.restore, err = selectCases(p.ops); err != nil {
		return nil, usagef("bench", "-ops: %v", err)
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "vs" })
	if p.baselines, err = selectBaselines(p.benchOptions.baselines, explicit, p.factories); err != nil {
		return nil, usagef("bench", "-vs: %v", err)
	}
	return p, nil
}

// selectCases returns the hot-path cases of list, and whether it names Load
// and Restore.
func selectCases(list string) (cases []bench.Case, load, restore bool, err error) {
	all := bench.Cases()
	if list == "" || list == "all" {
		return all, true, true, nil
	}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, c := range all {
			if strings.EqualFold(c.Name, name) {
				cases = append(cases, c)
				found = true
			}
		}
		switch {
		case strings.EqualFold(name, opLoad):
			load, found = true, true
		case strings.EqualFold(name, opRestore):
			restore, found = true, true
		}
		if !found {
			return nil, false, false, fmt.Errorf("unknown operation %q (have %s)", name, strings.Join(caseNames(), ", "))
		}
	}
	return cases, load, restore, nil
}

// selectBaselines returns the baselines of list that run. A baseline named
// on the command line must run; the default ones are dropped when they do
// not (-impl oauthdb simply has no ratio).
func selectBaselines(list string, explicit bool, running []bench.Factory) ([]string, error) {
	var out []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		runs := false
		for _, f := range running {
			runs = runs || f.Name == name
		}
		switch {
		case runs:
			out = append(out, name)
		case explicit:
			return nil, fmt.Errorf("baseline %q does not run (running: %s)", name, strings.Join(factoryNames(running), ", "))
		}
	}
	return out, nil
}

func factoryNames(fs []bench.Factory) []string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return names
}

func runBench(args []string, stdout, stderr io.Writer) error {
	p, err := parseBench(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	bar := newProgress(stderr)
	defer bar.clear()

	rep, err := p.measure(bar)
	bar.clear()
	if err != nil {
		return err
	}
	if p.json {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		printTable(stdout, rep)
	}
	return rep.failure()
}

// measure runs the plan and returns its report.
func (p *benchPlan) measure(bar *progress) (*Report, error) {
	start := time.Now()
	nf, nc := len(p.factories), len(p.cases)
	loaders := p.loaders()
	setup, measures := 0, p.count*(nf*nc+len(loaders))
	if nc > 0 {
		setup += nf
	}
	if p.restore && slices.ContainsFunc(loaders, restores) {
		setup++
	}
	bar.begin(setup, measures)

	rep := &Report{Machine: thisMachine(), Settings: Settings{Count: p.count, Benchtime: p.benchtime.String(),
		Interleaved: p.interleave, Baselines: p.baselines, Impls: factoryNames(p.factories)}}
	if rep.Settings.Baselines == nil {
		rep.Settings.Baselines = []string{}
	}
	for _, c := range p.cases {
		rep.Settings.Ops = append(rep.Settings.Ops, c.Name)
	}
	if p.load {
		rep.Settings.Ops = append(rep.Settings.Ops, opLoad)
	}
	if p.restore {
		rep.Settings.Ops = append(rep.Settings.Ops, opRestore)
	}
	var results []*accumulator
	if nc > 0 {
		hot, err := p.measureHot(bar, rep)
		if err != nil {
			return nil, err
		}
		results = append(results, hot...)
	}
	if len(loaders) > 0 {
		loads, err := p.measureLoads(bar, rep, loaders)
		if err != nil {
			return nil, err
		}
		results = append(results, loads...)
	}
	for _, a := range results {
		rep.Results = append(rep.Results, a.result())
	}
	addRatios(rep.Results, p.baselines)
	rep.Seconds = time.Since(start).Seconds()
	rep.Machine.LoadEnd = loadAverage()
	return rep, nil
}

// measureHot measures the hot-path cases, each implementation loaded once
// in a worker of its own.
func (p *benchPlan) measureHot(bar *progress, rep *Report) ([]*accumulator, error) {
	nf, nc := len(p.factories), len(p.cases)
	// results[i*nf+j] is case i on implementation j.
	results := make([]*accumulator, nc*nf)
	for i, c := range p.cases {
		for j, f := range p.factories {
			results[i*nf+j] = &accumulator{op: c.Name, impl: f.Name}
		}
	}

	workers := make([]*worker, nf)
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.kill()
			}
		}
	}()
	// Workers are loaded one at a time, so that load times are not
	// measured against each other.
	load := func(j int) error {
		name := p.factories[j].Name
		bar.step("load " + name)
		w, err := startWorker(name)
		if err != nil {
			return err
		}
		workers[j] = w
		loaded, err := w.load(p.cfg)
		if err != nil {
			return err
		}
		rep.Memory = append(rep.Memory, loaded.Memory)
		rep.Dataset = loaded.Dataset
		return nil
	}
	stop := func(j int) error {
		w := workers[j]
		workers[j] = nil
		return w.close()
	}
	run := func(round, i, j int) error {
		bar.measure(fmt.Sprintf("%s %s, run %d/%d", p.cases[i].Name, p.factories[j].Name, round+1, p.count))
		r, err := workers[j].run(p.cases[i].Name, p.benchtime)
		if err != nil {
			return err
		}
		results[i*nf+j].add(r.Result, r.GCCycles)
		return nil
	}

	if p.interleave {
		for j := range nf {
			if err := load(j); err != nil {
				return nil, err
			}
		}
		for round := range p.count {
			for i := range nc {
				// Each round starts at the next implementation, so that
				// none is always measured right after the same one.
				for k := range nf {
					if err := run(round, i, (k+round)%nf); err != nil {
						return nil, err
					}
				}
			}
		}
		for j := range nf {
			if err := stop(j); err != nil {
				return nil, err
			}
		}
	} else {
		for j := range nf {
			if err := load(j); err != nil {
				return nil, err
			}
			for i := range nc {
				for round := range p.count {
					if err := run(round, i, j); err != nil {
						return nil, err
					}
				}
			}
			if err := stop(j); err != nil {
				return nil, err
			}
		}
	}
	return results, nil
}

// loaders returns the implementations a load worker runs on: those whose
// Load is measured, and oauthdb for Restore.
func (p *benchPlan) loaders() []string {
	var out []string
	for _, f := range p.factories {
		if p.load || (p.restore && restores(f.Name)) {
			out = append(out, f.Name)
		}
	}
	return out
}

// measureLoads measures Load and Restore: each run in a new worker process
// that generates the dataset and then loads it (and restores the snapshot)
// with nothing else on its heap, as a service starts. Implementations take
// turns in every round, as the hot paths do.
func (p *benchPlan) measureLoads(bar *progress, rep *Report, impls []string) ([]*accumulator, error) {
	snapshot := ""
	if p.restore && slices.ContainsFunc(impls, restores) {
		dir, err := os.MkdirTemp("", "oauthdb-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		snapshot = filepath.Join(dir, "snapshot")
		bar.step("write oauthdb's snapshot")
		if _, err := p.once(workerSetup{Impl: "oauthdb", Config: p.cfg, Mode: workerSnapshot, Snapshot: snapshot}); err != nil {
			return nil, err
		}
	}
	loads := map[string]*accumulator{}
	restored := map[string]*accumulator{}
	var out []*accumulator
	if p.load {
		for _, impl := range impls {
			loads[impl] = &accumulator{op: opLoad, impl: impl}
			out = append(out, loads[impl])
		}
	}
	for _, impl := range impls {
		if snapshot != "" && restores(impl) {
			restored[impl] = &accumulator{op: opRestore, impl: impl}
			out = append(out, restored[impl])
		}
	}
	run := func(round int, impl string) error {
		bar.measure(fmt.Sprintf("load %s, run %d/%d", impl, round+1, p.count))
		setup := workerSetup{Impl: impl, Config: p.cfg, Mode: workerLoad, Load: p.load}
		if restored[impl] != nil {
			setup.Snapshot = snapshot
		}
		res, err := p.once(setup)
		if err != nil {
			return err
		}
		if a := loads[impl]; a != nil && res.Load != nil {
			a.add(res.Load.Result, res.Load.GCCycles)
		}
		if a := restored[impl]; a != nil && res.Restore != nil {
			a.add(res.Restore.Result, res.Restore.GCCycles)
		}
		if res.Dataset != nil {
			rep.Dataset = *res.Dataset
		}
		return nil
	}
	n := len(impls)
	if p.interleave {
		for round := range p.count {
			for k := range n {
				if err := run(round, impls[(k+round)%n]); err != nil {
					return nil, err
				}
			}
		}
	} else {
		for _, impl := range impls {
			for round := range p.count {
				if err := run(round, impl); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// once starts a worker that does one thing (setup.Mode) and returns its
// answer.
func (p *benchPlan) once(setup workerSetup) (workerLoadResult, error) {
	w, err := startWorker(setup.Impl)
	if err != nil {
		return workerLoadResult{}, err
	}
	return w.once(setup)
}

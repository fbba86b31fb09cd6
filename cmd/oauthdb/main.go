// Command oauthdb runs the jobs a user of the oauthdb store runs from a
// shell. Today that is the comparative benchmark:
//
//	oauthdb bench [flags]
//
// builds the benchmark dataset, loads it into every implementation (oauthdb
// and its baselines: plain maps, go-memdb with reflection indexers, SQLite)
// and prints one table of the hot paths. See bench/README.md.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/oauthdb/oauthdb/bench"
)

const usage = `usage: oauthdb <command> [flags]

commands:
  bench   benchmark oauthdb against its baselines and print a table
  help    print this help

Run "oauthdb bench -h" for the benchmark's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "bench":
		if err := runBench(args[1:], stdout, stderr); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(stderr, "oauthdb bench: %v\n", err)
			return 1
		}
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "oauthdb: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// defaultTokens is the default dataset size of the bench command: a quarter
// of bench.DefaultConfig, so that a run of every implementation with the
// default benchtime ends within a minute on 2 cores (measured: 50k tokens
// 48 s, 100k 99 s, 200k 251 s; loading the go-memdb stores and the forced
// garbage collection before each measurement dominate).
const defaultTokens = 50000

// benchOptions are the flags of the bench command.
type benchOptions struct {
	cfg       bench.Config
	impls     string
	ops       string
	benchtime time.Duration
	json      bool
}

func parseBenchFlags(args []string, stderr io.Writer) (benchOptions, error) {
	def := bench.DefaultConfig()
	fs := flag.NewFlagSet("oauthdb bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchOptions
	tokens := fs.Int("tokens", defaultTokens, fmt.Sprintf("access tokens in the dataset; the other tables scale with it unless set\n"+
		"(the full dataset of the go test benchmarks is %d; it takes about 4 minutes here)", def.AccessTokens))
	clients := fs.Int("clients", 0, fmt.Sprintf("clients (default %d per %d tokens)", def.Clients, def.AccessTokens))
	users := fs.Int("users", 0, fmt.Sprintf("users (default %d per %d tokens)", def.Users, def.AccessTokens))
	sessions := fs.Int("sessions", 0, fmt.Sprintf("sessions (default %d per %d tokens)", def.Sessions, def.AccessTokens))
	refresh := fs.Int("refresh", 0, fmt.Sprintf("refresh tokens (default %d per %d tokens)", def.RefreshTokens, def.AccessTokens))
	seed := fs.Uint64("seed", def.Seed, "dataset seed")
	fs.StringVar(&o.impls, "impl", "all", "implementations to run, comma-separated: map, memdb-reflect, sqlite, oauthdb")
	fs.StringVar(&o.ops, "ops", "all", "operations to run, comma-separated: "+strings.Join(caseNames(), ", "))
	fs.DurationVar(&o.benchtime, "benchtime", 300*time.Millisecond, "measuring time per operation and implementation")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: oauthdb bench [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *tokens < 1 || *clients < 0 || *users < 0 || *sessions < 0 || *refresh < 0 {
		return o, fmt.Errorf("dataset sizes must be positive")
	}
	if o.benchtime <= 0 {
		return o, fmt.Errorf("-benchtime must be positive")
	}
	o.cfg = bench.ScaledConfig(*tokens)
	o.cfg.Seed = *seed
	for _, p := range []struct {
		dst *int
		v   int
	}{{&o.cfg.Clients, *clients}, {&o.cfg.Users, *users}, {&o.cfg.Sessions, *sessions}, {&o.cfg.RefreshTokens, *refresh}} {
		if p.v > 0 {
			*p.dst = p.v
		}
	}
	return o, nil
}

func caseNames() []string {
	var names []string
	for _, c := range bench.Cases() {
		names = append(names, c.Name)
	}
	return names
}

func selectCases(list string) ([]bench.Case, error) {
	all := bench.Cases()
	if list == "" || list == "all" {
		return all, nil
	}
	var out []bench.Case
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, c := range all {
			if strings.EqualFold(c.Name, name) {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown operation %q (have %s)", name, strings.Join(caseNames(), ", "))
		}
	}
	return out, nil
}

// Result is one measured operation of one implementation.
type Result struct {
	Op          string  `json:"op"`
	Impl        string  `json:"impl"`
	N           int     `json:"n"`
	NsPerOp     float64 `json:"nsPerOp"`
	AllocsPerOp int64   `json:"allocsPerOp"`
	BytesPerOp  int64   `json:"bytesPerOp"`
	// VsMap and VsSQLite are NsPerOp divided by map's and sqlite's (0 when
	// not measured).
	VsMap    float64 `json:"vsMap,omitempty"`
	VsSQLite float64 `json:"vsSqlite,omitempty"`
	Failed   bool    `json:"failed,omitempty"`
}

// Memory is what one implementation retains once loaded.
type Memory struct {
	Impl          string  `json:"impl"`
	BytesPerToken float64 `json:"bytesPerToken"`
	RetainedBytes int64   `json:"retainedBytes"`
	LoadSeconds   float64 `json:"loadSeconds"`
}

// Report is the JSON output of the bench command.
type Report struct {
	Machine   Machine      `json:"machine"`
	Dataset   bench.Config `json:"dataset"`
	Benchtime string       `json:"benchtime"`
	Results   []Result     `json:"results"`
	Memory    []Memory     `json:"memory"`
	Seconds   float64      `json:"seconds"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	GoVersion  string `json:"goVersion"`
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"numCpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
}

func machine() Machine {
	m := Machine{GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPU: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

func runBench(args []string, stdout, stderr io.Writer) error {
	o, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	factories, err := bench.Select(o.impls)
	if err != nil {
		return err
	}
	cases, err := selectCases(o.ops)
	if err != nil {
		return err
	}
	// testing.Benchmark reads its measuring time from the -test.benchtime
	// flag of the testing package.
	testing.Init()
	if err := flag.Set("test.benchtime", o.benchtime.String()); err != nil {
		return err
	}

	start := time.Now()
	bar := newProgress(stderr, 1+len(factories)*(1+len(cases)))
	bar.step(fmt.Sprintf("generate dataset (%d access tokens)", o.cfg.AccessTokens))
	ds := bench.Generate(o.cfg)

	rep := Report{Machine: machine(), Dataset: o.cfg, Benchtime: o.benchtime.String()}
	for _, f := range factories {
		bar.step("load " + f.Name)
		t, err := bench.NewTarget(f, o.cfg, ds)
		if err != nil {
			bar.done()
			return err
		}
		rep.Memory = append(rep.Memory, Memory{Impl: f.Name, BytesPerToken: t.BytesPerToken,
			RetainedBytes: t.RetainedBytes, LoadSeconds: t.LoadTime.Seconds()})
		for _, c := range cases {
			bar.step(c.Name + " " + f.Name)
			r := testing.Benchmark(func(b *testing.B) { c.Run(b, t) })
			res := Result{Op: c.Name, Impl: f.Name, N: r.N, AllocsPerOp: r.AllocsPerOp(), BytesPerOp: r.AllocedBytesPerOp()}
			if r.N > 0 {
				res.NsPerOp = float64(r.T.Nanoseconds()) / float64(r.N)
			} else {
				res.Failed = true
			}
			rep.Results = append(rep.Results, res)
		}
		if err := t.Impl.Close(); err != nil {
			bar.done()
			return fmt.Errorf("%s: close: %w", f.Name, err)
		}
		t = nil
		runtime.GC()
	}
	bar.done()
	rep.Seconds = time.Since(start).Seconds()
	ratios(rep.Results)
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printTable(stdout, rep, cases)
	return nil
}

// ratios fills VsMap and VsSQLite.
func ratios(results []Result) {
	base := map[string]map[string]float64{}
	for _, r := range results {
		if r.Impl == "map" || r.Impl == "sqlite" {
			if base[r.Impl] == nil {
				base[r.Impl] = map[string]float64{}
			}
			if !r.Failed {
				base[r.Impl][r.Op] = r.NsPerOp
			}
		}
	}
	for i := range results {
		r := &results[i]
		if r.Failed {
			continue
		}
		if b := base["map"][r.Op]; b > 0 {
			r.VsMap = r.NsPerOp / b
		}
		if b := base["sqlite"][r.Op]; b > 0 {
			r.VsSQLite = r.NsPerOp / b
		}
	}
}

func printTable(w io.Writer, rep Report, cases []bench.Case) {
	m, d := rep.Machine, rep.Dataset
	fmt.Fprintf(w, "machine: %s, %d CPUs (GOMAXPROCS %d), %s/%s, %s\n", m.CPU, m.NumCPU, m.GOMAXPROCS, m.GOOS, m.GOARCH, m.GoVersion)
	fmt.Fprintf(w, "dataset: %d clients, %d users, %d sessions, %d access tokens, %d refresh tokens; benchtime %s\n\n",
		d.Clients, d.Users, d.Sessions, d.AccessTokens, d.RefreshTokens, rep.Benchtime)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\timpl\tns/op\tallocs/op\tB/op\t×map\t×sqlite\t")
	for _, c := range cases {
		for _, r := range rep.Results {
			if r.Op != c.Name {
				continue
			}
			if r.Failed {
				fmt.Fprintf(tw, "%s\t%s\tFAILED\t\t\t\t\t\n", r.Op, r.Impl)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t\n", r.Op, r.Impl, fmtNs(r.NsPerOp), r.AllocsPerOp, r.BytesPerOp,
				fmtRatio(r.VsMap), fmtRatio(r.VsSQLite))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "impl\tB/token\tretained MiB\tload s\t")
	for _, mem := range rep.Memory {
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.1f\t\n", mem.Impl, mem.BytesPerToken, float64(mem.RetainedBytes)/(1<<20), mem.LoadSeconds)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ntotal %.0f s\n", rep.Seconds)
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 100:
		return fmt.Sprintf("%.0f", ns)
	case ns >= 10:
		return fmt.Sprintf("%.1f", ns)
	}
	return fmt.Sprintf("%.2f", ns)
}

func fmtRatio(r float64) string {
	switch {
	case r == 0:
		return "-"
	case r >= 10:
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

// progress draws a progress bar of steps on stderr: redrawn in place on a
// terminal, one line per step otherwise.
type progress struct {
	w      io.Writer
	tty    bool
	total  int
	n      int
	start  time.Time
	curLen int
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) line(label string) string {
	const width = 30
	filled := width * p.n / max(1, p.total)
	el := time.Since(p.start).Round(time.Second)
	return fmt.Sprintf("[%s%s] %2d/%d %6s  %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		p.n, p.total, el, label)
}

// step starts the next step.
func (p *progress) step(label string) {
	p.n++
	s := p.line(label)
	if p.tty {
		pad := max(0, p.curLen-len(s))
		fmt.Fprintf(p.w, "\r%s%s", s, strings.Repeat(" ", pad))
		p.curLen = len(s)
		return
	}
	fmt.Fprintln(p.w, s)
}

// done ends the bar.
func (p *progress) done() {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\n", p.line("done"))
	} else {
		fmt.Fprintln(p.w, p.line("done"))
	}
}

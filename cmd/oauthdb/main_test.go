package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/oauthdb/oauthdb/bench"
)

// runCmd runs the command with args and returns its exit code and outputs.
func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestBenchJSON runs the whole command on a tiny dataset and checks the JSON
// report: its keys, its machine header and that every figure summarizes
// -count runs.
func TestBenchJSON(t *testing.T) {
	const count = 3
	code, out, errOut := runCmd("bench", "-tokens", "400", "-benchtime", "2ms", "-count", fmt.Sprint(count),
		"-impl", "map,sqlite", "-ops", "Validate,Sweep", "-json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr is not a terminal, yet the command wrote to it: %q", errOut)
	}

	// One naming convention for every key, nested ones included.
	var tree any
	if err := json.Unmarshal([]byte(out), &tree); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	camel := regexp.MustCompile(`^[a-z]+([A-Z][a-z0-9]*)*$`)
	keys := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				keys[k] = true
				if !camel.MatchString(k) {
					t.Errorf("key %q is not lower camelCase", k)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(tree)
	for _, k := range []string{"machine", "cpu", "numCpu", "gomaxprocs", "goVersion", "os", "arch", "dataset",
		"accessTokens", "settings", "count", "benchtime", "results", "metrics", "unit", "median", "min", "max",
		"samples", "ratios", "baseline", "memory", "bytesPerToken", "iterations", "gcCycles"} {
		if !keys[k] {
			t.Errorf("no key %q in the JSON", k)
		}
	}

	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	m := rep.Machine
	if m.CPU == "" || m.NumCPU < 1 || m.GOMAXPROCS < 1 || !strings.HasPrefix(m.GoVersion, "go") || m.OS == "" || m.Arch == "" {
		t.Errorf("machine: %+v", m)
	}
	if rep.Dataset.AccessTokens != 400 || rep.Settings.Count != count || rep.Settings.Benchtime != "2ms" || !rep.Settings.Interleaved {
		t.Errorf("dataset %+v, settings %+v", rep.Dataset, rep.Settings)
	}
	if len(rep.Results) != 4 {
		t.Fatalf("%d results, want 4", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Count != count || r.FailedRuns != 0 || len(r.Iterations) != count || len(r.GCCycles) != count {
			t.Errorf("%s/%s: count %d, failed %d, iterations %v", r.Op, r.Impl, r.Count, r.FailedRuns, r.Iterations)
		}
		for _, unit := range builtinUnits {
			m := r.metric(unit)
			if m == nil || len(m.Samples) != count || m.Min > m.Median || m.Median > m.Max {
				t.Errorf("%s/%s %s: %+v", r.Op, r.Impl, unit, m)
			}
		}
		if m := r.metric(unitTime); m == nil || m.Min <= 0 {
			t.Errorf("%s/%s: no time", r.Op, r.Impl)
		}
		if len(r.Ratios) != 2 || r.Ratios[0].Baseline != "map" || r.Ratios[1].Baseline != "sqlite" {
			t.Errorf("%s/%s: ratios %+v", r.Op, r.Impl, r.Ratios)
		}
		if r.Impl == "map" && r.ratio("map") != 1 {
			t.Errorf("%s/map: ×map = %v", r.Op, r.ratio("map"))
		}
		// A body's own metric (Validate's b.ReportMetric) comes through
		// without the command knowing it.
		if r.Op == "Validate" && r.metric("B/token") == nil {
			t.Errorf("%s/%s: no B/token", r.Op, r.Impl)
		}
	}
	if len(rep.Memory) != 2 || rep.Memory[0].BytesPerToken <= 0 {
		t.Errorf("memory: %+v", rep.Memory)
	}
}

// TestBenchTable runs the command on a tiny dataset, both orders, and checks
// the header and the table.
func TestBenchTable(t *testing.T) {
	for _, interleave := range []string{"true", "false"} {
		code, out, errOut := runCmd("bench", "-tokens", "400", "-benchtime", "1ms", "-count", "2", "-impl", "map,sqlite",
			"-ops", "validate,sweep", "-interleave="+interleave)
		if code != exitOK {
			t.Fatalf("-interleave=%s: exit %d: %s", interleave, code, errOut)
		}
		m := thisMachine()
		for _, want := range []string{
			"machine:  " + m.CPU + "; ", fmt.Sprintf("%d cores, GOMAXPROCS %d", m.NumCPU, m.GOMAXPROCS), m.GoVersion,
			"dataset:  400 access tokens, 200 refresh tokens",
			"runs:     2 of 1ms per figure",
			"time/op", "±", "runs", "GC/run", "allocs/op", "B/op", "B/token", "warm-B/token", "×map", "×sqlite",
			"retained MiB",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("-interleave=%s: output lacks %q:\n%s", interleave, want, out)
			}
		}
		row := regexp.MustCompile(`(?m)^Validate +map +[0-9.]+ [nµm]?s +[0-9.]+% +2 +[0-9.]+ +0 +0 +[0-9,]+ +-?[0-9.,]+ +1\.00× +0\.[0-9]+×$`)
		if !row.MatchString(out) {
			t.Errorf("-interleave=%s: no Validate/map row of the expected shape:\n%s", interleave, out)
		}
		if !regexp.MustCompile(`(?m)^Sweep +sqlite .* 1\.00×$`).MatchString(out) {
			t.Errorf("-interleave=%s: no Sweep/sqlite row:\n%s", interleave, out)
		}
	}
}

// TestBenchEveryOp runs every operation once on three implementations:
// Restore, oauthdb's snapshot read back, on oauthdb alone, with its ratios
// over the others' Load.
func TestBenchEveryOp(t *testing.T) {
	code, out, errOut := runCmd("bench", "-tokens", "400", "-benchtime", "1ms", "-count", "1", "-impl", "map,sqlite,oauthdb")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, op := range caseNames() {
		for _, impl := range []string{"map", "sqlite", "oauthdb"} {
			row := regexp.MustCompile(`(?m)^` + op + ` +` + impl + ` +[0-9.]+ [nµm]?s .*×$`)
			if got, want := row.MatchString(out), op != opRestore || restores(impl); got != want {
				t.Errorf("a row for %s on %s: %v, want %v:\n%s", op, impl, got, want, out)
			}
		}
	}
}

// TestMain registers broken-map, and serves as the bench command's worker
// when the command under test starts this binary as one.
func TestMain(m *testing.M) {
	registerBroken()
	if isWorker() {
		os.Exit(workerMain(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// registerBroken registers broken-map: the map implementation with a
// Validate that rejects every token, so that the Validate benchmark body
// fails.
func registerBroken() {
	base, err := bench.Select("map")
	if err != nil {
		panic(err)
	}
	bench.Register(bench.Factory{Name: "broken-map", New: func(now func() time.Time) (bench.Impl, error) {
		impl, err := base[0].New(now)
		return rejecting{impl}, err
	}})
}

type rejecting struct{ bench.Impl }

func (rejecting) Validate(string) (bool, error) { return false, nil }

// TestBenchFailure checks that a benchmark body that fails shows in the table
// and fails the command.
func TestBenchFailure(t *testing.T) {
	code, out, errOut := runCmd("bench", "-tokens", "400", "-benchtime", "1ms", "-count", "2", "-impl", "map,broken-map",
		"-ops", "Validate,ValidateMiss")
	if code != exitFail {
		t.Errorf("exit %d, want %d", code, exitFail)
	}
	if !regexp.MustCompile(`(?m)^Validate +broken-map +FAILED +2/2`).MatchString(out) {
		t.Errorf("no FAILED row:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^ValidateMiss +broken-map +[0-9.]+ `).MatchString(out) {
		t.Errorf("the passing operation of the broken implementation has no row:\n%s", out)
	}
	if !strings.Contains(errOut, "Validate on broken-map (2 of 2 runs)") || strings.Contains(errOut, "goroutine") {
		t.Errorf("stderr: %q", errOut)
	}
}

// TestHelpAndUsage checks the help, and that every mistake on the command
// line gets a short message and exit code 2, never a stack trace.
func TestHelpAndUsage(t *testing.T) {
	tests := []struct {
		args      []string
		code      int
		stdout    []string // substrings
		stderr    []string
		shortErrs bool // stderr is one message and one hint
	}{
		{args: nil, code: exitUsage, stderr: []string{"usage: oauthdb <command>", "bench"}},
		{args: []string{"help"}, code: exitOK, stdout: []string{"usage: oauthdb <command>", "commands:", "bench", "help"}},
		{args: []string{"-h"}, code: exitOK, stdout: []string{"commands:"}},
		{args: []string{"--help"}, code: exitOK, stdout: []string{"commands:"}},
		{args: []string{"help", "bench"}, code: exitOK, stdout: benchHelpWants},
		{args: []string{"bench", "-h"}, code: exitOK, stdout: benchHelpWants},
		{args: []string{"bench", "--help"}, code: exitOK, stdout: benchHelpWants},
		{args: []string{"bench", "-count", "3", "-help"}, code: exitOK, stdout: benchHelpWants},
		{args: []string{"nope"}, code: exitUsage, stderr: []string{`oauthdb: unknown command "nope"`, "Run 'oauthdb help' for usage."}, shortErrs: true},
		{args: []string{"help", "nope"}, code: exitUsage, stderr: []string{`unknown command "nope"`}, shortErrs: true},
		{args: []string{"help", "bench", "x"}, code: exitUsage, stderr: []string{"help takes one command"}, shortErrs: true},
		{args: []string{"bench", "-nope"}, code: exitUsage, stderr: []string{"oauthdb bench: flag provided but not defined: -nope", "Run 'oauthdb help bench' for usage."}, shortErrs: true},
		{args: []string{"bench", "-count", "x"}, code: exitUsage, stderr: []string{`invalid value "x" for flag -count`}, shortErrs: true},
		{args: []string{"bench", "-count", "0"}, code: exitUsage, stderr: []string{"-count must be at least 1"}, shortErrs: true},
		{args: []string{"bench", "-benchtime", "-1s"}, code: exitUsage, stderr: []string{"-benchtime must be positive"}, shortErrs: true},
		{args: []string{"bench", "-tokens", "0"}, code: exitUsage, stderr: []string{"-tokens must be at least 1"}, shortErrs: true},
		{args: []string{"bench", "extra"}, code: exitUsage, stderr: []string{`unexpected argument "extra"`}, shortErrs: true},
		{args: []string{"bench", "-impl", "nope"}, code: exitUsage, stderr: []string{`unknown implementation "nope"`}, shortErrs: true},
		{args: []string{"bench", "-ops", "nope"}, code: exitUsage, stderr: []string{`unknown operation "nope"`}, shortErrs: true},
		{args: []string{"bench", "-impl", "map", "-vs", "sqlite"}, code: exitUsage, stderr: []string{`baseline "sqlite" does not run`}, shortErrs: true},
	}
	for _, tt := range tests {
		code, out, errOut := runCmd(tt.args...)
		name := strings.Join(append([]string{"oauthdb"}, tt.args...), " ")
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", name, code, tt.code, errOut)
		}
		for _, want := range tt.stdout {
			if !strings.Contains(out, want) {
				t.Errorf("%s: stdout lacks %q:\n%s", name, want, out)
			}
		}
		for _, want := range tt.stderr {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", name, want, errOut)
			}
		}
		if tt.code == exitOK && errOut != "" {
			t.Errorf("%s: stderr %q", name, errOut)
		}
		if tt.code != exitOK && out != "" {
			t.Errorf("%s: stdout %q", name, out)
		}
		if n := strings.Count(errOut, "\n"); tt.shortErrs && n != 2 {
			t.Errorf("%s: %d lines on stderr, want a message and a hint:\n%s", name, n, errOut)
		}
		if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
			t.Errorf("%s: stack trace:\n%s", name, errOut)
		}
	}
}

// benchHelpWants are substrings of the bench help.
var benchHelpWants = []string{"usage: oauthdb bench [flags]", "median", "-count", "-benchtime", "-interleave", "-json",
	"-vs", "oauthdb bench -tokens 200000"}

// screen is what a terminal shows of the text written to it: it moves the
// cursor on "\r" and "\n", erases to the end of the line on eraseLine, and
// wraps a line that reaches its width, as a terminal does.
type screen struct {
	t       *testing.T
	width   int
	lines   [][]rune
	col     int
	wrapped bool
}

func newScreen(t *testing.T, width int) *screen {
	return &screen{t: t, width: width, lines: [][]rune{nil}}
}

func (s *screen) Write(b []byte) (int, error) {
	str := string(b)
	for str != "" {
		cur := &s.lines[len(s.lines)-1]
		if rest, ok := strings.CutPrefix(str, eraseLine); ok {
			*cur = (*cur)[:min(s.col, len(*cur))]
			str = rest
			continue
		}
		r, size := utf8.DecodeRuneInString(str)
		str = str[size:]
		switch r {
		case '\x1b':
			s.t.Errorf("unknown escape sequence at %q", str)
		case '\r':
			s.col = 0
		case '\n':
			s.lines, s.col = append(s.lines, nil), 0
		default:
			if s.col == s.width {
				s.wrapped = true
				s.lines, s.col = append(s.lines, nil), 0
				cur = &s.lines[len(s.lines)-1]
			}
			if s.col < len(*cur) {
				(*cur)[s.col] = r
			} else {
				*cur = append(*cur, r)
			}
			s.col++
		}
	}
	return len(b), nil
}

func (s *screen) text() string {
	var lines []string
	for _, l := range s.lines {
		lines = append(lines, string(l))
	}
	return strings.Join(lines, "\n")
}

// TestProgressRedraw draws the status line on a fake terminal: each redraw
// leaves exactly the new line, a line wider than the terminal is cut, the
// time left appears once a measurement is done, and clear leaves nothing.
func TestProgressRedraw(t *testing.T) {
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(13 * time.Second); return clock }
	scr := newScreen(t, 72)
	p := newTerminalProgress(scr, 72, now)
	p.begin(2, 4)

	p.step("load memdb-reflect, a long label that does not fit in seventy-two columns")
	if got := scr.text(); len([]rune(got)) != 71 || !strings.HasPrefix(got, "[") || scr.wrapped {
		t.Errorf("long line not cut to 71 columns: %q (wrapped %v)", got, scr.wrapped)
	}
	p.step("load map")
	p.measure("Validate map, run 1/2")
	p.measure("Sweep map, run 1/2")
	got := scr.text()
	if !strings.HasSuffix(got, "  Sweep map, run 1/2") || strings.Contains(got, "Validate") || strings.Contains(got, "label") {
		t.Errorf("redraw left characters of an earlier line: %q", got)
	}
	if !strings.Contains(got, "4/6") || !strings.Contains(got, "1m") || !strings.Contains(got, "left") {
		t.Errorf("no step count, elapsed time or time left: %q", got)
	}
	if len(scr.lines) != 1 || scr.wrapped {
		t.Errorf("the status line took %d lines (wrapped %v): %q", len(scr.lines), scr.wrapped, got)
	}
	p.clear()
	if got := scr.text(); got != "" {
		t.Errorf("after clear the line shows %q", got)
	}
	p.clear() // a second clear writes nothing
	fmt.Fprint(scr, "machine: x\n")
	if got := scr.text(); got != "machine: x\n" {
		t.Errorf("output after the status line: %q", got)
	}
}

// TestProgressNotTerminal checks that no status line is drawn to anything
// that is not a terminal.
func TestProgressNotTerminal(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	var buf bytes.Buffer
	for name, w := range map[string]interface {
		Write([]byte) (int, error)
	}{"buffer": &buf, "file": file, "/dev/null": devNull} {
		if f, ok := w.(*os.File); ok && isTerminal(f) {
			t.Errorf("%s is taken for a terminal", name)
		}
		p := newProgress(w)
		p.begin(1, 1)
		p.step("load map")
		p.measure("Validate map")
		p.clear()
	}
	if fi, err := file.Stat(); err != nil || fi.Size() != 0 || buf.Len() != 0 {
		t.Errorf("progress written: file %v %v, buffer %q", fi.Size(), err, buf.String())
	}
}

func TestCPUModel(t *testing.T) {
	x86 := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu\n"
	if got := cpuModel(strings.NewReader(x86)); got != "Intel(R) Xeon(R) Processor" {
		t.Errorf("x86: %q", got)
	}
	arm := "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n"
	if got := cpuModel(strings.NewReader(arm)); got != "" {
		t.Errorf("arm: %q", got)
	}
}

func TestSummarize(t *testing.T) {
	m := summarize("ns/op", []float64{30, 10, 20, 100})
	if m.Median != 25 || m.Min != 10 || m.Max != 100 || m.Samples[0] != 30 {
		t.Errorf("even: %+v", m)
	}
	if got := m.spread(); got != 3 {
		t.Errorf("spread = %v, want 3 ((100-25)/25)", got)
	}
	if m := summarize("ns/op", []float64{3, 1, 2}); m.Median != 2 {
		t.Errorf("odd: %+v", m)
	}
}

func TestFormats(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{fmtTime(336), "336 ns"}, {fmtTime(2876), "2.88 µs"}, {fmtTime(19375601), "19.4 ms"}, {fmtTime(1.5e9), "1.50 s"},
		{fmtRatio(8.56), "8.56×"}, {fmtRatio(26.28), "26.3×"}, {fmtRatio(0), "-"},
		{fmtPercent(0.021), "2.1%"}, {fmtPercent(0.36), "36%"},
		{fmtFigure(5418.4), "5,418"}, {fmtFigure(0), "0"}, {fmtFigure(2.5), "2.50"},
		{thousands(1234567), "1,234,567"}, {thousands(-1000), "-1,000"}, {thousands(999), "999"},
		{fmtClock(65 * time.Second), "1m05s"}, {fmtClock(42 * time.Second), "42s"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestWorkerFailures checks what the command says when a worker cannot load
// its store, is asked for an unknown operation or dies.
func TestWorkerFailures(t *testing.T) {
	w, err := startWorker("nope")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.load(bench.TinyConfig()); err == nil || !strings.Contains(err.Error(), `nope: load: unknown implementation "nope"`) {
		t.Errorf("load of an unknown implementation: %v", err)
	}

	w, err = startWorker("map")
	if err != nil {
		t.Fatal(err)
	}
	defer w.kill()
	if _, err := w.load(bench.TinyConfig()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.run("NoSuchOp", time.Millisecond); err == nil || !strings.Contains(err.Error(), `unknown operation "NoSuchOp"`) {
		t.Errorf("unknown operation: %v", err)
	}
	if r, err := w.run("ValidateMiss", time.Millisecond); err != nil || r.Result.N == 0 {
		t.Errorf("ValidateMiss after an error: %+v, %v", r, err)
	}
	if err := w.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.run("Validate", time.Millisecond); err == nil || !strings.Contains(err.Error(), "map worker stopped") {
		t.Errorf("run on a dead worker: %v", err)
	}
}

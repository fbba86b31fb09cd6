package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oauthdb/oauthdb/bench"
)

func thisMachine() Machine {
	m := Machine{CPU: runtime.GOARCH, NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		if model := cpuModel(f); model != "" {
			m.CPU = model
		}
	}
	m.LoadStart = loadAverage()
	return m
}

// loadAverage returns the 1-minute load average of /proc/loadavg, or nil.
func loadAverage() *float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	first, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(first, 64)
	if err != nil {
		return nil
	}
	return &v
}

// cpuModel returns the first "model name" of a /proc/cpuinfo, or "". (ARM
// kernels often have none; the caller falls back to GOARCH.)
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func datasetOf(cfg bench.Config, ds *bench.Dataset) Dataset {
	return Dataset{Seed: cfg.Seed, Now: cfg.Now, Clients: len(ds.Clients), Users: len(ds.Users),
		Sessions: len(ds.Sessions), AccessTokens: len(ds.AccessTokens), RefreshTokens: len(ds.RefreshTokens),
		MissingTokens: len(ds.MissingTokens)}
}

func writeJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

func printHeader(w io.Writer, rep *Report) {
	m, d, s := rep.Machine, rep.Dataset, rep.Settings
	fmt.Fprintf(w, "machine:  %s; %d cores, GOMAXPROCS %d; %s %s/%s", m.CPU, m.NumCPU, m.GOMAXPROCS, m.GoVersion, m.OS, m.Arch)
	if m.LoadStart != nil && m.LoadEnd != nil {
		fmt.Fprintf(w, "; load average %.2f at the start, %.2f at the end", *m.LoadStart, *m.LoadEnd)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "dataset:  %s access tokens, %s refresh tokens, %s sessions, %s users, %s clients; seed %d\n",
		thousands(d.AccessTokens), thousands(d.RefreshTokens), thousands(d.Sessions), thousands(d.Users),
		thousands(d.Clients), d.Seed)
	order := "implementations interleaved in each round"
	if !s.Interleaved {
		order = "one implementation after the other"
	}
	fmt.Fprintf(w, "runs:     %d of %s per figure, %s; total %s\n", s.Count, s.Benchtime, order,
		(time.Duration(rep.Seconds * float64(time.Second))).Round(time.Second))
}

func printTable(w io.Writer, rep *Report) {
	printHeader(w, rep)
	fmt.Fprintln(w)

	// The body's own units, in order of first appearance.
	var extra []string
	for _, r := range rep.Results {
		for _, m := range r.Metrics {
			if !slices.Contains(builtinUnits, m.Unit) && !slices.Contains(extra, m.Unit) {
				extra = append(extra, m.Unit)
			}
		}
	}
	t := &table{head: []string{"op", "impl", "time/op", "±", "runs", "GC/run", "allocs/op", "B/op"}, left: 2}
	t.head = append(t.head, extra...)
	for _, b := range rep.Settings.Baselines {
		t.head = append(t.head, "×"+b)
	}
	op := ""
	for _, r := range rep.Results {
		if op != "" && r.Op != op {
			t.rows = append(t.rows, nil)
		}
		op = r.Op
		row := []string{r.Op, r.Impl}
		tm := r.metric(unitTime)
		switch {
		case r.FailedRuns > 0:
			row = append(row, "FAILED", "", fmt.Sprintf("%d/%d", r.FailedRuns, r.FailedRuns+r.Count), "")
		case tm == nil:
			row = append(row, "-", "", "0", "")
		default:
			row = append(row, fmtTime(tm.Median), fmtPercent(tm.spread()), strconv.Itoa(r.Count), fmtGC(r.GCCycles))
		}
		for _, unit := range append([]string{unitAllocs, unitBytes}, extra...) {
			if m := r.metric(unit); m != nil && r.FailedRuns == 0 {
				row = append(row, fmtFigure(m.Median))
			} else {
				row = append(row, "")
			}
		}
		for _, b := range rep.Settings.Baselines {
			row = append(row, fmtRatio(r.ratio(b)))
		}
		t.rows = append(t.rows, row)
	}
	t.write(w)
	fmt.Fprint(w, `
time/op: median of the runs; ±: largest distance of a run from it; ×impl: median over impl's median
(Restore's: over impl's Load). GC/run: collections the runtime started during a run (median): a run
that allocates about its live heap pays for a collection of all of it or not, and a figure can change
by as much between sizes. Load: the dataset into an empty store; Restore: oauthdb's snapshot of it
(ReadSnapshot); each once a run, in a process of its own with nothing else loaded.
`)

	fmt.Fprintln(w)
	if len(rep.Memory) == 0 {
		return
	}
	mt := &table{head: []string{"impl", "B/token", "retained MiB"}, left: 1}
	for _, m := range rep.Memory {
		mt.rows = append(mt.rows, []string{m.Impl, fmtFigure(m.BytesPerToken),
			fmt.Sprintf("%.1f", float64(m.RetainedBytes)/(1<<20))})
	}
	mt.write(w)
}

// table is a text table whose first left columns are aligned left and the
// others right. A nil row is an empty line.
type table struct {
	head []string
	left int
	rows [][]string
}

func (t *table) write(w io.Writer) {
	width := make([]int, len(t.head))
	for _, row := range append([][]string{t.head}, t.rows...) {
		for i, cell := range row {
			width[i] = max(width[i], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range append([][]string{t.head}, t.rows...) {
		var b strings.Builder
		for i, cell := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < t.left {
				b.WriteString(cell + pad)
			} else {
				b.WriteString(pad + cell)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// fmtTime prints nanoseconds with three significant digits in the unit that
// suits them.
func fmtTime(ns float64) string {
	switch {
	case ns >= 1e9:
		return sig3(ns/1e9) + " s"
	case ns >= 1e6:
		return sig3(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig3(ns/1e3) + " µs"
	}
	return sig3(ns) + " ns"
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func fmtPercent(share float64) string {
	if p := share * 100; p < 9.95 {
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(share*100, 'f', 0, 64) + "%"
}

// fmtFigure prints a count or a size: whole numbers as such, small fractions
// with three significant digits.
func fmtFigure(v float64) string {
	if v == math.Trunc(v) || math.Abs(v) >= 100 {
		return thousands(int(math.Round(v)))
	}
	return sig3(v)
}

// fmtGC prints the median of the collections of each run.
func fmtGC(cycles []int) string {
	if len(cycles) == 0 {
		return ""
	}
	s := make([]float64, len(cycles))
	for i, c := range cycles {
		s[i] = float64(c)
	}
	return fmtFigure(summarize("", s).Median)
}

func fmtRatio(r float64) string {
	if r == 0 {
		return "-"
	}
	return sig3(r) + "×"
}

// thousands prints n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

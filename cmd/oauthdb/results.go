package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// The units every run has. A benchmark body's own figures
// (b.ReportMetric, such as Validate's B/token) follow them in the table and
// the JSON, under their own unit, with no change here.
const (
	unitTime   = "ns/op"
	unitAllocs = "allocs/op"
	unitBytes  = "B/op"
)

var builtinUnits = []string{unitTime, unitAllocs, unitBytes}

// Report is the JSON output of the bench command. Every key, nested ones
// included, is lower camelCase; units and names are values, never keys.
type Report struct {
	Machine  Machine  `json:"machine"`
	Dataset  Dataset  `json:"dataset"`
	Settings Settings `json:"settings"`
	// Results has one entry per operation and implementation, in the
	// order of bench.Cases and then of -impl.
	Results []Result `json:"results"`
	// Memory has one entry per implementation, measured when it was
	// loaded.
	Memory []Memory `json:"memory"`
	// Seconds is the wall time of the whole run.
	Seconds float64 `json:"seconds"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	// CPU is the model name of /proc/cpuinfo, or GOARCH where there is
	// none.
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"numCpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"goVersion"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	// LoadStart and LoadEnd are the 1-minute load average of
	// /proc/loadavg when the run began and ended (absent where there is
	// none): other work on the machine slows and widens the figures.
	LoadStart *float64 `json:"loadStart,omitempty"`
	LoadEnd   *float64 `json:"loadEnd,omitempty"`
}

// Dataset is the size of the generated dataset.
type Dataset struct {
	Seed          uint64    `json:"seed"`
	Now           time.Time `json:"now"`
	Clients       int       `json:"clients"`
	Users         int       `json:"users"`
	Sessions      int       `json:"sessions"`
	AccessTokens  int       `json:"accessTokens"`
	RefreshTokens int       `json:"refreshTokens"`
	// MissingTokens is how many never-issued tokens ValidateMiss draws
	// from.
	MissingTokens int `json:"missingTokens"`
}

// Settings are the measuring settings of the run.
type Settings struct {
	// Count is how many runs each figure was measured in (-count).
	Count int `json:"count"`
	// Benchtime is the measuring time of one run, as a Go duration.
	Benchtime string `json:"benchtime"`
	// Interleaved is whether the implementations took turns in every
	// round (all loaded at once) rather than running one after the other.
	Interleaved bool     `json:"interleaved"`
	Baselines   []string `json:"baselines"`
	Impls       []string `json:"impls"`
	Ops         []string `json:"ops"`
}

// Result is one operation measured on one implementation, -count times.
type Result struct {
	Op   string `json:"op"`
	Impl string `json:"impl"`
	// Count is the number of runs that succeeded; the metrics summarize
	// them.
	Count int `json:"count"`
	// FailedRuns is the number of runs in which the benchmark body failed
	// (an implementation gave a wrong answer); any makes the command fail.
	FailedRuns int `json:"failedRuns"`
	// Iterations is the operations timed in each successful run.
	Iterations []int `json:"iterations"`
	// GCCycles is, for each successful run, the garbage collections the
	// runtime started on its own during it, timed or not (the one testing
	// forces before a run is not counted). A figure whose runs differ here
	// is wide for that reason: a run that allocates about as much as the
	// live heap pays for a collection or not by chance.
	GCCycles []int    `json:"gcCycles"`
	Metrics  []Metric `json:"metrics"`
	// Ratios is the median time per operation divided by each
	// baseline's median for the same operation.
	Ratios []Ratio `json:"ratios"`
}

// Metric is one figure of a result over its runs.
type Metric struct {
	Unit    string    `json:"unit"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Samples []float64 `json:"samples"`
}

// Ratio is a result's median time per operation over a baseline's.
type Ratio struct {
	Baseline string  `json:"baseline"`
	Ratio    float64 `json:"ratio"`
}

// Memory is what one implementation retains once loaded.
type Memory struct {
	Impl          string  `json:"impl"`
	BytesPerToken float64 `json:"bytesPerToken"`
	RetainedBytes int64   `json:"retainedBytes"`
	LoadSeconds   float64 `json:"loadSeconds"`
}

// metric returns the result's metric of unit, or nil.
func (r *Result) metric(unit string) *Metric {
	for i := range r.Metrics {
		if r.Metrics[i].Unit == unit {
			return &r.Metrics[i]
		}
	}
	return nil
}

// spread is the largest distance of a sample from the median, as a share of
// the median: the "±" of the table.
func (m *Metric) spread() float64 {
	if m.Median == 0 {
		return 0
	}
	return max(m.Max-m.Median, m.Median-m.Min) / m.Median
}

// accumulator collects the runs of one operation on one implementation.
type accumulator struct {
	op, impl   string
	iterations []int
	gcCycles   []int
	failed     int
	samples    map[string][]float64
}

func (a *accumulator) add(r testing.BenchmarkResult, gcCycles int) {
	// testing.Benchmark returns a zero result when the body failed (or
	// skipped); its message goes nowhere, so the count is what is left.
	if r.N <= 0 {
		a.failed++
		return
	}
	if a.samples == nil {
		a.samples = map[string][]float64{}
	}
	a.iterations = append(a.iterations, r.N)
	a.gcCycles = append(a.gcCycles, gcCycles)
	figures := map[string]float64{
		unitTime:   float64(r.T.Nanoseconds()) / float64(r.N),
		unitAllocs: float64(r.AllocsPerOp()),
		unitBytes:  float64(r.AllocedBytesPerOp()),
	}
	// A body's own figure of a built-in unit replaces it, as in go test's
	// output.
	maps.Copy(figures, r.Extra)
	for unit, v := range figures {
		a.samples[unit] = append(a.samples[unit], v)
	}
}

func (a *accumulator) result() Result {
	r := Result{Op: a.op, Impl: a.impl, Count: len(a.iterations), FailedRuns: a.failed,
		Iterations: a.iterations, GCCycles: a.gcCycles, Metrics: []Metric{}, Ratios: []Ratio{}}
	if r.Iterations == nil {
		r.Iterations, r.GCCycles = []int{}, []int{}
	}
	units := slices.Sorted(maps.Keys(a.samples))
	units = slices.DeleteFunc(units, func(u string) bool { return slices.Contains(builtinUnits, u) })
	for _, unit := range append(slices.Clone(builtinUnits), units...) {
		if s := a.samples[unit]; len(s) > 0 {
			r.Metrics = append(r.Metrics, summarize(unit, s))
		}
	}
	return r
}

func summarize(unit string, samples []float64) Metric {
	s := slices.Sorted(slices.Values(samples))
	m := Metric{Unit: unit, Min: s[0], Max: s[len(s)-1], Samples: samples}
	if n := len(s); n%2 == 1 {
		m.Median = s[n/2]
	} else {
		m.Median = (s[n/2-1] + s[n/2]) / 2
	}
	return m
}

// addRatios fills each result's ratios to the baselines, from the medians of
// the same operation; a Restore's, from the baselines' Load, the other way
// to a loaded store.
func addRatios(results []Result, baselines []string) {
	median := map[[2]string]float64{}
	for _, r := range results {
		if m := r.metric(unitTime); m != nil {
			median[[2]string{r.Op, r.Impl}] = m.Median
		}
	}
	for i := range results {
		r := &results[i]
		m := r.metric(unitTime)
		op := r.Op
		if op == opRestore {
			op = opLoad
		}
		for _, b := range baselines {
			if base := median[[2]string{op, b}]; m != nil && base > 0 {
				r.Ratios = append(r.Ratios, Ratio{Baseline: b, Ratio: m.Median / base})
			}
		}
	}
}

// ratio returns the result's ratio to baseline, or 0.
func (r *Result) ratio(baseline string) float64 {
	for _, x := range r.Ratios {
		if x.Baseline == baseline {
			return x.Ratio
		}
	}
	return 0
}

// errMeasurementFailed is returned when a benchmark body failed in a run.
var errMeasurementFailed = errors.New("measurement failed")

// failure reports the results some of whose runs failed.
func (rep *Report) failure() error {
	var failed []string
	first := ""
	for _, r := range rep.Results {
		if r.FailedRuns > 0 {
			failed = append(failed, fmt.Sprintf("%s on %s (%d of %d runs)", r.Op, r.Impl, r.FailedRuns, r.FailedRuns+r.Count))
			if first == "" {
				first = fmt.Sprintf("Benchmark%s$/%s$", r.Op, r.Impl)
			}
		}
	}
	if len(failed) == 0 {
		return nil
	}
	// testing.Benchmark drops the body's message; the test binary prints it.
	return fmt.Errorf("%w: %s (go test -run '^$' -bench '%s' ./bench/ says why)",
		errMeasurementFailed, strings.Join(failed, ", "), first)
}

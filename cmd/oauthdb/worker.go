package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb/bench"
)

// The bench command measures each implementation in a process of its own, a
// worker: this binary started again with workerEnv set. Loaded together in
// one process, the four stores made every garbage collection mark all of
// them: the one testing forces before each run (1.2-3 s at 50k tokens on 2
// cores, most of the run's time) and those the write paths trigger, so one
// store's figures depended on the others. Workers keep each heap to one
// store while the command still takes them in turns; a worker that is not
// measuring waits on its input and uses no CPU.
//
// The command and a worker speak JSON, one message a line: the command sends
// a workerSetup, the worker loads its store and answers a workerLoaded; then
// for each workerRun the worker answers a workerRunResult. The worker exits
// when its input closes.
const workerEnv = "OAUTHDB_BENCH_WORKER"

type workerSetup struct {
	Impl   string       `json:"impl"`
	Config bench.Config `json:"config"`
	// Mode is "" for a worker that loads its store and measures its hot
	// paths; workerLoad for one that measures a load (and, with Snapshot
	// set, a restore of that file) once, answers a workerLoadResult and
	// exits; workerSnapshot for one that writes oauthdb's snapshot of the
	// dataset to Snapshot and answers a workerLoadResult.
	Mode     string `json:"mode,omitempty"`
	Snapshot string `json:"snapshot,omitempty"`
	// Load, for workerLoad, is whether to measure the load.
	Load bool `json:"load,omitempty"`
}

// The modes of a worker that does one thing and exits (workerSetup.Mode).
const (
	workerLoad     = "load"
	workerSnapshot = "snapshot"
)

// workerLoadResult is the answer of a worker of mode workerLoad (or
// workerSnapshot, with neither result).
type workerLoadResult struct {
	Load    *workerRunResult `json:"load,omitempty"`
	Restore *workerRunResult `json:"restore,omitempty"`
	Dataset *Dataset         `json:"dataset,omitempty"`
	Error   string           `json:"error,omitempty"`
}

type workerLoaded struct {
	Memory  Memory  `json:"memory"`
	Dataset Dataset `json:"dataset"`
	Error   string  `json:"error,omitempty"`
}

type workerRun struct {
	Op        string        `json:"op"`
	Benchtime time.Duration `json:"benchtime"`
}

type workerRunResult struct {
	Result testing.BenchmarkResult `json:"result"`
	// GCCycles is the collections the runtime started on its own during
	// the run (see Result.GCCycles).
	GCCycles int    `json:"gcCycles"`
	Error    string `json:"error,omitempty"`
}

// isWorker reports whether this process was started as a worker.
func isWorker() bool { return os.Getenv(workerEnv) == "1" }

// workerMain is the worker: it serves the messages of in and writes its
// answers to out. It returns the process's exit code.
func workerMain(in io.Reader, out io.Writer) int {
	if err := serveWorker(in, out); err != nil {
		fmt.Fprintf(os.Stderr, "oauthdb bench worker: %v\n", err)
		return exitFail
	}
	return exitOK
}

func serveWorker(in io.Reader, out io.Writer) error {
	dec, enc := json.NewDecoder(in), json.NewEncoder(out)
	var setup workerSetup
	if err := dec.Decode(&setup); err != nil {
		return fmt.Errorf("read setup: %w", err)
	}
	testing.Init()
	switch setup.Mode {
	case workerLoad:
		return enc.Encode(measureLoad(setup))
	case workerSnapshot:
		return enc.Encode(writeSnapshot(setup))
	}
	t, loaded := loadWorker(setup)
	if err := enc.Encode(loaded); err != nil || t == nil {
		return err
	}
	err := serveRuns(t, dec, enc)
	if cerr := t.Impl.Close(); err == nil {
		err = cerr
	}
	return err
}

func serveRuns(t *bench.Target, dec *json.Decoder, enc *json.Encoder) error {
	for {
		var req workerRun
		if err := dec.Decode(&req); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		if err := enc.Encode(runCase(t, req)); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	}
}

func loadWorker(setup workerSetup) (*bench.Target, workerLoaded) {
	fs, err := bench.Select(setup.Impl)
	if err != nil {
		return nil, workerLoaded{Error: err.Error()}
	}
	ds := bench.Generate(setup.Config)
	t, err := bench.NewTarget(fs[0], setup.Config, ds)
	if err != nil {
		return nil, workerLoaded{Error: err.Error()}
	}
	return t, workerLoaded{Dataset: datasetOf(setup.Config, ds), Memory: Memory{Impl: setup.Impl,
		BytesPerToken: t.BytesPerToken, RetainedBytes: t.RetainedBytes, LoadSeconds: t.LoadTime.Seconds()}}
}

// measureLoad times one load of the dataset into a new store of the
// worker's implementation (if asked), and, given a snapshot file, one
// restore of it:
// first thing in a process of their own, with nothing else on the heap but
// the dataset (and the file), as a service starts.
func measureLoad(setup workerSetup) workerLoadResult {
	fs, err := bench.Select(setup.Impl)
	if err != nil {
		return workerLoadResult{Error: err.Error()}
	}
	ds := bench.Generate(setup.Config)
	// One iteration a run, whatever it takes: a load is seconds long.
	if err := flag.Set("test.benchtime", "1x"); err != nil {
		return workerLoadResult{Error: fmt.Sprintf("set benchtime: %v", err)}
	}
	dataset := datasetOf(setup.Config, ds)
	res := workerLoadResult{Dataset: &dataset}
	if setup.Load {
		load := measure(func(b *testing.B) { bench.BenchLoad(b, fs[0], ds) })
		res.Load = &load
	}
	if setup.Snapshot != "" {
		data, err := os.ReadFile(setup.Snapshot)
		if err != nil {
			return workerLoadResult{Error: err.Error()}
		}
		restore := measure(func(b *testing.B) { bench.BenchRestore(b, ds, data) })
		res.Restore = &restore
	}
	return res
}

// writeSnapshot writes oauthdb's snapshot of the dataset to the file
// setup.Snapshot names, for the workers that measure a restore.
func writeSnapshot(setup workerSetup) workerLoadResult {
	data, err := bench.Snapshot(bench.Generate(setup.Config))
	if err == nil {
		err = os.WriteFile(setup.Snapshot, data, 0o600)
	}
	if err != nil {
		return workerLoadResult{Error: err.Error()}
	}
	return workerLoadResult{}
}

// measure runs a benchmark body with testing.Benchmark and counts the
// collections the runtime started on its own meanwhile.
func measure(body func(b *testing.B)) workerRunResult {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := testing.Benchmark(body)
	runtime.ReadMemStats(&after)
	cycles := int(after.NumGC-before.NumGC) - int(after.NumForcedGC-before.NumForcedGC)
	return workerRunResult{Result: r, GCCycles: cycles}
}

func runCase(t *bench.Target, req workerRun) workerRunResult {
	var c bench.Case
	for _, x := range bench.Cases() {
		if x.Name == req.Op {
			c = x
		}
	}
	if c.Run == nil {
		return workerRunResult{Error: fmt.Sprintf("unknown operation %q", req.Op)}
	}
	// testing.Benchmark reads its measuring time from the -test.benchtime
	// flag of the testing package.
	if err := flag.Set("test.benchtime", req.Benchtime.String()); err != nil {
		return workerRunResult{Error: fmt.Sprintf("set benchtime: %v", err)}
	}
	return measure(func(b *testing.B) { c.Run(b, t) })
}

// worker is the command's end of a worker process.
type worker struct {
	impl   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	enc    *json.Encoder
	dec    *json.Decoder
	stderr *tailBuffer
}

// startWorker starts the worker of impl.
func startWorker(impl string) (*worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program to start a worker: %w", err)
	}
	w := &worker{impl: impl, cmd: exec.Command(exe), stderr: &tailBuffer{max: 2048}}
	w.cmd.Env = append(os.Environ(), workerEnv+"=1")
	w.cmd.Stderr = w.stderr
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("%s worker: %w", impl, err)
	}
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s worker: %w", impl, err)
	}
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s worker: %w", impl, err)
	}
	w.enc, w.dec = json.NewEncoder(w.stdin), json.NewDecoder(stdout)
	return w, nil
}

// call sends req and reads the answer into resp.
func (w *worker) call(req, resp any) error {
	if err := w.enc.Encode(req); err != nil {
		return w.failed(err)
	}
	if err := w.dec.Decode(resp); err != nil {
		return w.failed(err)
	}
	return nil
}

// failed explains a worker that stopped answering, with the end of what it
// wrote on stderr.
func (w *worker) failed(err error) error {
	w.kill()
	if tail := strings.TrimSpace(w.stderr.String()); tail != "" {
		return fmt.Errorf("%s worker stopped (%v): %s", w.impl, err, tail)
	}
	return fmt.Errorf("%s worker stopped: %w", w.impl, err)
}

func (w *worker) load(cfg bench.Config) (workerLoaded, error) {
	var resp workerLoaded
	if err := w.call(workerSetup{Impl: w.impl, Config: cfg}, &resp); err != nil {
		return resp, err
	}
	if resp.Error != "" {
		w.kill()
		return resp, fmt.Errorf("%s: load: %s", w.impl, resp.Error)
	}
	return resp, nil
}

// once sends setup to a worker of a mode that does one thing, reads its
// answer and waits for it to exit.
func (w *worker) once(setup workerSetup) (workerLoadResult, error) {
	var resp workerLoadResult
	if err := w.call(setup, &resp); err != nil {
		return resp, err
	}
	if resp.Error != "" {
		w.kill()
		return resp, fmt.Errorf("%s worker: %s", w.impl, resp.Error)
	}
	return resp, w.close()
}

func (w *worker) run(op string, benchtime time.Duration) (workerRunResult, error) {
	var resp workerRunResult
	if err := w.call(workerRun{Op: op, Benchtime: benchtime}, &resp); err != nil {
		return resp, err
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("%s worker: %s", w.impl, resp.Error)
	}
	return resp, nil
}

// close ends the worker: it closes its store and exits at the end of its
// input.
func (w *worker) close() error {
	w.stdin.Close()
	if err := w.cmd.Wait(); err != nil {
		return w.failed(err)
	}
	return nil
}

// kill stops the worker at once; it is a no-op on an ended worker.
func (w *worker) kill() {
	if w.cmd.ProcessState == nil {
		w.cmd.Process.Kill()
		w.cmd.Wait()
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if extra := b.buf.Len() - b.max; extra > 0 {
		b.buf.Next(extra)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

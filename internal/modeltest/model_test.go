package modeltest

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	flagSteps = flag.Int("model.steps", 5000, "operations the model-based test runs in all")
	flagLen   = flag.Int("model.len", 150, "operations per run: each run starts from an empty DB")
	flagSeed  = flag.Uint64("model.seed", 1, "seed of the first run; 0 takes one from the clock")
	flagBugs  = flag.String("model.bugs", "", "known, unfixed bugs whose inputs to generate anyway: names, comma-separated, or all")
	flagStats = flag.Bool("model.stats", false, "log how often each operation succeeded or failed, and how")
)

// avoid is what the generator leaves out: the known bugs, unless asked.
func avoid() map[string]bool {
	out := map[string]bool{}
	for name := range knownBugs {
		out[name] = *flagBugs != "all" && !slices.Contains(strings.Split(*flagBugs, ","), name)
	}
	return out
}

// TestModel applies random operations to oauthdb and to the reference model
// and requires them to agree after every one; see Harness.Apply. A failure
// reports its seed and a shrunk run.
func TestModel(t *testing.T) {
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	start := time.Now()
	steps, runs := 0, 0
	stats := map[string]int{}
	for ; steps < *flagSteps; seed++ {
		n := min(*flagLen, *flagSteps-steps)
		g := &Gen{Src: NewRandSource(seed), Avoid: avoid()}
		r, f := Generate(seed, seed%2 == 1, g, n, stats)
		steps += len(r.Ops)
		runs++
		if f != nil {
			t.Logf("seed %d failed at step %d of its run; shrinking", seed, f.Step)
			small, sf := r.Shrink()
			if sf == nil {
				t.Fatalf("seed %d: %v\n(the failure did not replay)\n%s", seed, f, r)
			}
			t.Fatalf("seed %d (-model.seed=%d -model.len=%d reproduces it): %v\n\nshrunk to %s",
				seed, seed, *flagLen, sf, small)
		}
	}
	if *flagStats {
		var lines []string
		for k, n := range stats {
			lines = append(lines, fmt.Sprintf("%8d  %s", n, k))
		}
		slices.Sort(lines)
		t.Logf("outcomes:\n%s", strings.Join(lines, "\n"))
	}
	t.Logf("%d steps in %d runs (seeds %d..%d) in %v", steps, runs, seed-uint64(runs), seed-1, time.Since(start).Round(time.Millisecond))
}

package modeltest

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// A Run is a sequence of operations on a fresh harness: what a failure is
// reported, replayed and shrunk as.
type Run struct {
	Seed    uint64 // seeds the DB's randomness
	Lenient bool
	Ops     []Op
}

// Failure is a divergence: the step it happened at and what it was.
type Failure struct {
	Step int
	Err  error
}

// Error says at which step the run failed, and how.
func (f *Failure) Error() string { return fmt.Sprintf("step %d: %v", f.Step, f.Err) }

// applySafely applies op, turning a panic into an error.
func applySafely(h *Harness, op Op) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return h.Apply(op)
}

// Replay applies the run's operations to a fresh harness and returns the
// first failure, or nil.
func (r Run) Replay() *Failure {
	h := NewHarness(r.Seed, r.Lenient)
	for i, op := range r.Ops {
		if err := applySafely(h, op); err != nil {
			return &Failure{i, err}
		}
	}
	return nil
}

// Generate generates and applies n operations from src, stopping at the
// first failure. The run holds the operations applied so far.
// If stats is not nil, it counts the outcomes of the operations.
func Generate(seed uint64, lenient bool, g *Gen, n int, stats map[string]int) (Run, *Failure) {
	r := Run{Seed: seed, Lenient: lenient}
	h := NewHarness(seed, lenient)
	h.stats = stats
	for i := 0; i < n; i++ {
		if bs, ok := g.Src.(*ByteSource); ok && bs.Exhausted() {
			break
		}
		op := g.Op(h)
		r.Ops = append(r.Ops, op)
		if err := applySafely(h, op); err != nil {
			return r, &Failure{i, err}
		}
	}
	return r, nil
}

// Shrink returns a shorter run that still fails: it drops operations,
// halves first and single steps last, for as long as the run still fails.
func (r Run) Shrink() (Run, *Failure) {
	f := r.Replay()
	if f == nil {
		return r, nil
	}
	r.Ops = r.Ops[:f.Step+1]
	for chunk := len(r.Ops) / 2; chunk >= 1; chunk /= 2 {
		for progress := true; progress; {
			progress = false
			for i := 0; i+chunk <= len(r.Ops); {
				c := r
				c.Ops = append(append([]Op{}, r.Ops[:i]...), r.Ops[i+chunk:]...)
				if cf := c.Replay(); cf != nil {
					r, f = c, cf
					r.Ops = r.Ops[:f.Step+1]
					progress = true
				} else {
					i += chunk
				}
			}
		}
	}
	return r, f
}

// String lists the run's operations, one a line, for a failure report.
func (r Run) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, lenient %v, %d steps:\n", r.Seed, r.Lenient, len(r.Ops))
	for i, op := range r.Ops {
		fmt.Fprintf(&b, "%4d  %s\n", i, Format(op))
	}
	return b.String()
}

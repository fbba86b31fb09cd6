// Package stripe counts events that many goroutines add to at once — a
// validation's cache hit, an introspection request — without their cores
// contending for one cache line on every add.
//
// A Counter is split into stripes, each on a cache line of its own; an add
// picks a stripe at random (math/rand/v2's generator is per thread and takes
// no lock) and a Load sums them. With as many stripes as cores, two cores
// picked the same stripe often enough to show in a profile, so there are at
// least four per core. xsync's Counter, one stripe per P held through a
// sync.Pool, cost two to three times as much an add on two cores
// (BenchmarkCounter), and so did stripes held per P the same way.
package stripe

import (
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
)

// A Counter is a count that goroutines add to concurrently. Its zero value
// is not usable: make one with NewCounter.
type Counter struct {
	stripes []line
	mask    uint32
}

type line struct {
	n atomic.Uint64
	_ [56]byte // the rest of the 64-byte cache line
}

// NewCounter returns a counter at zero: a power of two of stripes, at
// least 4×GOMAXPROCS and 8, at most 64.
func NewCounter() *Counter {
	n := 1 << bits.Len(uint(max(4*runtime.GOMAXPROCS(0), 8)-1))
	n = min(n, 64)
	return &Counter{stripes: make([]line, n), mask: uint32(n - 1)}
}

// Add adds n to the count.
func (c *Counter) Add(n uint64) { c.stripes[rand.Uint32()&c.mask].n.Add(n) }

// Load returns the count: the sum of the stripes, each read once, so a
// Load concurrent with adds sees some of them.
func (c *Counter) Load() uint64 {
	var sum uint64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}

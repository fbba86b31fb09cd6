package stripe

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/puzpuzpuz/xsync/v4"
)

// Concurrent adds are all counted, however many goroutines make them.
func TestCounter(t *testing.T) {
	c := NewCounter()
	if n := len(c.stripes); n&(n-1) != 0 || n < 16 {
		t.Errorf("%d stripes, want a power of two, at least 16", n)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10000 {
				c.Add(1)
			}
		})
	}
	wg.Wait()
	c.Add(5)
	if got := c.Load(); got != 80005 {
		t.Errorf("counted %d, want 80005", got)
	}
}

// BenchmarkCounter adds from every P at once, with some work of the
// goroutine's own between adds, as a counted request has: a stripe per P
// (Counter), a stripe at random on every add (what oauthdb serve did), and
// xsync's Counter (what the validation cache did); "none" is the work alone.
func BenchmarkCounter(b *testing.B) {
	random := NewCounter()
	xs := xsync.NewCounter()
	for _, bc := range []struct {
		name string
		add  func()
	}{
		{"stripe", func() { perP.Add(1) }},
		{"random", func() { random.stripes[rand.Uint32()&random.mask].n.Add(1) }},
		{"xsync.Counter", func() { xs.Add(1) }},
		{"none", func() {}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				var x uint64
				for pb.Next() {
					for range 50 { // about 40 ns
						x = x*6364136223846793005 + 1442695040888963407
					}
					bc.add()
				}
				sink.Add(x)
			})
		})
	}
}

var (
	perP = NewCounter()
	sink lockedSum
)

type lockedSum struct {
	mu sync.Mutex
	v  uint64
}

func (s *lockedSum) Add(x uint64) { s.mu.Lock(); s.v += x; s.mu.Unlock() }

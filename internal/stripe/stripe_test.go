package stripe

import (
	"sync"
	"testing"

	"github.com/puzpuzpuz/xsync/v4"
)

// Concurrent adds are all counted, however many goroutines make them.
func TestCounter(t *testing.T) {
	c := NewCounter()
	if n := len(c.stripes); n&(n-1) != 0 || n < 8 {
		t.Errorf("%d stripes, want a power of two, at least 8", n)
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

// BenchmarkCounter adds from every P at once; xsync's Counter, which the
// validation cache used before, for comparison.
func BenchmarkCounter(b *testing.B) {
	b.Run("stripe", func(b *testing.B) {
		c := NewCounter()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(1)
			}
		})
	})
	b.Run("xsync.Counter", func(b *testing.B) {
		c := xsync.NewCounter()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(1)
			}
		})
	})
}

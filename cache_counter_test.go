package oauthdb

import (
	"sync"
	"testing"

	"github.com/puzpuzpuz/xsync/v4"
)

// Every hit and miss is counted, from any number of goroutines.
func TestCacheCounter(t *testing.T) {
	c := newCacheCounter()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.hit()
			}
			c.miss()
		})
	}
	wg.Wait()
	if hits, misses := c.counts(); hits != 8000 || misses != 8 {
		t.Errorf("counts = %d hits, %d misses; want 8000, 8", hits, misses)
	}
}

// BenchmarkCacheCounter counts hits from every P at once: the cost a
// validation pays for CacheStats. xsync's Counter, before, for comparison.
func BenchmarkCacheCounter(b *testing.B) {
	b.Run("cacheCounter", func(b *testing.B) {
		c := newCacheCounter()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.hit()
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

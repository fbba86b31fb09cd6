package pgreplica_test

import (
	"context"
	"flag"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb/pgreplica"
)

var (
	bigTx   = flag.Int("pgreplica.bigtx", 0, "rows of the one transaction TestBigTransactionMemory applies (0: skip it); run it alone, since it reads the process's peak RSS")
	bigLoad = flag.Bool("pgreplica.bigload", false, "with -pgreplica.bigtx: commit the rows before the follower starts, and measure its load instead")
)

// peakRSS returns the process's peak resident set (VmHWM), in bytes.
func peakRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			for _, f := range strings.Fields(rest) {
				for _, c := range f {
					if c >= '0' && c <= '9' {
						kb = kb*10 + int64(c-'0')
					}
				}
				break
			}
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}

// How much memory one transaction of many rows costs a follower, and how
// long it takes: a measurement, behind a flag (-pgreplica.bigtx=300000).
func TestBigTransactionMemory(t *testing.T) {
	if *bigTx == 0 {
		t.Skip("-pgreplica.bigtx not set")
	}
	e := newEnv(t)
	e.grant("big")
	insert := func() {
		e.exec(`INSERT INTO "oauthAccessToken" (id, token, "clientId", "sessionId", "userId", scopes, "expiresAt", "createdAt")
			SELECT 'bulk-' || g, md5(g::text) || md5((g+1)::text), 'big-c-cid', 'big-s', 'big', '["openid","profile"]', now() + interval '1 hour', now()
			FROM generate_series(1, $1) g`, *bigTx)
	}
	if *bigLoad {
		insert()
	}
	var f *follower
	if !*bigLoad {
		f = e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "big"}, MaxLag: 5 * time.Second})
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := peakRSS(t)
	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peakHeap.Load() {
				peakHeap.Store(m.HeapInuse)
			}
		}
	}()
	start := time.Now()
	var committed time.Duration
	if *bigLoad {
		f = e.newFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "big"}, MaxLag: 5 * time.Second})
		f.start(t)
	} else {
		insert()
		committed = time.Since(start)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := f.WaitApplied(ctx, e.walLSN()); err != nil {
		t.Fatal(err)
	}
	applied := time.Since(start)
	close(stop)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	what := "in one transaction"
	if *bigLoad {
		what = "loaded"
	}
	t.Logf("%d rows %s: committed in %v, applied %v after; heap in use %d MB before, peak %d MB, %d MB after; peak RSS %d MB before, %d MB after",
		*bigTx, what, committed, applied, before.HeapInuse>>20, peakHeap.Load()>>20, after.HeapInuse>>20, rssBefore>>20, peakRSS(t)>>20)
}

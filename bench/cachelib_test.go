package bench

// BenchmarkCacheLib measures candidate caches for the read side of token
// validation (issues 11 and 22): xsync, bare and bounded by a CLOCK of our
// own (the one cache.go keeps), against two hand-written maps, on one
// dataset, in one process. (The libraries measured before, ristretto and
// then otter, were ruled out — ristretto's hit allocates now and then and
// it has no per-key compare-and-set; otter's hit is the slowest of the
// bounded caches — and left go.mod; their figures are in bench/README.md.)
// The cache it models is keyed by the raw SHA-256 of the token and holds a
// pointer to a joined view of about 1.1 KB.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/puzpuzpuz/xsync/v4"
)

// cacheKey is SHA-256 of the plaintext token, raw: no base64 on the hit path.
type cacheKey = [sha256.Size]byte

// cachedView stands in for the joined token, client, user and session records
// validation returns. Its size is what matters to the caches (they hold a
// pointer), and its first line is what a hit reads: the key, to refuse a
// prefix collision, and the expiry.
type cachedView struct {
	hash      cacheKey
	expiresAt int64 // Unix nanoseconds
	records   [1080]byte
}

// benchCache is one candidate behind the few operations validation needs.
// get is the hit path; set is a read-through fill or a writer's update; del
// and clear are the writer's invalidations; settle applies whatever a cache
// has buffered (so that a fill is visible and memory can be counted).
type benchCache interface {
	get(k cacheKey) (*cachedView, bool)
	set(k cacheKey, v *cachedView)
	del(k cacheKey)
	clear()
	settle()
	close()
}

// cacheCandidate builds a cache bounded to capacity entries; bounded is false
// for the one that cannot be bounded (it then holds everything).
type cacheCandidate struct {
	name    string
	bounded bool
	new     func(capacity int) benchCache
}

func cacheCandidates() []cacheCandidate {
	return []cacheCandidate{
		{"xsync", false, newXsyncCache},
		{"xsync-clock", true, newXsyncClockCache},
		{"rwmap", true, newRWMapCache},
		{"sharded", true, newShardedCache},
	}
}

// ---- xsync, bare or bounded by CLOCK ----

// xsyncCache is xsync's lock-free map as it is: unbounded.
type xsyncCache struct {
	m *xsync.Map[cacheKey, *cachedView]
}

func newXsyncCache(capacity int) benchCache {
	return xsyncCache{xsync.NewMap[cacheKey, *cachedView](xsync.WithPresize(capacity))}
}

func (c xsyncCache) get(k cacheKey) (*cachedView, bool) { return c.m.Load(k) }
func (c xsyncCache) set(k cacheKey, v *cachedView)      { c.m.Store(k, v) }
func (c xsyncCache) del(k cacheKey)                     { c.m.Delete(k) }
func (c xsyncCache) clear()                             { c.m.Clear() }
func (c xsyncCache) settle()                            {}
func (c xsyncCache) close()                             {}

// clockRef is what a CLOCK-bounded map stores for a key: the value, and the
// slot of the key in the clock so that a hit can mark it.
type clockRef struct {
	v    *cachedView
	slot int32
}

// xsyncClockCache is the cost of bounding xsync's map, which has no eviction
// of its own: a clock beside it, writes (fills, deletes, evictions)
// serialized by mu, reads still lock-free.
type xsyncClockCache struct {
	m     *xsync.Map[cacheKey, clockRef]
	mu    sync.Mutex
	clock *clock
}

func newXsyncClockCache(capacity int) benchCache {
	return &xsyncClockCache{
		m:     xsync.NewMap[cacheKey, clockRef](xsync.WithPresize(capacity)),
		clock: newClock(capacity),
	}
}

func (c *xsyncClockCache) get(k cacheKey) (*cachedView, bool) {
	r, ok := c.m.Load(k)
	if ok {
		// The slot may have passed to another key since the load: that
		// key gets a spurious second chance, nothing worse.
		c.clock.touch(r.slot)
	}
	return r.v, ok
}

func (c *xsyncClockCache) set(k cacheKey, v *cachedView) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m.Load(k); ok {
		c.m.Store(k, clockRef{v, r.slot})
		return
	}
	slot, victim, evicted := c.clock.add(k)
	if evicted {
		c.m.Delete(victim)
	}
	c.m.Store(k, clockRef{v, slot})
}

func (c *xsyncClockCache) del(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m.LoadAndDelete(k); ok {
		c.clock.remove(r.slot)
	}
}

func (c *xsyncClockCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.Clear()
	c.clock.reset()
}

func (c *xsyncClockCache) settle() {}
func (c *xsyncClockCache) close()  {}

// ---- hand-written: one map under a RWMutex, or 64 of them ----

// clockMap is a Go map bounded by CLOCK under a RWMutex: hits take the read
// lock and mark the entry's slot, writes take the write lock.
type clockMap struct {
	mu    sync.RWMutex
	m     map[cacheKey]clockRef
	clock *clock
	_     [64]byte // keeps shards' locks on separate cache lines
}

func newClockMap(capacity int) *clockMap {
	return &clockMap{m: make(map[cacheKey]clockRef, capacity), clock: newClock(capacity)}
}

func (c *clockMap) get(k cacheKey) (*cachedView, bool) {
	c.mu.RLock()
	r, ok := c.m[k]
	if ok {
		c.clock.touch(r.slot)
	}
	c.mu.RUnlock()
	return r.v, ok
}

func (c *clockMap) set(k cacheKey, v *cachedView) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m[k]; ok {
		c.m[k] = clockRef{v, r.slot}
		return
	}
	slot, victim, evicted := c.clock.add(k)
	if evicted {
		delete(c.m, victim)
	}
	c.m[k] = clockRef{v, slot}
}

func (c *clockMap) del(k cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m[k]; ok {
		delete(c.m, k)
		c.clock.remove(r.slot)
	}
}

func (c *clockMap) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
	c.clock.reset()
}

func (c *clockMap) settle() {}
func (c *clockMap) close()  {}

func newRWMapCache(capacity int) benchCache { return newClockMap(capacity) }

// shardedCache spreads keys over 64 clockMaps by the hash's first byte (the
// hash is uniform), so readers on different shards share no lock word and the
// writer holds up only one shard. Each shard is bounded to its share.
type shardedCache struct{ shards [64]*clockMap }

func newShardedCache(capacity int) benchCache {
	var c shardedCache
	for i := range c.shards {
		c.shards[i] = newClockMap((capacity + len(c.shards) - 1) / len(c.shards))
	}
	return &c
}

func (c *shardedCache) shard(k *cacheKey) *clockMap { return c.shards[k[0]&63] }

func (c *shardedCache) get(k cacheKey) (*cachedView, bool) { return c.shard(&k).get(k) }
func (c *shardedCache) set(k cacheKey, v *cachedView)      { c.shard(&k).set(k, v) }
func (c *shardedCache) del(k cacheKey)                     { c.shard(&k).del(k) }
func (c *shardedCache) settle()                            {}
func (c *shardedCache) close()                             {}

func (c *shardedCache) clear() {
	for _, s := range c.shards {
		s.clear()
	}
}

// clock is CLOCK (second chance) eviction over a fixed number of slots, one
// per entry. A hit sets its slot's reference bit; when every slot is taken,
// the hand sweeps, clearing set bits, to the first slot whose bit is clear,
// and that entry is the victim. touch is safe from any goroutine; the other
// methods need the owner's write lock.
type clock struct {
	refs []atomic.Uint32
	keys []cacheKey
	free []int32 // slots freed by remove, reused first
	used int     // slots [0, used) have been handed out
	hand int
}

func newClock(capacity int) *clock {
	return &clock{refs: make([]atomic.Uint32, capacity), keys: make([]cacheKey, capacity)}
}

// touch marks a slot referenced, writing only when the bit is clear so that
// readers of a hot entry do not keep pulling its cache line from each other.
func (c *clock) touch(slot int32) {
	if r := &c.refs[slot]; r.Load() == 0 {
		r.Store(1)
	}
}

// add gives k a slot; evicted reports that the slot's previous key, victim,
// must leave the map. A new entry starts unreferenced, so one that is never
// hit again goes at the hand's next pass.
func (c *clock) add(k cacheKey) (slot int32, victim cacheKey, evicted bool) {
	switch {
	case len(c.free) > 0:
		slot = c.free[len(c.free)-1]
		c.free = c.free[:len(c.free)-1]
	case c.used < len(c.refs):
		slot = int32(c.used)
		c.used++
	default:
		for c.refs[c.hand].Load() != 0 {
			c.refs[c.hand].Store(0)
			c.hand = (c.hand + 1) % len(c.refs)
		}
		slot, victim, evicted = int32(c.hand), c.keys[c.hand], true
		c.hand = (c.hand + 1) % len(c.refs)
	}
	c.keys[slot] = k
	c.refs[slot].Store(0)
	return slot, victim, evicted
}

func (c *clock) remove(slot int32) {
	c.refs[slot].Store(0)
	c.free = append(c.free, slot)
}

func (c *clock) reset() {
	for i := range c.refs[:c.used] {
		c.refs[i].Store(0)
	}
	c.free, c.used, c.hand = c.free[:0], 0, 0
}

// ---- the dataset ----

const (
	cacheLibKeys   = 200_000
	cacheLibZipfS  = 1.01 // Zipf exponent of the skewed pattern: P(rank r) ∝ 1/r^s
	cacheLibTrace  = 1 << 20
	cacheLibTokLen = 43
	// cacheLibHot is how many tokens hit-hot cycles through: few enough
	// that what the hits touch stays in the CPU's caches, so that it times
	// the work of a lookup apart from the memory latency that dominates hit
	// (and that varies with the other tenants of this machine).
	cacheLibHot = 256
)

// cacheLibData is built once, on the first benchmark that needs it, so that
// go test without -bench never pays for it.
type cacheLibData struct {
	now   int64
	keys  []cacheKey    // keys[i] = SHA-256 of token i
	views []*cachedView // views[i] is token i's view
	// hits and zipf are token plaintexts in access order, cut from one string
	// so that the loop reads them sequentially: a benchmark should miss the
	// CPU cache on the cache's memory, not on its own input.
	hits     []string // every token once, shuffled
	hitIdx   []int32  // hits[i] is token hitIdx[i]
	zipf     []string // Zipf-skewed accesses
	zipfIdx  []int32  // zipf[i] is token zipfIdx[i]
	delOrder []cacheKey
	// zipfIdeal is the hit ratio of a cache that always holds the 10% most
	// popular keys: what eviction can at best approach.
	zipfIdeal float64
}

var (
	cacheLibOnce   sync.Once
	cacheLibShared *cacheLibData
)

func cacheLib() *cacheLibData {
	cacheLibOnce.Do(func() { cacheLibShared = newCacheLibData(cacheLibKeys, cacheLibTrace, 1) })
	return cacheLibShared
}

func newCacheLibData(n, traceLen int, seed uint64) *cacheLibData {
	r := rand.New(rand.NewPCG(seed, 11))
	d := &cacheLibData{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()}
	tokens := make([]string, n)
	d.keys = make([]cacheKey, n)
	d.views = make([]*cachedView, n)
	for i := range n {
		var raw [32]byte
		for j := 0; j < len(raw); j += 8 {
			binary.LittleEndian.PutUint64(raw[j:], r.Uint64())
		}
		tokens[i] = base64.RawURLEncoding.EncodeToString(raw[:])
		d.keys[i] = sha256.Sum256([]byte(tokens[i]))
		d.views[i] = &cachedView{hash: d.keys[i], expiresAt: d.now + int64(time.Hour)}
	}
	perm := r.Perm(n)
	d.hits = cutTrace(len(perm), func(i int) string { return tokens[perm[i]] })
	d.hitIdx = make([]int32, n)
	for i, p := range perm {
		d.hitIdx[i] = int32(p)
	}
	d.delOrder = make([]cacheKey, n)
	for i, p := range perm {
		d.delOrder[i] = d.keys[p]
	}
	// Popularity ranks are assigned to tokens at random, so the popular ones
	// are not the first inserted.
	rank := r.Perm(n)
	z := rand.NewZipf(r, cacheLibZipfS, 1, uint64(n-1))
	d.zipfIdx = make([]int32, traceLen)
	for i := range d.zipfIdx {
		d.zipfIdx[i] = int32(rank[z.Uint64()])
	}
	d.zipf = cutTrace(traceLen, func(i int) string { return tokens[d.zipfIdx[i]] })
	var top, all float64
	for k := range n {
		p := math.Pow(float64(k+1), -cacheLibZipfS)
		all += p
		if k < n/10 {
			top += p
		}
	}
	d.zipfIdeal = top / all
	return d
}

func cutTrace(n int, token func(i int) string) []string {
	var sb strings.Builder
	sb.Grow(n * cacheLibTokLen)
	for i := range n {
		sb.WriteString(token(i))
	}
	all := sb.String()
	out := make([]string, n)
	for i := range out {
		out[i] = all[i*cacheLibTokLen : (i+1)*cacheLibTokLen]
	}
	return out
}

// hashToken is validation's first step, without allocating: a token of more
// than 32 bytes converted with []byte(token) would go to the heap.
func hashToken(token string) cacheKey {
	var buf [64]byte
	return sha256.Sum256(append(buf[:0], token...))
}

// fill puts every view in c and checks that every one is there: a hit
// benchmark must measure hits.
func (d *cacheLibData) fill(tb testing.TB, c benchCache) {
	for i, k := range d.keys {
		c.set(k, d.views[i])
	}
	c.settle()
	if missing := d.missing(c); missing > 0 {
		tb.Fatalf("%d of %d entries missing after the fill", missing, len(d.keys))
	}
}

func (d *cacheLibData) missing(c benchCache) int {
	n := 0
	for i, k := range d.keys {
		if v, ok := c.get(k); !ok || v != d.views[i] {
			n++
		}
	}
	return n
}

// roomForAll is the bound of a cache meant to hold every one of n keys. It
// leaves room because a bound need not be exact (a library's may evict
// before reaching it) and the sharded map bounds each shard to its share,
// while uniform keys fill the shards unevenly: 40√n is five standard deviations of
// a shard's count over 64 shards (at 200k keys n/8 is more).
func roomForAll(n int) int { return n + max(n/8, int(40*math.Sqrt(float64(n)))) }

// fullCache is a candidate's cache holding every key, built on first use by
// the read benchmarks (which do not change it) and shared by them for one
// -count round, then dropped: each round measures a cache of its own, and
// only one candidate's full cache is alive at a time.
type fullCache struct {
	cand cacheCandidate
	d    *cacheLibData
	c    benchCache
}

func (f *fullCache) get(b *testing.B) benchCache {
	if f.c == nil {
		f.c = f.cand.new(roomForAll(len(f.d.keys)))
		f.d.fill(b, f.c)
	}
	return f.c
}

func (f *fullCache) close() {
	if f.c != nil {
		f.c.close()
		f.c = nil
	}
}

// valid is what validation does with a hit: the view must be the token's
// (a cache that compares only part of the key must not hand over another
// token's records) and unexpired.
func valid(v *cachedView, k *cacheKey, now int64) bool {
	return v != nil && v.hash == *k && now < v.expiresAt
}

// countAllocs starts counting heap allocations; the function it returns
// reports them per operation as exact-allocs/op, because the framework's
// allocs/op is rounded down to a whole number: a cache that allocates once
// every 64 hits shows 0 there.
func countAllocs() func(b *testing.B) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start := ms.Mallocs
	return func(b *testing.B) {
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.Mallocs-start)/float64(b.N), "exact-allocs/op")
	}
}

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkCacheLib puts the candidates side by side (see the file comment):
//
//   - floor/sha256: hashing a token, alone;
//   - floor/{hit,hit-hot,parallel}: no cache, the least a hit can cost: hash the
//     token, then read its view, found by its index in the trace;
//   - hit: hash a live token and find its view, one goroutine, uniform keys;
//   - hit-hot: the same, cycling through 256 of the keys (see cacheLibHot);
//   - parallel: hit from GOMAXPROCS goroutines;
//   - zipf10: Zipf-skewed tokens (s = 1.01) against a cache bounded to 10%
//     of the keys, filling on a miss (the database lookup itself is not
//     timed); reports hit% and the ideal-hit% of an oracle holding the top
//     10%;
//   - delete: the writer invalidates one cached key (no hashing: it has
//     the hash);
//   - clear: the writer invalidates everything in a full cache. Each
//     iteration refills the cache first; ns/op, B/op and allocs/op are those
//     of the clear alone, measured around it (a stopped timer would let the
//     iteration count, and so the refills, grow without bound where a clear
//     is cheap);
//   - B-entry: build and fill a new cache with every key (ns/op); reports
//     the heap it holds per entry besides the views, which exist before it.
func BenchmarkCacheLib(b *testing.B) {
	d := cacheLib()
	b.Run("floor", func(b *testing.B) {
		b.Run("sha256", func(b *testing.B) { benchSHA256(b, d) })
		b.Run("hit", func(b *testing.B) { benchCacheHit(b, floorFinder(d), d, len(d.hits)) })
		b.Run("hit-hot", func(b *testing.B) { benchCacheHit(b, floorFinder(d), d, cacheLibHot) })
		b.Run("parallel", func(b *testing.B) { benchCacheParallel(b, floorFinder(d), d) })
	})
	for _, cand := range cacheCandidates() {
		b.Run(cand.name, func(b *testing.B) {
			full := &fullCache{cand: cand, d: d}
			b.Run("hit", func(b *testing.B) { benchCacheHit(b, cacheFinder(full.get(b)), d, len(d.hits)) })
			b.Run("hit-hot", func(b *testing.B) { benchCacheHit(b, cacheFinder(full.get(b)), d, cacheLibHot) })
			b.Run("parallel", func(b *testing.B) { benchCacheParallel(b, cacheFinder(full.get(b)), d) })
			full.close()
			b.Run("zipf10", func(b *testing.B) { benchCacheZipf(b, cand, d) })
			b.Run("delete", func(b *testing.B) { benchCacheDelete(b, cand, d) })
			b.Run("clear", func(b *testing.B) { benchCacheClear(b, cand, d) })
			b.Run("B-entry", func(b *testing.B) { benchCacheMemory(b, cand, d) })
		})
	}
}

// finder is a hit: the view for key k, which is the i-th token of the hit
// trace. A cache uses only k; the floor uses only i.
type finder func(k cacheKey, i int) (*cachedView, bool)

func cacheFinder(c benchCache) finder {
	return func(k cacheKey, _ int) (*cachedView, bool) { return c.get(k) }
}

// floorFinder is no cache, the least a hit can cost beyond the hash: one read
// of the view, found by its position in the trace.
func floorFinder(d *cacheLibData) finder {
	return func(_ cacheKey, i int) (*cachedView, bool) { return d.views[d.hitIdx[i]], true }
}

func benchSHA256(b *testing.B, d *cacheLibData) {
	var sink byte
	i := 0
	for b.Loop() {
		k := hashToken(d.hits[i])
		sink ^= k[0]
		if i++; i == len(d.hits) {
			i = 0
		}
	}
	runtime.KeepAlive(sink)
}

// benchCacheHit hits the first n tokens of the hit trace, in turn.
func benchCacheHit(b *testing.B, find finder, d *cacheLibData, n int) {
	misses, i := 0, 0
	allocs := countAllocs()
	for b.Loop() {
		k := hashToken(d.hits[i])
		if v, _ := find(k, i); !valid(v, &k, d.now) {
			misses++
		}
		if i++; i == n {
			i = 0
		}
	}
	allocs(b)
	if misses > 0 {
		b.Fatalf("%d misses in a hit benchmark", misses)
	}
}

func benchCacheParallel(b *testing.B, find finder, d *cacheLibData) {
	var misses, worker atomic.Int64
	allocs := countAllocs()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine walks the shuffled tokens from its own offset.
		i := int(worker.Add(1)*7919*31) % len(d.hits)
		n := int64(0)
		for pb.Next() {
			k := hashToken(d.hits[i])
			if v, _ := find(k, i); !valid(v, &k, d.now) {
				n++
			}
			if i++; i == len(d.hits) {
				i = 0
			}
		}
		misses.Add(n)
	})
	allocs(b)
	if misses.Load() > 0 {
		b.Fatalf("%d misses in a hit benchmark", misses.Load())
	}
}

func benchCacheZipf(b *testing.B, cand cacheCandidate, d *cacheLibData) {
	if !cand.bounded {
		b.Skip("unbounded: it would end up holding every key")
	}
	c := cand.new(len(d.keys) / 10)
	defer c.close()
	i := 0
	access := func() bool {
		k := hashToken(d.zipf[i])
		v, _ := c.get(k)
		hit := valid(v, &k, d.now)
		if !hit {
			c.set(k, d.views[d.zipfIdx[i]])
		}
		if i++; i == len(d.zipf) {
			i = 0
		}
		return hit
	}
	// Warm up to the steady state before counting.
	for range len(d.zipf) / 2 {
		access()
	}
	hits, ops := 0, 0
	allocs := countAllocs()
	for b.Loop() {
		if access() {
			hits++
		}
		ops++
	}
	allocs(b)
	b.ReportMetric(100*float64(hits)/float64(ops), "hit%")
	b.ReportMetric(100*d.zipfIdeal, "ideal-hit%")
}

func benchCacheDelete(b *testing.B, cand cacheCandidate, d *cacheLibData) {
	c := cand.new(roomForAll(len(d.keys)))
	defer c.close()
	d.fill(b, c)
	i := 0
	for b.Loop() {
		if i == len(d.delOrder) {
			b.StopTimer()
			d.fill(b, c)
			i = 0
			b.StartTimer()
		}
		c.del(d.delOrder[i])
		i++
	}
}

func benchCacheClear(b *testing.B, cand cacheCandidate, d *cacheLibData) {
	c := cand.new(roomForAll(len(d.keys)))
	defer c.close()
	var elapsed time.Duration
	var before, after runtime.MemStats
	var allocs, bytes uint64
	ops := 0
	for b.Loop() {
		d.fill(b, c)
		runtime.ReadMemStats(&before)
		start := time.Now()
		c.clear()
		elapsed += time.Since(start)
		runtime.ReadMemStats(&after)
		allocs += after.Mallocs - before.Mallocs
		bytes += after.TotalAlloc - before.TotalAlloc
		ops++
	}
	c.settle()
	if left := len(d.keys) - d.missing(c); left > 0 {
		b.Fatalf("%d entries left after clear", left)
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(ops), "ns/op")
	b.ReportMetric(float64(allocs)/float64(ops), "allocs/op")
	b.ReportMetric(float64(bytes)/float64(ops), "B/op")
}

func benchCacheMemory(b *testing.B, cand cacheCandidate, d *cacheLibData) {
	base := heapAlloc()
	var c benchCache
	for b.Loop() {
		if c != nil {
			b.StopTimer()
			c.close()
			c = nil
			b.StartTimer()
		}
		c = cand.new(roomForAll(len(d.keys)))
		for i, k := range d.keys {
			c.set(k, d.views[i])
		}
		c.settle()
	}
	b.StopTimer()
	held := len(d.keys) - d.missing(c)
	used := heapAlloc() - base
	runtime.KeepAlive(c)
	b.ReportMetric(float64(used)/float64(held), "B/entry")
	c.close()
}

// TestCacheLibCandidates checks that every candidate is a working cache, so
// that BenchmarkCacheLib measures caches: a fill is found, a bounded one keeps
// to its bound, delete and clear invalidate.
func TestCacheLibCandidates(t *testing.T) {
	d := newCacheLibData(6_400, 1_000, 2)
	for _, cand := range cacheCandidates() {
		t.Run(cand.name, func(t *testing.T) {
			c := cand.new(roomForAll(len(d.keys)))
			defer c.close()
			d.fill(t, c)
			k := hashToken(d.hits[0])
			if v, ok := c.get(k); !ok || !valid(v, &k, d.now) {
				t.Fatalf("token's view not found by its hash")
			}
			c.del(d.keys[7])
			c.settle()
			if _, ok := c.get(d.keys[7]); ok {
				t.Errorf("deleted key still found")
			}
			c.clear()
			c.settle()
			if left := len(d.keys) - d.missing(c); left != 0 {
				t.Errorf("%d entries left after clear", left)
			}
			if !cand.bounded {
				return
			}
			small := cand.new(len(d.keys) / 10)
			defer small.close()
			for i, k := range d.keys {
				small.set(k, d.views[i])
			}
			small.settle()
			if held := len(d.keys) - d.missing(small); held > len(d.keys)/10+len(d.keys)/100 || held == 0 {
				t.Errorf("holds %d entries, bound %d", held, len(d.keys)/10)
			}
		})
	}
}

// TestClockKeepsReferenced checks the CLOCK policy of the hand-written
// caches: an entry that is hit survives the insertions that evict the ones
// that are not.
func TestClockKeepsReferenced(t *testing.T) {
	d := newCacheLibData(100, 100, 3)
	c := newClockMap(10)
	for i := range 10 {
		c.set(d.keys[i], d.views[i])
	}
	for round := range 5 {
		c.get(d.keys[3])
		c.set(d.keys[10+round], d.views[10+round])
	}
	if _, ok := c.get(d.keys[3]); !ok {
		t.Errorf("referenced entry evicted")
	}
	if len(c.m) != 10 {
		t.Errorf("holds %d entries, bound 10", len(c.m))
	}
	evicted := 0
	for i := range 10 {
		if _, ok := c.m[d.keys[i]]; !ok {
			evicted++
		}
	}
	if evicted != 5 {
		t.Errorf("%d of the first ten evicted, want 5", evicted)
	}
}

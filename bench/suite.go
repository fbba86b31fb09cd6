package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Target is one implementation loaded with a dataset, ready to benchmark.
// Benchmarks that write (Issue, Rotate, RevokeSession, Sweep) leave the
// dataset's rows as they found them: they write rows of their own in a
// scratch epoch (a year before the dataset's Now, see [Target.Scratch]) and
// sweep them away afterwards, so one Target serves every benchmark.
type Target struct {
	Impl  Impl
	Data  *Dataset
	Clock *Clock
	// BytesPerToken is the heap retained by the loaded implementation
	// (plus, for SQLite, its database pages) divided by the number of
	// access tokens.
	BytesPerToken float64
	// RetainedBytes is the memory retained by the loaded implementation.
	RetainedBytes int64
	// LoadTime is how long Load took.
	LoadTime time.Duration
	// WarmBytesPerToken is the heap the first validation of every live
	// token retained, per live token: oauthdb's validation cache, SQLite's
	// page cache; about zero for a store that keeps nothing warm. Measured
	// once, by the first BenchValidate of the Target.
	WarmBytesPerToken float64

	warm sync.Once

	grants []grant // live (client, user, session) triples for Issue
	seq    atomic.Uint64
}

type grant struct{ client, user, session string }

// externalMemory is implemented by stores that keep data outside the Go heap.
type externalMemory interface {
	ExternalMemory() (int64, error)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// NewTarget makes an implementation and loads it with the dataset of cfg.
// It measures the memory the implementation retains: the rows are loaded from
// a second, identical copy of the dataset that is dropped afterwards, so every
// string the implementation keeps counts, shared with the dataset or not. ds
// is the (identical) dataset the benchmarks draw tokens from; nil generates
// it.
func NewTarget(f Factory, cfg Config, ds *Dataset) (*Target, error) {
	if ds == nil {
		ds = Generate(cfg)
	}
	clock := NewClock(ds.Now)
	impl, err := f.New(clock.Now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	// Measure from before the copy exists: it is dropped after the load, so
	// a baseline taken with it alive would subtract it from the result.
	before := heapInUse()
	load := Generate(cfg)
	start := time.Now()
	if err := impl.Load(load); err != nil {
		impl.Close()
		return nil, fmt.Errorf("%s: load: %w", f.Name, err)
	}
	loadTime := time.Since(start)
	load = nil
	retained := int64(heapInUse()) - int64(before)
	if em, ok := impl.(externalMemory); ok {
		ext, err := em.ExternalMemory()
		if err != nil {
			impl.Close()
			return nil, fmt.Errorf("%s: memory: %w", f.Name, err)
		}
		retained += ext
	}
	t := &Target{Impl: impl, Data: ds, Clock: clock, LoadTime: loadTime, RetainedBytes: retained}
	if n := len(ds.AccessTokens); n > 0 {
		t.BytesPerToken = float64(retained) / float64(n)
	}
	for _, rt := range ds.LiveRefresh {
		t.grants = append(t.grants, grant{rt.ClientID, rt.UserID, rt.SessionID})
	}
	if len(t.grants) == 0 {
		impl.Close()
		return nil, fmt.Errorf("dataset has no live refresh token to issue for")
	}
	return t, nil
}

// Scratch is the time at which writing benchmarks issue their own rows: a
// year before the dataset's Now, so that those rows all expire before any row
// of the dataset and a sweep at [Target.ScratchEnd] removes exactly them.
func (t *Target) Scratch() time.Time { return t.Data.Now.Add(-365 * 24 * time.Hour) }

// ScratchEnd is a time after every scratch row has expired and before any
// dataset row expires.
func (t *Target) ScratchEnd() time.Time { return t.Scratch().Add(RefreshTokenTTL + 24*time.Hour) }

// sweepScratch deletes every row written in the scratch epoch and sets the
// clock back to the dataset's Now.
func (t *Target) sweepScratch(b *testing.B) {
	for {
		n, err := t.Impl.Sweep(t.ScratchEnd(), 10000)
		if err != nil {
			b.Fatalf("sweep scratch rows: %v", err)
		}
		if n == 0 {
			break
		}
	}
	t.Clock.Set(t.Data.Now)
}

// scratchRows builds a dataset of new rows in the scratch epoch that reference
// the target's users, clients and sessions.
type scratchRows struct {
	t *Target
	g gen
}

func (t *Target) newScratch() *scratchRows {
	return &scratchRows{t: t, g: gen{r: rand.New(rand.NewPCG(t.seq.Add(1), 0x5c7a7c4))}}
}

// sessions returns n new sessions, each with accessPer access tokens and
// refreshPer refresh tokens; half the access tokens (at most refreshPer) point
// to the session's refresh tokens.
func (s *scratchRows) sessions(n, accessPer, refreshPer int) *Dataset {
	t, g := s.t, s.g
	at0 := t.Scratch()
	ds := &Dataset{Now: t.Data.Now}
	for range n {
		gr := t.grants[g.r.IntN(len(t.grants))]
		sess := Session{ID: g.id(), Token: g.token(), UserID: gr.user, ExpiresAt: at0.Add(time.Hour),
			CreatedAt: at0, UpdatedAt: at0}
		ds.Sessions = append(ds.Sessions, sess)
		first := len(ds.RefreshTokens)
		for range refreshPer {
			ds.RefreshTokens = append(ds.RefreshTokens, RefreshToken{ID: g.id(), Token: g.token(),
				ClientID: gr.client, SessionID: sess.ID, UserID: gr.user, Scopes: userScopes[0],
				ExpiresAt: at0.Add(RefreshTokenTTL), CreatedAt: at0})
		}
		for j := range accessPer {
			at := AccessToken{ID: g.id(), Token: g.token(), ClientID: gr.client, SessionID: sess.ID,
				UserID: gr.user, Scopes: userScopes[0], ExpiresAt: at0.Add(AccessTokenTTL), CreatedAt: at0}
			if j%2 == 0 && j/2 < refreshPer {
				at.RefreshID = ds.RefreshTokens[first+j/2].ID
			}
			ds.AccessTokens = append(ds.AccessTokens, at)
		}
	}
	return ds
}

// expired returns access and refresh tokens that have expired at
// ScratchEnd, shaped like random tokens of the dataset.
func (s *scratchRows) expired(access, refresh int) *Dataset {
	t, g := s.t, s.g
	at0 := t.Scratch()
	ds := &Dataset{Now: t.Data.Now}
	src := t.Data.AccessTokens
	for range access {
		o := &src[g.r.IntN(len(src))]
		exp := at0.Add(g.between(time.Second, AccessTokenTTL))
		ds.AccessTokens = append(ds.AccessTokens, AccessToken{ID: g.id(), Token: g.token(), ClientID: o.ClientID,
			SessionID: o.SessionID, UserID: o.UserID, RefreshID: o.RefreshID, Scopes: o.Scopes,
			ExpiresAt: exp, CreatedAt: exp.Add(-AccessTokenTTL)})
	}
	for range refresh {
		gr := t.grants[g.r.IntN(len(t.grants))]
		exp := at0.Add(g.between(time.Second, AccessTokenTTL))
		ds.RefreshTokens = append(ds.RefreshTokens, RefreshToken{ID: g.id(), Token: g.token(), ClientID: gr.client,
			SessionID: gr.session, UserID: gr.user, Scopes: userScopes[0], ExpiresAt: exp, CreatedAt: exp.Add(-RefreshTokenTTL)})
	}
	return ds
}

// Case is one benchmark body, run against a loaded [Target]. The test
// binary's Benchmark functions and the `oauthdb bench` command share them:
// a Case added to [Cases] is a row of the command's table, and a figure a
// body reports with b.ReportMetric is a column of it, under its unit, with
// no change to the command.
type Case struct {
	Name string
	Run  func(b *testing.B, t *Target)
}

// Cases returns the hot-path benchmarks in their report order: Validate,
// ValidateMiss, ValidateParallel, Issue, Rotate, RevokeSession, Sweep.
func Cases() []Case {
	return []Case{
		{"Validate", BenchValidate},
		{"ValidateMiss", BenchValidateMiss},
		{"ValidateParallel", BenchValidateParallel},
		{"Issue", BenchIssue},
		{"Rotate", BenchRotate},
		{"RevokeSession", BenchRevokeSession},
		{"Sweep", BenchSweep},
	}
}

// BenchValidate validates live access tokens, in a shuffled order fixed by
// the dataset; every one must be active. It reports B/token, the memory the
// loaded implementation retains per access token.
func BenchValidate(b *testing.B, t *Target) {
	tokens := t.Data.LiveTokens
	if len(tokens) == 0 {
		b.Skip("no live token")
	}
	t.warmUp(b, tokens)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ok, err := t.Impl.Validate(tokens[i%len(tokens)])
		if err != nil || !ok {
			b.Fatalf("Validate(live token %d) = %v, %v", i%len(tokens), ok, err)
		}
		i++
	}
	b.ReportMetric(t.BytesPerToken, "B/token")
	b.ReportMetric(t.WarmBytesPerToken, "warm-B/token")
}

// warmUp warms what the implementation keeps warm (oauthdb's cache,
// SQLite's pages): a validation benchmark measures a service that has seen
// its tokens. The first warming measures what it retains (warm-B/token).
func (t *Target) warmUp(b *testing.B, tokens []string) {
	var err error
	t.warm.Do(func() {
		before := heapInUse()
		err = warm(t.Impl, tokens)
		t.WarmBytesPerToken = float64(int64(heapInUse())-int64(before)) / float64(len(tokens))
	})
	if err == nil {
		err = warm(t.Impl, tokens)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// warm validates every token once.
func warm(impl Impl, tokens []string) error {
	for _, tok := range tokens {
		if _, err := impl.Validate(tok); err != nil {
			return err
		}
	}
	return nil
}

// BenchValidateMiss validates tokens that were never issued; none may be
// active.
func BenchValidateMiss(b *testing.B, t *Target) {
	tokens := t.Data.MissingTokens
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ok, err := t.Impl.Validate(tokens[i%len(tokens)])
		if err != nil || ok {
			b.Fatalf("Validate(missing token) = %v, %v", ok, err)
		}
		i++
	}
}

// BenchValidateParallel validates live access tokens from GOMAXPROCS
// goroutines at once (b.RunParallel), warmed as BenchValidate is; each
// goroutine starts at its own offset in the shuffled list.
func BenchValidateParallel(b *testing.B, t *Target) {
	tokens := t.Data.LiveTokens
	if len(tokens) == 0 {
		b.Skip("no live token")
	}
	t.warmUp(b, tokens)
	var start atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(int64(len(tokens)/7 + 1)))
		for pb.Next() {
			ok, err := t.Impl.Validate(tokens[i%len(tokens)])
			if err != nil || !ok {
				b.Errorf("Validate(live token) = %v, %v", ok, err)
				return
			}
			i++
		}
	})
}

// BenchIssue issues an access token and a refresh token for a live (client,
// user, session) of the dataset. The new rows are written in the scratch
// epoch and swept after the timed loop.
func BenchIssue(b *testing.B, t *Target) {
	t.Clock.Set(t.Scratch())
	defer t.sweepScratch(b)
	grants := t.grants
	scopes := []string{"openid", "profile", "offline_access"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		g := grants[i%len(grants)]
		access, refresh, err := t.Impl.Issue(g.client, g.user, g.session, scopes)
		if err != nil || access == "" || refresh == "" {
			b.Fatalf("Issue: %v", err)
		}
		i++
	}
}

// prepBatch is how many fresh rows the writing benchmarks prepare at a time,
// with the timer stopped.
const prepBatch = 1000

// take returns the last of pending and drops it, once prepare has filled
// pending again, with the timer stopped, if it was empty: a writing
// benchmark's supply of fresh rows.
func take[T any](b *testing.B, pending *[]T, prepare func()) T {
	if len(*pending) == 0 {
		b.StopTimer()
		prepare()
		b.StartTimer()
	}
	p := *pending
	*pending = p[:len(p)-1]
	return p[len(p)-1]
}

// BenchRotate rotates fresh refresh tokens, each once. The tokens are issued
// in batches of prepBatch with the timer stopped; every row is written in the
// scratch epoch and swept after the timed loop.
func BenchRotate(b *testing.B, t *Target) {
	t.Clock.Set(t.Scratch())
	defer t.sweepScratch(b)
	type fresh struct{ refresh, client string }
	var pending []fresh
	next := 0
	prepare := func() {
		pending = pending[:0]
		for range prepBatch {
			g := t.grants[next%len(t.grants)]
			next++
			_, refresh, err := t.Impl.Issue(g.client, g.user, g.session, []string{"openid", "offline_access"})
			if err != nil {
				b.Fatalf("Issue: %v", err)
			}
			pending = append(pending, fresh{refresh, g.client})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		f := take(b, &pending, prepare)
		access, refresh, err := t.Impl.Rotate(f.refresh, f.client)
		if err != nil || access == "" || refresh == "" {
			b.Fatalf("Rotate: %v", err)
		}
	}
}

// Shape of the sessions RevokeSession revokes: the dataset's averages (200k
// access and 100k refresh tokens over 20k sessions).
const (
	revokeAccessPer  = 10
	revokeRefreshPer = 5
)

// BenchRevokeSession revokes a session that has 10 access tokens and 5
// refresh tokens (5 of the access tokens issued with those refresh tokens):
// 15 rows change. Sessions are loaded in batches of prepBatch with the timer
// stopped, in the scratch epoch, and swept after the timed loop.
func BenchRevokeSession(b *testing.B, t *Target) {
	t.Clock.Set(t.Scratch())
	defer t.sweepScratch(b)
	rows := t.newScratch()
	var pending []string
	prepare := func() {
		ds := rows.sessions(prepBatch, revokeAccessPer, revokeRefreshPer)
		if err := t.Impl.Load(ds); err != nil {
			b.Fatalf("load sessions: %v", err)
		}
		pending = pending[:0]
		for i := range ds.Sessions {
			pending = append(pending, ds.Sessions[i].ID)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		id := take(b, &pending, prepare)
		n, err := t.Impl.RevokeSession(id)
		if err != nil || n != revokeAccessPer+revokeRefreshPer {
			b.Fatalf("RevokeSession = %d, %v; want %d", n, err, revokeAccessPer+revokeRefreshPer)
		}
	}
}

// Rows one Sweep operation deletes.
const (
	sweepAccess  = 900
	sweepRefresh = 100
)

// BenchSweep deletes 1,000 expired tokens per operation (900 access tokens,
// then 100 refresh tokens), in expiry order, through the expiresAt index.
// Before each operation, with the timer stopped, it loads 1,000 tokens that
// expired in the scratch epoch; the dataset's own rows (including its
// expired ones, which expire later) stay.
func BenchSweep(b *testing.B, t *Target) {
	defer t.sweepScratch(b)
	rows := t.newScratch()
	now := t.ScratchEnd()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := t.Impl.Load(rows.expired(sweepAccess, sweepRefresh)); err != nil {
			b.Fatalf("load expired rows: %v", err)
		}
		b.StartTimer()
		n, err := t.Impl.Sweep(now, sweepAccess+sweepRefresh)
		if err != nil || n != sweepAccess+sweepRefresh {
			b.Fatalf("Sweep = %d, %v; want %d", n, err, sweepAccess+sweepRefresh)
		}
	}
}

// The shared datasets and targets, built once per size and implementation.
var (
	cacheMu  sync.Mutex
	datasets = map[Config]*onceDataset{}
	targets  = map[targetKey]*onceTarget{}
)

type onceDataset struct {
	once sync.Once
	ds   *Dataset
}

type targetKey struct {
	impl string
	cfg  Config
}

type onceTarget struct {
	once sync.Once
	t    *Target
	err  error
}

// SharedDataset returns the dataset of cfg, generated once per process.
func SharedDataset(cfg Config) *Dataset {
	e := entry(datasets, cfg)
	e.once.Do(func() { e.ds = Generate(cfg) })
	return e.ds
}

// SharedTarget returns the implementation of f loaded with the dataset of
// cfg, built once per process and implementation.
func SharedTarget(f Factory, cfg Config) (*Target, error) {
	e := entry(targets, targetKey{f.Name, cfg})
	e.once.Do(func() { e.t, e.err = NewTarget(f, cfg, SharedDataset(cfg)) })
	return e.t, e.err
}

// entry returns the entry of k in m, one of the maps above, made empty if
// there is none.
func entry[K comparable, V any](m map[K]*V, k K) *V {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	e := m[k]
	if e == nil {
		e = new(V)
		m[k] = e
	}
	return e
}

// ReleaseTarget closes and forgets the shared target of f and cfg, if built.
func ReleaseTarget(f Factory, cfg Config) {
	k := targetKey{f.Name, cfg}
	cacheMu.Lock()
	e := targets[k]
	delete(targets, k)
	cacheMu.Unlock()
	if e != nil {
		e.once.Do(func() {})
		if e.t != nil {
			e.t.Impl.Close()
		}
	}
}

// ReleaseTargets closes and forgets every shared target and dataset.
func ReleaseTargets() {
	cacheMu.Lock()
	old := targets
	targets = map[targetKey]*onceTarget{}
	datasets = map[Config]*onceDataset{}
	cacheMu.Unlock()
	for _, e := range old {
		e.once.Do(func() {})
		if e.t != nil {
			e.t.Impl.Close()
		}
	}
}

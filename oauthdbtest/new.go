package oauthdbtest

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// Fixtures is one test's DB: a fresh oauthdb.DB (embedded, so its methods
// are at hand), the fake clock it reads, and builders that insert records
// with sensible defaults. New returns one; its builders fail the test, with
// t.Fatalf, when a record cannot be inserted, so they must be called from the
// test's goroutine.
type Fixtures struct {
	*oauthdb.DB
	// Clock is the DB's clock: move it to make tokens and sessions expire.
	Clock *Clock

	t testing.TB

	mu      sync.Mutex
	n       map[string]int    // records built so far, by table, for default names
	secrets map[string]string // plaintext client secrets, by clientId
}

// An Option configures New.
type Option func(*config)

// config is what the Options of New set.
type config struct {
	seed      uint64
	start     time.Time
	hasher    oauthdb.Hasher
	dbOptions []oauthdb.Option
	noVerify  bool
}

// WithSeed sets the seed of the DB's source of randomness, from which every
// generated ID, token and secret is drawn. The default seed is 1: every test
// sees the same values on every run, whatever else runs beside it.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithStart sets the time the fake clock starts at; the default is
// 2026-01-01 09:00:00 UTC.
func WithStart(t time.Time) Option { return func(c *config) { c.start = t } }

// WithHasher opens the DB with oauthdb.WithHasher(h); the fixture builders
// hash the tokens they make with the DB's hasher, so h too.
func WithHasher(h oauthdb.Hasher) Option { return func(c *config) { c.hasher = h } }

// WithDBOptions passes more options to oauthdb.Open, such as
// oauthdb.WithLenientSessions or oauthdb.WithTokenLifetimes. They are applied
// after the kit's own: an oauthdb.WithClock or oauthdb.WithRandom here
// replaces the fake clock or the seeded randomness, and an
// oauthdb.WithHasher here is the same as WithHasher.
func WithDBOptions(opts ...oauthdb.Option) Option {
	return func(c *config) { c.dbOptions = append(c.dbOptions, opts...) }
}

// WithoutVerify skips the audit that New registers to run when the test
// ends (see New).
func WithoutVerify() Option { return func(c *config) { c.noVerify = true } }

// New opens a fresh, empty DB for the test t. The DB reads the fake clock
// Fixtures.Clock (oauthdb.WithClock) and draws its IDs and tokens from a
// ChaCha8 generator seeded by WithSeed (oauthdb.WithRandom), so a failing
// test prints the same values on every run. Nothing is shared between two
// calls: tests that call t.Parallel each get their own.
//
// When the test ends, a cleanup registered with t.Cleanup audits the DB with
// oauthdb.DB.Verify — every index consistent, every foreign key resolved —
// and fails the test if it is not.
func New(t testing.TB, opts ...Option) *Fixtures {
	t.Helper()
	cfg := config{seed: 1, start: defaultStart, hasher: oauthdb.SHA256Hasher{}}
	for _, o := range opts {
		o(&cfg)
	}
	clock := NewClock(cfg.start)
	dbOpts := append([]oauthdb.Option{
		oauthdb.WithClock(clock.Now),
		oauthdb.WithRandom(newSeededReader(cfg.seed)),
		oauthdb.WithHasher(cfg.hasher),
	}, cfg.dbOptions...)
	db, err := oauthdb.Open(dbOpts...)
	if err != nil {
		t.Fatalf("oauthdbtest.New: %v", err)
	}
	f := &Fixtures{
		DB:      db,
		Clock:   clock,
		t:       t,
		n:       map[string]int{},
		secrets: map[string]string{},
	}
	if !cfg.noVerify {
		t.Cleanup(func() {
			if err := db.Verify(); err != nil {
				t.Errorf("oauthdbtest: the DB is inconsistent at the end of the test: %v", err)
			}
		})
	}
	return f
}

// seededReader is a deterministic source of randomness for a test DB: the
// ChaCha8 stream of its seed. The DB serialises its own reads, but the lock
// makes the reader safe however it is shared.
type seededReader struct {
	mu  sync.Mutex
	gen *rand.ChaCha8
}

// newSeededReader returns the ChaCha8 stream of seed.
func newSeededReader(seed uint64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return &seededReader{gen: rand.NewChaCha8(s)}
}

// Read fills p from the stream; it never fails.
func (r *seededReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen.Read(p)
}

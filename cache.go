package oauthdb

import (
	"crypto/sha256"
	"encoding/base64"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oauthdb/oauthdb/internal/stripe"
	"github.com/oauthdb/oauthdb/store"
	"github.com/puzpuzpuz/xsync/v4"
)

// The validation cache: a read-side cache in front of ValidateAccessToken,
// ValidateRefreshToken and the Introspect methods, keyed by the SHA-256 of
// the presented token. An entry holds the joined view — copies of the token,
// its user and session, and the client's stored record, shared — and the
// instant the view stops answering (the token's expiry, or its session's).
// It is a pure speed-up: a hit answers exactly what the cold path would, and
// whatever a hit cannot vouch for goes to the cold path.
//
// An entry is one allocation that a hit reads from end to end, so that a hit
// costs the digest and about one random memory access: the client's record
// and epoch are shared by all its entries and stay in the CPU's caches.
//
// The entries live in xsync's concurrent map, whose lookups take no lock, and
// are bounded by CLOCK (second chance): a hit sets its entry's reference bit,
// and when the cache is full the hand sweeps the entries in the order they
// came, clearing set bits, and evicts the first whose bit is clear. Writes —
// keeping an entry, forgetting one, evicting — take the kind's mutex; hits
// take none. (otter, the library before, cost 177 ns a hit where this costs
// 115 ns, BenchmarkCacheLib; its W-TinyLFU policy kept about 3 points more
// hits under a tight bound, which a cache sized to the live tokens does not
// feel.)
//
// Invalidation by commits. The store raises its commit index as soon as a
// commit is visible, then runs OnCommit (DB.committed), which
//   - deletes the entries of the token rows the commit updated or deleted;
//   - deletes the entries of the tokens of every user and session it updated
//     (a delete changes their tokens' rows, which does it already);
//   - raises the epoch of every client it updated or deleted: an entry keeps
//     the epoch its client had when it was built, and is stale once it
//     differs, so that one write invalidates a client's 100,000 entries;
//
// and only then does Update return. A reader reads the index before it
// takes its snapshot, and keeps what it built only if the index has not
// moved since, checked and stored under the mutex that deletes take too: a
// commit's own invalidations come after its index moved, so a view built
// from the state before a commit is either refused or deleted by it. A
// Replace (restore, resync) starts a new, empty cache.

// cacheKey is the SHA-256 of a presented token (see DB.cacheKey).
type cacheKey [sha256.Size]byte

// cacheKey returns the validation cache's key of a presented token: its
// SHA-256, which under better-auth's hashing is what its stored hash decodes
// to; under another hasher, the SHA-256 of its stored form.
func (db *DB) cacheKey(token string) cacheKey {
	if db.cfg.sha256 {
		return sum256(token)
	}
	var buf [64]byte
	return sum256(string(db.cfg.hasher.AppendHash(buf[:0], token)))
}

// storedForm appends what the token is stored as, given its cache key: the
// digest in the key, encoded, when the hasher is better-auth's.
func (db *DB) storedForm(dst []byte, key cacheKey, token string) []byte {
	if db.cfg.sha256 {
		return base64.RawURLEncoding.AppendEncode(dst, key[:])
	}
	return db.cfg.hasher.AppendHash(dst, token)
}

// storedKey returns the cache key of a stored token record, from its stored
// hash; false for a hash that no presented token can match.
func (db *DB) storedKey(stored string) (cacheKey, bool) {
	if !db.cfg.sha256 {
		return sum256(stored), true
	}
	var k cacheKey
	if len(stored) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return k, false
	}
	n, err := base64.RawURLEncoding.Decode(k[:], []byte(stored))
	return k, err == nil && n == sha256.Size
}

// DefaultCacheEntries is the validation cache's bound, per kind of token,
// unless WithValidationCache says otherwise.
const DefaultCacheEntries = 1 << 20

// cacheEntry is one cached view of a token of type T, never modified once
// kept but for its reference bit.
//
// What a hit checks comes first, so that the check and the copy of the view
// after it read the entry from its start, one run of cache lines.
type cacheEntry[T any] struct {
	// until is the instant, in Unix nanoseconds, from which the entry no
	// longer answers: the token's expiry, or its session's if sooner.
	until int64
	// clientEpoch is the client's epoch cell and seen its epoch when the
	// entry was built.
	clientEpoch *atomic.Uint64
	seen        uint64
	// referenced is CLOCK's bit, set by hits; slot is the entry's place on
	// the clock, fixed before the entry is stored.
	referenced atomic.Bool
	slot       int
	client     *OAuthClient
	token      T
	user       User    // zero when the token has none
	session    Session // zero when it has none, or it is dropped
}

// kindCache is the cache of one kind of token.
type kindCache[T any] struct {
	entries *xsync.Map[cacheKey, *cacheEntry[T]]
	// mu orders the writes: keep, forget and eviction.
	mu sync.Mutex
	// clock holds the kept entries' keys, each at its entry's slot, for the
	// hand to sweep; free lists the slots of forgotten entries. It grows up
	// to size slots.
	clock []clockSlot[T]
	free  []int
	hand  int
	size  int
}

type clockSlot[T any] struct {
	key   cacheKey
	entry *cacheEntry[T] // nil for a free slot
}

// tokenCache is a DB's cache. A Replace swaps in a new one.
type tokenCache struct {
	access  kindCache[OAuthAccessToken]
	refresh kindCache[OAuthRefreshToken]
	// clients holds the epoch cells of clients, by clientId.
	clients sync.Map
	// since is the commit index the cache was made at: a view built from
	// an older state is never kept.
	since uint64
}

func newTokenCache(size int, since uint64) *tokenCache {
	return &tokenCache{
		access:  kindCache[OAuthAccessToken]{entries: xsync.NewMap[cacheKey, *cacheEntry[OAuthAccessToken]](), size: size},
		refresh: kindCache[OAuthRefreshToken]{entries: xsync.NewMap[cacheKey, *cacheEntry[OAuthRefreshToken]](), size: size},
		since:   since,
	}
}

// get returns the entry that answers for key at now, if there is one that
// is still good.
func (c *kindCache[T]) get(key cacheKey, now time.Time) *cacheEntry[T] {
	e, ok := c.entries.Load(key)
	if !ok || now.UnixNano() >= e.until || e.clientEpoch.Load() != e.seen {
		return nil
	}
	// Written only when clear, so that the readers of a hot entry do not
	// keep taking its cache line from each other.
	if !e.referenced.Load() {
		e.referenced.Store(true)
	}
	return e
}

// keep stores a new entry for a token that validation found active, with
// its owners, if the DB has not committed since index, the commit index read
// before the view was built (see the top of this file).
func (c *kindCache[T]) keep(tc *tokenCache, st *store.DB, key cacheKey, t *T, o owners, expiresAt time.Time, index uint64) {
	if index < tc.since {
		return
	}
	e := &cacheEntry[T]{token: *t, client: o.client, until: expiresAt.UnixNano()}
	if o.user != nil {
		e.user = *o.user
	}
	if o.session != nil {
		e.session = *o.session
		if o.session.ExpiresAt.Before(expiresAt) {
			e.until = o.session.ExpiresAt.UnixNano()
		}
	}
	e.clientEpoch = tc.clientCell(o.client.ClientID)
	e.seen = e.clientEpoch.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.Index() != index {
		return
	}
	if old, ok := c.entries.Load(key); ok {
		e.slot = old.slot
	} else {
		e.slot = c.slotFor(key)
	}
	c.clock[e.slot].entry = e
	c.entries.Store(key, e)
}

// slotFor gives key a slot on the clock: a free one, a new one while the
// clock is below its size, or else the slot of the entry the hand evicts.
// It needs c.mu.
func (c *kindCache[T]) slotFor(key cacheKey) int {
	var slot int
	switch {
	case len(c.free) > 0:
		slot = c.free[len(c.free)-1]
		c.free = c.free[:len(c.free)-1]
	case len(c.clock) < c.size:
		slot = len(c.clock)
		c.clock = append(c.clock, clockSlot[T]{})
	default:
		for c.clock[c.hand].entry.referenced.Swap(false) {
			c.hand = (c.hand + 1) % len(c.clock)
		}
		slot = c.hand
		c.entries.Delete(c.clock[slot].key)
		c.hand = (c.hand + 1) % len(c.clock)
	}
	c.clock[slot] = clockSlot[T]{key: key}
	return slot
}

// forget deletes the entry of key, if there is one.
func (c *kindCache[T]) forget(key cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries.LoadAndDelete(key); ok {
		c.clock[e.slot] = clockSlot[T]{}
		c.free = append(c.free, e.slot)
	}
}

// clientCell returns the epoch cell of a client, making it if need be.
func (c *tokenCache) clientCell(clientID string) *atomic.Uint64 {
	if v, ok := c.clients.Load(clientID); ok {
		return v.(*atomic.Uint64)
	}
	v, _ := c.clients.LoadOrStore(clientID, new(atomic.Uint64))
	return v.(*atomic.Uint64)
}

// cacheCounter counts the cache's hits and misses on striped counters, so
// that parallel validations do not contend for one cache line.
type cacheCounter struct{ hits, misses *stripe.Counter }

func newCacheCounter() cacheCounter {
	return cacheCounter{hits: stripe.NewCounter(), misses: stripe.NewCounter()}
}

// CacheStats is what the validation cache has done since the DB opened.
type CacheStats struct {
	// Hits and Misses count the validations (and introspections) the cache
	// answered, and those that went to the store. Without a cache both are
	// zero.
	Hits, Misses uint64
	// Entries is about how many tokens the cache holds now.
	Entries int
}

// CacheStats returns what the validation cache has done: for a service's
// metrics.
func (db *DB) CacheStats() CacheStats {
	out := CacheStats{Hits: db.cacheStats.hits.Load(), Misses: db.cacheStats.misses.Load()}
	if c := db.cache.Load(); c != nil {
		out.Entries = c.access.entries.Size() + c.refresh.entries.Size()
	}
	return out
}

// committed is the DB's OnCommit: before Update returns, it invalidates
// what the commit made stale, brings the sweep's queues up to date
// (expiry.go), then tells the subscribers (feed.go).
func (db *DB) committed(c store.Commit) {
	db.invalidate(c)
	db.noteExpiries(c)
	db.publish(c)
}

// invalidate deletes the cache entries a commit made stale.
func (db *DB) invalidate(c store.Commit) {
	cache := db.cache.Load()
	if cache == nil {
		return
	}
	if c.Replaced {
		db.cache.Store(newTokenCache(db.cfg.cacheEntries, c.Index))
		return
	}
	var owners []any // users and sessions updated: their tokens' entries go
	var marked []string
	for _, ch := range c.Changes {
		switch k := kindOfTable(ch.Table); {
		case ch.Table == tableTokenDeath && ch.After != nil:
			// A replica's mark, which a shared mark can make alone.
			marked = append(marked, ch.After.(*tokenDeath).ID)
		case ch.Before == nil:
			// An insert makes no cached answer wrong.
		case k != nil:
			k.forget(db, cache, ch.Before)
		case ch.Table == TableOAuthClient:
			cache.clientChanged(ch.Before.(*OAuthClient).ClientID, c.Index, ch.After == nil)
		case (ch.Table == TableUser || ch.Table == TableSession) && ch.After != nil:
			owners = append(owners, ch.After)
		}
	}
	if len(owners) == 0 && len(marked) == 0 {
		return
	}
	// The owners' tokens as the commit left them: those that still refer
	// to them, which are all those a cached view can hold them for.
	_ = db.st.View(func(tx *store.Txn) error {
		for _, id := range marked {
			if k := kindOfMark(id); k != nil {
				k.forgetID(db, cache, tx, id[1:])
			}
		}
		for _, o := range owners {
			switch o := o.(type) {
			case *User:
				forgetAll(db, cache, accessKind, userAccessTokens.Get(tx, o))
				forgetAll(db, cache, refreshKind, userRefreshTokens.Get(tx, o))
			case *Session:
				forgetAll(db, cache, accessKind, sessionAccessTokens.Get(tx, o))
				forgetAll(db, cache, refreshKind, sessionRefreshTokens.Get(tx, o))
			}
		}
		return nil
	})
}

// forget deletes the entry of a stored token of k, given as its pointer;
// forgetID of the stored token with this id.
func (k *tokenKind[T]) forget(db *DB, cache *tokenCache, stored any) {
	if t, ok := stored.(*T); ok && t != nil {
		if key, ok := db.storedKey(k.hash(t)); ok {
			k.cache(cache).forget(key)
		}
	}
}

func (k *tokenKind[T]) forgetID(db *DB, cache *tokenCache, st *store.Txn, id string) {
	k.forget(db, cache, k.table.get(st, id))
}

// forgetAll deletes the entries of the stored tokens ts.
func forgetAll[T any](db *DB, cache *tokenCache, k *tokenKind[T], ts iter.Seq[*T]) {
	for t := range ts {
		k.forget(db, cache, t)
	}
}

// clientChanged raises a client's epoch, and forgets a deleted client's
// cell. A reader that makes the cell again holds a view from before the
// delete, and the index check refuses it; the delete also deleted every
// token of the client, whose entries go with their own changes.
func (c *tokenCache) clientChanged(clientID string, index uint64, deleted bool) {
	v, ok := c.clients.Load(clientID)
	if !ok {
		return // no entry has this client
	}
	v.(*atomic.Uint64).Store(index)
	if deleted {
		c.clients.Delete(clientID)
	}
}

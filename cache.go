package oauthdb

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/oauthdb/oauthdb/store"
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
// moved since, checked and stored in one step per key (otter's Compute): a
// commit's own invalidations come after its index moved, so a view built
// from the state before a commit is either refused or deleted by it. A
// Replace (restore, resync) starts a new, empty cache.

// cacheKey is the SHA-256 of a presented token (see DB.cacheKey).
type cacheKey [sha256.Size]byte

// DefaultCacheEntries is the validation cache's bound, per kind of token,
// unless WithValidationCache says otherwise.
const DefaultCacheEntries = 1 << 20

// cacheEntry is one cached view of a token of type T, never modified once
// kept.
type cacheEntry[T any] struct {
	token   T
	user    User    // zero when the token has none
	session Session // zero when it has none, or it is dropped
	client  *OAuthClient
	// clientEpoch is the client's epoch cell and seen its epoch when the
	// entry was built.
	clientEpoch *atomic.Uint64
	seen        uint64
	// until is the instant, in Unix nanoseconds, from which the entry no
	// longer answers: the token's expiry, or its session's if sooner.
	until int64
}

// kindCache is the cache of one kind of token.
type kindCache[T any] struct {
	entries *otter.Cache[cacheKey, *cacheEntry[T]]
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
		access:  kindCache[OAuthAccessToken]{otter.Must(&otter.Options[cacheKey, *cacheEntry[OAuthAccessToken]]{MaximumSize: size})},
		refresh: kindCache[OAuthRefreshToken]{otter.Must(&otter.Options[cacheKey, *cacheEntry[OAuthRefreshToken]]{MaximumSize: size})},
		since:   since,
	}
}

// get returns the entry that answers for key at now, if there is one that
// is still good.
func (c *kindCache[T]) get(key cacheKey, now time.Time) *cacheEntry[T] {
	e, ok := c.entries.GetIfPresent(key)
	if !ok || now.UnixNano() >= e.until || e.clientEpoch.Load() != e.seen {
		return nil
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
	c.entries.Compute(key, func(old *cacheEntry[T], found bool) (*cacheEntry[T], otter.ComputeOp) {
		if st.Index() != index {
			return old, otter.CancelOp
		}
		return e, otter.WriteOp
	})
}

// clientCell returns the epoch cell of a client, making it if need be.
func (c *tokenCache) clientCell(clientID string) *atomic.Uint64 {
	if v, ok := c.clients.Load(clientID); ok {
		return v.(*atomic.Uint64)
	}
	v, _ := c.clients.LoadOrStore(clientID, new(atomic.Uint64))
	return v.(*atomic.Uint64)
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
	s := db.cacheStats.Snapshot()
	out := CacheStats{Hits: s.Hits, Misses: s.Misses}
	if c := db.cache.Load(); c != nil {
		out.Entries = c.access.entries.EstimatedSize() + c.refresh.entries.EstimatedSize()
	}
	return out
}

// committed is the DB's OnCommit: before Update returns, it invalidates
// what the commit made stale, then tells the subscribers (feed.go).
func (db *DB) committed(c store.Commit) {
	db.invalidate(c)
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
		if ch.Table == tableTokenDeath && ch.After != nil {
			// A replica's mark, which a shared mark can make alone.
			marked = append(marked, ch.After.(*tokenDeath).ID)
			continue
		}
		if ch.Before == nil {
			continue // an insert makes no cached answer wrong
		}
		switch ch.Table {
		case TableOAuthAccessToken:
			db.forget(cache, ch.Before)
		case TableOAuthRefreshToken:
			db.forget(cache, ch.Before)
		case TableOAuthClient:
			cache.clientChanged(ch.Before.(*OAuthClient).ClientID, c.Index, ch.After == nil)
		case TableUser, TableSession:
			if ch.After != nil {
				owners = append(owners, ch.After)
			}
		}
	}
	if len(owners) == 0 && len(marked) == 0 {
		return
	}
	// The owners' tokens as the commit left them: those that still refer
	// to them, which are all those a cached view can hold them for.
	_ = db.st.View(func(tx *store.Txn) error {
		for _, id := range marked {
			if id[0] == 'a' {
				if t, ok := accessTokens.Get(tx, id[1:]); ok {
					db.forget(cache, t)
				}
			} else if t, ok := refreshTokens.Get(tx, id[1:]); ok {
				db.forget(cache, t)
			}
		}
		for _, o := range owners {
			switch o := o.(type) {
			case *User:
				for t := range userAccessTokens.Get(tx, o) {
					db.forget(cache, t)
				}
				for t := range userRefreshTokens.Get(tx, o) {
					db.forget(cache, t)
				}
			case *Session:
				for t := range sessionAccessTokens.Get(tx, o) {
					db.forget(cache, t)
				}
				for t := range sessionRefreshTokens.Get(tx, o) {
					db.forget(cache, t)
				}
			}
		}
		return nil
	})
}

// forget deletes the entry of a stored token record.
func (db *DB) forget(cache *tokenCache, rec any) {
	switch t := rec.(type) {
	case *OAuthAccessToken:
		if k, ok := db.storedKey(t.Token); ok {
			cache.access.entries.Invalidate(k)
		}
	case *OAuthRefreshToken:
		if k, ok := db.storedKey(t.Token); ok {
			cache.refresh.entries.Invalidate(k)
		}
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

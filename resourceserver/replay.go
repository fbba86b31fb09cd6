package resourceserver

import (
	"crypto/sha256"
	"sync"
	"time"
)

// replayCache remembers the DPoP proofs it accepted, by key and jti, for
// as long as a proof is accepted at all, to refuse one presented again
// (RFC 9449 §11.1). Its memory is bounded: at most limit entries, and at
// most perKey of one key, so that the holder of one key cannot fill it
// with fresh jtis and have every other key's proofs refused. Each entry is
// kept for window from when it was reserved — past the last instant its
// proof's iat is accepted — so entries expire in the order they came, and
// a queue finds the expired ones.
type replayCache struct {
	limit, perKeyLimit int
	window             time.Duration

	mu     sync.Mutex
	seen   map[replayKey]time.Time // until when each is kept
	perKey map[string]int          // the live entries of each key, by thumbprint
	order  []replayEntry           // oldest first, from head
	head   int
}

// replayKey is a hash of a proof's key thumbprint and jti: a jti is unique
// per key, and the hash keeps an entry's size fixed.
type replayKey [sha256.Size]byte

// replayEntry is an entry of the queue: its key in seen, and the
// thumbprint whose count it is in perKey.
type replayEntry struct {
	key replayKey
	jkt string
}

// What reserve found.
const (
	replayNew     = iota // first seen: remembered
	replaySeen           // seen before, within the window
	replayFull           // not seen, but no room to remember it
	replayKeyFull        // not seen, but the key has used its share
)

func newReplayCache(limit, perKey int, window time.Duration) *replayCache {
	return &replayCache{limit: limit, perKeyLimit: perKey, window: window,
		seen: map[replayKey]time.Time{}, perKey: map[string]int{}}
}

// reserve remembers the proof of jti signed by the key jkt at now, and
// says whether it was seen before. When every entry is still live, or the
// key's share of them is, it refuses to forget one (that would let its
// replay through) and reports replayFull or replayKeyFull.
func (c *replayCache) reserve(jkt, jti string, now time.Time) int {
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var k replayKey
	h.Sum(k[:0])

	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if until, ok := c.seen[k]; ok && now.Before(until) {
		return replaySeen
	}
	if c.perKey[jkt] >= c.perKeyLimit {
		return replayKeyFull
	}
	if len(c.seen) >= c.limit {
		return replayFull
	}
	c.seen[k] = now.Add(c.window)
	c.perKey[jkt]++
	c.order = append(c.order, replayEntry{k, jkt})
	return replayNew
}

// expire forgets the entries whose window has passed, oldest first.
func (c *replayCache) expire(now time.Time) {
	for c.head < len(c.order) {
		e := c.order[c.head]
		if until, ok := c.seen[e.key]; ok && now.Before(until) {
			break
		}
		delete(c.seen, e.key)
		if n := c.perKey[e.jkt] - 1; n > 0 {
			c.perKey[e.jkt] = n
		} else {
			delete(c.perKey, e.jkt)
		}
		c.order[c.head] = replayEntry{}
		c.head++
	}
	// Compact the queue once its dead front is half of it.
	if c.head > 64 && c.head*2 >= len(c.order) {
		n := copy(c.order, c.order[c.head:])
		c.order = c.order[:n]
		c.head = 0
	}
}

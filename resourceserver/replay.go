package resourceserver

import (
	"crypto/sha256"
	"sync"
	"time"
)

// replayCache remembers the DPoP proofs it accepted, by key and jti, for
// as long as a proof is accepted at all, to refuse one presented again
// (RFC 9449 §11.1). Its memory is bounded: at most limit entries. Each
// entry is kept for window from when it was reserved — at least as long as
// its proof's iat is accepted — so entries expire in the order they came,
// and a queue finds the expired ones.
type replayCache struct {
	limit  int
	window time.Duration

	mu    sync.Mutex
	seen  map[replayKey]time.Time // until when each is kept
	order []replayKey             // oldest first, from head
	head  int
}

// replayKey is a hash of a proof's key thumbprint and jti: a jti is unique
// per key, and the hash keeps an entry's size fixed.
type replayKey [sha256.Size]byte

// What reserve found.
const (
	replayNew  = iota // first seen: remembered
	replaySeen        // seen before, within the window
	replayFull        // not seen, but no room to remember it
)

func newReplayCache(limit int, window time.Duration) *replayCache {
	return &replayCache{limit: limit, window: window, seen: map[replayKey]time.Time{}}
}

// reserve remembers the proof of jti signed by the key jkt at now, and
// says whether it was seen before. When every entry is still live it
// refuses to forget one (that would let its replay through) and reports
// replayFull.
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
	if len(c.seen) >= c.limit {
		return replayFull
	}
	c.seen[k] = now.Add(c.window)
	c.order = append(c.order, k)
	return replayNew
}

// expire forgets the entries whose window has passed, oldest first.
func (c *replayCache) expire(now time.Time) {
	for c.head < len(c.order) {
		k := c.order[c.head]
		if until, ok := c.seen[k]; ok && now.Before(until) {
			break
		}
		delete(c.seen, k)
		c.order[c.head] = replayKey{}
		c.head++
	}
	// Compact the queue once its dead front is half of it.
	if c.head > 64 && c.head*2 >= len(c.order) {
		n := copy(c.order, c.order[c.head:])
		c.order = c.order[:n]
		c.head = 0
	}
}

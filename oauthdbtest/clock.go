package oauthdbtest

import (
	"sync"
	"time"
)

// defaultStart is where New's clock starts unless WithStart says otherwise:
// a fixed instant, so that timestamps are the same on every run.
var defaultStart = time.Date(2026, time.January, 1, 9, 0, 0, 0, time.UTC)

// Clock is a fake clock. It stands still until the test moves it, so every
// timestamp a test sees is one it can predict. It is safe for concurrent use:
// the fake server reads it from its handlers while the test advances it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start until it is moved.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time. It is the function New passes to
// oauthdb.WithClock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (back, if d is negative) and returns
// the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

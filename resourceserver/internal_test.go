package resourceserver

import (
	"fmt"
	"testing"
	"time"
)

// TestNormalizeHTU: RFC 3986's syntax- and scheme-based normalizations,
// query and fragment dropped, and what is no htu refused.
func TestNormalizeHTU(t *testing.T) {
	for in, want := range map[string]string{
		"https://server.example.com/token":            "https://server.example.com/token",
		"HTTPS://Server.Example.COM/token":            "https://server.example.com/token",
		"https://server.example.com:443/token":        "https://server.example.com/token",
		"http://server.example.com:80/token":          "http://server.example.com/token",
		"http://server.example.com:443/token":         "http://server.example.com:443/token",
		"https://server.example.com:/token":           "https://server.example.com/token",
		"https://server.example.com":                  "https://server.example.com/",
		"https://server.example.com/a/./b/../c?q=1#f": "https://server.example.com/a/c",
		"https://server.example.com/%7euser/%2fx%2F":  "https://server.example.com/~user/%2Fx%2F",
		"https://server.example.com/a%2Db":            "https://server.example.com/a-b",
		"https://[::1]:443/x":                         "https://[::1]/x",
		"https://[::1]:8443/x":                        "https://[::1]:8443/x",
		"https://server.example.com/../../x":          "https://server.example.com/x",
		"https://server.example.com/a/..":             "https://server.example.com/",
	} {
		got, ok := normalizeHTU(in)
		if !ok || got != want {
			t.Errorf("normalizeHTU(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "/token", "ftp://server.example.com/x", "https://user:pw@server.example.com/",
		"mailto:a@b", "https://server.example.com/%zz", "https:///x", "\x00"} {
		if got, ok := normalizeHTU(in); ok {
			t.Errorf("normalizeHTU(%q) = %q, want a refusal", in, got)
		}
	}
}

// TestReplayCache: a jti is refused again within the window, taken again
// after it, and the cache never holds more than its limit — refusing a new
// proof rather than forgetting a live one.
func TestReplayCache(t *testing.T) {
	c := newReplayCache(3, 10, time.Minute) // no share of a key below the limit
	t0 := time.Unix(1_000_000, 0)
	for i, want := range []int{replayNew, replaySeen, replayNew, replayNew, replayFull} {
		jti := []string{"a", "a", "b", "c", "d"}[i]
		if got := c.reserve("key", jti, t0); got != want {
			t.Errorf("reserve %q: %d, want %d", jti, got, want)
		}
	}
	if got := c.reserve("other key", "a", t0); got != replayFull {
		t.Errorf("a jti of another key, full: %d", got)
	}
	later := t0.Add(time.Minute)
	if got := c.reserve("key", "a", later); got != replayNew {
		t.Errorf("after the window: %d, want new", got)
	}
	if len(c.seen) != 1 {
		t.Errorf("%d entries after the window passed, want 1", len(c.seen))
	}
	// Many proofs over a long time: the queue is compacted.
	c = newReplayCache(10, 10, time.Second)
	for i := range 10000 {
		if got := c.reserve("k", fmt.Sprint(i), t0.Add(time.Duration(i)*200*time.Millisecond)); got != replayNew {
			t.Fatalf("proof %d: %d", i, got)
		}
	}
	if len(c.seen) > 10 || cap(c.order) > 1000 {
		t.Errorf("%d entries, a queue of %d", len(c.seen), cap(c.order))
	}
}

// TestReplayCacheShareOfAKey: a key holds at most its share of the cache;
// past it, its new proofs are refused (replayKeyFull) and another key's are
// taken, and the key's count falls as its entries expire.
func TestReplayCacheShareOfAKey(t *testing.T) {
	c := newReplayCache(8, 2, time.Minute)
	t0 := time.Unix(1_000_000, 0)
	for i, want := range []int{replayNew, replayNew, replayKeyFull, replaySeen} {
		jti := []string{"a", "b", "c", "a"}[i]
		if got := c.reserve("flood", jti, t0); got != want {
			t.Errorf("the flooding key's %q: %d, want %d", jti, got, want)
		}
	}
	if got := c.reserve("other", "a", t0); got != replayNew {
		t.Errorf("another key's proof: %d, want new", got)
	}
	if got := c.reserve("flood", "c", t0.Add(time.Minute)); got != replayNew {
		t.Errorf("the flooding key once its entries expired: %d, want new", got)
	}
	if len(c.perKey) != 1 || c.perKey["flood"] != 1 {
		t.Errorf("counts per key after expiry: %v, want flood: 1", c.perKey)
	}
}

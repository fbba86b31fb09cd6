package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"

	"github.com/oauthdb/oauthdb"
)

// counter is a count that every request adds to. One atomic word shared by
// both cores would bounce its cache line between them on every request, so
// the count is split into stripes on cache lines of their own; an add picks
// a stripe at random (math/rand/v2's generator is per thread and takes no
// lock) and a scrape sums them.
type counter struct {
	stripes []stripe
	mask    uint32
}

type stripe struct {
	n atomic.Uint64
	_ [56]byte // the rest of the 64-byte cache line
}

func newCounter() *counter {
	// A power of two ≥ 4×GOMAXPROCS: with as many stripes as cores, two
	// cores picked the same stripe, and took its line from each other,
	// often enough to show in a profile.
	n := 1 << bits.Len(uint(max(4*runtime.GOMAXPROCS(0), 8)-1))
	n = min(n, 64)
	return &counter{stripes: make([]stripe, n), mask: uint32(n - 1)}
}

func (c *counter) inc() { c.stripes[rand.Uint32()&c.mask].n.Add(1) }

func (c *counter) load() uint64 {
	var sum uint64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}

// Why a token is inactive, as the label reason of
// oauthdb_introspections_total: each sentinel error of the root package a
// validation can return, then "other" for an error none of them is.
var inactiveReasons = []struct {
	label string
	err   error
}{
	{"malformed", oauthdb.ErrTokenMalformed},
	{"not_found", oauthdb.ErrTokenNotFound},
	{"expired", oauthdb.ErrTokenExpired},
	{"revoked", oauthdb.ErrTokenRevoked},
	{"wrong_client", oauthdb.ErrWrongClient},
	{"client_not_found", oauthdb.ErrClientNotFound},
	{"client_disabled", oauthdb.ErrClientDisabled},
	{"user_not_found", oauthdb.ErrUserNotFound},
	{"session_not_found", oauthdb.ErrSessionNotFound},
	{"session_expired", oauthdb.ErrSessionExpired},
	{"other", nil},
}

// reasonOf returns the index in inactiveReasons of why err says a token is
// inactive.
func reasonOf(err error) int {
	for i, r := range inactiveReasons {
		if r.err != nil && errors.Is(err, r.err) {
			return i
		}
	}
	return len(inactiveReasons) - 1
}

// Outcomes of client authentication at the introspection endpoint, as the
// label result of oauthdb_client_authentications_total.
const (
	authOK        = iota // a confidential client authenticated
	authMissing          // no credentials, or a client_id alone
	authMalformed        // an Authorization header that is not Basic credentials, or two methods at once
	authUnknown          // no such client
	authBadSecret        // a wrong or missing secret
	authDisabled         // the client is disabled
	authPublic           // a public client, which cannot introspect
	authStale            // a replica that cannot vouch for its rows (oauthdb.ErrStale)
	numAuth
)

var authLabels = [numAuth]string{"ok", "missing", "malformed", "unknown_client", "bad_secret", "disabled", "public", "stale"}

// The paths of oauthdb_http_requests_total, and the status codes it counts
// apart; other paths and codes are counted as "other".
var (
	metricPaths = []string{pathIntrospect, pathBetterAuthIntrospect, pathBasePathIntrospect, pathHealthz, pathMetrics, "other"}
	metricCodes = []int{200, 400, 401, 404, 405, 413, 500, 503, 0}
)

// metrics are the counters of a server. Each is made once, so that a
// scrape shows every series from the start, at 0 until it happens.
type metrics struct {
	active   [2]*counter // access, refresh
	inactive []*counter  // by inactiveReasons
	stale    *counter    // no answer: the replica is stale
	auth     [numAuth]*counter
	requests [][]*counter // by metricPaths, then metricCodes
}

func newMetrics() *metrics {
	m := &metrics{stale: newCounter()}
	for i := range m.active {
		m.active[i] = newCounter()
	}
	for range inactiveReasons {
		m.inactive = append(m.inactive, newCounter())
	}
	for i := range m.auth {
		m.auth[i] = newCounter()
	}
	for range metricPaths {
		row := make([]*counter, len(metricCodes))
		for j := range row {
			row[j] = newCounter()
		}
		m.requests = append(m.requests, row)
	}
	return m
}

// request counts one answered request.
func (m *metrics) request(path, code int) {
	j := len(metricCodes) - 1
	for i, c := range metricCodes[:j] {
		if c == code {
			j = i
			break
		}
	}
	m.requests[path][j].inc()
}

// pathIndex returns the index in metricPaths of a request's path.
func pathIndex(p string) int {
	for i, x := range metricPaths[:len(metricPaths)-1] {
		if x == p {
			return i
		}
	}
	return len(metricPaths) - 1
}

// expose writes the metrics in the Prometheus text exposition format,
// version 0.0.4: a HELP and a TYPE line per family, then one line per
// series.
func (m *metrics) expose(w io.Writer, src source, cache oauthdb.CacheStats) error {
	b := bufio.NewWriter(w)
	family := func(name, typ, help string) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name, labels string, v uint64) {
		b.WriteString(name)
		if labels != "" {
			b.WriteString("{" + labels + "}")
		}
		b.WriteString(" " + strconv.FormatUint(v, 10) + "\n")
	}

	family("oauthdb_introspections_total", "counter",
		"Introspections: active by token_type, inactive by the reason the store gave, stale when a replica could not vouch for its rows (503).")
	sample("oauthdb_introspections_total", `result="active",token_type="access_token"`, m.active[0].load())
	sample("oauthdb_introspections_total", `result="active",token_type="refresh_token"`, m.active[1].load())
	for i, r := range inactiveReasons {
		sample("oauthdb_introspections_total", `result="inactive",reason="`+r.label+`"`, m.inactive[i].load())
	}
	sample("oauthdb_introspections_total", `result="stale"`, m.stale.load())

	family("oauthdb_client_authentications_total", "counter",
		"Client authentications at the introspection endpoint, by result.")
	for i, l := range authLabels {
		sample("oauthdb_client_authentications_total", `result="`+l+`"`, m.auth[i].load())
	}

	family("oauthdb_http_requests_total", "counter", "HTTP requests answered, by path and status code.")
	for i, p := range metricPaths {
		for j, c := range metricCodes {
			code := "other"
			if c != 0 {
				code = strconv.Itoa(c)
			}
			sample("oauthdb_http_requests_total", `path="`+p+`",code="`+code+`"`, m.requests[i][j].load())
		}
	}

	family("oauthdb_cache_hits_total", "counter", "Token lookups the validation cache answered.")
	sample("oauthdb_cache_hits_total", "", cache.Hits)
	family("oauthdb_cache_misses_total", "counter", "Token lookups that went to the store.")
	sample("oauthdb_cache_misses_total", "", cache.Misses)
	family("oauthdb_cache_entries", "gauge", "Tokens the validation cache holds, about.")
	sample("oauthdb_cache_entries", "", uint64(cache.Entries))

	ready := uint64(0)
	if src.Ready() {
		ready = 1
	}
	family("oauthdb_ready", "gauge", "1 while introspection is answered, 0 before the data is loaded or while it is stale.")
	sample("oauthdb_ready", "", ready)

	rs, _ := src.Replica()
	family("oauthdb_replica_lag_seconds", "gauge", "How far the replica trails Postgres; 0 without a replica.")
	fmt.Fprintf(b, "oauthdb_replica_lag_seconds %s\n", strconv.FormatFloat(rs.Lag.Seconds(), 'g', -1, 64))
	family("oauthdb_replica_rows_applied_total", "counter", "Rows the replica applied; 0 without a replica.")
	sample("oauthdb_replica_rows_applied_total", "", rs.RowsApplied)
	family("oauthdb_replica_rows_refused_total", "counter", "Rows the replica could not apply and skipped; 0 without a replica.")
	sample("oauthdb_replica_rows_refused_total", "", rs.RowsRefused)
	family("oauthdb_replica_slot_retained_bytes", "gauge", "WAL the replica's replication slot holds on Postgres; 0 without a replica.")
	sample("oauthdb_replica_slot_retained_bytes", "", uint64(max(rs.SlotRetainedBytes, 0)))
	written := 0.0
	if !rs.StateWritten.IsZero() {
		written = float64(rs.StateWritten.UnixNano()) / 1e9
	}
	family("oauthdb_replica_state_written_timestamp_seconds", "gauge", "When the replica's state was last written to -state-dir; 0 without one.")
	fmt.Fprintf(b, "oauthdb_replica_state_written_timestamp_seconds %s\n", strconv.FormatFloat(written, 'f', -1, 64))
	return b.Flush()
}

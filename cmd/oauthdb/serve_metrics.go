package main

import (
	"errors"
	"strconv"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/authserver"
	"github.com/oauthdb/oauthdb/internal/stripe"
	"github.com/prometheus/client_golang/prometheus"
)

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

// authLabels are the label result of oauthdb_client_authentications_total,
// by authserver.AuthResult; a failure of the store (authserver.AuthFailed)
// is logged and answered 500, and has no series.
var authLabels = [authserver.AuthFailed]string{
	authserver.AuthOK:          "ok",
	authserver.AuthMissing:     "missing",
	authserver.AuthMalformed:   "malformed",
	authserver.AuthUnknown:     "unknown_client",
	authserver.AuthBadSecret:   "bad_secret",
	authserver.AuthDisabled:    "disabled",
	authserver.AuthPublic:      "public",
	authserver.AuthWrongMethod: "wrong_method",
	authserver.AuthStale:       "stale",
}

// The paths of oauthdb_http_requests_total, and the status codes it counts
// apart; other paths and codes are counted as "other".
var (
	metricPaths = []string{pathIntrospect, pathBetterAuthIntrospect, pathBasePathIntrospect, pathHealthz, pathLivez, pathReadyz, pathMetrics, "other"}
	metricCodes = []int{200, 400, 401, 404, 405, 413, 500, 503, 0}
)

// metrics are the counters of a server. Each is made once, so that a
// scrape shows every series from the start, at 0 until it happens.
type metrics struct {
	active   [2]*stripe.Counter // access, refresh
	inactive []*stripe.Counter  // by inactiveReasons
	stale    *stripe.Counter    // no answer: the replica is stale
	auth     [len(authLabels)]*stripe.Counter
	requests [][]*stripe.Counter // by metricPaths, then metricCodes
}

func newMetrics() *metrics {
	m := &metrics{stale: stripe.NewCounter()}
	for i := range m.active {
		m.active[i] = stripe.NewCounter()
	}
	for range inactiveReasons {
		m.inactive = append(m.inactive, stripe.NewCounter())
	}
	for i := range m.auth {
		m.auth[i] = stripe.NewCounter()
	}
	for range metricPaths {
		row := make([]*stripe.Counter, len(metricCodes))
		for j := range row {
			row[j] = stripe.NewCounter()
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
	m.requests[path][j].Add(1)
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

// ClientAuthenticated counts a client authentication at the introspection
// endpoint (authserver.Observer).
func (m *metrics) ClientAuthenticated(r authserver.AuthResult) {
	if int(r) < len(m.auth) {
		m.auth[r].Add(1)
	}
}

// Introspected counts an introspection's verdict (authserver.Observer).
func (m *metrics) Introspected(refresh bool, err error) {
	switch {
	case err == nil && refresh:
		m.active[1].Add(1)
	case err == nil:
		m.active[0].Add(1)
	case errors.Is(err, oauthdb.ErrStale):
		m.stale.Add(1)
	default:
		m.inactive[reasonOf(err)].Add(1)
	}
}

// collector exposes a server's metrics to Prometheus: the counters above,
// read at scrape time so that the hot path adds to its striped counters
// and nothing else, and what the DB and the source report of themselves.
//
// It describes no metric up front (an "unchecked" collector): the series
// of oauthdb_introspections_total keep the labels they have always had,
// which differ between results (token_type for active ones, reason for
// inactive ones), and a checked collector's family takes one set of label
// names.
type collector struct {
	m   *metrics
	src source
	// introspections are the series of oauthdb_introspections_total, each
	// with its labels as constant labels, and its counter.
	introspections []constSeries
}

type constSeries struct {
	desc *prometheus.Desc
	n    *stripe.Counter
}

func newCollector(m *metrics, src source) *collector {
	c := &collector{m: m, src: src}
	add := func(n *stripe.Counter, labels prometheus.Labels) {
		const help = "Introspections: active by token_type, inactive by the reason the store gave, stale when a replica could not vouch for its rows (503)."
		c.introspections = append(c.introspections,
			constSeries{prometheus.NewDesc("oauthdb_introspections_total", help, nil, labels), n})
	}
	add(m.active[0], prometheus.Labels{"result": "active", "token_type": "access_token"})
	add(m.active[1], prometheus.Labels{"result": "active", "token_type": "refresh_token"})
	for i, r := range inactiveReasons {
		add(m.inactive[i], prometheus.Labels{"result": "inactive", "reason": r.label})
	}
	add(m.stale, prometheus.Labels{"result": "stale"})
	return c
}

// The families, each described once with its help.
var (
	descAuthentications = prometheus.NewDesc("oauthdb_client_authentications_total",
		"Client authentications at the introspection endpoint, by result.", []string{"result"}, nil)
	descRequests = prometheus.NewDesc("oauthdb_http_requests_total",
		"HTTP requests answered, by path and status code.", []string{"path", "code"}, nil)
	descCacheHits = prometheus.NewDesc("oauthdb_cache_hits_total",
		"Token lookups the validation cache answered.", nil, nil)
	descCacheMisses = prometheus.NewDesc("oauthdb_cache_misses_total",
		"Token lookups that went to the store.", nil, nil)
	descCacheEntries = prometheus.NewDesc("oauthdb_cache_entries",
		"Tokens the validation cache holds, about.", nil, nil)
	descReady = prometheus.NewDesc("oauthdb_ready",
		"1 while introspection is answered, 0 before the data is loaded or while it is stale.", nil, nil)
	descReplicaLag = prometheus.NewDesc("oauthdb_replica_lag_seconds",
		"How far the replica trails Postgres; 0 without a replica.", nil, nil)
	descRowsApplied = prometheus.NewDesc("oauthdb_replica_rows_applied_total",
		"Rows the replica applied; 0 without a replica.", nil, nil)
	descRowsRefused = prometheus.NewDesc("oauthdb_replica_rows_refused_total",
		"Rows the replica could not apply and skipped; 0 without a replica.", nil, nil)
	descSlotRetained = prometheus.NewDesc("oauthdb_replica_slot_retained_bytes",
		"WAL the replica's replication slot holds on Postgres; 0 without a replica.", nil, nil)
	descStateWritten = prometheus.NewDesc("oauthdb_replica_state_written_timestamp_seconds",
		"When the replica's state was last written to -state-dir; 0 without one.", nil, nil)
)

// Describe describes nothing: see collector.
func (c *collector) Describe(chan<- *prometheus.Desc) {}

// Collect reads every series now.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	m := c.m
	for _, s := range c.introspections {
		counter(s.desc, s.n.Load())
	}
	for i, l := range authLabels {
		counter(descAuthentications, m.auth[i].Load(), l)
	}
	for i, p := range metricPaths {
		for j, code := range metricCodes {
			label := "other"
			if code != 0 {
				label = strconv.Itoa(code)
			}
			counter(descRequests, m.requests[i][j].Load(), p, label)
		}
	}
	cache := c.src.DB().CacheStats()
	counter(descCacheHits, cache.Hits)
	counter(descCacheMisses, cache.Misses)
	gauge(descCacheEntries, float64(cache.Entries))
	ready := 0.0
	if c.src.Ready() {
		ready = 1
	}
	gauge(descReady, ready)
	rs, _ := c.src.Replica()
	gauge(descReplicaLag, rs.Lag.Seconds())
	counter(descRowsApplied, rs.RowsApplied)
	counter(descRowsRefused, rs.RowsRefused)
	gauge(descSlotRetained, float64(max(rs.SlotRetainedBytes, 0)))
	written := 0.0
	if !rs.StateWritten.IsZero() {
		written = float64(rs.StateWritten.UnixNano()) / 1e9
	}
	gauge(descStateWritten, written)
}

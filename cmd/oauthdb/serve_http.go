package main

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/oauthdb/oauthdb/internal/authserver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The server's paths. Introspection answers at its own path and at
// better-auth's, with and without better-auth's default base path, so that
// a service configured for better-auth needs only a new host.
const (
	pathIntrospect           = "/introspect"
	pathBetterAuthIntrospect = "/oauth2/introspect"
	pathBasePathIntrospect   = "/api/auth/oauth2/introspect"
	pathHealthz              = "/healthz"
	pathLivez                = "/livez"
	pathReadyz               = "/readyz"
	pathMetrics              = "/metrics"
)

// Header values, shared by every response rather than built for each:
// net/http only reads them.
var (
	hdrJSON     = []string{"application/json"}
	hdrNoStore  = []string{"no-store"}
	hdrAllowGet = []string{"GET, HEAD"}
)

// server answers introspection, health checks and metrics from a source.
type server struct {
	src     source
	m       *metrics
	log     *slog.Logger
	intro   *authserver.Introspection
	metrics http.Handler // the registry's, in the Prometheus formats
}

func newServer(src source, issuer string, log *slog.Logger) *server {
	s := &server{src: src, m: newMetrics(), log: log}
	s.intro = authserver.NewIntrospection(src.DB(), authserver.IntrospectionConfig{
		Issuer: issuer, Realm: "oauthdb", Ready: src.Ready, Observer: s.m, Log: log})
	// A registry of the process's own, not the global one: what a library
	// linked in registers there is none of serve's business.
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(s.m, src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
	return s
}

// ServeHTTP routes by path, and counts every answer by path and status.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var code int
	switch r.URL.Path {
	case pathIntrospect, pathBetterAuthIntrospect, pathBasePathIntrospect:
		code = s.intro.Serve(w, r)
	case pathHealthz:
		code = s.healthz(w, r)
	case pathLivez:
		code = s.livez(w, r)
	case pathReadyz:
		code = s.readyz(w, r)
	case pathMetrics:
		code = s.serveMetrics(w, r)
	default:
		code = http.StatusNotFound
		http.NotFound(w, r)
	}
	s.m.request(pathIndex(r.URL.Path), code)
}

// probe answers a GET or HEAD of a health endpoint with status and the
// JSON of body; any other method gets 405.
func probe(w http.ResponseWriter, r *http.Request, status int, body any) int {
	h := w.Header()
	h["Cache-Control"] = hdrNoStore
	h["Content-Type"] = hdrJSON
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h["Allow"] = hdrAllowGet
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"the endpoint takes GET"}`))
		return http.StatusMethodNotAllowed
	}
	b, _ := json.Marshal(body) // plain fields: cannot fail
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return status
}

// livez answers 200 while the process serves HTTP at all: a liveness
// probe that fails means the process should be restarted. It says nothing
// of the data, so that a replica that is stale, or still loading, is not
// killed for it — restarting would only load it again.
func (s *server) livez(w http.ResponseWriter, r *http.Request) int {
	return probe(w, r, http.StatusOK, struct {
		Live bool `json:"live"`
	}{true})
}

// readyz answers 200 when introspection would be answered now — the data
// is loaded and, for a replica, fresh — and 503 otherwise: a readiness
// probe that fails takes the instance out of a load balancer until it
// passes again, without restarting it.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) int {
	status, ready := http.StatusOK, s.src.Ready()
	if !ready {
		status = http.StatusServiceUnavailable
	}
	return probe(w, r, status, struct {
		Ready bool `json:"ready"`
	}{ready})
}

// healthz answers as readyz does, with what the server knows of its
// freshness: with a replica, whether it is loaded, its lag, its position
// in Postgres' WAL and its rows.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) int {
	type replica struct {
		Loaded      bool    `json:"loaded"`
		LagSeconds  float64 `json:"lagSeconds"`
		AppliedLSN  string  `json:"appliedLSN"`
		RowsApplied uint64  `json:"rowsApplied"`
		RowsRefused uint64  `json:"rowsRefused"`
	}
	var body struct {
		Ready   bool     `json:"ready"`
		Replica *replica `json:"replica,omitempty"`
	}
	body.Ready = s.src.Ready()
	if rs, ok := s.src.Replica(); ok {
		body.Replica = &replica{rs.Loaded, rs.Lag.Seconds(), rs.AppliedLSN.String(), rs.RowsApplied, rs.RowsRefused}
	}
	status := http.StatusOK
	if !body.Ready {
		status = http.StatusServiceUnavailable
	}
	return probe(w, r, status, body)
}

// serveMetrics answers the metrics in the format the scraper asks for
// (the Prometheus text format by default).
func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request) int {
	h := w.Header()
	h["Cache-Control"] = hdrNoStore
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h["Allow"] = hdrAllowGet
		h["Content-Type"] = hdrJSON
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"the metrics endpoint takes GET"}`))
		return http.StatusMethodNotAllowed
	}
	// With ContinueOnError, promhttp answers 200 with what it could
	// gather, and logs the rest.
	s.metrics.ServeHTTP(w, r)
	return http.StatusOK
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/oauthdb/oauthdb"
)

// The server's paths. Introspection answers at its own path and at
// better-auth's, with and without better-auth's default base path, so that
// a service configured for better-auth needs only a new host.
const (
	pathIntrospect           = "/introspect"
	pathBetterAuthIntrospect = "/oauth2/introspect"
	pathBasePathIntrospect   = "/api/auth/oauth2/introspect"
	pathHealthz              = "/healthz"
	pathMetrics              = "/metrics"
)

// maxBodyBytes bounds a request's body: an introspection request is a
// token (at most oauthdb.MaxTokenLength) and a few short parameters.
const maxBodyBytes = 64 << 10

// Header values, shared by every response rather than built for each:
// net/http only reads them.
var (
	hdrJSON       = []string{"application/json"}
	hdrNoStore    = []string{"no-store"}
	hdrNoCache    = []string{"no-cache"}
	hdrAllowPost  = []string{http.MethodPost}
	hdrAllowGet   = []string{"GET, HEAD"}
	hdrRetryAfter = []string{"1"}
	hdrBasic      = []string{`Basic realm="oauthdb", charset="UTF-8"`}
	hdrMetrics    = []string{"text/plain; version=0.0.4; charset=utf-8"}
)

// server answers introspection, health checks and metrics from a source.
type server struct {
	src    source
	db     *oauthdb.DB
	issuer string
	m      *metrics
	log    *slog.Logger
	bufs   sync.Pool // *[]byte: request bodies, then answers
}

func newServer(src source, issuer string, log *slog.Logger) *server {
	s := &server{src: src, db: src.DB(), issuer: issuer, m: newMetrics(), log: log}
	s.bufs.New = func() any { b := make([]byte, 0, 2048); return &b }
	return s
}

// ServeHTTP routes by path, and counts every answer by path and status.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var code int
	switch r.URL.Path {
	case pathIntrospect, pathBetterAuthIntrospect, pathBasePathIntrospect:
		code = s.introspect(w, r)
	case pathHealthz:
		code = s.healthz(w, r)
	case pathMetrics:
		code = s.metrics(w, r)
	default:
		code = http.StatusNotFound
		http.NotFound(w, r)
	}
	s.m.request(pathIndex(r.URL.Path), code)
}

// introspect serves RFC 7662 token introspection for an authenticated
// confidential client, of the tokens issued to it, and returns the status
// it answered.
func (s *server) introspect(w http.ResponseWriter, r *http.Request) int {
	h := w.Header()
	h["Cache-Control"], h["Pragma"] = hdrNoStore, hdrNoCache
	if r.Method != http.MethodPost {
		h["Allow"] = hdrAllowPost
		return s.fail(w, http.StatusMethodNotAllowed, "invalid_request", "the introspection endpoint takes POST")
	}
	if !s.src.Ready() {
		// Fail closed: an answer from data that is not loaded, or stale,
		// could call a revoked token active.
		return s.unavailable(w)
	}
	if !formContentType(r.Header.Get("Content-Type")) {
		return s.fail(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.putBuf(bp)
	body, err := readBody(w, r, (*bp)[:0])
	*bp = body
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return s.fail(w, http.StatusRequestEntityTooLarge, "invalid_request", "the body is larger than 64 KiB")
	case err != nil:
		return s.fail(w, http.StatusBadRequest, "invalid_request", "the body could not be read")
	}
	var f introspectForm
	if err := parseIntrospectForm(body, &f); err != nil {
		return s.fail(w, http.StatusBadRequest, "invalid_request", err.Error())
	}
	caller, status, desc := s.authenticate(r, &f)
	if status != 0 {
		code := "invalid_client"
		switch status {
		case http.StatusServiceUnavailable:
			return s.unavailable(w)
		case http.StatusUnauthorized:
			h["Www-Authenticate"] = hdrBasic
		case http.StatusBadRequest:
			code = "invalid_request"
		case http.StatusInternalServerError:
			code = "server_error"
		}
		return s.fail(w, status, code, desc)
	}
	// better-auth takes a token sent with its scheme, as some clients send it.
	token := strings.TrimPrefix(f.token, "Bearer ")
	if token == "" {
		return s.fail(w, http.StatusBadRequest, "invalid_request", "token is required")
	}
	answer, err := s.answer(body[:0], token, f.hint, caller)
	*bp = answer
	if errors.Is(err, oauthdb.ErrStale) {
		return s.unavailable(w)
	}
	if err != nil {
		// Not a reason for a token to be inactive: a fault of the store.
		// The error names no token (the root package's rule).
		s.log.Error("introspection failed", "err", err)
		desc := "introspection failed"
		if errors.Is(err, errPairwise) {
			desc = "pairwise subject identifiers are not supported here"
		}
		return s.fail(w, http.StatusInternalServerError, "server_error", desc)
	}
	h["Content-Type"] = hdrJSON
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(answer)
	return http.StatusOK
}

// answer appends the introspection answer for token, as the client caller
// sees it. The hint says which kind to look for first (RFC 7662 §2.1); a
// token not found as that kind is looked for as the other. A token found
// but inactive is not looked for again: its hash names one record.
func (s *server) answer(b []byte, token, hint, caller string) ([]byte, error) {
	refreshFirst := hint == "refresh_token" // any other hint, known or not, leaves the usual order
	var err error
	for i := range 2 {
		if (i == 0) != refreshFirst {
			var info oauthdb.AccessTokenInfo
			if info, err = s.db.IntrospectAccessToken(token, caller); err == nil {
				if pairwise(&info.Client, info.User.ID) {
					return b, errPairwise
				}
				s.m.active[0].inc()
				return appendAccessAnswer(b, &info, s.issuer), nil
			}
		} else {
			var info oauthdb.RefreshTokenInfo
			if info, err = s.db.IntrospectRefreshToken(token, caller); err == nil {
				if pairwise(&info.Client, info.User.ID) {
					return b, errPairwise
				}
				s.m.active[1].inc()
				return appendRefreshAnswer(b, &info, s.issuer), nil
			}
		}
		if !errors.Is(err, oauthdb.ErrTokenNotFound) {
			break
		}
	}
	if errors.Is(err, oauthdb.ErrStale) {
		// A replica that cannot vouch for its rows: no answer, rather than
		// an inactive one that the caller would take for a revocation.
		s.m.stale.inc()
		return b, err
	}
	if _, ok := errors.AsType[*oauthdb.TokenError](err); !ok {
		return b, err
	}
	s.m.inactive[reasonOf(err)].inc()
	return append(b, inactiveAnswer...), nil
}

// errPairwise refuses to answer for a token of a client with pairwise
// subject identifiers: better-auth then answers sub as an HMAC of the
// client's sector and the user's ID under its pairwiseSecret, which serve
// does not have. Answering the user's own ID instead would tell the client
// what pairwise identifiers exist to hide, so serve fails closed.
var errPairwise = errors.New("the token's client has pairwise subject identifiers (subjectType pairwise), which serve cannot compute")

func pairwise(c *oauthdb.OAuthClient, user string) bool {
	return c.SubjectType == "pairwise" && user != ""
}

// authenticate authenticates the client of an introspection request by
// client_secret_basic or client_secret_post (RFC 6749 §2.3.1). It returns
// the client's clientId, or an error status and its description. The
// descriptions do not say whether a client exists, nor anything of the
// secret.
func (s *server) authenticate(r *http.Request, f *introspectForm) (string, int, string) {
	const failed = "client authentication failed"
	var id, secret string
	switch {
	case r.Header.Get("Authorization") != "":
		user, pass, ok := r.BasicAuth()
		if !ok {
			s.m.auth[authMalformed].inc()
			return "", http.StatusUnauthorized, "the Authorization header must hold Basic credentials"
		}
		// The id and secret are form-encoded before they are joined
		// (RFC 6749 §2.3.1).
		var ok1, ok2 bool
		id, ok1 = unescapeString(user)
		secret, ok2 = unescapeString(pass)
		if !ok1 || !ok2 {
			s.m.auth[authMalformed].inc()
			return "", http.StatusUnauthorized, "the Basic credentials have a malformed %-escape"
		}
		if f.hasSecret {
			s.m.auth[authMalformed].inc()
			return "", http.StatusBadRequest, "the client used two authentication methods: Basic and client_secret"
		}
		if f.hasClientID && f.clientID != id {
			s.m.auth[authMalformed].inc()
			return "", http.StatusBadRequest, "client_id differs from the Basic credentials"
		}
	case f.clientID != "":
		id, secret = f.clientID, f.clientSecret
	}
	if id == "" {
		s.m.auth[authMissing].inc()
		return "", http.StatusUnauthorized, "missing client credentials"
	}
	c, err := s.db.AuthenticateClient(id, secret)
	switch {
	case err == nil && secret == "":
		// Only a public client authenticates with no secret.
		s.m.auth[authPublic].inc()
		return "", http.StatusUnauthorized, "a public client cannot introspect tokens"
	case err == nil:
		s.m.auth[authOK].inc()
		return c.ClientID, 0, ""
	case errors.Is(err, oauthdb.ErrNotFound):
		s.m.auth[authUnknown].inc()
	case errors.Is(err, oauthdb.ErrBadSecret):
		s.m.auth[authBadSecret].inc()
	case errors.Is(err, oauthdb.ErrClientDisabled):
		s.m.auth[authDisabled].inc()
	case errors.Is(err, oauthdb.ErrStale):
		s.m.auth[authStale].inc()
		return "", http.StatusServiceUnavailable, ""
	default:
		s.log.Error("client authentication failed", "err", err)
		return "", http.StatusInternalServerError, "client authentication failed"
	}
	return "", http.StatusUnauthorized, failed
}

// readBody reads a request's body into buf, at most maxBodyBytes of it.
func readBody(w http.ResponseWriter, r *http.Request, buf []byte) ([]byte, error) {
	if r.ContentLength > maxBodyBytes {
		return buf, &http.MaxBytesError{Limit: maxBodyBytes}
	}
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// putBuf gives a buffer back to the pool, unless a large body grew it:
// the pool keeps only buffers of the usual size.
func (s *server) putBuf(bp *[]byte) {
	if cap(*bp) <= 16<<10 {
		*bp = (*bp)[:0]
		s.bufs.Put(bp)
	}
}

// unavailable answers 503: the source is not ready, or the replica is
// stale (oauthdb.ErrStale). The caller should retry, or fall back to
// better-auth; it must not take the token for inactive.
func (s *server) unavailable(w http.ResponseWriter) int {
	w.Header()["Retry-After"] = hdrRetryAfter
	return s.fail(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the token data is not loaded, or is not fresh")
}

// fail writes an OAuth error answer (RFC 6749 §5.2) and returns its status.
func (s *server) fail(w http.ResponseWriter, status int, code, description string) int {
	var buf [256]byte
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	_, _ = w.Write(appendError(buf[:0], code, description))
	return status
}

// healthz answers 200 while the server answers introspection, 503 before
// its data is loaded and while it is stale, with what it knows of its
// freshness.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) int {
	h := w.Header()
	h["Cache-Control"] = hdrNoStore
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h["Allow"] = hdrAllowGet
		return s.fail(w, http.StatusMethodNotAllowed, "invalid_request", "the health endpoint takes GET")
	}
	type replica struct {
		Loaded      bool    `json:"loaded"`
		LagSeconds  float64 `json:"lagSeconds"`
		RowsApplied uint64  `json:"rowsApplied"`
		RowsRefused uint64  `json:"rowsRefused"`
	}
	var body struct {
		Ready   bool     `json:"ready"`
		Replica *replica `json:"replica,omitempty"`
	}
	body.Ready = s.src.Ready()
	if rs, ok := s.src.Replica(); ok {
		body.Replica = &replica{rs.Loaded, rs.Lag.Seconds(), rs.RowsApplied, rs.RowsRefused}
	}
	status := http.StatusOK
	if !body.Ready {
		status = http.StatusServiceUnavailable
	}
	b, _ := json.Marshal(body) // plain fields: cannot fail
	h["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return status
}

// metrics answers the Prometheus text exposition of the server's metrics.
func (s *server) metrics(w http.ResponseWriter, r *http.Request) int {
	h := w.Header()
	h["Cache-Control"] = hdrNoStore
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h["Allow"] = hdrAllowGet
		return s.fail(w, http.StatusMethodNotAllowed, "invalid_request", "the metrics endpoint takes GET")
	}
	var b bytes.Buffer
	_ = s.m.expose(&b, s.src, s.db.CacheStats()) // a bytes.Buffer does not fail
	h["Content-Type"] = hdrMetrics
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return http.StatusOK
}

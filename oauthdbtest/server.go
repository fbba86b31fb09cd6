package oauthdbtest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/authserver"
	"github.com/oauthdb/oauthdb/resourceserver"
	"golang.org/x/oauth2"
)

// The fake server's endpoints, relative to its URL.
const (
	PathAuthorize           = "/authorize"
	PathToken               = "/token"
	PathIntrospect          = "/introspect"
	PathRevoke              = "/revoke"
	PathMetadata            = "/.well-known/oauth-authorization-server"
	PathOpenIDConfiguration = "/.well-known/openid-configuration"
	PathJWKS                = "/jwks"
	PathUserInfo            = "/userinfo"
	PathEndSession          = "/end-session"
)

// endpoints are the server's paths, for InjectFault to check.
var endpoints = []string{
	PathAuthorize, PathToken, PathIntrospect, PathRevoke, PathMetadata,
	PathOpenIDConfiguration, PathJWKS, PathUserInfo, PathEndSession,
}

// Server is a fake OAuth 2.1 authorization server and OpenID provider over
// a DB, on httptest.Server (embedded: URL, Client and Close are its). It
// keeps its state in the DB as better-auth's oauth-provider plugin does —
// tokens in oauthAccessToken and oauthRefreshToken, pending authorization
// codes in verification, consents in oauthConsent, sessions in session —
// so that a test can drive it with a real client and check the DB after
// each step.
//
// It serves:
//
//   - PathToken: the token endpoint (RFC 6749 §3.2) for the grants
//     client_credentials (for the client's clientCredentialsScopes),
//     refresh_token (rotating a refresh token granted offline_access, with
//     replay detection: oauthdb.DB.Refresh) and authorization_code (with
//     PKCE, S256 only), each answering as better-auth 1.7.29 does; a DPoP
//     proof (RFC 9449 §5, checked by package resourceserver) binds the
//     tokens to its key, and a bound refresh token, a code asked for with
//     dpop_jkt or a client with dpopBoundAccessTokens needs one;
//   - PathIntrospect: token introspection (RFC 7662), for an authenticated
//     client, of the tokens issued to it;
//   - PathRevoke: token revocation (RFC 7009), with token_type_hint;
//   - PathMetadata and PathOpenIDConfiguration: one metadata document,
//     RFC 8414's and OpenID Connect Discovery 1.0's;
//   - PathJWKS: the public keys that sign id_tokens (see RotateKey);
//   - PathUserInfo: the UserInfo endpoint, to a bearer access token that
//     the DB validates;
//   - PathEndSession: RP-initiated logout, which deletes the session;
//   - PathAuthorize: the authorization endpoint. There is no login page: the
//     user signed in is the one LoginAs names, and their consent is given
//     at once (see Authorize).
//
// Clients authenticate with client_secret_basic or client_secret_post, their
// stored secret being oauthdb.HashSecret of the secret; a public client (one
// marked public, or authenticating with "none") sends its client_id alone.
// Authentication is oauthdb.DB.AuthenticateClient's. Errors are RFC 6749 §5.2
// JSON objects, {"error": ..., "error_description": ...}.
//
// # OpenID Connect
//
// A grant of the scope openid comes with an id_token — from the
// authorization code, and from each refresh that keeps openid — signed by
// the server's key: RS256, which every relying party accepts on its
// defaults, or Ed25519 (EdDSA) as better-auth's jwt plugin signs, with
// WithSigningAlgorithm(EdDSA). It holds iss (the server's URL), sub (the
// user's ID), aud (the client's clientId), iat and exp on the DB's clock,
// auth_time (the session's createdAt), nonce (the authorization request's;
// none on a refresh, as OpenID Connect Core §12.2 advises), at_hash, sid
// (the session's ID, while the grant has one; better-auth sends it only to
// clients with enableEndSession) and the user's claims that the scopes
// release: name, given_name, family_name and picture for profile, email and
// email_verified for email, read from the user's row. WithClaims adds or
// overrides claims of id_tokens and userinfo responses.
//
// # The clock a relying party reads
//
// iat and exp are on the DB's clock, which New starts at a fixed instant
// (2026-01-01 09:00 UTC) so that a test's timestamps are the same on every
// run. A relying party checks them against its own clock, by default the
// wall clock, and refuses an id_token whose exp has passed there. Either
// give the relying party the DB's clock —
//
//   - go-oidc: oidc.Config{Now: fx.Clock.Now};
//   - zitadel/oidc: rp.WithVerifierOpts(rp.WithIssuedAtOffset(fx.Clock.Now().Sub(time.Now())));
//   - openid-client: the client metadata's [client.clockSkew], the DB's
//     clock less the wall clock in seconds —
//
// or start the DB's clock at the wall clock: oauthdbtest.New(t,
// oauthdbtest.WithStart(time.Now())). When the server signs an id_token
// that has already expired by the wall clock, it says so in the test's log,
// once, with these ways out: a relying party's "token is expired" then
// comes with what to set.
//
// # Faults and recorded requests
//
// InjectFault makes the next requests to an endpoint fail with an OAuth
// error, or answer slowly, until the test ends. Requests returns what the
// server received, secrets masked, for assertions on what a client sent.
//
// # Where it differs
//
// An authorization code presented a second time is refused with
// invalid_grant, and every token issued with it, or descended from those by
// rotation, is revoked (RFC 6749 §4.1.2, as better-auth does): its access
// tokens deleted, its refresh tokens marked revoked, as oauthdb's own
// revocation does (better-auth deletes those too). A refresh token presented
// after its rotation is refused and its family revoked, by
// oauthdb.DB.RotateRefreshToken (better-auth deletes the family). Revoking a
// refresh token that is revoked already answers 200 and changes nothing
// (RFC 7009 §2.2), where better-auth answers 400 and, for its owner, deletes
// its family.
//
// Where better-auth's behaviour and the RFCs differ, the fake follows the
// RFCs: a wrong PKCE verifier is invalid_grant (RFC 7636 §4.6), a userinfo
// request without openid is 403 insufficient_scope (RFC 6750 §3.1), and any
// other refused request changes nothing in the DB — a code survives a wrong
// verifier. Everything it knows is in the DB: the tokens of a code carry
// its hash (authorizationCodeId) and the refresh tokens when the user signed
// in (authTime), so a second Server over the same DB knows the first one's
// codes.
type Server struct {
	*httptest.Server
	db   *oauthdb.DB
	t    testing.TB
	cfg  serverConfig
	stop chan struct{} // closed when the test ends, to cut injected delays short

	introspection *authserver.Introspection // PathIntrospect, once the URL is known
	rs            *resourceserver.Verifier  // checks the access tokens of PathUserInfo
	userInfo      http.Handler              // PathUserInfo behind rs

	mu       sync.Mutex
	login    oauthdb.Session     // who is signed in at PathAuthorize
	keys     []*signingKey       // published at PathJWKS; keys[0] signs
	warned   bool                // the clock hint is logged (idToken)
	faults   map[string][]*fault // by path, in the order they are met
	requests []Request           // as received, secrets masked
}

// NewServer starts a fake authorization server over db and closes it when
// the test ends. Its options choose the signing algorithm, the id_token
// lifetime and the claims hooks; a bad one fails the test.
func NewServer(t testing.TB, db *oauthdb.DB, opts ...ServerOption) *Server {
	t.Helper()
	cfg := defaultServerConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.badOption != "" {
		t.Fatalf("oauthdbtest: NewServer: %s", cfg.badOption)
	}
	key, err := newSigningKey(cfg.alg, true)
	if err != nil {
		t.Fatalf("oauthdbtest: NewServer: %v", err)
	}
	s := &Server{
		db:     db,
		t:      t,
		cfg:    cfg,
		stop:   make(chan struct{}),
		keys:   []*signingKey{key},
		faults: map[string][]*fault{},
	}
	s.rs, err = resourceserver.New(db, resourceserver.Config{Realm: "oauthdbtest"})
	if err != nil {
		t.Fatalf("oauthdbtest: NewServer: %v", err)
	}
	s.userInfo = s.rs.RequireScopes("openid")(http.HandlerFunc(s.userInfoClaims))
	mux := http.NewServeMux()
	mux.HandleFunc(PathAuthorize, s.handleAuthorize)
	mux.Handle(PathToken, endpoint(s.handleToken))
	mux.HandleFunc(PathIntrospect, s.handleIntrospect)
	mux.Handle(PathRevoke, endpoint(s.handleRevoke))
	mux.HandleFunc(PathMetadata, s.handleMetadata)
	mux.HandleFunc(PathOpenIDConfiguration, s.handleMetadata)
	mux.HandleFunc(PathJWKS, s.handleJWKS)
	mux.HandleFunc(PathUserInfo, s.handleUserInfo)
	mux.Handle(PathEndSession, endpoint(s.handleEndSession))
	s.Server = httptest.NewServer(s.front(mux))
	s.introspection = authserver.NewIntrospection(db, authserver.IntrospectionConfig{
		Issuer: s.URL, Realm: "oauthdbtest", Log: slog.New(testLogHandler{t})})
	t.Cleanup(func() {
		close(s.stop)
		s.Close()
	})
	return s
}

// front is what every request passes before its endpoint: it is recorded,
// then meets the fault injected for its path, if any.
func (s *Server) front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, ok := s.record(w, r)
		if !ok {
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		f := s.takeFault(r.URL.Path)
		if f == nil || !s.meetFault(sw, r, r.URL.Path, f) {
			next.ServeHTTP(sw, r)
		}
		s.setStatus(i, sw.status, f)
	})
}

// Issuer returns the server's issuer identifier: its URL.
func (s *Server) Issuer() string { return s.URL }

// Endpoint returns the server's endpoints for golang.org/x/oauth2, with
// client_secret_basic authentication; set AuthStyle to
// oauth2.AuthStyleInParams for client_secret_post.
func (s *Server) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:   s.URL + PathAuthorize,
		TokenURL:  s.URL + PathToken,
		AuthStyle: oauth2.AuthStyleInHeader,
	}
}

// LoginAs signs in, at PathAuthorize, the user of session sess through
// sess: the user whose codes /authorize issues, until LoginAs is called
// again. The zero Session signs out; then /authorize redirects with the
// error login_required.
func (s *Server) LoginAs(sess oauthdb.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.login = sess
}

// oauthError is an error response of RFC 6749 §5.2.
type oauthError struct {
	status      int
	code        string
	description string
}

// Error formats the error as "code: description".
func (e *oauthError) Error() string { return e.code + ": " + e.description }

// errInvalidRequest: a parameter is missing, repeated or malformed (400).
func errInvalidRequest(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", desc}
}

// errInvalidClient: the client failed to authenticate (401).
func errInvalidClient(desc string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", desc}
}

// errInvalidGrant: the code or refresh token is invalid, expired,
// revoked, or another client's (400).
func errInvalidGrant(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", desc}
}

// errUnauthorizedClient: the client may not use this grant type (400).
func errUnauthorizedClient(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "unauthorized_client", desc}
}

// errInvalidDPoPProof: a DPoP proof is missing, malformed, replayed or of
// the wrong key (400, RFC 9449 §5.1).
func errInvalidDPoPProof(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_dpop_proof", desc}
}

// errInvalidScope: a scope the client may not have (400).
func errInvalidScope(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_scope", desc}
}

// serverError reports an error the fake server did not expect — a bug in
// it, or a DB that refused a write — to the test, and answers server_error.
func (s *Server) serverError(err error) *oauthError {
	s.t.Errorf("oauthdbtest: fake server: %v", err)
	return &oauthError{http.StatusInternalServerError, "server_error", "the fake server failed; see the test's log"}
}

// enabledClient returns the client with the public clientId clientID if it
// exists and is enabled: what a request that names a client without
// authenticating it (authorization, logout) checks first.
func (s *Server) enabledClient(clientID string) (oauthdb.OAuthClient, *oauthError) {
	var c oauthdb.OAuthClient
	err := s.db.View(func(tx *oauthdb.Tx) error {
		var err error
		c, err = tx.ClientByClientID(clientID)
		return err
	})
	switch {
	case errors.Is(err, oauthdb.ErrNotFound):
		return c, &oauthError{http.StatusBadRequest, "invalid_client", "unknown client"}
	case err != nil:
		return c, s.serverError(err)
	case c.Disabled:
		return c, &oauthError{http.StatusBadRequest, "invalid_client", "the client is disabled"}
	}
	return c, nil
}

// writeJSON writes a JSON response that no cache may keep.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// endpoint is a handler that answers a refusal by returning it: ServeHTTP
// writes it (writeError).
type endpoint func(w http.ResponseWriter, r *http.Request) *oauthError

// ServeHTTP serves the request, writing the handler's refusal if it made
// one.
func (h endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e := h(w, r); e != nil {
		writeError(w, e)
	}
}

// writeError writes an error response; a 401 says, as HTTP requires, which
// authentication scheme to use, and a 503 when to retry.
func writeError(w http.ResponseWriter, e *oauthError) {
	switch e.status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", authserver.BasicChallenge("oauthdbtest"))
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

// parseForm reads a POSTed form as RFC 6749 §3.2 wants it: a POST, form
// encoded, each parameter at most once.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "the endpoint takes POST"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest("the body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return nil, errInvalidRequest("malformed form body")
	}
	if e := checkRepeats(r.PostForm); e != nil {
		return nil, e
	}
	return r.PostForm, nil
}

// checkRepeats refuses a parameter sent twice (RFC 6749 §3.1, §3.2).
func checkRepeats(v url.Values) *oauthError {
	for k, vs := range v {
		if len(vs) > 1 {
			return errInvalidRequest("parameter " + k + " is repeated")
		}
	}
	return nil
}

// authenticate authenticates the client of a request to the token,
// introspection or revocation endpoint (RFC 6749 §2.3) as oauthdb serve
// does (authserver.AuthenticateClient): the same methods, refusals and
// errors. A failure of the store fails the test.
func (s *Server) authenticate(r *http.Request, form url.Values) (authserver.Client, *oauthError) {
	creds := authserver.Credentials{ClientID: form.Get("client_id"), ClientSecret: form.Get("client_secret")}
	c, result, e := authserver.AuthenticateClient(s.db, r.Header, creds, false)
	if result == authserver.AuthFailed {
		return authserver.Client{}, s.serverError(e.Cause)
	}
	if e != nil {
		return authserver.Client{}, &oauthError{e.Status, e.Code, e.Description}
	}
	return c, nil
}

// allowsGrant reports whether a client may use a grant type: one of its
// grantTypes, or any if it lists none.
func allowsGrant(c oauthdb.OAuthClient, grant string) bool {
	return len(c.GrantTypes) == 0 || slices.Contains(c.GrantTypes, grant)
}

// scopeList splits a scope parameter, dropping repeats.
func scopeList(scope string) []string {
	var out []string
	for _, s := range strings.Fields(scope) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// testLogHandler sends a log record to the test's log: an error the
// shared introspection endpoint logs (a failing store) is a failure of the
// fake server, and fails the test; a warning is only logged.
type testLogHandler struct{ t testing.TB }

func (h testLogHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h testLogHandler) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	if r.Level >= slog.LevelError {
		h.t.Errorf("oauthdbtest: fake server: %s", msg)
	} else {
		h.t.Logf("oauthdbtest: fake server: %s", msg)
	}
	return nil
}
func (h testLogHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h testLogHandler) WithGroup(string) slog.Handler      { return h }

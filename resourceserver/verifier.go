package resourceserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oauthdb/oauthdb"
)

// Config configures a Verifier. The zero Config is the usual one: the
// token in the Authorization header only, DPoP with better-auth's defaults.
type Config struct {
	// Realm, if set, is the realm of the challenges (RFC 6750 §3).
	Realm string

	// FormBody also takes the token from an access_token parameter of a
	// form-encoded body (RFC 6750 §2.2); Query, from the URL's query
	// (§2.3), which RFC 6750 advises against: URLs end up in logs. Both are
	// off by default. A token sent two ways is refused.
	FormBody, Query bool

	// PublicURL is the scheme, host and any path prefix under which clients
	// reach this service, for the htu of DPoP proofs: the request's path is
	// appended to it. Set it behind a proxy that terminates TLS or rewrites
	// the host; by default it is the request's own, http or https by
	// whether the connection is TLS, and its Host header.
	PublicURL string

	// DPoPAlgorithms are the JWS algorithms a DPoP proof may be signed
	// with: asymmetric ones only (EdDSA, ES256/384/512, PS256/384/512,
	// RS256/384/512); none and the HMAC family are refused by New. The
	// default is all of those.
	DPoPAlgorithms []string
	// DPoPMaxAge is how old a proof's iat may be; the default is 5 minutes,
	// better-auth's. A proof's iat may be ahead of the DB's clock by
	// DPoPClockSkew, 5 seconds by default.
	DPoPMaxAge, DPoPClockSkew time.Duration
	// DPoPReplayEntries bounds the proofs remembered to refuse a replayed
	// jti, each for DPoPMaxAge + DPoPClockSkew + 1 s (past the last instant
	// its iat is accepted); the default is 65536, about 8 MiB. When every
	// entry is live, a new proof is answered 503 rather than let a replay
	// through.
	DPoPReplayEntries int
	// DPoPReplayEntriesPerKey bounds the entries of one DPoP key, so that
	// the holder of one key cannot fill the cache with fresh jtis and have
	// every other key's proofs answered 503: past its share, only that
	// key's new proofs are, until its own entries expire. The default is a
	// sixteenth of DPoPReplayEntries (4096: 13 proofs a second for 5
	// minutes), at least 1; it is at most DPoPReplayEntries.
	DPoPReplayEntriesPerKey int

	// RetryAfter is what a 503 asks the client to wait; 1 second by
	// default.
	RetryAfter time.Duration

	// Logger receives the failures of the store (never a token or a
	// proof); slog.Default() when nil.
	Logger *slog.Logger
}

// supportedAlgorithms are the asymmetric JWS algorithms go-jose verifies.
var supportedAlgorithms = []string{"EdDSA", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"}

// Verifier checks the access tokens of requests against a DB.
type Verifier struct {
	db         *oauthdb.DB
	cfg        Config
	log        *slog.Logger
	algs       string // the accepted DPoP algorithms, space-separated
	joseAlgs   []jose.SignatureAlgorithm
	publicURL  string // cfg.PublicURL, normalized, without a trailing slash
	retryAfter string
	replay     *replayCache
}

// New returns a Verifier of the access tokens in db. It fails only on a
// Config that cannot be: an algorithm that is not asymmetric, a negative
// duration, a PublicURL that is not an http or https URL.
func New(db *oauthdb.DB, cfg Config) (*Verifier, error) {
	if db == nil {
		return nil, errors.New("resourceserver: New: nil DB")
	}
	if cfg.DPoPAlgorithms == nil {
		cfg.DPoPAlgorithms = supportedAlgorithms
	}
	if len(cfg.DPoPAlgorithms) == 0 {
		return nil, errors.New("resourceserver: Config.DPoPAlgorithms is empty: a DPoP-bound token could never be used")
	}
	for _, a := range cfg.DPoPAlgorithms {
		if !slices.Contains(supportedAlgorithms, a) {
			return nil, fmt.Errorf("resourceserver: Config.DPoPAlgorithms: %q is not an asymmetric JWS algorithm (one of %s)",
				a, strings.Join(supportedAlgorithms, " "))
		}
	}
	if cfg.DPoPMaxAge < 0 || cfg.DPoPClockSkew < 0 || cfg.RetryAfter < 0 || cfg.DPoPReplayEntries < 0 || cfg.DPoPReplayEntriesPerKey < 0 {
		return nil, errors.New("resourceserver: Config: a negative duration or size")
	}
	if cfg.DPoPMaxAge == 0 {
		cfg.DPoPMaxAge = 5 * time.Minute
	}
	if cfg.DPoPClockSkew == 0 {
		cfg.DPoPClockSkew = 5 * time.Second
	}
	if cfg.DPoPReplayEntries == 0 {
		cfg.DPoPReplayEntries = 1 << 16
	}
	if cfg.DPoPReplayEntriesPerKey == 0 {
		cfg.DPoPReplayEntriesPerKey = max(1, cfg.DPoPReplayEntries/16)
	}
	cfg.DPoPReplayEntriesPerKey = min(cfg.DPoPReplayEntriesPerKey, cfg.DPoPReplayEntries)
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = time.Second
	}
	if strings.ContainsAny(cfg.Realm, "\"\\") {
		return nil, errors.New(`resourceserver: Config.Realm holds '"' or '\'`)
	}
	v := &Verifier{db: db, cfg: cfg, log: cfg.Logger, algs: strings.Join(cfg.DPoPAlgorithms, " "),
		retryAfter: strconv.Itoa(max(1, int((cfg.RetryAfter+time.Second-1)/time.Second))),
		// An entry outlives by a second the last instant its proof is
		// accepted (iat at most now + skew, accepted until iat + max
		// age), as better-auth keeps its replays until iat + max age + 1 s.
		replay: newReplayCache(cfg.DPoPReplayEntries, cfg.DPoPReplayEntriesPerKey,
			cfg.DPoPMaxAge+cfg.DPoPClockSkew+time.Second)}
	for _, a := range cfg.DPoPAlgorithms {
		v.joseAlgs = append(v.joseAlgs, jose.SignatureAlgorithm(a))
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	if cfg.PublicURL != "" {
		u, ok := normalizeHTU(cfg.PublicURL)
		if !ok {
			return nil, errors.New("resourceserver: Config.PublicURL is not an http or https URL")
		}
		v.publicURL = strings.TrimSuffix(u, "/")
	}
	return v, nil
}

// Token is an access token a Verifier accepted: its record, client, user
// and session (oauthdb.AccessTokenInfo: read from one snapshot of the DB),
// and how it was presented.
type Token struct {
	oauthdb.AccessTokenInfo
	// Scheme is "Bearer" or "DPoP".
	Scheme string
	// DPoPThumbprint is the thumbprint of the key the token is bound to
	// (cnf.jkt), whose proof the request carried; empty for a bearer
	// token.
	DPoPThumbprint string

	fromQuery bool // the token came in the URL (Config.Query)
}

// HasScopes reports whether the token was granted every one of scopes.
func (t *Token) HasScopes(scopes ...string) bool {
	for _, s := range scopes {
		if !slices.Contains(t.Token.Scopes, s) {
			return false
		}
	}
	return true
}

type contextKey struct{}

// NewContext returns a context holding tok, as the middleware passes it to
// the handler; a handler's test uses it to stand in for the middleware.
func NewContext(ctx context.Context, tok *Token) context.Context {
	return context.WithValue(ctx, contextKey{}, tok)
}

// FromContext returns the token the middleware accepted for the request
// whose context ctx is, and false outside the middleware. The token is
// the request's: read it, do not change it.
func FromContext(ctx context.Context) (*Token, bool) {
	tok, ok := ctx.Value(contextKey{}).(*Token)
	return tok, ok
}

// Middleware lets a request through to next only with an active access
// token (and, for a token bound to a key, its DPoP proof), which next
// reads with FromContext; it answers any other request itself (see the
// package documentation).
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return v.RequireScopes()(next)
}

// RequireScopes returns middleware that lets a request through only with
// an access token granted every one of scopes: Middleware's checks, then
// 403 insufficient_scope naming the scopes needed. Behind Middleware (or
// another RequireScopes) it checks the scopes of the token already
// accepted. Scopes must be RFC 6749 scope-tokens; another value panics, as
// a bad pattern does in http.ServeMux.
func (v *Verifier) RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	for _, s := range scopes {
		if !scopeToken(s) {
			panic(fmt.Sprintf("resourceserver: RequireScopes: %q is not a scope-token (RFC 6749 §3.3)", s))
		}
	}
	need := strings.Join(scopes, " ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := FromContext(r.Context())
			if !ok {
				var err error
				if tok, err = v.Authenticate(r); err != nil {
					v.WriteError(w, err)
					return
				}
				if tok.fromQuery {
					// RFC 6750 §2.3: an answer to a URL holding a token
					// must not be kept by a shared cache.
					w.Header().Set("Cache-Control", "private")
				}
				r = r.WithContext(NewContext(r.Context(), tok))
			}
			if !tok.HasScopes(scopes...) {
				v.WriteError(w, &Error{Status: http.StatusForbidden, Code: ErrorInsufficientScope,
					Description: "the access token lacks a scope this resource needs", Scope: need,
					DPoP: tok.Scheme == schemeDPoP})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// scopeToken reports whether s is an RFC 6749 §3.3 scope-token.
func scopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Authenticate checks the access token of r, and its DPoP proof if the
// token is bound to a key, and returns it. A refusal is an *Error saying
// how to answer (WriteError writes it). It is Middleware without the
// net/http plumbing, for other transports.
func (v *Verifier) Authenticate(r *http.Request) (*Token, error) {
	cred, e := v.credentials(r)
	if e != nil {
		return nil, e
	}
	dpop := cred.scheme == schemeDPoP
	info, err := v.db.ValidateAccessToken(cred.token)
	if err != nil {
		return nil, v.refusal(err, dpop)
	}
	tok := &Token{AccessTokenInfo: info, Scheme: cred.scheme, fromQuery: cred.fromQuery}
	jkt := oauthdb.DPoPThumbprint(info.Token.Confirmation)
	switch {
	case jkt == "" && dpop:
		return nil, invalidToken("the DPoP scheme was used with an access token bound to no DPoP key", true, nil)
	case jkt == "":
		return tok, nil
	case !dpop:
		// Without its proof a DPoP-bound token would be a bearer token
		// again: whoever stole it could use it.
		return nil, invalidToken("the access token is bound to a DPoP key: present it with the DPoP scheme and a proof", true, nil)
	}
	if _, e := v.checkProof(r, cred.token, jkt); e != nil {
		return nil, e
	}
	tok.DPoPThumbprint = jkt
	return tok, nil
}

// refusal is the answer to a token the DB did not accept.
func (v *Verifier) refusal(err error, dpop bool) *Error {
	if errors.Is(err, oauthdb.ErrStale) {
		// A replica that cannot vouch for its rows knows nothing of the
		// token either way: a 401 would tell the client it was revoked.
		return unavailable("the token data is not fresh enough to vouch for the access token now", err)
	}
	if _, ok := errors.AsType[*oauthdb.TokenError](err); ok {
		desc := "the access token is not active"
		switch {
		case errors.Is(err, oauthdb.ErrTokenExpired):
			desc = "the access token expired"
		case errors.Is(err, oauthdb.ErrTokenMalformed):
			desc = "the access token is malformed"
		}
		return invalidToken(desc, dpop, err)
	}
	v.log.Error("resourceserver: validating an access token failed", "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: ErrorServer,
		Description: "the access token could not be checked", Err: err}
}

// requestURL is the URL the client called, for the htu of a DPoP proof:
// PublicURL and the request's path, or the request's own scheme, host and
// path.
func (v *Verifier) requestURL(r *http.Request) string {
	path := r.URL.EscapedPath()
	if v.publicURL != "" {
		return v.publicURL + path
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

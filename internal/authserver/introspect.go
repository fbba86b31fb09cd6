package authserver

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/oauthdb/oauthdb"
)

// maxBodyBytes bounds an introspection request's body: a token (at most
// oauthdb.MaxTokenLength) and a few short parameters.
const maxBodyBytes = 64 << 10

// An Observer is told how each introspection request went, to count it.
// Its methods are called on the request's goroutine and must be cheap.
type Observer interface {
	// ClientAuthenticated is told how the caller's authentication ended.
	ClientAuthenticated(AuthResult)
	// Introspected is told the verdict on a token of an authenticated
	// caller: err nil for an active token (refresh says which kind), an
	// *oauthdb.TokenError for an inactive one, oauthdb.ErrStale when the
	// replica could not vouch for its rows.
	Introspected(refresh bool, err error)
}

// Introspection is the token introspection endpoint (RFC 7662) over a DB,
// answering as better-auth 1.7's /oauth2/introspect does:
//
//   - the caller is a confidential client authenticated by
//     client_secret_basic or client_secret_post (AuthenticateClient); a
//     public client is refused 401 invalid_client;
//   - token, and token_type_hint: the hinted kind is looked up first, then
//     the other (RFC 7662 §2.1; better-auth answers inactive when the hint
//     misses); a token sent with its scheme ("Bearer …", "DPoP …") is
//     taken without it, as better-auth takes it;
//   - an active access token's answer is active, iss, aud (its resources,
//     and the UserInfo endpoint with openid), client_id, azp, sub, sid,
//     exp, iat, scope, token_type (DPoP for a token bound to a DPoP key,
//     else Bearer) and cnf; a refresh token's the same without aud and
//     azp; sub and sid are left out when the token has none;
//   - an inactive token, an unknown one, or another client's is
//     {"active":false} and nothing else;
//   - a token of a client with pairwise subject identifiers is refused
//     500 server_error: better-auth would answer a sub computed under its
//     pairwiseSecret, which oauthdb does not hold, and the user's own ID
//     would defeat the point;
//   - when Ready says no, or the DB is a replica that cannot vouch for its
//     rows (oauthdb.ErrStale), 503 temporarily_unavailable with
//     Retry-After: never an inactive answer, which a caller would take for
//     a revocation.
//
// Every answer is Cache-Control: no-store; errors are RFC 6749 §5.2 JSON.
type Introspection struct {
	db        *oauthdb.DB
	issuer    string
	challenge []string // WWW-Authenticate of a 401
	ready     func() bool
	observer  Observer
	log       *slog.Logger
	bufs      sync.Pool // *[]byte: request bodies, then answers
}

// IntrospectionConfig configures NewIntrospection.
type IntrospectionConfig struct {
	// Issuer is the iss of the answers: better-auth's is its baseURL,
	// unless its jwt plugin sets one.
	Issuer string
	// Realm is the realm of the Basic challenge of a 401.
	Realm string
	// Ready, if set, is asked first on every request: false answers 503.
	// It must be cheap (an atomic load).
	Ready func() bool
	// Observer, if set, is told how each request went.
	Observer Observer
	// Log receives the store's failures (never a token or a secret); nil
	// discards them.
	Log *slog.Logger
}

// NewIntrospection returns the introspection endpoint over db.
func NewIntrospection(db *oauthdb.DB, cfg IntrospectionConfig) *Introspection {
	in := &Introspection{db: db, issuer: cfg.Issuer, challenge: []string{BasicChallenge(cfg.Realm)},
		ready: cfg.Ready, observer: cfg.Observer, log: cfg.Log}
	if in.observer == nil {
		in.observer = noObserver{}
	}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	in.bufs.New = func() any { b := make([]byte, 0, 2048); return &b }
	return in
}

type noObserver struct{}

func (noObserver) ClientAuthenticated(AuthResult) {}
func (noObserver) Introspected(bool, error)       {}

// ServeHTTP answers an introspection request.
func (in *Introspection) ServeHTTP(w http.ResponseWriter, r *http.Request) { in.Serve(w, r) }

// Serve answers an introspection request and returns the status it
// answered with.
func (in *Introspection) Serve(w http.ResponseWriter, r *http.Request) int {
	h := w.Header()
	h["Cache-Control"], h["Pragma"] = hdrNoStore, hdrNoCache
	if r.Method != http.MethodPost {
		h["Allow"] = hdrAllowPost
		return in.fail(w, &Error{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "the introspection endpoint takes POST"})
	}
	if in.ready != nil && !in.ready() {
		// Fail closed: an answer from data that is not loaded, or stale,
		// could call a revoked token active.
		return in.fail(w, errUnavailable)
	}
	if !formContentType(r.Header.Get("Content-Type")) {
		return in.fail(w, invalidRequest("the body must be application/x-www-form-urlencoded"))
	}
	bp := in.bufs.Get().(*[]byte)
	defer in.putBuf(bp)
	body, err := readBody(w, r, (*bp)[:0])
	*bp = body
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return in.fail(w, &Error{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request", Description: "the body is larger than 64 KiB"})
	case err != nil:
		return in.fail(w, invalidRequest("the body could not be read"))
	}
	var f introspectForm
	if err := parseIntrospectForm(body, &f); err != nil {
		return in.fail(w, invalidRequest(err.Error()))
	}
	caller, result, e := AuthenticateClient(in.db, r.Header, Credentials{f.clientID, f.clientSecret}, true)
	in.observer.ClientAuthenticated(result)
	if e != nil {
		if e.Cause != nil {
			in.log.Error("client authentication failed", "err", e.Cause)
		}
		return in.fail(w, e)
	}
	token := stripScheme(f.token)
	if token == "" {
		return in.fail(w, invalidRequest("token is required"))
	}
	answer, err := in.answer(body[:0], token, f.hint, &caller.Record)
	*bp = answer
	switch {
	case errors.Is(err, oauthdb.ErrStale):
		return in.fail(w, errUnavailable)
	case errors.Is(err, errPairwise):
		in.log.Warn("introspection refused", "err", err)
		return in.fail(w, serverError("pairwise subject identifiers are not supported here", err))
	case err != nil:
		// Not a reason for a token to be inactive: a fault of the store.
		// The error names no token (the root package's rule).
		in.log.Error("introspection failed", "err", err)
		return in.fail(w, serverError("introspection failed", err))
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
func (in *Introspection) answer(b []byte, token, hint string, caller *oauthdb.OAuthClient) ([]byte, error) {
	refresh := hint == "refresh_token" // any other hint, known or not, leaves the usual order
	out, err := in.lookup(b, token, refresh, caller)
	if errors.Is(err, oauthdb.ErrTokenNotFound) {
		refresh = !refresh
		out, err = in.lookup(b, token, refresh, caller)
	}
	if err == nil {
		in.observer.Introspected(refresh, nil)
		return out, nil
	}
	if errors.Is(err, errPairwise) {
		return b, err
	}
	if errors.Is(err, oauthdb.ErrStale) {
		// A replica that cannot vouch for its rows: no answer, rather than
		// an inactive one that the caller would take for a revocation.
		in.observer.Introspected(refresh, oauthdb.ErrStale)
		return b, err
	}
	if _, ok := errors.AsType[*oauthdb.TokenError](err); !ok {
		return b, err
	}
	in.observer.Introspected(refresh, err)
	return append(b, inactiveAnswer...), nil
}

// lookup appends the answer for token as a refresh token if refresh, else
// as an access token, when it is active for caller.
func (in *Introspection) lookup(b []byte, token string, refresh bool, caller *oauthdb.OAuthClient) ([]byte, error) {
	if refresh {
		info, err := in.db.IntrospectRefreshToken(token, caller.ClientID)
		if err != nil {
			return b, err
		}
		if pairwise(&info.Client, info.User.ID) {
			return b, errPairwise
		}
		return appendRefreshAnswer(b, &info, in.issuer), nil
	}
	info, err := in.db.IntrospectAccessToken(token, caller.ClientID)
	if err != nil {
		return b, err
	}
	if pairwise(&info.Client, info.User.ID) {
		return b, errPairwise
	}
	return appendAccessAnswer(b, &info, in.issuer), nil
}

// errPairwise refuses to answer for a token of a client with pairwise
// subject identifiers: better-auth then answers sub as an HMAC of the
// client's sector and the user's ID under its pairwiseSecret, which oauthdb
// does not have. Answering the user's own ID instead would tell the client
// what pairwise identifiers exist to hide, so the answer fails closed.
var errPairwise = errors.New("the token's client has pairwise subject identifiers (subjectType pairwise), which cannot be computed here")

func pairwise(c *oauthdb.OAuthClient, user string) bool {
	return c.SubjectType == "pairwise" && user != ""
}

// stripScheme takes a token sent with its scheme ("Bearer x", "DPoP x", in
// any case), as some clients send it and better-auth accepts it, without
// it.
func stripScheme(token string) string {
	scheme, rest, ok := strings.Cut(token, " ")
	if ok && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "DPoP")) {
		return strings.TrimLeft(rest, " ")
	}
	return token
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
func (in *Introspection) putBuf(bp *[]byte) {
	if cap(*bp) <= 16<<10 {
		*bp = (*bp)[:0]
		in.bufs.Put(bp)
	}
}

func (in *Introspection) fail(w http.ResponseWriter, e *Error) int {
	return writeError(w, e, in.challenge)
}

package resourceserver_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"github.com/oauthdb/oauthdb/resourceserver"
)

// world is a DB with a user, a session and a client, and a service behind
// the middleware on a real HTTP server: GET and POST /api need read, /admin
// needs read and write. Its handler answers the token it was given.
type world struct {
	fx     *oauthdbtest.Fixtures
	rs     *resourceserver.Verifier
	srv    *httptest.Server
	client oauthdb.OAuthClient
	sess   oauthdb.Session
	log    *syncBuffer
	key    *ecdsa.PrivateKey // the client's DPoP key
	jkt    string            // its thumbprint
	seen   []string          // every token and proof sent, to look for in the log
}

func newWorld(t *testing.T, db *oauthdb.DB, fx *oauthdbtest.Fixtures, cfg resourceserver.Config) *world {
	t.Helper()
	w := &world{fx: fx, log: &syncBuffer{}}
	cfg.Logger = slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	if w.rs, err = resourceserver.New(db, cfg); err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		tok, ok := resourceserver.FromContext(r.Context())
		if !ok {
			http.Error(rw, "no token in the context", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(rw).Encode(map[string]any{"user": tok.User.ID, "client": tok.Client.ClientID,
			"scheme": tok.Scheme, "jkt": tok.DPoPThumbprint, "scopes": tok.Token.Scopes})
	})
	mux := http.NewServeMux()
	mux.Handle("/api", w.rs.RequireScopes("read")(api))
	mux.Handle("/admin", w.rs.Middleware(w.rs.RequireScopes("read", "write")(api)))
	w.srv = httptest.NewUnstartedServer(mux)
	w.srv.Config.MaxHeaderBytes = 4 << 20 // let a 1 MB header reach the middleware
	w.srv.Start()
	t.Cleanup(w.srv.Close)
	t.Cleanup(func() {
		for _, s := range w.seen {
			if len(s) > 8 && strings.Contains(w.log.String(), s) {
				t.Errorf("the log holds a token or a proof the requests sent:\n%s", w.log)
			}
		}
	})
	u := fx.User()
	w.sess = fx.Session(u)
	w.client = fx.Client()
	if w.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	w.jkt = thumbprint(t, &w.key.PublicKey)
	return w
}

func newFixtureWorld(t *testing.T, cfg resourceserver.Config) *world {
	fx := oauthdbtest.New(t)
	return newWorld(t, fx.DB, fx, cfg)
}

func thumbprint(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

// bound issues an access token bound to the world's DPoP key.
func (w *world) bound(opts ...oauthdbtest.FixtureOption) string {
	opts = append(opts, oauthdbtest.Edit(func(a *oauthdb.OAuthAccessToken) {
		a.Confirmation = json.RawMessage(`{"jkt":"` + w.jkt + `"}`)
	}))
	tok, _ := w.fx.AccessToken(w.client, w.sess, opts...)
	return tok
}

// proof is what a DPoP proof says, and how it is signed.
type proof struct {
	key     any // signs; the world's by default
	jwk     any // the public key in the header; key's by default
	alg     jose.SignatureAlgorithm
	typ     string
	jti     string
	htm     string
	htu     string
	iat     any // a time.Time, or any JSON value
	ath     string
	noATH   bool
	private bool // put the private key in the jwk header
}

// sign builds a DPoP proof with go-jose, as a client would.
func (w *world) sign(t *testing.T, token string, p proof) string {
	t.Helper()
	if p.key == nil {
		p.key = w.key
	}
	if p.alg == "" {
		p.alg = jose.ES256
	}
	if p.typ == "" {
		p.typ = "dpop+jwt"
	}
	if p.jti == "" {
		p.jti = rand.Text()
	}
	if p.htm == "" {
		p.htm = http.MethodGet
	}
	if p.htu == "" {
		p.htu = w.srv.URL + "/api"
	}
	if p.iat == nil {
		p.iat = w.fx.Clock.Now()
	}
	if at, ok := p.iat.(time.Time); ok {
		p.iat = at.Unix()
	}
	if p.ath == "" {
		sum := sha256.Sum256([]byte(token))
		p.ath = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	claims := map[string]any{"jti": p.jti, "htm": p.htm, "htu": p.htu, "iat": p.iat, "ath": p.ath}
	if p.noATH {
		delete(claims, "ath")
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: p.jwk}
	switch {
	case p.private:
		jwk.Key = p.key
	case p.jwk == nil:
		jwk.Key = p.key.(crypto.Signer).Public()
	}
	opts := (&jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"jwk": jwk}}).WithType(jose.ContentType(p.typ))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: p.alg, Key: p.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// answer is what the server answered.
type answer struct {
	status     int
	challenges []string
	header     http.Header
	body       map[string]any
}

// call sends a request to path with the given headers, each a name and a
// value, as many times as given.
func (w *world) call(t *testing.T, method, path string, body io.Reader, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
		w.seen = append(w.seen, headers[i+1])
	}
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, challenges: resp.Header.Values("WWW-Authenticate"), header: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: %d, a body that is not JSON: %q", method, path, resp.StatusCode, raw)
	}
	return a
}

// want checks an answer's status and challenges, each a prefix.
func (a answer) want(t *testing.T, name string, status int, challenges ...string) {
	t.Helper()
	ok := a.status == status && len(a.challenges) == len(challenges)
	for i := 0; ok && i < len(challenges); i++ {
		ok = strings.HasPrefix(a.challenges[i], challenges[i])
	}
	if !ok {
		t.Errorf("%s: %d %q %v, want %d %q", name, a.status, a.challenges, a.body, status, challenges)
	}
}

const algs = `algs="EdDSA ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512"`

// TestBearer: the middleware in front of a handler, driven with real
// requests bearing tokens of every state; each answer's status and
// challenge.
func TestBearer(t *testing.T) {
	w := newFixtureWorld(t, resourceserver.Config{Realm: "api"})
	read, _ := w.fx.AccessToken(w.client, w.sess, oauthdbtest.Scopes("read"))
	both, _ := w.fx.AccessToken(w.client, w.sess, oauthdbtest.Scopes("read", "write"))
	expired, _ := w.fx.AccessToken(w.client, w.sess, oauthdbtest.Scopes("read"), oauthdbtest.Expired())
	revoked, _ := w.fx.AccessToken(w.client, w.sess, oauthdbtest.Scopes("read"))
	w.fx.RevokeAccessToken(revoked)

	got := w.call(t, http.MethodGet, "/api", nil, "Authorization", "Bearer "+read)
	got.want(t, "an active token", 200)
	if got.body["user"] != w.sess.UserID || got.body["client"] != w.client.ClientID || got.body["scheme"] != "Bearer" {
		t.Errorf("the handler saw %v", got.body)
	}
	w.call(t, http.MethodGet, "/api", nil, "Authorization", "bearer  "+read).want(t, "the scheme in lower case", 200)
	w.call(t, http.MethodGet, "/admin", nil, "Authorization", "Bearer "+both).want(t, "both scopes", 200)

	tests := []struct {
		name      string
		path      string
		headers   []string
		status    int
		challenge []string
	}{
		{"no token", "/api", nil, 401, []string{`Bearer realm="api"`, `DPoP realm="api", ` + algs}},
		{"another scheme", "/api", []string{"Authorization", "Basic YTpi"}, 401, []string{`Bearer realm="api"`, `DPoP realm="api"`}},
		{"a scheme without a token", "/api", []string{"Authorization", "Bearer"}, 401,
			[]string{`Bearer realm="api", error="invalid_token", error_description="no access token after the scheme"`}},
		{"a token with a space", "/api", []string{"Authorization", "Bearer a b"}, 401,
			[]string{`Bearer realm="api", error="invalid_token", error_description="the access token is malformed"`}},
		{"two Authorization headers", "/api", []string{"Authorization", "Bearer " + read, "Authorization", "Bearer " + read}, 400,
			[]string{`Bearer realm="api", error="invalid_request", error_description="the Authorization header is repeated"`}},
		{"an unknown token", "/api", []string{"Authorization", "Bearer nope"}, 401,
			[]string{`Bearer realm="api", error="invalid_token", error_description="the access token is not active"`}},
		{"an expired token", "/api", []string{"Authorization", "Bearer " + expired}, 401,
			[]string{`Bearer realm="api", error="invalid_token", error_description="the access token expired"`}},
		{"a revoked token", "/api", []string{"Authorization", "Bearer " + revoked}, 401,
			[]string{`Bearer realm="api", error="invalid_token", error_description="the access token is not active"`}},
		{"a missing scope", "/admin", []string{"Authorization", "Bearer " + read}, 403,
			[]string{`Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a scope this resource needs", scope="read write"`}},
		{"a bearer token with the DPoP scheme", "/api", []string{"Authorization", "DPoP " + read}, 401,
			[]string{`DPoP realm="api", error="invalid_token", error_description="the DPoP scheme was used with an access token bound to no DPoP key", ` + algs}},
	}
	for _, tt := range tests {
		got := w.call(t, http.MethodGet, tt.path, nil, tt.headers...)
		got.want(t, tt.name, tt.status, tt.challenge...)
		if got.header.Get("Cache-Control") != "no-store" || got.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: headers %v", tt.name, got.header)
		}
		if got.body["error"] == nil || got.body["error_description"] == nil {
			t.Errorf("%s: body %v", tt.name, got.body)
		}
	}
	// The user's session ended: the access token dies with it (better-auth
	// 1.7's rule, the DB's).
	if _, err := w.fx.DB.RevokeSession(w.sess.ID); err != nil {
		t.Fatal(err)
	}
	w.call(t, http.MethodGet, "/api", nil, "Authorization", "Bearer "+read).want(t, "after sign-out", 401, `Bearer realm="api", error="invalid_token"`)
}

// TestStaleReplica: a replica DB that cannot vouch for its rows answers
// 503 with Retry-After and no challenge — never 401, which a client would
// take for a revoked token — and answers again once it is fresh.
func TestStaleReplica(t *testing.T) {
	fx := oauthdbtest.New(t)
	replica, err := oauthdb.Open(oauthdb.WithReplica(), oauthdb.WithClock(fx.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, replica, fx, resourceserver.Config{RetryAfter: 3 * time.Second})
	tok, _ := fx.AccessToken(w.client, w.sess, oauthdbtest.Scopes("read"))
	snap := fx.DB.Snapshot()
	if _, err := replica.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(snap) }); err != nil {
		t.Fatal(err)
	}
	got := w.call(t, http.MethodGet, "/api", nil, "Authorization", "Bearer "+tok)
	got.want(t, "a stale replica", 503)
	if got.header.Get("Retry-After") != "3" || got.body["error"] != "temporarily_unavailable" {
		t.Errorf("503: %v %v", got.header, got.body)
	}
	replica.SetFreshUntil(fx.Clock.Now().Add(time.Minute))
	w.call(t, http.MethodGet, "/api", nil, "Authorization", "Bearer "+tok).want(t, "a fresh replica", 200)
	fx.Clock.Advance(2 * time.Minute)
	w.call(t, http.MethodGet, "/api", nil, "Authorization", "Bearer "+tok).want(t, "stale again", 503)
}

// TestDPoP: a DPoP-bound token with proofs built by go-jose, right and
// wrong in every way RFC 9449 §4.3 lists.
func TestDPoP(t *testing.T) {
	w := newFixtureWorld(t, resourceserver.Config{})
	tok := w.bound(oauthdbtest.Scopes("read"))
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := w.fx.Clock.Now()
	auth := "DPoP " + tok

	got := w.call(t, http.MethodGet, "/api", nil, "Authorization", auth, "DPoP", w.sign(t, tok, proof{}))
	got.want(t, "a good proof", 200)
	if got.body["scheme"] != "DPoP" || got.body["jkt"] != w.jkt {
		t.Errorf("the handler saw %v", got.body)
	}
	// htu is compared without query and fragment, normalized.
	u := strings.Replace(w.srv.URL, "http://", "HTTP://", 1)
	w.call(t, http.MethodGet, "/api?x=1", nil, "Authorization", auth,
		"DPoP", w.sign(t, tok, proof{htu: u + "/./api?y=2#f"})).want(t, "htu normalized, query and fragment ignored", 200)
	body := strings.NewReader("x=1")
	w.call(t, http.MethodPost, "/api", body, "Authorization", auth,
		"DPoP", w.sign(t, tok, proof{htm: http.MethodPost})).want(t, "a POST", 200)

	replayed := w.sign(t, tok, proof{})
	w.call(t, http.MethodGet, "/api", nil, "Authorization", auth, "DPoP", replayed).want(t, "first use", 200)

	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithType("dpop+jwt"))
	hsProof, _ := hs.Sign([]byte(`{"jti":"x","htm":"GET","htu":"` + w.srv.URL + `/api","iat":` + fmt.Sprint(now.Unix()) + `}`))
	hsCompact, _ := hsProof.CompactSerialize()

	const challenge = `DPoP error="invalid_dpop_proof", error_description=`
	tests := []struct {
		name    string
		headers []string
		desc    string
	}{
		{"a replayed jti", []string{"Authorization", auth, "DPoP", replayed}, "the DPoP proof was used already"},
		{"another key", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{key: other})},
			"the DPoP proof is signed by another key than the one the access token is bound to"},
		{"a jwk that did not sign", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{jwk: &other.PublicKey})},
			"the DPoP proof's signature does not verify with its jwk"},
		{"a stale iat", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{iat: now.Add(-6 * time.Minute)})},
			"the DPoP proof's iat is outside the accepted window"},
		{"an iat in the future", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{iat: now.Add(time.Minute)})},
			"the DPoP proof's iat is outside the accepted window"},
		{"an iat that is a string", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{iat: "now"})},
			"the DPoP proof's iat is not a number"},
		{"another htu", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{htu: w.srv.URL + "/admin"})},
			"the DPoP proof's htu is not the request's URL"},
		{"another host", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{htu: "https://evil.example/api"})},
			"the DPoP proof's htu is not the request's URL"},
		{"another htm", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{htm: http.MethodPost})},
			"the DPoP proof's htm is not the request's method"},
		{"another ath", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{ath: "bm90IHRoZSBoYXNo"})},
			"the DPoP proof's ath is not the hash of the access token"},
		{"no ath", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{noATH: true})},
			"the DPoP proof has no ath, the access token's hash"},
		{"another typ", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{typ: "JWT"})},
			"the DPoP proof's typ is not dpop+jwt"},
		{"a private key in the header", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{private: true})},
			"the DPoP proof is not a compact JWS with a public jwk"},
		{"HS256", []string{"Authorization", auth, "DPoP", hsCompact},
			"the DPoP proof is not a compact JWS with a public jwk, signed with an accepted algorithm"},
		{"not a JWT", []string{"Authorization", auth, "DPoP", "not.a.jwt"},
			"the DPoP proof is not a compact JWS with a public jwk, signed with an accepted algorithm"},
		{"no proof", []string{"Authorization", auth},
			"the access token is bound to a DPoP key, and the request has no DPoP proof"},
		{"two proofs", []string{"Authorization", auth, "DPoP", w.sign(t, tok, proof{}), "DPoP", w.sign(t, tok, proof{})},
			"the DPoP header is repeated"},
	}
	for _, tt := range tests {
		got := w.call(t, http.MethodGet, "/api", nil, tt.headers...)
		got.want(t, tt.name, 401, challenge+`"`+tt.desc)
		if !strings.HasSuffix(got.challenges[0], algs) {
			t.Errorf("%s: the challenge names no algorithms: %q", tt.name, got.challenges[0])
		}
	}
	// Presented as a bearer token, with or without its proof, a bound token
	// is refused: otherwise whoever stole it could use it.
	for _, h := range [][]string{{"Authorization", "Bearer " + tok}, {"Authorization", "Bearer " + tok, "DPoP", w.sign(t, tok, proof{})}} {
		w.call(t, http.MethodGet, "/api", nil, h...).want(t, "a bound token as Bearer", 401,
			`DPoP error="invalid_token", error_description="the access token is bound to a DPoP key: present it with the DPoP scheme and a proof"`)
	}
	// A missing scope is challenged with the scheme the token uses.
	w.call(t, http.MethodGet, "/admin", nil, "Authorization", auth, "DPoP", w.sign(t, tok, proof{htu: w.srv.URL + "/admin"})).
		want(t, "a bound token without a scope", 403, `DPoP error="insufficient_scope"`)
}

// TestDPoPAlgorithms: Config.DPoPAlgorithms narrows what a proof may be
// signed with, and New refuses what is not asymmetric.
func TestDPoPAlgorithms(t *testing.T) {
	w := newFixtureWorld(t, resourceserver.Config{DPoPAlgorithms: []string{"EdDSA"}})
	tok := w.bound(oauthdbtest.Scopes("read"))
	w.call(t, http.MethodGet, "/api", nil, "Authorization", "DPoP "+tok, "DPoP", w.sign(t, tok, proof{})).
		want(t, "ES256 where only EdDSA is accepted", 401, `DPoP error="invalid_dpop_proof"`)
	for _, algs := range [][]string{{"none"}, {"HS256"}, {"ES256", "HS512"}, {}} {
		if _, err := resourceserver.New(w.fx.DB, resourceserver.Config{DPoPAlgorithms: algs}); err == nil {
			t.Errorf("New accepted the algorithms %q", algs)
		}
	}
}

// TestBadInput: what no client should send gets a clear 400 or 401, never
// a panic or a 500, and nothing of it reaches the log.
func TestBadInput(t *testing.T) {
	w := newFixtureWorld(t, resourceserver.Config{})
	tok := w.bound(oauthdbtest.Scopes("read"))
	huge := strings.Repeat("A", 1<<20)
	tests := []struct {
		name    string
		headers []string
		status  int
	}{
		{"a 1 MB token", []string{"Authorization", "Bearer " + huge}, 401},
		{"a 1 MB header of another scheme", []string{"Authorization", "Basic " + huge}, 401},
		{"a 1 MB proof", []string{"Authorization", "DPoP " + tok, "DPoP", huge}, 401},
		{"invalid UTF-8 in the token", []string{"Authorization", "Bearer \xff\xfe"}, 401},
		{"invalid UTF-8 in the proof", []string{"Authorization", "DPoP " + tok, "DPoP", "\xff.\xfe.\xfd"}, 401},
		{"a proof that is not a JWT", []string{"Authorization", "DPoP " + tok, "DPoP", "hello"}, 401},
		{"a proof of empty parts", []string{"Authorization", "DPoP " + tok, "DPoP", ".."}, 401},
		{"a proof whose header is not JSON", []string{"Authorization", "DPoP " + tok, "DPoP", "eyJ.e30.AA"}, 401},
	}
	for _, tt := range tests {
		got := w.call(t, http.MethodGet, "/api", nil, tt.headers...)
		if got.status != tt.status {
			t.Errorf("%s: %d %v, want %d", tt.name, got.status, got.body, tt.status)
		}
	}
	// What Go's client will not send, sent by hand: net/http's server
	// refuses some of it before the middleware sees it.
	for _, h := range []string{"Bearer a\x01b", "DPoP \x00", "Bearer " + strings.Repeat("\x80", 100)} {
		conn, err := net.Dial("tcp", w.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET /api HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nConnection: close\r\n\r\n", h)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%q: %v", h, err)
		}
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != 400 && resp.StatusCode != 401 {
			t.Errorf("Authorization %q: %d, want 400 or 401", h, resp.StatusCode)
		}
	}
	if strings.Contains(w.log.String(), "level=") {
		t.Errorf("bad input was logged:\n%s", w.log)
	}
}

// TestFormAndQuery: the form body and the query carry a token only when
// Config says so, and never together with the header.
func TestFormAndQuery(t *testing.T) {
	off := newFixtureWorld(t, resourceserver.Config{})
	tok, _ := off.fx.AccessToken(off.client, off.sess, oauthdbtest.Scopes("read"))
	off.call(t, http.MethodGet, "/api?access_token="+tok, nil).want(t, "the query, off", 401, "Bearer", "DPoP")
	off.call(t, http.MethodPost, "/api", strings.NewReader("access_token="+tok), "Content-Type", "application/x-www-form-urlencoded").
		want(t, "the form, off", 401, "Bearer", "DPoP")

	on := newFixtureWorld(t, resourceserver.Config{FormBody: true, Query: true})
	tok, _ = on.fx.AccessToken(on.client, on.sess, oauthdbtest.Scopes("read"))
	got := on.call(t, http.MethodGet, "/api?access_token="+tok, nil)
	got.want(t, "the query, on", 200)
	if got.header.Get("Cache-Control") != "private" {
		t.Errorf("an answer to a token in the URL: Cache-Control %q", got.header.Get("Cache-Control"))
	}
	form := "application/x-www-form-urlencoded"
	on.call(t, http.MethodPost, "/api", strings.NewReader("access_token="+tok), "Content-Type", form).want(t, "the form, on", 200)
	on.call(t, http.MethodGet, "/api?access_token="+tok, nil, "Authorization", "Bearer "+tok).
		want(t, "the header and the query", 400, `Bearer error="invalid_request"`)
	on.call(t, http.MethodPost, "/api", strings.NewReader("access_token="+tok+"&access_token="+tok), "Content-Type", form).
		want(t, "the form parameter twice", 400, `Bearer error="invalid_request"`)
}

// TestConcurrentProofs: of requests racing with one proof, exactly one
// gets through.
func TestConcurrentProofs(t *testing.T) {
	w := newFixtureWorld(t, resourceserver.Config{})
	tok := w.bound(oauthdbtest.Scopes("read"))
	p := w.sign(t, tok, proof{})
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, w.srv.URL+"/api", nil)
			req.Header.Set("Authorization", "DPoP "+tok)
			req.Header.Set("DPoP", p)
			resp, err := w.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[200] != 1 || codes[401] != 7 {
		t.Errorf("one proof, eight requests: %v, want one 200", codes)
	}
}

// syncBuffer is a log that handlers write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

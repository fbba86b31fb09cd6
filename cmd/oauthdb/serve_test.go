package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/oauthdb/oauthdb"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// syncBuffer is a bytes.Buffer that a server's goroutines and the test may
// use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testIssuer is the -issuer of the in-process test servers.
const testIssuer = "https://auth.example.com/api/auth"

// sampleServer is a server over a fresh sample dataset, on a real loopback
// listener (httptest), with its log kept for the checks.
type sampleServer struct {
	*httptest.Server
	s   *server
	smp *sample
	log *syncBuffer
}

// startSample starts a sampleServer over src, or over the sample itself
// when src is nil. When the test ends, it checks that the log names none
// of the sample's secrets and tokens.
func startSample(t *testing.T, wrap func(source) source) *sampleServer {
	t.Helper()
	db, smp, err := newSample()
	if err != nil {
		t.Fatal(err)
	}
	var src source = &embedded{db: db}
	if wrap != nil {
		src = wrap(src)
	}
	log := &syncBuffer{}
	s := newServer(src, testIssuer, slog.New(slog.NewTextHandler(log, nil)))
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		for _, c := range smp.credentials() {
			if strings.Contains(log.String(), c) {
				t.Errorf("the log holds a sample credential:\n%s", log)
			}
		}
	})
	return &sampleServer{Server: ts, s: s, smp: smp, log: log}
}

// credentials are every secret and token of the sample.
func (s *sample) credentials() []string {
	out := slices.Collect(maps.Values(s.secrets))
	return append(out, s.Access, s.Refresh, s.Machine, s.Expired, s.Revoked, s.ExpiredRefresh, s.RevokedRefresh,
		s.SessionEnded, s.Offline, s.OtherAccess, s.OtherRefresh)
}

// req is one HTTP request to a test server.
type req struct {
	method, path string
	basic        []string // id and secret, form-encoded as RFC 6749 §2.3.1 says
	header       map[string]string
	body         string // form encoded, unless header says otherwise
	noType       bool   // send no Content-Type
}

// resp is an answer: status, headers, raw body and, when it is a JSON
// object, its members.
type resp struct {
	status int
	header http.Header
	raw    string
	json   map[string]any
}

func (ts *sampleServer) do(t *testing.T, r req) resp {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.path == "" {
		r.path = pathIntrospect
	}
	hr, err := http.NewRequest(r.method, ts.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if !r.noType && r.method == http.MethodPost {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.basic != nil {
		hr.SetBasicAuth(url.QueryEscape(r.basic[0]), url.QueryEscape(r.basic[1]))
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	res, err := ts.Client().Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := resp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.json)
	return out
}

// introspect introspects token as sample-api, with client_secret_basic,
// and the hint if one is given.
func (ts *sampleServer) introspect(t *testing.T, token, hint string) resp {
	t.Helper()
	body := url.Values{"token": {token}}
	if hint != "" {
		body.Set("token_type_hint", hint)
	}
	return ts.do(t, req{basic: []string{sampleAPI, ts.smp.secret(sampleAPI)}, body: body.Encode()})
}

// TestIntrospectTokens introspects every sample token of both kinds, with
// every hint: the hint changes the order of the lookups, never the answer.
// Active answers have better-auth's fields, exactly; inactive ones say
// nothing but active false.
func TestIntrospectTokens(t *testing.T) {
	ts := startSample(t, nil)
	smp := ts.smp
	db := ts.s.src.DB()
	var aliceAccess, aliceRefresh, bobRefresh, machine struct{ exp, iat int64 }
	_ = db.View(func(tx *oauthdb.Tx) error {
		times := func(dst *struct{ exp, iat int64 }, exp, iat time.Time) { dst.exp, dst.iat = exp.Unix(), iat.Unix() }
		a, _ := tx.AccessTokenByHash(db.Hash(smp.Access))
		times(&aliceAccess, a.ExpiresAt, a.CreatedAt)
		r, _ := tx.RefreshTokenByHash(db.Hash(smp.Refresh))
		times(&aliceRefresh, r.ExpiresAt, r.CreatedAt)
		r, _ = tx.RefreshTokenByHash(db.Hash(smp.Offline))
		times(&bobRefresh, r.ExpiresAt, r.CreatedAt)
		m, _ := tx.AccessTokenByHash(db.Hash(smp.Machine))
		times(&machine, m.ExpiresAt, m.CreatedAt)
		return nil
	})
	var bob string
	_ = db.View(func(tx *oauthdb.Tx) error {
		u, err := tx.UserByEmail("bob@example.com")
		bob = u.ID
		return err
	})
	scope := strings.Join(smp.Scopes, " ")
	tests := []struct {
		name, token string
		want        map[string]any // nil: inactive
	}{
		{"access token", smp.Access, map[string]any{"active": true, "iss": testIssuer, "client_id": sampleAPI,
			"azp": sampleAPI, "sub": smp.AliceID, "sid": smp.SessionID, "exp": aliceAccess.exp, "iat": aliceAccess.iat,
			"scope": scope, "token_type": "Bearer"}},
		{"client-credentials access token", smp.Machine, map[string]any{"active": true, "iss": testIssuer,
			"client_id": sampleAPI, "azp": sampleAPI, "exp": machine.exp, "iat": machine.iat, "scope": "notes:read",
			"token_type": "Bearer"}},
		{"refresh token", smp.Refresh, map[string]any{"active": true, "client_id": sampleAPI, "iss": testIssuer,
			"sub": smp.AliceID, "sid": smp.SessionID, "exp": aliceRefresh.exp, "iat": aliceRefresh.iat,
			"scope": scope, "token_type": "Bearer"}},
		{"refresh token outliving its session", smp.Offline, map[string]any{"active": true, "client_id": sampleAPI,
			"iss": testIssuer, "sub": bob, "exp": bobRefresh.exp, "iat": bobRefresh.iat, "scope": scope, "token_type": "Bearer"}},
		{"expired access token", smp.Expired, nil},
		{"revoked access token", smp.Revoked, nil},
		{"access token of an expired session", smp.SessionEnded, nil},
		{"expired refresh token", smp.ExpiredRefresh, nil},
		{"revoked refresh token", smp.RevokedRefresh, nil},
		{"another client's access token", smp.OtherAccess, nil},
		{"another client's refresh token", smp.OtherRefresh, nil},
		{"unknown token", "no-such-token", nil},
		{"malformed token", strings.Repeat("x", oauthdb.MaxTokenLength+1), nil},
	}
	for _, tt := range tests {
		for _, hint := range []string{"", "access_token", "refresh_token", "unknown_hint"} {
			got := ts.introspect(t, tt.token, hint)
			name := fmt.Sprintf("%s, hint %q", tt.name, hint)
			if got.status != http.StatusOK {
				t.Errorf("%s: status %d: %s", name, got.status, got.raw)
				continue
			}
			if tt.want == nil {
				if got.raw != `{"active":false}` {
					t.Errorf("%s: %s, want {\"active\":false}", name, got.raw)
				}
				continue
			}
			if !equalJSON(got.json, tt.want) {
				t.Errorf("%s:\n got %s\nwant %v", name, got.raw, tt.want)
			}
		}
	}
	// Each token of the test, once per hint, counted by its reason.
	m := scrape(t, ts)
	for series, want := range map[string]float64{
		`oauthdb_introspections_total{result="active",token_type="access_token"}`:  8,
		`oauthdb_introspections_total{result="active",token_type="refresh_token"}`: 8,
		`oauthdb_introspections_total{result="inactive",reason="expired"}`:         8,
		`oauthdb_introspections_total{result="inactive",reason="revoked"}`:         8,
		`oauthdb_introspections_total{result="inactive",reason="session_expired"}`: 4,
		`oauthdb_introspections_total{result="inactive",reason="wrong_client"}`:    8,
		`oauthdb_introspections_total{result="inactive",reason="not_found"}`:       4,
		`oauthdb_introspections_total{result="inactive",reason="malformed"}`:       4,
		`oauthdb_introspections_total{result="inactive",reason="other"}`:           0,
		`oauthdb_client_authentications_total{result="ok"}`:                        float64(4 * len(tests)),
		`oauthdb_http_requests_total{path="/introspect",code="200"}`:               float64(4 * len(tests)),
	} {
		if m[canon(series)] != want {
			t.Errorf("%s = %v, want %v", series, m[canon(series)], want)
		}
	}
}

// equalJSON compares a decoded JSON object with a want whose numbers are
// int64.
func equalJSON(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return false
		}
		if n, isInt := w.(int64); isInt {
			w = float64(n)
		}
		if g != w {
			return false
		}
	}
	return true
}

// TestIntrospectAtBetterAuthPaths: a service configured for better-auth
// needs only a new host.
func TestIntrospectAtBetterAuthPaths(t *testing.T) {
	ts := startSample(t, nil)
	for _, p := range []string{pathBetterAuthIntrospect, pathBasePathIntrospect} {
		got := ts.do(t, req{path: p, basic: []string{sampleAPI, ts.smp.secret(sampleAPI)}, body: "token=" + ts.smp.Access})
		if got.status != http.StatusOK || got.json["active"] != true {
			t.Errorf("%s: %d %s", p, got.status, got.raw)
		}
	}
	if got := ts.do(t, req{path: "/oauth2/token", body: "token=x"}); got.status != http.StatusNotFound {
		t.Errorf("an unknown path: %d", got.status)
	}
}

// TestClientAuthentication: the caller authenticates with
// client_secret_basic or client_secret_post, the one it registered; public,
// disabled and unknown clients, wrong secrets, the other method and two
// methods at once are refused, and no answer echoes a secret.
func TestClientAuthentication(t *testing.T) {
	ts := startSample(t, nil)
	smp := ts.smp
	// Clients whose secret needs form-encoding in Basic credentials, and
	// clients registered for client_secret_post.
	const oddID, oddPoster, oddSecret = "odd client", "odd poster", "s3cret: +/%=&"
	const poster, posterSecret = "poster", "poster-secret"
	err := ts.s.src.DB().Update(func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertClient(oauthdb.OAuthClient{ID: "odd", ClientID: oddID, ClientSecret: oauthdb.HashSecret(oddSecret),
				RedirectURIs: []string{"https://odd.example/cb"}}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "odd-post", ClientID: oddPoster, ClientSecret: oauthdb.HashSecret(oddSecret),
				TokenEndpointAuthMethod: "client_secret_post", RedirectURIs: []string{"https://odd.example/cb"}}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "poster", ClientID: poster, ClientSecret: oauthdb.HashSecret(posterSecret),
				TokenEndpointAuthMethod: "client_secret_post", RedirectURIs: []string{"https://poster.example/cb"}}))
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := "token=" + smp.Access
	post := func(id, secret string) string {
		return url.Values{"client_id": {id}, "client_secret": {secret}, "token": {smp.Access}}.Encode()
	}
	api, apiSecret := sampleAPI, smp.secret(sampleAPI)
	tests := []struct {
		name   string
		r      req
		status int
		error  string
		active bool
	}{
		{"basic", req{basic: []string{api, apiSecret}, body: tok}, 200, "", true},
		{"post", req{body: post(poster, posterSecret)}, 200, "", false},
		{"basic, with the same client_id in the body", req{basic: []string{api, apiSecret}, body: tok + "&client_id=" + api}, 200, "", true},
		{"basic, form-encoded id and secret", req{basic: []string{oddID, oddSecret}, body: tok}, 200, "", false},
		{"post, form-encoded id and secret", req{body: post(oddPoster, oddSecret)}, 200, "", false},
		{"post by a client registered for basic", req{body: post(api, apiSecret)}, 401, "invalid_client", false},
		{"wrong secret, basic", req{basic: []string{api, "wrong"}, body: tok}, 401, "invalid_client", false},
		{"wrong secret, post", req{body: post(poster, "wrong")}, 401, "invalid_client", false},
		{"another client's secret", req{basic: []string{api, smp.secret(sampleWeb)}, body: tok}, 401, "invalid_client", false},
		{"unknown client", req{basic: []string{"nobody", apiSecret}, body: tok}, 401, "invalid_client", false},
		{"no credentials", req{body: tok}, 401, "invalid_client", false},
		{"a confidential client's id alone", req{body: tok + "&client_id=" + api}, 401, "invalid_client", false},
		{"public client, client_id alone", req{body: tok + "&client_id=" + sampleSPA}, 401, "invalid_client", false},
		{"public client, basic with no secret", req{basic: []string{sampleSPA, ""}, body: tok}, 401, "invalid_client", false},
		{"public client presenting a secret", req{basic: []string{sampleSPA, "x"}, body: tok}, 401, "invalid_client", false},
		{"disabled client", req{basic: []string{sampleDisabled, smp.secret(sampleDisabled)}, body: tok}, 401, "invalid_client", false},
		{"Bearer instead of Basic", req{header: map[string]string{"Authorization": "Bearer " + smp.Access}, body: tok}, 401, "invalid_client", false},
		{"Basic not base64", req{header: map[string]string{"Authorization": "Basic !!!"}, body: tok}, 401, "invalid_client", false},
		{"Basic with a bad %-escape", req{header: map[string]string{"Authorization": "Basic " +
			base64.StdEncoding.EncodeToString([]byte(api+":%zz"))}, body: tok}, 401, "invalid_client", false},
		{"basic and client_secret", req{basic: []string{api, apiSecret}, body: post(api, apiSecret)}, 400, "invalid_request", false},
		{"basic and another client_id", req{basic: []string{api, apiSecret}, body: tok + "&client_id=" + sampleWeb}, 400, "invalid_request", false},
	}
	secrets := append(smp.credentials(), oddSecret, url.QueryEscape(oddSecret), posterSecret)
	for _, tt := range tests {
		got := ts.do(t, tt.r)
		if got.status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, got.status, tt.status, got.raw)
			continue
		}
		if tt.error == "" {
			if got.json["active"] != tt.active {
				t.Errorf("%s: %s, want active %v", tt.name, got.raw, tt.active)
			}
			continue
		}
		wantError(t, tt.name, got, tt.status, tt.error)
		if tt.status == 401 && !strings.HasPrefix(got.header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: 401 without WWW-Authenticate: Basic: %q", tt.name, got.header.Get("WWW-Authenticate"))
		}
		for _, s := range secrets {
			if strings.Contains(got.raw, s) {
				t.Errorf("%s: the answer holds a secret or token: %s", tt.name, got.raw)
			}
		}
	}
	m := scrape(t, ts)
	for result, want := range map[string]float64{"ok": 5, "bad_secret": 5, "unknown_client": 1, "missing": 1,
		"public": 2, "disabled": 1, "malformed": 5, "wrong_method": 1} {
		if got := m[canon(`oauthdb_client_authentications_total{result="`+result+`"}`)]; got != want {
			t.Errorf("client authentications %s: %v, want %v", result, got, want)
		}
	}
}

// wantError checks an OAuth error answer: its status, its JSON (error and
// error_description, nothing else), and the headers every answer has.
func wantError(t *testing.T, name string, got resp, status int, code string) {
	t.Helper()
	if got.status != status || got.json["error"] != code || len(got.json) != 2 {
		t.Errorf("%s: %d %s, want %d and error %s", name, got.status, got.raw, status, code)
	}
	if d, _ := got.json["error_description"].(string); d == "" {
		t.Errorf("%s: no error_description: %s", name, got.raw)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", name, ct)
	}
	for _, bad := range []string{"goroutine", "panic", ".go:"} {
		if strings.Contains(got.raw, bad) {
			t.Errorf("%s: a stack trace in the answer: %s", name, got.raw)
		}
	}
}

// TestServeEnv: every flag may come from OAUTHDB_<FLAG>, a flag on the
// command line wins, and a bad value names its variable, never a DSN.
func TestServeEnv(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	o, err := parseServe([]string{"-cache", "7"}, env("OAUTHDB_LISTEN", "127.0.0.1:9999", "OAUTHDB_CACHE", "9",
		"OAUTHDB_LENIENT_SESSIONS", "true", "OAUTHDB_SHUTDOWN_TIMEOUT", "3s", "OAUTHDB_ISSUER", "https://auth.example"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.listen != "127.0.0.1:9999" || o.cacheEntries != 7 || !o.lenientSessions || o.shutdownTimeout != 3*time.Second ||
		o.issuer != "https://auth.example" {
		t.Errorf("from the environment: %+v", o)
	}
	// An empty OAUTHDB_POSTGRES selects Postgres, all from libpq's PG*.
	o, err = parseServe(nil, env("OAUTHDB_POSTGRES", "", "OAUTHDB_SLOT", "s1", "OAUTHDB_MAX_LAG", "9s", "HOME", "/home/ada"), io.Discard)
	if err != nil || !o.usePostgres || o.postgres != "" || o.slot != "s1" || o.maxLag != 9*time.Second ||
		o.stateDir != "/home/ada/.local/state/oauthdb/s1" {
		t.Errorf("OAUTHDB_POSTGRES empty: %+v, %v", o, err)
	}
	for _, tt := range []struct {
		env  []string
		want string
	}{
		{[]string{"OAUTHDB_MAX_LAG", "soon"}, "$OAUTHDB_MAX_LAG"},
		{[]string{"OAUTHDB_CACHE", "-1"}, "-cache must not be negative"},
		{[]string{"OAUTHDB_SLOT", "s"}, "-slot, -max-lag, -state-dir, -slot-ttl and -shared-marks go with -postgres"},
		{[]string{"OAUTHDB_POSTGRES", "postgres://u:hunter2@db/auth", "OAUTHDB_SNAPSHOT", "f.json"}, "give one"},
	} {
		_, err := parseServe(nil, env(tt.env...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%v: %v, want %q", tt.env, err, tt.want)
		}
	}
}

// TestPostgresFromLibpqEnvironment: -postgres "" hands pgx a DSN that
// takes every setting from libpq's variables and the password from
// PGPASSWORD or, without it, the password file: what serve connects with
// needs no password on its command line.
func TestPostgresFromLibpqEnvironment(t *testing.T) {
	pass := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(pass, []byte("db.internal:5433:auth:replicator:from-the-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"PGHOST": "db.internal", "PGPORT": "5433", "PGDATABASE": "auth",
		"PGUSER": "replicator", "PGPASSFILE": pass, "PGPASSWORD": ""} {
		t.Setenv(k, v)
	}
	os.Unsetenv("PGPASSWORD")
	for dsn, want := range map[string]string{"": "from-the-file", "dbname=auth": "from-the-file"} {
		cfg, err := pgconn.ParseConfig(postgresDSN(dsn))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != "db.internal" || cfg.Port != 5433 || cfg.User != "replicator" || cfg.Database != "auth" || cfg.Password != want {
			t.Errorf("-postgres %q: host %s port %d user %s db %s password %q", dsn, cfg.Host, cfg.Port, cfg.User, cfg.Database, cfg.Password)
		}
	}
	t.Setenv("PGPASSWORD", "from-the-variable")
	if cfg, err := pgconn.ParseConfig(postgresDSN("")); err != nil || cfg.Password != "from-the-variable" {
		t.Errorf("PGPASSWORD: %v", err)
	}
}

// TestMalformedRequests: every request the endpoint cannot take gets an
// RFC 6749 error in JSON, and no answer may be cached.
func TestMalformedRequests(t *testing.T) {
	ts := startSample(t, nil)
	basic := []string{sampleAPI, ts.smp.secret(sampleAPI)}
	tok := "token=" + ts.smp.Access
	big := tok + "&pad=" + strings.Repeat("x", 64<<10)
	tests := []struct {
		name   string
		r      req
		status int
	}{
		{"GET", req{method: http.MethodGet, basic: basic}, 405},
		{"PUT", req{method: http.MethodPut, basic: basic, body: tok}, 405},
		{"JSON body", req{basic: basic, body: `{"token":"x"}`, header: map[string]string{"Content-Type": "application/json"}}, 400},
		{"no content type", req{basic: basic, body: tok, noType: true}, 400},
		{"malformed content type", req{basic: basic, body: tok, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; ="}}, 400},
		{"body over 64 KiB", req{basic: basic, body: big}, 413},
		{"body over 64 KiB, chunked", req{basic: basic, body: big, header: map[string]string{"Transfer-Encoding": "chunked"}}, 413},
		{"repeated token", req{basic: basic, body: tok + "&token=other"}, 400},
		{"repeated hint", req{basic: basic, body: tok + "&token_type_hint=access_token&token_type_hint=refresh_token"}, 400},
		{"bad %-escape", req{basic: basic, body: "token=%zz"}, 400},
		{"no token", req{basic: basic, body: "token_type_hint=access_token"}, 400},
		{"empty token", req{basic: basic, body: "token="}, 400},
		{"token in the URL only", req{path: pathIntrospect + "?" + tok, basic: basic}, 400},
	}
	for _, tt := range tests {
		got := ts.do(t, tt.r)
		wantError(t, tt.name, got, tt.status, "invalid_request")
		if cc := got.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", tt.name, cc)
		}
		if tt.status == 405 && got.header.Get("Allow") != http.MethodPost {
			t.Errorf("%s: Allow %q", tt.name, got.header.Get("Allow"))
		}
		if strings.Contains(got.raw, ts.smp.Access) {
			t.Errorf("%s: the answer echoes the token: %s", tt.name, got.raw)
		}
	}
	// What is not malformed: a charset parameter, unknown parameters, a
	// token sent with its scheme (as better-auth takes it).
	for name, r := range map[string]req{
		"charset":            {basic: basic, body: tok, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}},
		"unknown parameters": {basic: basic, body: "a=1&a=2&" + tok + "&&b"},
		"Bearer prefix":      {basic: basic, body: "token=Bearer+" + ts.smp.Access},
	} {
		if got := ts.do(t, r); got.status != 200 || got.json["active"] != true {
			t.Errorf("%s: %d %s", name, got.status, got.raw)
		}
	}
	if got := ts.introspect(t, ts.smp.Access, ""); got.header.Get("Cache-Control") != "no-store" || got.header.Get("Content-Type") != "application/json" {
		t.Errorf("an active answer's headers: %v", got.header)
	}
}

// staleSource is the sample served as a replica would serve it: Ready and
// the replica's status are the test's to set. It stands in for the replica,
// which cannot run here until it is wired.
type staleSource struct {
	source
	ready atomic.Bool
}

func (s *staleSource) Ready() bool { return s.ready.Load() }
func (s *staleSource) Replica() (replicaStatus, bool) {
	return replicaStatus{Loaded: true, Lag: 1500 * time.Millisecond, AppliedLSN: 0x16B3748, RowsApplied: 7, RowsRefused: 2}, true
}

// TestHealthzAndFailClosed: /healthz says whether introspection is
// answered; a source that is not ready makes introspection fail closed.
func TestHealthzAndFailClosed(t *testing.T) {
	ts := startSample(t, nil)
	got := ts.do(t, req{method: http.MethodGet, path: pathHealthz})
	if got.status != 200 || got.raw != "{\"ready\":true}\n" || got.header.Get("Content-Type") != "application/json" {
		t.Errorf("healthz: %d %q %v", got.status, got.raw, got.header)
	}
	if got := ts.do(t, req{method: http.MethodPost, path: pathHealthz}); got.status != 405 || got.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /healthz: %d %v", got.status, got.header)
	}

	var src *staleSource
	rs := startSample(t, func(s source) source { src = &staleSource{source: s}; return src })
	got = rs.do(t, req{method: http.MethodGet, path: pathHealthz})
	want := `{"ready":false,"replica":{"loaded":true,"lagSeconds":1.5,"appliedLSN":"0/16B3748","rowsApplied":7,"rowsRefused":2}}` + "\n"
	if got.status != 503 || got.raw != want {
		t.Errorf("healthz of a stale replica: %d %s, want 503 %s", got.status, got.raw, want)
	}
	// Alive, and not ready: a probe that restarted it would only make it
	// load again.
	if got := rs.do(t, req{method: http.MethodGet, path: pathLivez}); got.status != 200 || got.raw != "{\"live\":true}\n" {
		t.Errorf("livez of a stale replica: %d %q", got.status, got.raw)
	}
	if got := rs.do(t, req{method: http.MethodGet, path: pathReadyz}); got.status != 503 || got.raw != "{\"ready\":false}\n" {
		t.Errorf("readyz of a stale replica: %d %q", got.status, got.raw)
	}
	got = rs.introspect(t, rs.smp.Access, "")
	wantError(t, "introspection while stale", got, 503, "temporarily_unavailable")
	if got.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	m := scrape(t, rs)
	for series, want := range map[string]float64{"oauthdb_ready": 0, "oauthdb_replica_lag_seconds": 1.5,
		"oauthdb_replica_rows_applied_total": 7, "oauthdb_replica_rows_refused_total": 2} {
		if m[canon(series)] != want {
			t.Errorf("%s = %v, want %v", series, m[canon(series)], want)
		}
	}
	src.ready.Store(true)
	if got := rs.introspect(t, rs.smp.Access, ""); got.json["active"] != true {
		t.Errorf("once ready: %s", got.raw)
	}
	for _, p := range []string{pathHealthz, pathReadyz, pathLivez} {
		if got := rs.do(t, req{method: http.MethodGet, path: p}); got.status != 200 {
			t.Errorf("%s once ready: %d", p, got.status)
		}
		if got := rs.do(t, req{method: http.MethodPost, path: p}); got.status != 405 || got.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: %d %v", p, got.status, got.header)
		}
	}
}

// scrape fetches /metrics, parses it with Prometheus' own parser of the
// text format, and returns the samples of oauthdb's families by series,
// written name{label="value",...} with the labels in name order. It fails
// the test on an answer that does not parse, on a counter of oauthdb's not
// named _total, and when the Go runtime's and the process's families are
// missing.
func scrape(t *testing.T, ts *sampleServer) map[string]float64 {
	t.Helper()
	got := ts.do(t, req{method: http.MethodGet, path: pathMetrics})
	if got.status != 200 || !strings.HasPrefix(got.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %v", got.status, got.header)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(got.raw))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, got.raw)
	}
	for _, want := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if families[want] == nil {
			t.Errorf("/metrics has no %s", want)
		}
	}
	out := map[string]float64{}
	for name, f := range families {
		if !strings.HasPrefix(name, "oauthdb_") {
			continue
		}
		if (f.GetType() == dto.MetricType_COUNTER) != strings.HasSuffix(name, "_total") {
			t.Errorf("%s is a %v", name, f.GetType())
		}
		for _, m := range f.GetMetric() {
			labels := m.GetLabel()
			slices.SortFunc(labels, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
			series := name
			for i, l := range labels {
				sep := ","
				if i == 0 {
					sep = "{"
				}
				series += sep + l.GetName() + "=" + strconv.Quote(l.GetValue())
			}
			if len(labels) > 0 {
				series += "}"
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			if _, dup := out[series]; dup {
				t.Errorf("%s twice", series)
			}
			out[series] = v
		}
	}
	return out
}

// canon writes a series as scrape does, with its labels in name order:
// name{b="2",a="1"} is name{a="1",b="2"}.
func canon(series string) string {
	name, labels, ok := strings.Cut(strings.TrimSuffix(series, "}"), "{")
	if !ok {
		return series
	}
	pairs := strings.Split(labels, ",")
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// TestMetrics checks the families and what a few requests add to them.
func TestMetrics(t *testing.T) {
	ts := startSample(t, nil)
	before := scrape(t, ts)
	for _, family := range []string{"oauthdb_introspections_total", "oauthdb_client_authentications_total",
		"oauthdb_http_requests_total", "oauthdb_cache_hits_total", "oauthdb_cache_misses_total", "oauthdb_cache_entries",
		"oauthdb_ready", "oauthdb_replica_lag_seconds", "oauthdb_replica_rows_applied_total", "oauthdb_replica_rows_refused_total"} {
		found := false
		for series := range before {
			found = found || series == family || strings.HasPrefix(series, family+"{")
		}
		if !found {
			t.Errorf("no family %s", family)
		}
	}
	for series, v := range before {
		if v != 0 && series != "oauthdb_ready" && !(strings.HasPrefix(series, "oauthdb_http_requests_total{") && strings.Contains(series, `path="/metrics"`)) {
			t.Errorf("%s = %v on a fresh server", series, v)
		}
	}
	if before["oauthdb_ready"] != 1 {
		t.Errorf("oauthdb_ready = %v", before["oauthdb_ready"])
	}
	for range 3 {
		ts.introspect(t, ts.smp.Access, "")
	}
	ts.introspect(t, ts.smp.Expired, "")
	ts.do(t, req{method: http.MethodGet})
	ts.do(t, req{method: http.MethodGet, path: pathHealthz})
	ts.do(t, req{method: http.MethodGet, path: "/nope"})
	m := scrape(t, ts)
	for series, want := range map[string]float64{
		`oauthdb_introspections_total{result="active",token_type="access_token"}`: 3,
		`oauthdb_introspections_total{result="inactive",reason="expired"}`:        1,
		`oauthdb_http_requests_total{path="/introspect",code="200"}`:              4,
		`oauthdb_http_requests_total{path="/introspect",code="405"}`:              1,
		`oauthdb_http_requests_total{path="/healthz",code="200"}`:                 1,
		`oauthdb_http_requests_total{path="/metrics",code="200"}`:                 1,
		`oauthdb_http_requests_total{path="other",code="404"}`:                    1,
		// The first introspection of the token misses and keeps it; the
		// next two hit. The expired token misses.
		"oauthdb_cache_hits_total":    2,
		"oauthdb_cache_misses_total":  2,
		"oauthdb_cache_entries":       1,
		"oauthdb_replica_lag_seconds": 0,
	} {
		if m[canon(series)] != want {
			t.Errorf("%s = %v, want %v", series, m[canon(series)], want)
		}
	}
}

// TestShutdownDeadline: a request still in flight when the shutdown's
// deadline passes is cut off, and the command fails saying so.
func TestShutdownDeadline(t *testing.T) {
	db, smp, err := newSample()
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(&embedded{db: db}, testIssuer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx, ln, 200*time.Millisecond) }()

	// A request whose body never comes: its handler waits for it.
	conn := sendHead(t, ln.Addr().String(), smp, 100)
	defer conn.Close()
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cut off") {
			t.Errorf("run: %v, want the requests cut off", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the shutdown did not end at its deadline")
	}
}

// sendHead sends the head of an introspection request as sample-api,
// announcing a body of n bytes, and returns once the handler is reading the
// body: it asked for it with 100 Continue.
func sendHead(t *testing.T, addr string, smp *sample, n int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(sampleAPI + ":" + smp.secret(sampleAPI)))
	fmt.Fprintf(conn, "POST /introspect HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, auth, n)
	const cont = "HTTP/1.1 100 Continue\r\n\r\n"
	buf := make([]byte, len(cont))
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != cont {
		t.Fatalf("waiting for 100 Continue: %q, %v", buf, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return conn
}

// TestServeSnapshot serves a snapshot file through the whole command, with
// -issuer: the tokens of the DB the snapshot was taken of introspect as
// they did there.
func TestServeSnapshot(t *testing.T) {
	db, smp, err := newSample()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(db.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "snapshot.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- serveMain(ctx, []string{"-listen", "127.0.0.1:0", "-snapshot", file, "-issuer", testIssuer}, io.Discard, &stderr)
	}()
	base := waitListening(t, &stderr, done)
	client := &http.Client{Timeout: 10 * time.Second}
	for token, active := range map[string]bool{smp.Access: true, smp.Refresh: true, smp.Revoked: false} {
		body := url.Values{"token": {token}}.Encode()
		hr, _ := http.NewRequest(http.MethodPost, base+pathIntrospect, strings.NewReader(body))
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		hr.SetBasicAuth(sampleAPI, smp.secret(sampleAPI))
		res, err := client.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		_ = json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if got["active"] != active || (active && got["iss"] != testIssuer) {
			t.Errorf("token active %v: %v", active, got)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	out := stderr.String()
	if !strings.Contains(out, "snapshot "+file) || strings.Contains(out, "SAMPLE") {
		t.Errorf("stderr of a snapshot's serve:\n%s", out)
	}
	for _, c := range smp.credentials() {
		if strings.Contains(out, c) {
			t.Errorf("stderr holds a credential:\n%s", out)
		}
	}
}

var listeningLine = regexp.MustCompile(`msg="oauthdb serve: listening" url=(http://\S+)`)

// waitListening waits for the command's log to say where it listens.
func waitListening(t *testing.T, stderr *syncBuffer, done <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningLine.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before listening: %v\n%s", err, stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not listen:\n%s", stderr)
	return ""
}

// TestServeUsage: flag mistakes are usage errors (exit 2, one line and a
// hint), none quotes a DSN, and the help lists the flags and endpoints.
func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{{"help", "serve"}, {"serve", "-h"}, {"serve", "-help"}} {
		code, out, errOut := runCmd(args...)
		if code != exitOK || errOut != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"usage: oauthdb serve [flags]", "POST /introspect", "/healthz", "/livez", "/readyz", "/metrics",
			"-listen", "-snapshot", "-postgres", "-slot", "-max-lag", "-issuer", "-shutdown-timeout", "SAMPLE",
			"$OAUTHDB_LISTEN", "$OAUTHDB_MAX_LAG", "$OAUTHDB_POSTGRES", "$OAUTHDB_SHUTDOWN_TIMEOUT", "PGPASSWORD", "PGPASSFILE",
			"-state-dir", "-slot-ttl", "-shared-marks", "$OAUTHDB_STATE_DIR"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: the help lacks %q", args, want)
			}
		}
	}
	if code, out, _ := runCmd("help"); code != exitOK || !strings.Contains(out, "serve ") {
		t.Errorf("the command list lacks serve:\n%s", out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-listen", "8080"}, `-listen "8080": want host:port`},
		{[]string{"-issuer", "auth.example.com"}, "-issuer"},
		{[]string{"-cache", "-1"}, "-cache must not be negative"},
		{[]string{"-shutdown-timeout", "0s"}, "-shutdown-timeout must be positive"},
		{[]string{"-max-lag", "x"}, `invalid value "x" for flag -max-lag`},
		{[]string{"-slot", "s"}, "-slot, -max-lag, -state-dir, -slot-ttl and -shared-marks go with -postgres"},
		{[]string{"-state-dir", "x"}, "go with -postgres"},
		{[]string{"-postgres", "postgres://u:hunter2@db/auth", "-slot", "s", "-slot-ttl", "30s"}, "-slot-ttl must be 0 or at least a minute"},
		{[]string{"-postgres", "postgres://u:hunter2@db/auth"}, "-postgres needs -slot"},
		{[]string{"-postgres", "postgres://u:hunter2@db/auth", "-slot", "Bad-Slot"}, "-postgres needs -slot"},
		{[]string{"-postgres", "postgres://u:hunter2@db/auth", "-slot", "s", "-max-lag", "0s"}, "-max-lag must be positive"},
		{[]string{"-postgres", "postgres://u:hunter2@db/auth", "-slot", "s", "-snapshot", "f.json"}, "give one"},
		{[]string{"-snapshot", ""}, "-snapshot is empty"},
	} {
		code, out, errOut := runCmd(append([]string{"serve"}, tt.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tt.want) ||
			!strings.Contains(errOut, "Run 'oauthdb help serve' for usage.") || strings.Count(errOut, "\n") != 2 {
			t.Errorf("serve %v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, errOut, tt.want)
		}
		if strings.Contains(errOut, "hunter2") {
			t.Errorf("serve %v: the DSN's password is in the message: %q", tt.args, errOut)
		}
	}
	code, _, errOut := runCmd("serve", "-listen", "127.0.0.1:0", "-snapshot", filepath.Join(t.TempDir(), "none.json"))
	if code != exitFail || !strings.Contains(errOut, "-snapshot") {
		t.Errorf("a missing snapshot: exit %d, %q", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"oauthAccessToken":[{"id":"a","token":"h","clientId":"nobody","expiresAt":"2030-01-01T00:00:00Z"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCmd("serve", "-listen", "127.0.0.1:0", "-snapshot", bad)
	if code != exitFail || !strings.Contains(errOut, "bad.json") || !strings.Contains(errOut, "clientId") {
		t.Errorf("a snapshot with a dangling foreign key: exit %d, %q", code, errOut)
	}
}

// TestReplicaFailsClosed serves a replica DB (oauthdb.WithReplica) holding
// the sample's rows: until something vouches for its rows
// (SetFreshUntil), introspection answers 503, never an answer of either
// kind; once vouched for, it answers as the sample did.
func TestReplicaFailsClosed(t *testing.T) {
	db, smp, err := newSample()
	if err != nil {
		t.Fatal(err)
	}
	snap := db.Snapshot()
	replica, err := oauthdb.Open(oauthdb.WithReplica())
	if err != nil {
		t.Fatal(err)
	}
	refused, err := replica.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(snap) })
	if err != nil || len(refused) > 0 {
		t.Fatalf("reload: %v, refused %v", err, refused)
	}
	log := &syncBuffer{}
	s := newServer(&embedded{db: replica}, testIssuer, slog.New(slog.NewTextHandler(log, nil)))
	ts := &sampleServer{Server: httptest.NewServer(s), s: s, smp: smp, log: log}
	defer ts.Close()

	got := ts.introspect(t, smp.Access, "")
	wantError(t, "a replica never vouched for", got, 503, "temporarily_unavailable")
	if got.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	// Past client authentication, the token's validation fails closed too:
	// internal/authserver's TestStaleReplica.
	replica.SetFreshUntil(time.Now().Add(time.Hour))
	if got := ts.introspect(t, smp.Access, ""); got.status != 200 || got.json["active"] != true {
		t.Errorf("once vouched for: %d %s", got.status, got.raw)
	}
	if got := ts.introspect(t, smp.Revoked, ""); got.raw != `{"active":false}` {
		t.Errorf("a revoked token once vouched for: %s", got.raw)
	}
	m := scrape(t, ts)
	for series, want := range map[string]float64{
		`oauthdb_client_authentications_total{result="stale"}`:       1,
		`oauthdb_introspections_total{result="stale"}`:               0, // refused at authentication
		`oauthdb_http_requests_total{path="/introspect",code="503"}`: 1,
	} {
		if m[canon(series)] != want {
			t.Errorf("%s = %v, want %v", series, m[canon(series)], want)
		}
	}
	if strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("staleness is not an error of the server:\n%s", log)
	}
}

// TestPairwiseRefused: for a token of a client with pairwise subject
// identifiers, better-auth answers a sub that serve cannot compute; serve
// answers 500 rather than the user's own ID.
func TestPairwiseRefused(t *testing.T) {
	ts := startSample(t, nil)
	db := ts.s.src.DB()
	const secret = "pairwise-secret"
	var token string
	err := db.Update(func(tx *oauthdb.Tx) error {
		if err := tx.InsertClient(oauthdb.OAuthClient{ID: "pw", ClientID: "pairwise-app", ClientSecret: oauthdb.HashSecret(secret),
			SubjectType: "pairwise", RedirectURIs: []string{"https://pw.example/cb"}}); err != nil {
			return err
		}
		issued, err := tx.IssueTokens(oauthdb.IssueRequest{ClientID: "pairwise-app", UserID: ts.smp.AliceID,
			SessionID: ts.smp.SessionID, Scopes: []string{"openid"}, Refresh: true})
		token = issued.AccessToken
		if err == nil {
			// The refresh token too: refused by the same rule.
			token += " " + issued.RefreshToken
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range strings.Fields(token) {
		got := ts.do(t, req{basic: []string{"pairwise-app", secret}, body: "token=" + tok})
		wantError(t, "a pairwise client's token", got, 500, "server_error")
		if strings.Contains(got.raw, ts.smp.AliceID) {
			t.Errorf("the answer names the user: %s", got.raw)
		}
		if strings.Contains(ts.log.String(), tok) {
			t.Errorf("the log holds the token:\n%s", ts.log)
		}
	}
}

// With -postgres, the replica's state goes under $XDG_STATE_HOME (else
// $HOME/.local/state), in a directory named after the slot, unless
// -state-dir (or $OAUTHDB_STATE_DIR) says where, or "" for none.
func TestServeStateDir(t *testing.T) {
	dsn := []string{"-postgres", "host=/nowhere dbname=auth"}
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-slot", "oauthdb_a"}, map[string]string{"XDG_STATE_HOME": "/var/lib/state", "HOME": "/home/ada"}, "/var/lib/state/oauthdb/oauthdb_a"},
		{[]string{"-slot", "oauthdb_a"}, map[string]string{"HOME": "/home/ada"}, "/home/ada/.local/state/oauthdb/oauthdb_a"},
		{[]string{"-slot", "oauthdb_a", "-state-dir", "/srv/oauthdb"}, map[string]string{"HOME": "/home/ada"}, "/srv/oauthdb"},
		{[]string{"-slot", "oauthdb_a", "-state-dir", ""}, map[string]string{"HOME": "/home/ada"}, ""},
		{[]string{"-slot", "oauthdb_a"}, map[string]string{"OAUTHDB_STATE_DIR": ""}, ""},
	} {
		lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
		o, err := parseServe(append(dsn, tt.args...), lookup, io.Discard)
		if err != nil || o.stateDir != tt.want {
			t.Errorf("%v with %v: state dir %q (%v), want %q", tt.args, tt.env, o.stateDir, err, tt.want)
		}
	}
	if _, err := parseServe(append(dsn, "-slot", "oauthdb_a"), func(string) (string, bool) { return "", false }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "-state-dir") {
		t.Errorf("without a home: %v, want a usage error naming -state-dir", err)
	}
}

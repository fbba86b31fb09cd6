package oauthdbtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

// response is what an endpoint answered.
type response struct {
	status int
	header http.Header
	body   map[string]any
}

func (r response) str(key string) string { s, _ := r.body[key].(string); return s }

// request is one HTTP request to the fake server, made as a client would.
type request struct {
	method      string // POST by default
	path        string
	form        url.Values
	basic       []string // client_id, secret for client_secret_basic
	contentType string   // form-encoded by default
	dpop        string   // a DPoP proof, if any
}

func do(t *testing.T, srv *oauthdbtest.Server, r request) response {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	req, err := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(r.form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	ct := r.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	req.Header.Set("Content-Type", ct)
	if r.basic != nil {
		req.SetBasicAuth(url.QueryEscape(r.basic[0]), url.QueryEscape(r.basic[1]))
	}
	if r.dpop != "" {
		req.Header.Set("DPoP", r.dpop)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out.body); err != nil {
			t.Fatalf("%s %s answered %d with a body that is not JSON: %q", r.method, r.path, resp.StatusCode, b)
		}
	}
	return out
}

// wantError checks an RFC 6749 §5.2 error response.
func wantError(t *testing.T, got response, status int, code string) {
	t.Helper()
	if got.status != status || got.str("error") != code {
		t.Errorf("answer %d %v, want %d %q", got.status, got.body, status, code)
	}
	if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error Content-Type %q", ct)
	}
	if got.str("error_description") == "" {
		t.Errorf("error %q has no description", code)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(got.header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("401 without WWW-Authenticate: Basic: %v", got.header)
	}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// world is a DB with the usual cast, and a fake server over it.
type world struct {
	fx     *oauthdbtest.Fixtures
	srv    *oauthdbtest.Server
	alice  oauthdb.User
	laptop oauthdb.Session
	app    oauthdb.OAuthClient // confidential, scopes openid offline_access read write
	other  oauthdb.OAuthClient // confidential, any scope
	mobile oauthdb.OAuthClient // public
}

func newWorld(t *testing.T) *world {
	fx := oauthdbtest.New(t)
	w := &world{fx: fx, srv: oauthdbtest.NewServer(t, fx.DB)}
	w.alice = fx.User(oauthdbtest.Name("Alice"), oauthdbtest.Email("alice@example.com"))
	w.laptop = fx.Session(w.alice)
	w.app = fx.Client(oauthdbtest.ClientID("app"), oauthdbtest.WithSecret("app secret/+&"),
		oauthdbtest.Scopes("openid", "offline_access", "read", "write"), oauthdbtest.ClientCredentialsScopes("read", "write"))
	w.other = fx.Client(oauthdbtest.ClientID("other"), oauthdbtest.WithSecret("other-secret"))
	w.mobile = fx.Client(oauthdbtest.ClientID("mobile"), oauthdbtest.Public())
	return w
}

func (w *world) basic(c oauthdb.OAuthClient) []string { return []string{c.ClientID, w.fx.Secret(c)} }

// code mints an authorization code for alice's laptop session, with PKCE.
func (w *world) code(t *testing.T, c oauthdb.OAuthClient, scopes ...string) (code, verifier string) {
	t.Helper()
	verifier = "a-verifier-of-forty-three-characters-or-more-00"
	code = w.srv.Authorize(oauthdbtest.AuthorizeRequest{Client: c, Session: w.laptop, Scopes: scopes,
		State: "xyz", CodeVerifier: verifier})
	return code, verifier
}

func TestMetadata(t *testing.T) {
	w := newWorld(t)
	got := do(t, w.srv, request{method: http.MethodGet, path: oauthdbtest.PathMetadata})
	if got.status != http.StatusOK || got.str("issuer") != w.srv.Issuer() ||
		got.str("token_endpoint") != w.srv.URL+"/token" || got.str("introspection_endpoint") != w.srv.URL+"/introspect" ||
		got.str("revocation_endpoint") != w.srv.URL+"/revoke" || got.str("authorization_endpoint") != w.srv.URL+"/authorize" {
		t.Errorf("metadata: %d %v", got.status, got.body)
	}
	if m, _ := got.body["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
		t.Errorf("code_challenge_methods_supported: %v", m)
	}
}

func TestClientCredentials(t *testing.T) {
	w := newWorld(t)
	// A client registered for client_secret_post sends its secret in the
	// form; the app, registered for client_secret_basic, in the header.
	w.fx.Client(oauthdbtest.ClientID("poster"), oauthdbtest.WithSecret("poster secret/+&"),
		oauthdbtest.AuthMethod("client_secret_post"), oauthdbtest.ClientCredentialsScopes("read", "write"))
	before := oauthdbtest.Dump(w.fx.DB)
	for _, tc := range []struct {
		name, client string
		req          request
	}{
		{"basic", "app", request{form: form("grant_type", "client_credentials", "scope", "read"), basic: w.basic(w.app)}},
		{"post", "poster", request{form: form("grant_type", "client_credentials", "scope", "read",
			"client_id", "poster", "client_secret", "poster secret/+&")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.path = oauthdbtest.PathToken
			got := do(t, w.srv, tc.req)
			if got.status != http.StatusOK || got.str("token_type") != "Bearer" || got.str("scope") != "read" ||
				got.body["expires_in"] != 3600.0 || got.str("refresh_token") != "" {
				t.Fatalf("answer %d %v", got.status, got.body)
			}
			if got.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", got.header.Get("Cache-Control"))
			}
			info, err := w.fx.ValidateAccessToken(got.str("access_token"))
			if err != nil || info.Token.ClientID != tc.client || info.User.ID != "" {
				t.Errorf("issued token: %v %+v", err, info.Token)
			}
		})
	}
	want := before.Clone()
	now := w.fx.Now()
	for _, c := range []string{"app", "poster"} {
		want.AccessTokens = append(want.AccessTokens, oauthdb.OAuthAccessToken{ClientID: c, Scopes: []string{"read"},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	oauthdbtest.AssertState(t, w.fx.DB, want, oauthdbtest.IgnoreGeneratedIDs())

	// No scope asked: the client's clientCredentialsScopes, as better-auth
	// 1.7.29 grants them.
	got := do(t, w.srv, request{path: oauthdbtest.PathToken, form: form("grant_type", "client_credentials"), basic: w.basic(w.app)})
	if got.status != http.StatusOK || got.str("scope") != "read write" {
		t.Errorf("default scope: %d %v", got.status, got.body)
	}
	// A client with none may not use the grant; the scopes of a user (openid,
	// profile, email, offline_access) are never a client's, nor any outside
	// its clientCredentialsScopes.
	userScoped := w.fx.Client(oauthdbtest.WithSecret("u"), oauthdbtest.ClientCredentialsScopes("offline_access", "read"))
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		cc := func(c oauthdb.OAuthClient, kv ...string) response {
			return do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(c),
				form: form(append([]string{"grant_type", "client_credentials"}, kv...)...)})
		}
		wantError(t, cc(w.other), 400, "unauthorized_client")
		wantError(t, cc(w.other, "scope", "read"), 400, "unauthorized_client")
		wantError(t, cc(w.app, "scope", "openid"), 400, "invalid_scope")
		wantError(t, cc(w.app, "scope", "read admin"), 400, "invalid_scope")
		wantError(t, cc(userScoped, "scope", "offline_access"), 400, "invalid_scope")
	})
}

func TestTokenEndpointRefusals(t *testing.T) {
	w := newWorld(t)
	disabled := w.fx.Client(oauthdbtest.ClientID("disabled"), oauthdbtest.WithSecret("d"), oauthdbtest.Disabled())
	noCC := w.fx.Client(oauthdbtest.ClientID("no-cc"), oauthdbtest.WithSecret("n"), oauthdbtest.GrantTypes("authorization_code"))
	cc := func(kv ...string) url.Values {
		return form(append([]string{"grant_type", "client_credentials"}, kv...)...)
	}
	for _, tc := range []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"GET", request{method: http.MethodGet, form: cc(), basic: w.basic(w.app)}, http.StatusMethodNotAllowed, "invalid_request"},
		{"JSON body", request{form: cc(), basic: w.basic(w.app), contentType: "application/json"}, 400, "invalid_request"},
		{"no grant_type", request{form: form("scope", "read"), basic: w.basic(w.app)}, 400, "invalid_request"},
		{"unknown grant type", request{form: form("grant_type", "password", "username", "alice"), basic: w.basic(w.app)}, 400, "unsupported_grant_type"},
		{"implicit", request{form: form("grant_type", "implicit"), basic: w.basic(w.app)}, 400, "unsupported_grant_type"},
		{"repeated parameter", request{form: url.Values{"grant_type": {"client_credentials"}, "scope": {"read", "write"}}, basic: w.basic(w.app)}, 400, "invalid_request"},
		{"no client authentication", request{form: cc()}, 401, "invalid_client"},
		{"wrong secret, basic", request{form: cc(), basic: []string{"app", "wrong"}}, 401, "invalid_client"},
		{"wrong secret, post", request{form: cc("client_id", "app", "client_secret", "wrong")}, 401, "invalid_client"},
		{"another client's secret", request{form: cc(), basic: []string{"app", "other-secret"}}, 401, "invalid_client"},
		{"secret with reserved characters", request{form: cc(), basic: []string{"app", "app secret/+&"}}, 200, ""},
		{"unknown client", request{form: cc(), basic: []string{"nobody", "x"}}, 401, "invalid_client"},
		{"empty secret", request{form: cc("client_id", "app", "client_secret", "")}, 401, "invalid_client"},
		{"two methods", request{form: cc("client_secret", "app secret/+&"), basic: w.basic(w.app)}, 400, "invalid_request"},
		{"client_id differs from Basic", request{form: cc("client_id", "other"), basic: w.basic(w.app)}, 400, "invalid_request"},
		{"bearer scheme", request{form: cc()}, 401, "invalid_client"},
		{"disabled client", request{form: cc(), basic: w.basic(disabled)}, 401, "invalid_client"},
		{"public client", request{form: cc("client_id", "mobile")}, 400, "unauthorized_client"},
		{"public client with a secret", request{form: cc("client_id", "mobile", "client_secret", "guess")}, 401, "invalid_client"},
		{"grant not registered", request{form: cc(), basic: w.basic(noCC)}, 400, "unauthorized_client"},
		{"scope not allowed", request{form: cc("scope", "read admin"), basic: w.basic(w.app)}, 400, "invalid_scope"},
		{"code: no code", request{form: form("grant_type", "authorization_code", "redirect_uri", w.app.RedirectURIs[0]), basic: w.basic(w.app)}, 400, "invalid_request"},
		{"code: unknown code", request{form: form("grant_type", "authorization_code", "code", "nope", "code_verifier", "v"), basic: w.basic(w.app)}, 400, "invalid_grant"},
		{"refresh: no token", request{form: form("grant_type", "refresh_token"), basic: w.basic(w.app)}, 400, "invalid_request"},
		{"refresh: unknown token", request{form: form("grant_type", "refresh_token", "refresh_token", "nope"), basic: w.basic(w.app)}, 400, "invalid_grant"},
		{"refresh: malformed token", request{form: form("grant_type", "refresh_token", "refresh_token", "has space"), basic: w.basic(w.app)}, 400, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.path = oauthdbtest.PathToken
			if tc.code == "" {
				// A control: the raw secret is what url-encoding in Basic
				// protects; SetBasicAuth in do encodes it, and it works.
				if got := do(t, w.srv, tc.req); got.status != http.StatusOK {
					t.Fatalf("answer %d %v", got.status, got.body)
				}
				return
			}
			oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
				if tc.name == "bearer scheme" {
					req, _ := http.NewRequest(http.MethodPost, w.srv.URL+oauthdbtest.PathToken, strings.NewReader(tc.req.form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Authorization", "Bearer abc")
					resp, err := w.srv.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					var body map[string]any
					json.NewDecoder(resp.Body).Decode(&body)
					wantError(t, response{resp.StatusCode, resp.Header, body}, tc.status, tc.code)
					return
				}
				wantError(t, do(t, w.srv, tc.req), tc.status, tc.code)
			})
		})
	}
}

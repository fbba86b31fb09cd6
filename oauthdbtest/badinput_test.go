package oauthdbtest_test

// Bad input to the OpenID endpoints: each answered with the error OAuth
// 2.1 and OpenID Connect prescribe — by redirect where the client and its
// redirect URI can be trusted, as a JSON error otherwise — never a panic
// (net/http would drop the connection, and the request here would fail),
// never a secret in the answer, and never a change to the DB.

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthdb/oauthdb/oauthdbtest"
	"golang.org/x/oauth2"
)

func TestAuthorizeBadInput(t *testing.T) {
	w := newOIDCWorld(t)
	redirect := w.app.RedirectURIs[0]
	good := func(kv ...string) url.Values {
		q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {redirect}, "scope": {"openid"},
			"state": {"st"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
			"code_challenge_method": {"S256"}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	repeated := good()
	repeated["nonce"] = []string{"a", "b"}
	for _, tc := range []struct {
		name     string
		query    url.Values
		redirect bool // the error goes back to the client
		status   int  // when it does not
		code     string
	}{
		{"no client_id", good("client_id", ""), false, 400, "invalid_request"},
		{"unknown client", good("client_id", "nobody"), false, 400, "invalid_client"},
		{"redirect_uri not registered", good("redirect_uri", "https://evil.example.com/cb"), false, 400, "invalid_request"},
		{"redirect_uri missing", good("redirect_uri", ""), false, 400, "invalid_request"},
		{"redirect_uri malformed", good("redirect_uri", "http://[::1"), false, 400, "invalid_request"},
		{"a repeated parameter", repeated, false, 400, "invalid_request"},
		{"no response_type", good("response_type", ""), true, 0, "invalid_request"},
		{"response_type token", good("response_type", "token"), true, 0, "unsupported_response_type"},
		{"response_type id_token", good("response_type", "id_token"), true, 0, "unsupported_response_type"},
		{"response_type code id_token", good("response_type", "code id_token"), true, 0, "unsupported_response_type"},
		{"no PKCE", good("code_challenge", ""), true, 0, "invalid_request"},
		{"PKCE plain", good("code_challenge_method", "plain"), true, 0, "invalid_request"},
		{"a scope the client may not have", good("scope", "openid admin"), true, 0, "invalid_scope"},
		{"a nonce over MaxNonceLength", good("nonce", strings.Repeat("n", oauthdbtest.MaxNonceLength+1)), true, 0, "invalid_request"},
		{"a request object", good("request", "eyJhbGciOiJub25lIn0.e30."), true, 0, "request_not_supported"},
		{"a request_uri", good("request_uri", "https://app.example.com/req"), true, 0, "request_uri_not_supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
				got := get(t, w.srv, oauthdbtest.PathAuthorize, tc.query)
				if !tc.redirect {
					wantError(t, got, tc.status, tc.code)
					if loc := got.header.Get("Location"); loc != "" {
						t.Errorf("redirected to %s", loc)
					}
					return
				}
				loc, err := url.Parse(got.header.Get("Location"))
				if got.status != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), redirect+"?") {
					t.Fatalf("answer %d, Location %q, want a redirect to the client", got.status, got.header.Get("Location"))
				}
				q := loc.Query()
				if q.Get("error") != tc.code || q.Get("error_description") == "" || q.Get("state") != "st" || q.Get("code") != "" || q.Get("iss") != w.srv.URL {
					t.Errorf("redirect %s, want error %q with state and iss", loc, tc.code)
				}
				if strings.Contains(q.Get("error_description"), strings.Repeat("n", 64)) {
					t.Error("the error echoes the nonce")
				}
			})
		})
	}
	if got := do(t, w.srv, request{path: oauthdbtest.PathAuthorize, form: good()}); got.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /authorize: %d", got.status)
	}
	// A nonce of MaxNonceLength is fine.
	got := get(t, w.srv, oauthdbtest.PathAuthorize, good("nonce", strings.Repeat("n", oauthdbtest.MaxNonceLength)))
	if loc, _ := url.Parse(got.header.Get("Location")); got.status != http.StatusFound || loc.Query().Get("code") == "" {
		t.Errorf("a nonce of MaxNonceLength: %d %v", got.status, got.header.Get("Location"))
	}
}

func TestTokenAndUserInfoBadInput(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app)
	verifier := oauth2.GenerateVerifier()
	code := w.srv.Visit(r.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))).Query().Get("code")
	secret := w.fx.Secret(w.app)
	basic := []string{"app", secret}
	redeem := "grant_type=authorization_code&code=" + url.QueryEscape(code) + "&redirect_uri=" +
		url.QueryEscape(w.app.RedirectURIs[0]) + "&code_verifier=" + verifier

	for _, tc := range []struct {
		name   string
		body   string
		ct     string
		status int
		code   string
	}{
		{"bad percent-encoding", redeem + "&x=%zz", "", 400, "invalid_request"},
		{"a repeated code", redeem + "&code=" + url.QueryEscape(code), "", 400, "invalid_request"},
		{"a JSON body", `{"grant_type":"authorization_code","code":"` + code + `"}`, "application/json", 400, "invalid_request"},
		{"no code_verifier", strings.Replace(redeem, "&code_verifier="+verifier, "", 1), "", 400, "invalid_request"},
		{"a wrong code_verifier", strings.Replace(redeem, verifier, oauth2.GenerateVerifier(), 1), "", 400, "invalid_grant"},
		{"another redirect_uri", strings.Replace(redeem, url.QueryEscape(w.app.RedirectURIs[0]), "https%3A%2F%2Fevil.example.com%2F", 1), "", 400, "invalid_grant"},
		{"a body over a MiB", redeem + "&pad=" + strings.Repeat("p", 2<<20), "", 413, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
				req, err := http.NewRequest(http.MethodPost, w.srv.URL+oauthdbtest.PathToken, strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				ct := tc.ct
				if ct == "" {
					ct = "application/x-www-form-urlencoded"
				}
				req.Header.Set("Content-Type", ct)
				req.SetBasicAuth(basic[0], url.QueryEscape(basic[1]))
				resp, err := w.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				for name, s := range map[string]string{"client secret": secret, "code": code, "verifier": verifier} {
					if strings.Contains(string(body), s) {
						t.Errorf("the answer holds the %s: %s", name, body)
					}
				}
				if resp.StatusCode != tc.status || !strings.Contains(string(body), `"error":"`+tc.code+`"`) {
					t.Errorf("answer %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
				}
			})
		})
	}
	// After all that, the code is still good.
	if _, err := r.cfg.Exchange(r.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("the code: %v", err)
	}

	for name, auth := range map[string]string{
		"Basic credentials": "Basic YXBwOnNlY3JldA==", "an empty bearer": "Bearer ", "a malformed token": "Bearer a b c",
		"an unknown token": "Bearer nope", "no scheme": "abc",
	} {
		req, _ := http.NewRequest(http.MethodGet, w.srv.URL+oauthdbtest.PathUserInfo, nil)
		req.Header.Set("Authorization", auth)
		resp, err := w.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") ||
			!strings.Contains(string(body), `"error":`) {
			t.Errorf("userinfo with %s: %d %v %s", name, resp.StatusCode, resp.Header, body)
		}
	}
	if got := do(t, w.srv, request{method: http.MethodPut, path: oauthdbtest.PathUserInfo}); got.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT /userinfo: %d", got.status)
	}
}

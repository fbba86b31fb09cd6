package oauthdbtest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestRequestsRecordWhatTheClientSent(t *testing.T) {
	w := newOIDCWorld(t)
	// The web app sends its secret in the form (client_secret_post), as it
	// registered; the app, in the Authorization header.
	web := w.fx.Client(oauthdbtest.ClientID("web"), oauthdbtest.SkipConsent(), oauthdbtest.AuthMethod("client_secret_post"),
		oauthdbtest.Scopes("openid", "offline_access"))
	r := newRP(t, w.fx, w.srv, web, oidc.ScopeOpenID, oidc.ScopeOfflineAccess)
	r.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	pkce := oauth2.GenerateVerifier()
	back := w.srv.Visit(r.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce), oidc.Nonce("n-1")))
	code := back.Query().Get("code")
	tok, err := r.cfg.Exchange(r.ctx, code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: "app", ClientSecret: w.fx.Secret(w.app), TokenURL: w.srv.Endpoint().TokenURL,
		Scopes: []string{"notes:read"}, AuthStyle: oauth2.AuthStyleInHeader}
	if _, err := cc.Token(clientContext(t, w.srv)); err != nil {
		t.Fatal(err)
	}
	_, _ = cc.Token(clientContext(t, w.srv)) // again: two of them

	all := w.srv.Requests()
	var paths []string
	for _, q := range all {
		paths = append(paths, q.Method+" "+q.Path)
	}
	if d := cmp.Diff([]string{
		"GET " + oauthdbtest.PathOpenIDConfiguration, "GET " + oauthdbtest.PathAuthorize, "POST " + oauthdbtest.PathToken,
		"GET " + oauthdbtest.PathUserInfo, "POST " + oauthdbtest.PathToken, "POST " + oauthdbtest.PathToken,
	}, paths); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}

	authz := w.srv.Requests(oauthdbtest.PathAuthorize)[0]
	if authz.ClientID != "web" || authz.ClientAuth != "" || authz.Params.Get("nonce") != "n-1" || authz.Params.Get("state") != "st" ||
		authz.Params.Get("code_challenge") != oauth2.S256ChallengeFromVerifier(pkce) || authz.Status != http.StatusFound ||
		cmp.Diff([]string{"openid", "offline_access"}, authz.Scopes) != "" {
		t.Errorf("the authorization request: %+v", authz)
	}
	tokens := w.srv.Requests(oauthdbtest.PathToken)
	exchange, creds := tokens[0], tokens[1]
	if exchange.GrantType != "authorization_code" || exchange.ClientID != "web" || exchange.ClientAuth != "client_secret_post" ||
		exchange.Params.Get("code") != oauthdbtest.Fingerprint(code) ||
		exchange.Params.Get("code_verifier") != oauthdbtest.Fingerprint(pkce) ||
		exchange.Params.Get("client_secret") != oauthdbtest.Fingerprint(w.fx.Secret(web)) || exchange.Status != http.StatusOK {
		t.Errorf("the code exchange: %+v", exchange)
	}
	if creds.GrantType != "client_credentials" || creds.ClientID != "app" || creds.ClientAuth != "client_secret_basic" ||
		cmp.Diff([]string{"notes:read"}, creds.Scopes) != "" || creds.Params.Has("client_secret") {
		t.Errorf("the client-credentials request: %+v", creds)
	}
	if info := w.srv.Requests(oauthdbtest.PathUserInfo)[0]; info.Bearer != oauthdbtest.Fingerprint(tok.AccessToken) || info.Status != 200 {
		t.Errorf("the userinfo request: %+v", info)
	}

	// No secret is kept, in any form a test could print.
	printed := fmt.Sprintf("%+v", all)
	for name, secret := range map[string]string{"the client secret": w.fx.Secret(web), "the app's secret": w.fx.Secret(w.app), "the code": code,
		"the PKCE verifier": pkce, "the access token": tok.AccessToken, "the refresh token": tok.RefreshToken} {
		if strings.Contains(printed, secret) {
			t.Errorf("the recorded requests hold %s", name)
		}
	}

	// What Requests returns is the test's to change.
	all[0].Params.Set("x", "y")
	if w.srv.Requests()[0].Params.Has("x") {
		t.Error("Requests returned the server's own record")
	}
}

func TestRequestsRecordRefusalsAndUnknownPaths(t *testing.T) {
	w := newWorld(t)
	wantError(t, do(t, w.srv, request{path: oauthdbtest.PathToken, basic: []string{"app", "wrong"},
		form: form("grant_type", "client_credentials")}), http.StatusUnauthorized, "invalid_client")
	do(t, w.srv, request{path: oauthdbtest.PathToken, form: form("grant_type", "refresh_token", "client_id", "mobile", "refresh_token", "r")})
	resp, err := w.srv.Client().Get(w.srv.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got := w.srv.Requests()
	if len(got) != 3 {
		t.Fatalf("%d requests: %+v", len(got), got)
	}
	if got[0].Status != 401 || got[0].ClientAuth != "client_secret_basic" || got[0].ClientID != "app" {
		t.Errorf("a wrong secret: %+v", got[0])
	}
	if got[1].ClientAuth != "none" || got[1].Params.Get("refresh_token") != oauthdbtest.Fingerprint("r") {
		t.Errorf("a public client: %+v", got[1])
	}
	if got[2].Path != "/nope" || got[2].Status != http.StatusNotFound {
		t.Errorf("an unknown path: %+v", got[2])
	}
}

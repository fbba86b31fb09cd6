package oauthdbtest_test

// The fake server as an OpenID provider, driven by a real relying party:
// github.com/coreos/go-oidc/v3 over golang.org/x/oauth2.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"golang.org/x/oauth2"
)

// rp is a relying party that signs users in as a Go service does with
// go-oidc: discovery, the code flow with PKCE and a nonce, the id_token
// verified against the JWKS.
type rp struct {
	ctx      context.Context
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	cfg      oauth2.Config
}

// newRP discovers the fake server and configures the client c with scopes.
// Its verifier reads the DB's clock, as the server does.
func newRP(t *testing.T, fx *oauthdbtest.Fixtures, srv *oauthdbtest.Server, c oauthdb.OAuthClient, scopes ...string) *rp {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), srv.Client())
	p, err := oidc.NewProvider(ctx, srv.Issuer())
	if err != nil {
		t.Fatalf("NewProvider: %v", err)
	}
	return &rp{
		ctx:      ctx,
		provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: c.ClientID, Now: fx.Clock.Now}),
		cfg: oauth2.Config{ClientID: c.ClientID, ClientSecret: fx.Secret(c), Endpoint: p.Endpoint(),
			RedirectURL: c.RedirectURIs[0], Scopes: scopes},
	}
}

// login signs in, with nonce, the user whom LoginAs signed in at the server,
// and returns the tokens and the raw id_token.
func (r *rp) login(t *testing.T, srv *oauthdbtest.Server, nonce string) (*oauth2.Token, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	back := srv.Visit(r.cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
	if back.Query().Get("state") != "state-1" || back.Query().Get("code") == "" {
		t.Fatalf("the authorization redirect: %s", back)
	}
	tok, err := r.cfg.Exchange(r.ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	return tok, raw
}

// payload decodes the claims of a JWT without verifying it, for the test
// to compare what go-oidc verified with what the server meant to send.
func payload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// header decodes the protected header of a JWT.
func header(t *testing.T, jwt string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// oidcWorld is a user signed in at the server and a client of it that may
// ask for every OpenID scope.
type oidcWorld struct {
	fx     *oauthdbtest.Fixtures
	srv    *oauthdbtest.Server
	alice  oauthdb.User
	laptop oauthdb.Session
	app    oauthdb.OAuthClient
}

func newOIDCWorld(t *testing.T, opts ...oauthdbtest.ServerOption) *oidcWorld {
	fx := oauthdbtest.New(t)
	w := &oidcWorld{fx: fx, srv: oauthdbtest.NewServer(t, fx.DB, opts...)}
	w.alice = fx.User(oauthdbtest.Name("Alice Liddell"), oauthdbtest.Email("alice@example.com"),
		oauthdbtest.EmailVerified(), oauthdbtest.Image("https://example.com/alice.png"))
	fx.Clock.Advance(time.Minute) // alice signs in a minute after she signed up
	w.laptop = fx.Session(w.alice)
	w.app = fx.Client(oauthdbtest.ClientID("app"), oauthdbtest.SkipConsent(),
		oauthdbtest.Scopes("openid", "profile", "email", "offline_access", "notes:read"),
		oauthdbtest.ClientCredentialsScopes("notes:read"),
		oauthdbtest.EndSession("https://app.example.com/logged-out"))
	fx.Clock.Advance(5 * time.Minute)
	w.srv.LoginAs(w.laptop)
	return w
}

func TestOIDCDiscovery(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID)
	if got, want := r.provider.Endpoint(), w.srv.Endpoint(); got.AuthURL != want.AuthURL || got.TokenURL != want.TokenURL {
		t.Errorf("discovered endpoints %+v, want %+v", got, want)
	}
	if got := r.provider.UserInfoEndpoint(); got != w.srv.URL+oauthdbtest.PathUserInfo {
		t.Errorf("userinfo endpoint %q", got)
	}

	// The two documents are one, so they agree on everything RFC 8414 and
	// Discovery 1.0 both define.
	oidcDoc := do(t, w.srv, request{method: http.MethodGet, path: oauthdbtest.PathOpenIDConfiguration})
	oauthDoc := do(t, w.srv, request{method: http.MethodGet, path: oauthdbtest.PathMetadata})
	if oidcDoc.status != http.StatusOK || oauthDoc.status != http.StatusOK {
		t.Fatalf("metadata: %d and %d", oidcDoc.status, oauthDoc.status)
	}
	if d := cmp.Diff(oauthDoc.body, oidcDoc.body); d != "" {
		t.Errorf("RFC 8414 metadata and OpenID configuration differ (-oauth +openid):\n%s", d)
	}
	for key, want := range map[string]any{
		"issuer":                                w.srv.URL,
		"jwks_uri":                              w.srv.URL + oauthdbtest.PathJWKS,
		"end_session_endpoint":                  w.srv.URL + oauthdbtest.PathEndSession,
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
		"response_types_supported":              []any{"code"},
		"scopes_supported":                      []any{"openid", "profile", "email", "offline_access"},
		"request_uri_parameter_supported":       false,
	} {
		if d := cmp.Diff(want, oidcDoc.body[key]); d != "" {
			t.Errorf("%s (-want +got):\n%s", key, d)
		}
	}
}

func TestOIDCLogin(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID, "profile", "email")
	tok, raw := r.login(t, w.srv, "nonce-1")
	if raw == "" {
		t.Fatal("no id_token in the token response")
	}
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc refused the id_token: %v", err)
	}
	if idt.Nonce != "nonce-1" || idt.Subject != w.alice.ID {
		t.Errorf("nonce %q, subject %q", idt.Nonce, idt.Subject)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	now := w.fx.Now()
	want := map[string]any{
		"iss": w.srv.URL, "sub": w.alice.ID, "aud": "app",
		"iat": float64(now.Unix()), "exp": float64(now.Add(oauthdbtest.IDTokenLifetime).Unix()),
		"auth_time": float64(w.laptop.CreatedAt.Unix()), "nonce": "nonce-1", "sid": w.laptop.ID,
		"at_hash": payload(t, raw)["at_hash"], // checked by VerifyAccessToken
		"name":    "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
		"picture": "https://example.com/alice.png", "email": "alice@example.com", "email_verified": true,
	}
	var got map[string]any
	if err := idt.Claims(&got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("id_token claims (-want +got):\n%s", d)
	}
	if h := header(t, raw); h["alg"] != "RS256" || h["kid"] != w.srv.KeyIDs()[0] || h["typ"] != "JWT" {
		t.Errorf("id_token header %v", h)
	}

	// The userinfo endpoint says the same of her.
	info, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("UserInfo: %v", err)
	}
	var claims map[string]any
	if err := info.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	wantInfo := map[string]any{"sub": w.alice.ID, "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
		"picture": "https://example.com/alice.png", "email": "alice@example.com", "email_verified": true}
	if d := cmp.Diff(wantInfo, claims); d != "" {
		t.Errorf("userinfo (-want +got):\n%s", d)
	}
	if info.Email != "alice@example.com" || !info.EmailVerified || info.Subject != w.alice.ID {
		t.Errorf("UserInfo %+v", info)
	}
}

func TestOIDCScopesReleaseClaims(t *testing.T) {
	w := newOIDCWorld(t)
	for _, tc := range []struct {
		scopes []string
		claims []string // beyond the registered ones
	}{
		{[]string{"openid"}, nil},
		{[]string{"openid", "email"}, []string{"email", "email_verified"}},
		{[]string{"openid", "profile"}, []string{"family_name", "given_name", "name", "picture"}},
	} {
		r := newRP(t, w.fx, w.srv, w.app, tc.scopes...)
		_, raw := r.login(t, w.srv, "n")
		var got []string
		for k := range payload(t, raw) {
			switch k {
			case "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid":
			default:
				got = append(got, k)
			}
		}
		if d := cmp.Diff(tc.claims, got, cmpSorted); d != "" {
			t.Errorf("scopes %v: claims (-want +got):\n%s", tc.scopes, d)
		}
	}

	// Without openid there is no id_token, and userinfo refuses the token.
	r := newRP(t, w.fx, w.srv, w.app, "notes:read")
	tok, raw := r.login(t, w.srv, "n")
	if raw != "" {
		t.Error("an id_token without the scope openid")
	}
	got := bearer(t, w.srv, tok.AccessToken)
	if got.status != http.StatusForbidden || !strings.Contains(got.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) ||
		!strings.Contains(got.header.Get("WWW-Authenticate"), `scope="openid"`) {
		t.Errorf("userinfo without openid: %d %v", got.status, got.header)
	}
}

// cmpSorted compares string slices as sets.
var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func TestOIDCVerifierRefuses(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID)
	_, raw := r.login(t, w.srv, "nonce-of-login-1")

	t.Run("wrong nonce", func(t *testing.T) {
		// go-oidc leaves the nonce to its caller (IDTokenVerifier.Verify
		// says so): the relying party compares it with the one it sent.
		// The server must echo the login's nonce exactly, so that a token
		// of one login never passes another's check.
		_, second := r.login(t, w.srv, "nonce-of-login-2")
		idt, err := r.verifier.Verify(r.ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		if idt.Nonce == "nonce-of-login-1" || idt.Nonce != "nonce-of-login-2" {
			t.Errorf("the second login's id_token has the nonce %q", idt.Nonce)
		}
	})
	t.Run("wrong audience", func(t *testing.T) {
		other := r.provider.Verifier(&oidc.Config{ClientID: "another-client", Now: w.fx.Clock.Now})
		if _, err := other.Verify(r.ctx, raw); err == nil || !strings.Contains(err.Error(), "audience") {
			t.Errorf("a verifier for another client: %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		if _, err := r.verifier.Verify(r.ctx, raw); err != nil {
			t.Fatalf("before it expires: %v", err)
		}
		w.fx.Clock.Advance(oauthdbtest.IDTokenLifetime + time.Second)
		defer w.fx.Clock.Advance(-oauthdbtest.IDTokenLifetime - time.Second)
		_, err := r.verifier.Verify(r.ctx, raw)
		if _, ok := errors.AsType[*oidc.TokenExpiredError](err); !ok {
			t.Errorf("after it expired: %v, want a *oidc.TokenExpiredError", err)
		}
	})
	t.Run("altered", func(t *testing.T) {
		parts := strings.Split(raw, ".")
		claims := payload(t, raw)
		claims["sub"] = "mallory"
		b, _ := json.Marshal(claims)
		forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
		if _, err := r.verifier.Verify(r.ctx, forged); err == nil {
			t.Error("go-oidc accepted an id_token whose claims were changed after signing")
		}
	})
}

func TestOIDCKeyRotation(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID)
	_, old := r.login(t, w.srv, "n1")
	first := w.srv.KeyIDs()
	if len(first) != 1 || header(t, old)["kid"] != first[0] {
		t.Fatalf("keys %v, the token's kid %v", first, header(t, old)["kid"])
	}
	jwks := func() []any {
		got := do(t, w.srv, request{method: http.MethodGet, path: oauthdbtest.PathJWKS})
		keys, _ := got.body["keys"].([]any)
		for _, k := range keys {
			k := k.(map[string]any)
			if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["d"] != nil || k["p"] != nil {
				t.Errorf("published key %v", k)
			}
		}
		return keys
	}

	// A new key signs; the old one is still published, so the old token
	// still verifies, for a verifier that has seen it and for a new one.
	next := w.srv.RotateKey()
	_, fresh := r.login(t, w.srv, "n2")
	if header(t, fresh)["kid"] != next || len(jwks()) != 2 {
		t.Fatalf("after RotateKey: the new token's kid %v, keys %v", header(t, fresh)["kid"], w.srv.KeyIDs())
	}
	for name, v := range map[string]*oidc.IDTokenVerifier{"running": r.verifier, "new": newRP(t, w.fx, w.srv, w.app).verifier} {
		for _, tok := range []string{old, fresh} {
			if _, err := v.Verify(r.ctx, tok); err != nil {
				t.Errorf("%s verifier, both keys published: %v", name, err)
			}
		}
	}

	// The old key removed, a verifier that fetches the keys refuses its
	// token. (go-oidc's key set keeps the keys it has fetched until it
	// meets a kid it does not know, so a verifier that already holds the
	// old key would still accept the token until then.)
	w.srv.RemoveKey(first[0])
	if got := w.srv.KeyIDs(); len(got) != 1 || got[0] != next || len(jwks()) != 1 {
		t.Fatalf("after RemoveKey: %v", got)
	}
	v := newRP(t, w.fx, w.srv, w.app).verifier
	if _, err := v.Verify(r.ctx, old); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("a token signed by a removed key: %v", err)
	}
	if _, err := v.Verify(r.ctx, fresh); err != nil {
		t.Errorf("a token signed by the current key: %v", err)
	}

	// The signing key cannot be removed, nor an unknown one.
	if msg := failures(t, func(ft testing.TB) {
		srv := oauthdbtest.NewServer(ft, w.fx.DB)
		srv.RemoveKey(srv.KeyIDs()[0])
	}); !strings.Contains(msg, "RotateKey first") {
		t.Errorf("removing the signing key: %q", msg)
	}
	if msg := failures(t, func(ft testing.TB) { oauthdbtest.NewServer(ft, w.fx.DB).RemoveKey("nope") }); !strings.Contains(msg, "no published key") {
		t.Errorf("removing an unknown key: %q", msg)
	}
}

func TestOIDCEdDSA(t *testing.T) {
	w := newOIDCWorld(t, oauthdbtest.WithSigningAlgorithm(oauthdbtest.EdDSA))
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID)
	tok, raw := r.login(t, w.srv, "n")
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash under EdDSA (SHA-512, as better-auth and go-oidc compute it): %v", err)
	}
	if h := header(t, raw); h["alg"] != "EdDSA" {
		t.Errorf("header %v", h)
	}
	var algs struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := r.provider.Claims(&algs); err != nil || len(algs.Algs) != 1 || algs.Algs[0] != "EdDSA" {
		t.Errorf("id_token_signing_alg_values_supported %v, %v", algs.Algs, err)
	}
	keys := do(t, w.srv, request{method: http.MethodGet, path: oauthdbtest.PathJWKS}).body["keys"].([]any)
	if k := keys[0].(map[string]any); k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["d"] != nil {
		t.Errorf("published key %v", k)
	}
	// An RS256-only verifier refuses it: the algorithm is the server's choice.
	strict := r.provider.Verifier(&oidc.Config{ClientID: "app", Now: w.fx.Clock.Now, SupportedSigningAlgs: []string{oidc.RS256}})
	if _, err := strict.Verify(r.ctx, raw); err == nil {
		t.Error("an RS256-only verifier accepted an EdDSA id_token")
	}

	if msg := failures(t, func(ft testing.TB) {
		oauthdbtest.NewServer(ft, w.fx.DB, oauthdbtest.WithSigningAlgorithm("HS256"))
	}); !strings.Contains(msg, "unsupported algorithm HS256") {
		t.Errorf("NewServer with HS256: %q", msg)
	}
}

func TestOIDCUserInfoFollowsTheStore(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID, "email")
	tok, _ := r.login(t, w.srv, "n")
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("UserInfo: %v", err)
	}
	// Her email changes in the DB: userinfo reads the row as it is now.
	if err := w.fx.Update(func(tx *oauthdb.Tx) error {
		u := w.alice
		u.Email = "alice@wonderland.example"
		return tx.UpdateUser(u)
	}); err != nil {
		t.Fatal(err)
	}
	info, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Email != "alice@wonderland.example" {
		t.Errorf("UserInfo after the change: %v %+v", err, info)
	}

	// The client revokes the token (RFC 7009): userinfo refuses it, with
	// the RFC 6750 challenge.
	if got := do(t, w.srv, request{path: oauthdbtest.PathRevoke, basic: []string{"app", w.fx.Secret(w.app)},
		form: form("token", tok.AccessToken)}); got.status != http.StatusOK {
		t.Fatalf("revoke: %d %v", got.status, got.body)
	}
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("UserInfo with a revoked token: %v", err)
	}
	got := bearer(t, w.srv, tok.AccessToken)
	if got.status != http.StatusUnauthorized || got.str("error") != "invalid_token" ||
		!strings.HasPrefix(got.header.Get("WWW-Authenticate"), `Bearer realm="oauthdbtest", error="invalid_token", error_description=`) {
		t.Errorf("revoked token: %d %v %v", got.status, got.header, got.body)
	}
	if strings.Contains(got.str("error_description"), tok.AccessToken) {
		t.Error("the error echoes the token")
	}

	// No token at all: the challenge alone (RFC 6750 §3.1).
	got = bearer(t, w.srv, "")
	if got.status != http.StatusUnauthorized || got.header.Get("WWW-Authenticate") != `Bearer realm="oauthdbtest"` {
		t.Errorf("no token: %d %v", got.status, got.header)
	}
	// A client-credentials token is refused: as the grant gives it, it lacks
	// openid, a user's scope and never a client's (better-auth answers 400
	// invalid_scope there, RFC 6750 403 insufficient_scope)...
	cc := do(t, w.srv, request{path: oauthdbtest.PathToken, basic: []string{"app", w.fx.Secret(w.app)},
		form: form("grant_type", "client_credentials", "scope", "notes:read")})
	if got := bearer(t, w.srv, cc.str("access_token")); got.status != http.StatusForbidden || got.str("error") != "insufficient_scope" {
		t.Errorf("client-credentials token: %d %v", got.status, got.body)
	}
	// ... and with openid, written by hand, it acts for no user.
	ccOpenID, _ := w.fx.AccessToken(w.app, oauthdb.Session{}, oauthdbtest.Scopes("openid", "notes:read"))
	if got := bearer(t, w.srv, ccOpenID); got.status != http.StatusUnauthorized || got.str("error") != "invalid_token" {
		t.Errorf("client-credentials token with openid: %d %v", got.status, got.body)
	}
	// An expired one is refused too.
	tok2, _ := r.login(t, w.srv, "n")
	w.fx.Clock.Advance(time.Hour)
	if got := bearer(t, w.srv, tok2.AccessToken); got.status != http.StatusUnauthorized {
		t.Errorf("expired token: %d %v", got.status, got.body)
	}
}

// bearer calls the userinfo endpoint with a bearer token, or none.
func bearer(t *testing.T, srv *oauthdbtest.Server, token string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+oauthdbtest.PathUserInfo, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&out.body); err != nil {
		t.Fatalf("userinfo answered %d with a body that is not JSON: %v", resp.StatusCode, err)
	}
	return out
}

func TestOIDCRefresh(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "email")
	tok, first := r.login(t, w.srv, "nonce-1")
	firstClaims := payload(t, first)

	// An hour later the client refreshes: a new id_token, for the same
	// user and client, issued now, with the original auth_time and no nonce.
	w.fx.Clock.Advance(time.Hour)
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Second)
	fresh, err := r.cfg.TokenSource(r.ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	raw, _ := fresh.Extra("id_token").(string)
	idt, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		t.Fatalf("the refreshed id_token: %v", err)
	}
	if err := idt.VerifyAccessToken(fresh.AccessToken); err != nil {
		t.Errorf("at_hash of the refreshed access token: %v", err)
	}
	got := payload(t, raw)
	for _, k := range []string{"iss", "sub", "aud", "auth_time", "sid", "email"} {
		if got[k] != firstClaims[k] {
			t.Errorf("%s: %v after the refresh, %v before", k, got[k], firstClaims[k])
		}
	}
	if got["iat"] != float64(w.fx.Now().Unix()) || got["nonce"] != nil {
		t.Errorf("iat %v (want %d), nonce %v", got["iat"], w.fx.Now().Unix(), got["nonce"])
	}

	// A refresh that narrows the scopes without openid has no id_token.
	narrow := do(t, w.srv, request{path: oauthdbtest.PathToken, basic: []string{"app", w.fx.Secret(w.app)},
		form: form("grant_type", "refresh_token", "refresh_token", fresh.RefreshToken, "scope", "offline_access email")})
	if narrow.status != http.StatusOK || narrow.str("id_token") != "" {
		t.Errorf("refresh without openid: %d %v", narrow.status, narrow.body["id_token"])
	}
}

func TestOIDCClaimsHooks(t *testing.T) {
	fx := oauthdbtest.New(t)
	alice, bob := fx.User(), fx.User()
	app := fx.Client(oauthdbtest.ClientID("app"), oauthdbtest.SkipConsent())
	admin := fx.Client(oauthdbtest.ClientID("admin"), oauthdbtest.SkipConsent())
	var (
		mu    sync.Mutex
		asked []string
	)
	srv := oauthdbtest.NewServer(t, fx.DB,
		oauthdbtest.WithClaims(oauthdbtest.UserClaims(alice.ID, map[string]any{"role": "editor", "email": nil})),
		oauthdbtest.WithClaims(oauthdbtest.ClientClaims("admin", map[string]any{"groups": []string{"admins"}})),
		oauthdbtest.WithClaims(func(r oauthdbtest.ClaimsRequest) map[string]any {
			mu.Lock()
			asked = append(asked, r.For+":"+r.Client.ClientID)
			mu.Unlock()
			if r.Claims["role"] == "editor" {
				return map[string]any{"can_edit": true}
			}
			return nil
		}),
	)
	login := func(u oauthdb.User, c oauthdb.OAuthClient) (map[string]any, map[string]any) {
		t.Helper()
		srv.LoginAs(fx.Session(u))
		r := newRP(t, fx, srv, c, oidc.ScopeOpenID, "email")
		tok, raw := r.login(t, srv, "n")
		if _, err := r.verifier.Verify(r.ctx, raw); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return payload(t, raw), bearer(t, srv, tok.AccessToken).body
	}

	id, info := login(alice, app)
	for name, claims := range map[string]map[string]any{"id_token": id, "userinfo": info} {
		if claims["role"] != "editor" || claims["can_edit"] != true || claims["email"] != nil || claims["groups"] != nil {
			t.Errorf("alice at app, %s: %v", name, claims)
		}
	}
	id, info = login(bob, admin)
	for name, claims := range map[string]map[string]any{"id_token": id, "userinfo": info} {
		if claims["role"] != nil || claims["email"] == nil || cmp.Diff([]any{"admins"}, claims["groups"]) != "" {
			t.Errorf("bob at admin, %s: %v", name, claims)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if d := cmp.Diff([]string{"id_token:app", "userinfo:app", "id_token:admin", "userinfo:admin"}, asked); d != "" {
		t.Errorf("hook calls (-want +got):\n%s", d)
	}

	// A hook may make the token one the client must refuse.
	bad := oauthdbtest.NewServer(t, fx.DB, oauthdbtest.WithClaims(func(oauthdbtest.ClaimsRequest) map[string]any {
		return map[string]any{"iss": "https://impostor.example.com"}
	}))
	bad.LoginAs(fx.Session(alice))
	r := newRP(t, fx, bad, app, oidc.ScopeOpenID)
	_, raw := r.login(t, bad, "n")
	if _, err := r.verifier.Verify(r.ctx, raw); err == nil || !strings.Contains(err.Error(), "different provider") {
		t.Errorf("an id_token with another issuer: %v", err)
	}
}

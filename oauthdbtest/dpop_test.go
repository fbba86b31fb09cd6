package oauthdbtest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

// DPoP at the token endpoint (RFC 9449 §5), as better-auth 1.7.29 answers
// it: a proof binds the tokens, and a bound refresh token, a dpop_jkt code
// or a DPoP client needs one.

// dpopKey is a client's DPoP key, which signs its proofs as a client
// would, with go-jose.
type dpopKey struct {
	priv *ecdsa.PrivateKey
	jkt  string
}

func newDPoPKey(t *testing.T) dpopKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return dpopKey{priv, base64.RawURLEncoding.EncodeToString(sum)}
}

// proof signs a proof for a request of method to u, at the world's now,
// with ath when an access token is given.
func (k dpopKey) proof(t *testing.T, w *world, method, u, accessToken string) string {
	t.Helper()
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": u, "iat": w.fx.Clock.Now().Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	opts := (&jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"jwk": jose.JSONWebKey{Key: &k.priv.PublicKey}}}).WithType("dpop+jwt")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tokenProof is a proof for the token endpoint.
func (k dpopKey) tokenProof(t *testing.T, w *world) string {
	return k.proof(t, w, http.MethodPost, w.srv.URL+oauthdbtest.PathToken, "")
}

// userInfo calls the UserInfo endpoint, behind package resourceserver,
// with the access token in the scheme given and a proof if any.
func userInfo(t *testing.T, srv *oauthdbtest.Server, scheme, token, proof string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+oauthdbtest.PathUserInfo, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", scheme+" "+token)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A code redeemed with a proof gives DPoP tokens, bound to its key: the
// resource server takes the access token with a proof of that key and
// refuses it as a bearer token; the refresh token is redeemed with a proof
// of that key only, and without one the request is refused and changes
// nothing.
func TestDPoPTokens(t *testing.T) {
	w := newWorld(t)
	key, other := newDPoPKey(t), newDPoPKey(t)
	code, verifier := w.code(t, w.app, "openid", "offline_access", "read")
	got := do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(w.app), dpop: key.tokenProof(t, w),
		form: form("grant_type", "authorization_code", "code", code, "redirect_uri", w.app.RedirectURIs[0], "code_verifier", verifier)})
	if got.status != http.StatusOK || got.str("token_type") != "DPoP" || got.str("refresh_token") == "" {
		t.Fatalf("a code redeemed with a proof: %d %v", got.status, got.body)
	}
	at, rt := got.str("access_token"), got.str("refresh_token")
	info, err := w.fx.ValidateAccessToken(at)
	if err != nil || oauthdb.DPoPThumbprint(info.Token.Confirmation) != key.jkt {
		t.Fatalf("the access token: %s, %v; want bound to the proof's key", info.Token.Confirmation, err)
	}
	ui := w.srv.URL + oauthdbtest.PathUserInfo
	if s := userInfo(t, w.srv, "DPoP", at, key.proof(t, w, http.MethodGet, ui, at)); s != http.StatusOK {
		t.Errorf("the resource server, the access token with its proof: %d", s)
	}
	if s := userInfo(t, w.srv, "Bearer", at, ""); s != http.StatusUnauthorized {
		t.Errorf("the resource server, the access token as a bearer token: %d", s)
	}

	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		wantError(t, w.refresh(t, w.app, rt), 400, "invalid_dpop_proof")
		wantError(t, do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(w.app), dpop: other.tokenProof(t, w),
			form: form("grant_type", "refresh_token", "refresh_token", rt)}), 400, "invalid_dpop_proof")
		// A proof for another endpoint.
		wantError(t, do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(w.app), dpop: key.proof(t, w, http.MethodPost, ui, ""),
			form: form("grant_type", "refresh_token", "refresh_token", rt)}), 400, "invalid_dpop_proof")
	})
	p := key.tokenProof(t, w)
	got = do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(w.app), dpop: p,
		form: form("grant_type", "refresh_token", "refresh_token", rt)})
	if got.status != http.StatusOK || got.str("token_type") != "DPoP" {
		t.Fatalf("a refresh with a proof of the token's key: %d %v", got.status, got.body)
	}
	if r, err := w.fx.ValidateRefreshToken(got.str("refresh_token")); err != nil || oauthdb.DPoPThumbprint(r.Token.Confirmation) != key.jkt {
		t.Errorf("the new refresh token: %s, %v; want bound to the key", r.Token.Confirmation, err)
	}
	// The same proof again is a replay of the proof.
	wantError(t, do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(w.app), dpop: p,
		form: form("grant_type", "refresh_token", "refresh_token", got.str("refresh_token"))}), 400, "invalid_dpop_proof")
}

// A code asked for with dpop_jkt is redeemed only with a proof of that key
// (RFC 9449 §10); a refused redemption leaves the code. A dpop_jkt that is
// no thumbprint is refused at the authorization endpoint.
func TestDPoPAuthorizationCode(t *testing.T) {
	w := newWorld(t)
	key, other := newDPoPKey(t), newDPoPKey(t)
	verifier := "a-verifier-of-forty-three-characters-or-more-00"
	code := w.srv.Authorize(oauthdbtest.AuthorizeRequest{Client: w.app, Session: w.laptop, Scopes: []string{"openid", "read"},
		CodeVerifier: verifier, DPoPJKT: key.jkt})
	redeem := func(proof string) response {
		return do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(w.app), dpop: proof,
			form: form("grant_type", "authorization_code", "code", code, "redirect_uri", w.app.RedirectURIs[0], "code_verifier", verifier)})
	}
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		wantError(t, redeem(""), 400, "invalid_dpop_proof")
		wantError(t, redeem(other.tokenProof(t, w)), 400, "invalid_dpop_proof")
	})
	if got := redeem(key.tokenProof(t, w)); got.status != http.StatusOK || got.str("token_type") != "DPoP" {
		t.Errorf("the code with a proof of its key: %d %v", got.status, got.body)
	}

	w.srv.LoginAs(w.laptop)
	q := url.Values{"response_type": {"code"}, "client_id": {w.app.ClientID}, "redirect_uri": {w.app.RedirectURIs[0]},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}, "dpop_jkt": {"not-a-thumbprint"}}
	if loc := w.srv.Visit(w.srv.URL + oauthdbtest.PathAuthorize + "?" + q.Encode()); loc.Query().Get("error") != "invalid_request" {
		t.Errorf("a dpop_jkt that is no thumbprint: redirected to %s", loc)
	}
}

// A client with dpopBoundAccessTokens gets tokens only with a proof; a
// proof binds an ordinary client's tokens too.
func TestDPoPClient(t *testing.T) {
	w := newWorld(t)
	key := newDPoPKey(t)
	bound := w.fx.Client(oauthdbtest.ClientID("bound"), oauthdbtest.WithSecret("bound secret"),
		oauthdbtest.ClientCredentialsScopes("read"), oauthdbtest.Edit(func(c *oauthdb.OAuthClient) { c.DPoPBoundAccessTokens = true }))
	cc := func(c oauthdb.OAuthClient, proof string) response {
		return do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(c), dpop: proof, form: form("grant_type", "client_credentials")})
	}
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() { wantError(t, cc(bound, ""), 400, "invalid_dpop_proof") })
	for _, c := range []oauthdb.OAuthClient{bound, w.app} {
		if got := cc(c, key.tokenProof(t, w)); got.status != http.StatusOK || got.str("token_type") != "DPoP" {
			t.Errorf("%s with a proof: %d %v", c.ClientID, got.status, got.body)
		}
	}
	if got := cc(w.app, ""); got.status != http.StatusOK || got.str("token_type") != "Bearer" {
		t.Errorf("an ordinary client without a proof: %d %v", got.status, got.body)
	}
}

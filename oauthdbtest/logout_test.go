package oauthdbtest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"golang.org/x/oauth2"
)

// endSessionURL is the logout URL a relying party sends the browser to:
// the discovered end_session_endpoint with its parameters.
func (r *rp) endSessionURL(t *testing.T, params url.Values) string {
	t.Helper()
	var doc struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := r.provider.Claims(&doc); err != nil || doc.EndSession == "" {
		t.Fatalf("no end_session_endpoint in the discovery document: %v", err)
	}
	return doc.EndSession + "?" + params.Encode()
}

func TestEndSession(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID, oidc.ScopeOfflineAccess)
	tok, idToken := r.login(t, w.srv, "n")
	before := oauthdbtest.Dump(w.fx.DB)

	// The relying party logs her out, with her id_token as the hint, and
	// asks to be sent back.
	back := w.srv.Visit(r.endSessionURL(t, url.Values{
		"id_token_hint":            {idToken},
		"post_logout_redirect_uri": {"https://app.example.com/logged-out"},
		"state":                    {"bye"},
	}))
	if back.String() != "https://app.example.com/logged-out?state=bye" {
		t.Errorf("redirected to %s", back)
	}

	// Her session is gone, through the DB: its tokens lose their session.
	want := before.Clone()
	want.Sessions = nil
	for i := range want.AccessTokens {
		want.AccessTokens[i].SessionID = ""
	}
	for i := range want.RefreshTokens {
		want.RefreshTokens[i].SessionID = ""
	}
	// (Whether the access tokens are marked revoked is the DB's session
	// rule: see the subtest at the end.)
	oauthdbtest.AssertState(t, w.fx.DB, want, cmpopts.IgnoreFields(oauthdb.OAuthAccessToken{}, "Revoked"))
	loggedOut := w.fx.Now()

	// The browser is signed out too: a new authorization asks for a login.
	if got := w.srv.Visit(r.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))); got.Query().Get("error") != "login_required" {
		t.Errorf("authorize after the logout: %s", got)
	}

	// Offline access survives the logout: the refresh token still
	// rotates, and the id_token it brings has no sid any more.
	w.fx.Clock.Advance(time.Minute)
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Second)
	fresh, err := r.cfg.TokenSource(r.ctx, &expired).Token()
	if err != nil {
		t.Fatalf("the refresh token after the logout: %v", err)
	}
	raw, _ := fresh.Extra("id_token").(string)
	if _, err := r.verifier.Verify(r.ctx, raw); err != nil {
		t.Errorf("the refreshed id_token: %v", err)
	}
	if sid := payload(t, raw)["sid"]; sid != nil {
		t.Errorf("the refreshed id_token has the ended session's sid %v", sid)
	}

	t.Run("access token inactive after logout", func(t *testing.T) {
		for _, a := range oauthdbtest.Dump(w.fx.DB).AccessTokens {
			if a.Token == w.fx.Hash(tok.AccessToken) && !a.Revoked.Equal(loggedOut) {
				t.Errorf("the ended session's access token has revoked %v, want %v", a.Revoked, loggedOut)
			}
		}
		_, err := w.fx.ValidateAccessToken(tok.AccessToken)
		if !errors.Is(err, oauthdb.ErrTokenRevoked) {
			t.Errorf("the access token of the ended session: %v, want ErrTokenRevoked", err)
		}
		if got := bearer(t, w.srv, tok.AccessToken); got.status != http.StatusUnauthorized {
			t.Errorf("userinfo with the ended session's access token: %d %v", got.status, got.body)
		}
	})
}

func TestEndSessionOfTheBrowser(t *testing.T) {
	w := newOIDCWorld(t)
	other := w.fx.Session(w.alice) // her phone
	// No hint: the session signed in at the server ends, by GET or POST.
	got := do(t, w.srv, request{path: oauthdbtest.PathEndSession, form: form("client_id", "app")})
	if got.status != http.StatusNoContent {
		t.Fatalf("logout: %d %v", got.status, got.body)
	}
	err := w.fx.View(func(tx *oauthdb.Tx) error {
		if _, err := tx.Session(w.laptop.ID); !errors.Is(err, oauthdb.ErrNotFound) {
			t.Errorf("the laptop's session: %v", err)
		}
		_, err := tx.Session(other.ID)
		return err
	})
	if err != nil {
		t.Errorf("the phone's session: %v", err)
	}
	// Signed out, there is nothing left to end.
	got = do(t, w.srv, request{method: http.MethodGet, path: oauthdbtest.PathEndSession})
	wantError(t, got, http.StatusBadRequest, "invalid_request")
}

func TestEndSessionRefusals(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID)
	w.fx.Client(oauthdbtest.ClientID("no-logout"))
	w.fx.Client(oauthdbtest.ClientID("off"), oauthdbtest.Disabled(), oauthdbtest.EndSession())

	// An id_token of another provider, and one signed by a key since removed.
	otherFx := oauthdbtest.New(t)
	otherSrv := oauthdbtest.NewServer(t, otherFx.DB)
	otherSrv.LoginAs(otherFx.Session(otherFx.User()))
	otherApp := otherFx.Client(oauthdbtest.ClientID("app"), oauthdbtest.SkipConsent())
	_, foreign := newRP(t, otherFx, otherSrv, otherApp, oidc.ScopeOpenID).login(t, otherSrv, "n")
	old := w.srv.KeyIDs()[0]
	_, signedByOld := r.login(t, w.srv, "n")
	w.srv.RotateKey()
	w.srv.RemoveKey(old)
	_, current := r.login(t, w.srv, "n")

	parts := strings.Split(current, ".")
	for _, tc := range []struct {
		name   string
		params url.Values
		status int
		code   string
	}{
		{"hint is not a JWT", url.Values{"id_token_hint": {"not-a-jwt"}}, 400, "invalid_request"},
		{"hint is three garbage parts", url.Values{"id_token_hint": {"a.b.c"}}, 400, "invalid_request"},
		{"hint with a forged signature", url.Values{"id_token_hint": {parts[0] + "." + parts[1] + "." + parts[1]}}, 400, "invalid_request"},
		{"hint of another provider", url.Values{"id_token_hint": {foreign}}, 400, "invalid_request"},
		{"hint signed by a removed key", url.Values{"id_token_hint": {signedByOld}}, 400, "invalid_request"},
		{"hint too long", url.Values{"id_token_hint": {strings.Repeat("a", 20000)}}, 400, "invalid_request"},
		{"client_id is not the hint's audience", url.Values{"id_token_hint": {current}, "client_id": {"no-logout"}}, 400, "invalid_request"},
		{"unknown client", url.Values{"client_id": {"nobody"}}, 400, "invalid_client"},
		{"disabled client", url.Values{"client_id": {"off"}}, 400, "invalid_client"},
		{"client without enableEndSession", url.Values{"client_id": {"no-logout"}}, 400, "unauthorized_client"},
		{"redirect not registered", url.Values{"id_token_hint": {current}, "post_logout_redirect_uri": {"https://evil.example.com/"}}, 400, "invalid_request"},
		{"redirect without a client", url.Values{"post_logout_redirect_uri": {"https://app.example.com/logged-out"}}, 400, "invalid_request"},
		{"repeated parameter", url.Values{"client_id": {"app", "app"}}, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
				got := get(t, w.srv, oauthdbtest.PathEndSession, tc.params)
				wantError(t, got, tc.status, tc.code)
				if loc := got.header.Get("Location"); loc != "" {
					t.Errorf("redirected to %s", loc)
				}
				for _, secret := range tc.params["id_token_hint"] {
					if len(secret) > 8 && strings.Contains(got.str("error_description"), secret) {
						t.Error("the error echoes the hint")
					}
				}
			})
		})
	}
	if got := do(t, w.srv, request{method: http.MethodPut, path: oauthdbtest.PathEndSession}); got.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", got.status)
	}

	// An expired hint is still a hint (RP-Initiated Logout 1.0 §2).
	w.fx.Clock.Advance(oauthdbtest.IDTokenLifetime + time.Hour)
	if got := get(t, w.srv, oauthdbtest.PathEndSession, url.Values{"id_token_hint": {current}}); got.status != http.StatusNoContent {
		t.Errorf("an expired hint: %d %v", got.status, got.body)
	}
}

// get makes a GET request with a query, as a browser would, without
// following a redirect.
func get(t *testing.T, srv *oauthdbtest.Server, path string, query url.Values) response {
	t.Helper()
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(srv.URL + path + "?" + query.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(resp.Body).Decode(&out.body); err != nil {
			t.Fatalf("GET %s: a JSON body that does not decode: %v", path, err)
		}
	}
	return out
}

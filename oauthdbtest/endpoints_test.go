package oauthdbtest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"golang.org/x/oauth2"
)

func TestIntrospect(t *testing.T) {
	w := newWorld(t)
	at, a := w.fx.AccessToken(w.app, w.laptop, oauthdbtest.Scopes("read"))
	rt, _ := w.fx.RefreshToken(w.app, w.laptop, oauthdbtest.Scopes("read"))
	expired, _ := w.fx.AccessToken(w.app, w.laptop, oauthdbtest.Expired())
	cc, _ := w.fx.AccessToken(w.app, oauthdb.Session{})
	introspect := func(c oauthdb.OAuthClient, tok string, kv ...string) response {
		return do(t, w.srv, request{path: oauthdbtest.PathIntrospect, basic: w.basic(c),
			form: form(append([]string{"token", tok}, kv...)...)})
	}
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		got := introspect(w.app, at)
		if got.status != http.StatusOK || got.body["active"] != true || got.str("client_id") != "app" ||
			got.str("scope") != "read" || got.str("sub") != w.alice.ID || got.str("sid") != w.laptop.ID ||
			got.str("token_type") != "Bearer" || got.str("iss") != w.srv.URL || got.body["exp"] != float64(a.ExpiresAt.Unix()) {
			t.Errorf("active token: %d %v", got.status, got.body)
		}
		if got := introspect(w.app, rt, "token_type_hint", "refresh_token"); got.body["active"] != true || got.str("sub") != w.alice.ID {
			t.Errorf("refresh token: %v", got.body)
		}
		if got := introspect(w.app, rt); got.body["active"] != true {
			t.Errorf("refresh token without a hint: %v", got.body)
		}
		if got := introspect(w.app, cc); got.body["active"] != true || got.str("sub") != "" {
			t.Errorf("client-credentials token: %v", got.body)
		}
		for name, tok := range map[string]string{"another client's": at, "unknown": "nope", "malformed": "a b"} {
			c := w.app
			if name == "another client's" {
				c = w.other
			}
			if got := introspect(c, tok); got.status != http.StatusOK || len(got.body) != 1 || got.body["active"] != false {
				t.Errorf("%s token: %d %v", name, got.status, got.body)
			}
		}
		if got := introspect(w.app, expired); got.body["active"] != false {
			t.Errorf("expired token: %v", got.body)
		}
		wantError(t, introspect(w.app, ""), 400, "invalid_request")
		wantError(t, do(t, w.srv, request{path: oauthdbtest.PathIntrospect, form: form("token", at, "client_id", "mobile")}), 401, "invalid_client")
		wantError(t, do(t, w.srv, request{path: oauthdbtest.PathIntrospect, form: form("token", at)}), 401, "invalid_client")
		wantError(t, do(t, w.srv, request{path: oauthdbtest.PathIntrospect, basic: []string{"app", "wrong"}, form: form("token", at)}), 401, "invalid_client")
	})
	// A revoked token is inactive.
	w.fx.RevokeAccessToken(at)
	if got := introspect(w.app, at); got.body["active"] != false {
		t.Errorf("revoked token: %v", got.body)
	}
}

func TestRevoke(t *testing.T) {
	w := newWorld(t)
	at, _ := w.fx.AccessToken(w.app, w.laptop)
	rt, r := w.fx.RefreshToken(w.app, w.laptop)
	linked, _ := w.fx.AccessToken(w.app, w.laptop, oauthdbtest.WithRefresh(r))
	revoke := func(c oauthdb.OAuthClient, tok string, kv ...string) response {
		return do(t, w.srv, request{path: oauthdbtest.PathRevoke, basic: w.basic(c),
			form: form(append([]string{"token", tok}, kv...)...)})
	}
	// Unknown tokens and other clients' tokens: 200, and nothing happens.
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		for _, tc := range []struct {
			c   oauthdb.OAuthClient
			tok string
		}{{w.app, "unknown"}, {w.app, "a b"}, {w.other, at}, {w.other, rt}} {
			if got := revoke(tc.c, tc.tok); got.status != http.StatusOK {
				t.Errorf("revoking %q as %s: %d %v", tc.tok, tc.c.ClientID, got.status, got.body)
			}
		}
		if got := revoke(w.other, rt, "token_type_hint", "refresh_token"); got.status != http.StatusOK {
			t.Errorf("another client's refresh token: %d", got.status)
		}
		wantError(t, revoke(w.app, ""), 400, "invalid_request")
		wantError(t, do(t, w.srv, request{path: oauthdbtest.PathRevoke, basic: []string{"app", "x"}, form: form("token", at)}), 401, "invalid_client")
	})

	before := oauthdbtest.Dump(w.fx.DB)
	if got := revoke(w.app, at, "token_type_hint", "access_token"); got.status != http.StatusOK {
		t.Fatalf("revoke: %d %v", got.status, got.body)
	}
	if _, err := w.fx.ValidateAccessToken(at); !errors.Is(err, oauthdb.ErrTokenNotFound) {
		t.Errorf("revoked access token: %v", err)
	}
	// An unknown hint is ignored (RFC 7009 §2.1).
	if got := revoke(w.app, rt, "token_type_hint", "id_token"); got.status != http.StatusOK {
		t.Fatalf("revoke: %d %v", got.status, got.body)
	}
	if _, err := w.fx.ValidateRefreshToken(rt); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("revoked refresh token: %v", err)
	}
	if _, err := w.fx.ValidateAccessToken(linked); !errors.Is(err, oauthdb.ErrTokenNotFound) {
		t.Errorf("the revoked refresh token's access token: %v", err)
	}
	want := before.Clone()
	want.AccessTokens = nil
	want.RefreshTokens[0].Revoked = w.fx.Now()
	oauthdbtest.AssertState(t, w.fx.DB, want)

	// A public client revokes its own tokens with its client_id.
	mt, _ := w.fx.AccessToken(w.mobile, w.laptop)
	if got := do(t, w.srv, request{path: oauthdbtest.PathRevoke, form: form("token", mt, "client_id", "mobile")}); got.status != http.StatusOK {
		t.Fatalf("public revoke: %d %v", got.status, got.body)
	}
	if _, err := w.fx.ValidateAccessToken(mt); !errors.Is(err, oauthdb.ErrTokenNotFound) {
		t.Errorf("the public client's revoked token: %v", err)
	}
}

func TestAuthorizeEndpoint(t *testing.T) {
	w := newWorld(t)
	cfg := oauth2.Config{ClientID: "app", Endpoint: w.srv.Endpoint(), RedirectURL: w.app.RedirectURIs[0], Scopes: []string{"read"}}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))

	// Nobody is signed in.
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		back := w.srv.Visit(authURL)
		if back.Query().Get("error") != "login_required" || back.Query().Get("state") != "st" {
			t.Errorf("redirect without a user: %s", back)
		}
	})

	w.srv.LoginAs(w.laptop)
	back := w.srv.Visit(authURL)
	q := back.Query()
	if back.Scheme+"://"+back.Host+back.Path != w.app.RedirectURIs[0] || q.Get("code") == "" || q.Get("state") != "st" || q.Get("iss") != w.srv.URL {
		t.Fatalf("redirect: %s", back)
	}
	if err := w.fx.CheckConsent(oauthdb.ConsentKey{ClientID: "app", UserID: w.alice.ID}, []string{"read"}); err != nil {
		t.Errorf("no consent was recorded: %v", err)
	}

	// Errors the client is told of, through its redirect URI.
	for _, tc := range []struct {
		name   string
		change func(v url.Values)
		code   string
	}{
		{"no PKCE", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, "invalid_request"},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"token response", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type"},
		{"no response type", func(v url.Values) { v.Del("response_type") }, "invalid_request"},
		{"scope not allowed", func(v url.Values) { v.Set("scope", "read admin") }, "invalid_scope"},
		{"repeated parameter", func(v url.Values) { v.Add("scope", "write") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(authURL)
			v := u.Query()
			tc.change(v)
			u.RawQuery = v.Encode()
			oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
				if tc.code == "" {
					// Refused before the redirect URI is trusted.
					resp, err := w.srv.Client().Get(u.String())
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusBadRequest {
						t.Errorf("status %d", resp.StatusCode)
					}
					return
				}
				back := w.srv.Visit(u.String())
				if back.Query().Get("error") != tc.code || back.Query().Get("code") != "" {
					t.Errorf("redirect: %s", back)
				}
			})
		})
	}

	// Errors the client cannot be trusted with: 400, no redirect.
	for _, tc := range []struct {
		name, clientID, redirect, code string
	}{
		{"unknown client", "nobody", w.app.RedirectURIs[0], "invalid_client"},
		{"no client", "", w.app.RedirectURIs[0], "invalid_request"},
		{"unregistered redirect URI", "app", "https://evil.example.com/cb", "invalid_request"},
		{"no redirect URI", "app", "", "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := url.Values{"response_type": {"code"}, "client_id": {tc.clientID}, "redirect_uri": {tc.redirect},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
			oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
				resp, err := w.srv.Client().Get(w.srv.URL + oauthdbtest.PathAuthorize + "?" + v.Encode())
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body map[string]any
				json.NewDecoder(resp.Body).Decode(&body)
				wantError(t, response{resp.StatusCode, resp.Header, body}, http.StatusBadRequest, tc.code)
			})
		})
	}

	// A client that skips consent records none.
	trusted := w.fx.Client(oauthdbtest.SkipConsent())
	w.srv.Authorize(oauthdbtest.AuthorizeRequest{Client: trusted, Session: w.laptop, CodeVerifier: verifier})
	if err := w.fx.CheckConsent(oauthdb.ConsentKey{ClientID: trusted.ClientID, UserID: w.alice.ID}, nil); err != nil {
		t.Error(err)
	}
	if cs, _ := w.fx.UserConsents(w.alice.ID); len(cs) != 1 {
		t.Errorf("%d consents, want app's alone", len(cs))
	}

	// A session that was deleted (signed out elsewhere) cannot authorize.
	gone := w.fx.Session(w.alice)
	w.srv.LoginAs(gone)
	if err := w.fx.Update(func(tx *oauthdb.Tx) error { return tx.DeleteSession(gone.ID) }); err != nil {
		t.Fatal(err)
	}
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		if back := w.srv.Visit(authURL); back.Query().Get("error") != "login_required" {
			t.Errorf("redirect with a deleted session: %s", back)
		}
	})
	w.srv.LoginAs(w.laptop)

	// An expired session cannot authorize.
	w.fx.Clock.Advance(8 * 24 * time.Hour)
	if back := w.srv.Visit(authURL); back.Query().Get("error") != "login_required" {
		t.Errorf("redirect with an expired session: %s", back)
	}
}

func TestAuthorizeFailsTheTest(t *testing.T) {
	w := newWorld(t)
	got := failures(t, func(tb testing.TB) {
		srv := oauthdbtest.NewServer(tb, w.fx.DB)
		srv.Authorize(oauthdbtest.AuthorizeRequest{Client: w.app, Session: w.laptop})
	})
	if want := "oauthdbtest: Authorize: invalid_request: code_challenge is required: PKCE is mandatory"; got != want {
		t.Errorf("report %q, want %q", got, want)
	}
}

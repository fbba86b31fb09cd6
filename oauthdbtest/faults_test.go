package oauthdbtest_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestInjectFaultTokenEndpoint(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID)
	// The discovered endpoint auto-detects the authentication style: after
	// a failure x/oauth2 tries again with the other style, so that one
	// Exchange would meet two faults.
	r.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	verifier := oauth2.GenerateVerifier()
	code := w.srv.Visit(r.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))).Query().Get("code")

	// The next two token requests fail as an overloaded server's do; the
	// client sees the error, and the code survives both.
	w.srv.InjectFault(t, oauthdbtest.PathToken, 2, oauthdbtest.Fault{Error: "temporarily_unavailable"})
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		for range 2 {
			_, err := r.cfg.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
			re, ok := errors.AsType[*oauth2.RetrieveError](err)
			if !ok || re.ErrorCode != "temporarily_unavailable" || re.Response.StatusCode != http.StatusServiceUnavailable ||
				!strings.Contains(re.ErrorDescription, "injected") {
				t.Fatalf("Exchange: %v, want an *oauth2.RetrieveError temporarily_unavailable with status 503", err)
			}
		}
	})
	// The third is served.
	tok, err := r.cfg.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange after the faults: %v", err)
	}
	if _, err := w.fx.ValidateAccessToken(tok.AccessToken); err != nil {
		t.Errorf("the token issued after the faults: %v", err)
	}
	got := w.srv.Requests(oauthdbtest.PathToken)
	if len(got) != 3 || got[0].Fault == "" || got[0].Status != 503 || got[1].Fault == "" || got[2].Fault != "" || got[2].Status != 200 {
		t.Errorf("recorded token requests: %+v", got)
	}
}

func TestInjectFaultEndsWithTheTest(t *testing.T) {
	w := newWorld(t)
	cc := clientcredentials.Config{ClientID: "app", ClientSecret: w.fx.Secret(w.app), TokenURL: w.srv.Endpoint().TokenURL}
	ctx := clientContext(t, w.srv)
	t.Run("every request fails while the subtest runs", func(t *testing.T) {
		w.srv.InjectFault(t, oauthdbtest.PathToken, 0, oauthdbtest.Fault{Error: "server_error"})
		for range 3 {
			_, err := cc.Token(ctx)
			wantRetrieveError(t, err, "server_error")
		}
	})
	if _, err := cc.Token(ctx); err != nil {
		t.Errorf("after the subtest: %v", err)
	}

	// remove ends a fault early; faults on one path are met in order.
	remove := w.srv.InjectFault(t, oauthdbtest.PathToken, 0, oauthdbtest.Fault{Error: "invalid_client"})
	w.srv.InjectFault(t, oauthdbtest.PathToken, 1, oauthdbtest.Fault{Error: "access_denied", Status: http.StatusForbidden})
	_, err := cc.Token(ctx)
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
		t.Errorf("the first fault: %v", err)
	}
	remove()
	_, err = cc.Token(ctx)
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "access_denied" || re.Response.StatusCode != 403 {
		t.Errorf("the second fault: %v", err)
	}
	if _, err := cc.Token(ctx); err != nil {
		t.Errorf("after both: %v", err)
	}
}

func TestInjectFaultDelay(t *testing.T) {
	w := newWorld(t)
	code, verifier := w.code(t, w.app, "read")
	f := form("grant_type", "authorization_code", "code", code, "redirect_uri", w.app.RedirectURIs[0], "code_verifier", verifier)

	// A token endpoint that hangs, and a client that gives up: nothing is
	// served, and the code can still be redeemed.
	w.srv.InjectFault(t, oauthdbtest.PathToken, 1, oauthdbtest.Fault{Delay: time.Minute})
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.srv.URL+oauthdbtest.PathToken, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", url.QueryEscape(w.fx.Secret(w.app)))
		_, err := w.srv.Client().Do(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a client that gives up: %v", err)
		}
	})
	if got := w.redeem(t, w.app, code, verifier); got.status != http.StatusOK {
		t.Errorf("the code after the slow request: %d %v", got.status, got.body)
	}

	// A delay with an error: late, then failed.
	w.srv.InjectFault(t, oauthdbtest.PathIntrospect, 1, oauthdbtest.Fault{Delay: time.Millisecond, Error: "temporarily_unavailable"})
	got := do(t, w.srv, request{path: oauthdbtest.PathIntrospect, basic: w.basic(w.app), form: form("token", "x")})
	wantError(t, got, http.StatusServiceUnavailable, "temporarily_unavailable")
	if rs := w.srv.Requests(oauthdbtest.PathIntrospect); len(rs) != 1 || rs[0].Fault != "temporarily_unavailable (503) after 1ms" {
		t.Errorf("recorded: %+v", rs)
	}
}

func TestInjectFaultAuthorizeAndUserInfo(t *testing.T) {
	w := newOIDCWorld(t)
	r := newRP(t, w.fx, w.srv, w.app, oidc.ScopeOpenID)
	tok, _ := r.login(t, w.srv, "n")

	// At the authorization endpoint the error goes back to the client.
	w.srv.InjectFault(t, oauthdbtest.PathAuthorize, 2, oauthdbtest.Fault{Error: "temporarily_unavailable"})
	back := w.srv.Visit(r.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if q := back.Query(); q.Get("error") != "temporarily_unavailable" || q.Get("state") != "st" || q.Get("code") != "" ||
		q.Get("iss") != w.srv.URL || !strings.HasPrefix(back.String(), w.app.RedirectURIs[0]+"?") {
		t.Errorf("redirect: %s", back)
	}
	// ... unless the request does not name a client's redirect URI.
	got := get(t, w.srv, oauthdbtest.PathAuthorize, url.Values{"client_id": {"app"}, "redirect_uri": {"https://evil.example.com/"}})
	wantError(t, got, http.StatusServiceUnavailable, "temporarily_unavailable")
	if got.header.Get("Location") != "" {
		t.Error("redirected to an unregistered URI")
	}

	// At the userinfo endpoint it is an RFC 6750 error, which go-oidc reports.
	w.srv.InjectFault(t, oauthdbtest.PathUserInfo, 1, oauthdbtest.Fault{Error: "invalid_token"})
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("UserInfo: %v", err)
	}
	if _, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Errorf("UserInfo after the fault: %v", err)
	}
	// And discovery can fail too.
	w.srv.InjectFault(t, oauthdbtest.PathOpenIDConfiguration, 1, oauthdbtest.Fault{Error: "server_error"})
	if _, err := oidc.NewProvider(r.ctx, w.srv.Issuer()); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("NewProvider: %v", err)
	}
}

func TestInjectFaultRefusesNonsense(t *testing.T) {
	fx := oauthdbtest.New(t)
	for _, tc := range []struct {
		name, path, want string
		f                oauthdbtest.Fault
	}{
		{"unknown path", "/nope", "not an endpoint", oauthdbtest.Fault{Error: "server_error"}},
		{"nothing to do", oauthdbtest.PathToken, "neither an Error nor a Delay", oauthdbtest.Fault{}},
		{"not an error status", oauthdbtest.PathToken, "not an error status", oauthdbtest.Fault{Error: "x", Status: 200}},
		{"not an error code", oauthdbtest.PathToken, "not an OAuth error code", oauthdbtest.Fault{Error: "bad\"code"}},
	} {
		msg := failures(t, func(ft testing.TB) {
			oauthdbtest.NewServer(ft, fx.DB).InjectFault(ft, tc.path, 1, tc.f)
		})
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q", tc.name, msg)
		}
	}
}

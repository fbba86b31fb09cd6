package oauthdbtest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	zrp "github.com/zitadel/oidc/v3/pkg/client/rp"
	zrs "github.com/zitadel/oidc/v3/pkg/client/rs"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// zitadelRP is zitadel/oidc's relying party, on its defaults but for the
// fake server's HTTP client (httptest's), opts, and client_secret_basic at
// the token endpoint: a client authenticates as it registered, and
// better-auth registers client_secret_basic by default, where zitadel's
// refresh, on its default, sends the secret in the form.
func zitadelRP(t *testing.T, srv *oauthdbtest.Server, fx *oauthdbtest.Fixtures, c oauthdb.OAuthClient, opts ...zrp.Option) zrp.RelyingParty {
	t.Helper()
	opts = append(opts, zrp.WithHTTPClient(srv.Client()))
	party, err := zrp.NewRelyingPartyOIDC(t.Context(), srv.Issuer(), c.ClientID, fx.Secret(c), c.RedirectURIs[0],
		[]string{zoidc.ScopeOpenID, zoidc.ScopeEmail, zoidc.ScopeOfflineAccess}, opts...)
	if err != nil {
		t.Fatalf("zitadel: NewRelyingPartyOIDC: %v", err)
	}
	party.OAuthConfig().Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return party
}

// zitadelLogin runs the authorization code flow with PKCE and a nonce as
// zitadel's relying party does, the fake server's signed-in user at the
// authorization endpoint.
func zitadelLogin(t *testing.T, srv *oauthdbtest.Server, party zrp.RelyingParty, nonce string) (*zoidc.Tokens[*zoidc.IDTokenClaims], error) {
	t.Helper()
	verifier := "a-pkce-verifier-of-at-least-forty-three-characters"
	authURL := zrp.AuthURL("state-1", party, zrp.WithCodeChallenge(zoidc.NewSHACodeChallenge(verifier)),
		zrp.AuthURLOpt(zrp.WithURLParam("nonce", nonce)))
	callback := srv.Visit(authURL)
	if callback.Query().Get("state") != "state-1" {
		t.Fatalf("callback %s", callback)
	}
	return zrp.CodeExchange[*zoidc.IDTokenClaims](t.Context(), callback.Query().Get("code"), party, zrp.WithCodeVerifier(verifier))
}

// TestZitadelRelyingParty runs zitadel/oidc 3.53's relying party, which
// nobody here wrote, against the fake server on the server's defaults
// (RS256): discovery, the code flow with PKCE and a nonce, the id_token's
// checks, userinfo, a refresh with a new id_token, introspection by its
// resource server, revocation — with the relying party given the DB's
// clock, and with the DB's clock at the wall clock.
func TestZitadelRelyingParty(t *testing.T) {
	for name, start := range map[string]oauthdbtest.Option{
		"the DB's clock given to the relying party": nil,
		"the DB's clock at the wall clock":          oauthdbtest.WithStart(time.Now().Truncate(time.Second)),
	} {
		t.Run(name, func(t *testing.T) {
			var opts []oauthdbtest.Option
			if start != nil {
				opts = append(opts, start)
			}
			fx := oauthdbtest.New(t, opts...)
			srv := oauthdbtest.NewServer(t, fx.DB)
			alice := fx.User(oauthdbtest.Email("alice@example.com"))
			app := fx.Client(oauthdbtest.SkipConsent())
			api := fx.Client(oauthdbtest.ClientID("api"))
			srv.LoginAs(fx.Session(alice))
			// The nonce the relying party expects: the login's, and none on a
			// refresh (OpenID Connect Core §12.2).
			var nonce atomic.Value
			nonce.Store("n-1")
			vopts := []zrp.VerifierOption{zrp.WithNonce(func(context.Context) string { return nonce.Load().(string) })}
			if start == nil {
				// zitadel reads the wall clock; its offset moves it to the DB's.
				vopts = append(vopts, zrp.WithIssuedAtOffset(fx.Clock.Now().Sub(time.Now())))
			}
			ropts := []zrp.Option{zrp.WithVerifierOpts(vopts...)}
			party := zitadelRP(t, srv, fx, app, ropts...)

			tokens, err := zitadelLogin(t, srv, party, "n-1")
			if err != nil {
				t.Fatalf("code exchange: %v", err)
			}
			if tokens.IDTokenClaims.Subject != alice.ID || tokens.IDTokenClaims.Nonce != "n-1" || tokens.IDTokenClaims.Email != "alice@example.com" {
				t.Errorf("id_token claims %+v", tokens.IDTokenClaims)
			}
			info, err := zrp.Userinfo[*zoidc.UserInfo](t.Context(), tokens.AccessToken, tokens.TokenType, alice.ID, party)
			if err != nil || info.Email != "alice@example.com" {
				t.Errorf("userinfo: %+v, %v", info, err)
			}
			nonce.Store("")
			refreshed, err := zrp.RefreshTokens[*zoidc.IDTokenClaims](t.Context(), party, tokens.RefreshToken, "", "")
			if err != nil || refreshed.IDTokenClaims == nil || refreshed.IDTokenClaims.Subject != alice.ID {
				t.Fatalf("refresh: %+v, %v", refreshed, err)
			}

			// zitadel's resource server introspects the app's token: only
			// the app may (its own tokens), as better-auth allows.
			appRS, err := zrs.NewResourceServerClientCredentials(t.Context(), srv.Issuer(), app.ClientID, fx.Secret(app),
				zrs.WithClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			intro, err := zrs.Introspect[*zoidc.IntrospectionResponse](t.Context(), appRS, refreshed.AccessToken)
			if err != nil || !intro.Active || intro.Subject != alice.ID || intro.ClientID != app.ClientID || intro.TokenType != "Bearer" {
				t.Errorf("introspection: %+v, %v", intro, err)
			}
			apiRS, err := zrs.NewResourceServerClientCredentials(t.Context(), srv.Issuer(), api.ClientID, fx.Secret(api),
				zrs.WithClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			if intro, err := zrs.Introspect[*zoidc.IntrospectionResponse](t.Context(), apiRS, refreshed.AccessToken); err != nil || intro.Active {
				t.Errorf("another client's introspection: %+v, %v", intro, err)
			}

			if err := zrp.RevokeToken(t.Context(), party, refreshed.AccessToken, "access_token"); err != nil {
				t.Fatalf("revoke: %v", err)
			}
			if _, err := zrp.Userinfo[*zoidc.UserInfo](t.Context(), refreshed.AccessToken, "Bearer", alice.ID, party); err == nil {
				t.Error("userinfo accepted a revoked token")
			}
		})
	}
}

// logTB is a testing.TB that keeps what is logged to it.
type logTB struct {
	testing.TB
	mu   sync.Mutex
	logs []string
}

func (l *logTB) Logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.logs = append(l.logs, fmt.Sprintf(format, args...))
	l.TB.Logf(format, args...)
}

// TestZitadelOnTheDefaultClock: on the kit's fixed default clock, a strict
// relying party on its own defaults refuses the id_token as expired — and
// the server's log says, once, what to set.
func TestZitadelOnTheDefaultClock(t *testing.T) {
	fx := oauthdbtest.New(t)
	lt := &logTB{TB: t}
	srv := oauthdbtest.NewServer(lt, fx.DB)
	alice := fx.User()
	app := fx.Client(oauthdbtest.SkipConsent())
	srv.LoginAs(fx.Session(alice))
	party := zitadelRP(t, srv, fx, app)
	for range 2 {
		if _, err := zitadelLogin(t, srv, party, "n"); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("code exchange on the 2026-01-01 clock: %v, want the id_token refused as expired", err)
		}
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if len(lt.logs) != 1 {
		t.Fatalf("the server logged %d hints, want 1: %q", len(lt.logs), lt.logs)
	}
	for _, want := range []string{"oidc.Config{Now: fx.Clock.Now}", "rp.WithIssuedAtOffset", "clockSkew", "oauthdbtest.WithStart(time.Now())"} {
		if !strings.Contains(lt.logs[0], want) {
			t.Errorf("the hint does not say %q: %s", want, lt.logs[0])
		}
	}
	// The code was redeemed all the same: the DB's rows are the grant's.
	if got := len(oauthdbtest.Dump(fx.DB).AccessTokens); got != 2 {
		t.Errorf("%d access tokens, want 2", got)
	}
}

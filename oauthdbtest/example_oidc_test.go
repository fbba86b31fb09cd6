package oauthdbtest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// An OpenID Connect login, as a Go service does it with go-oidc:
// discovery, the code flow with PKCE and a nonce, the id_token verified
// against the server's keys.
func Example_oidcLogin() {
	t := newExampleT() // in a test: the test's *testing.T
	defer t.finish()

	fx := oauthdbtest.New(t)
	srv := oauthdbtest.NewServer(t, fx.DB)
	alice := fx.User(oauthdbtest.Email("alice@example.com"), oauthdbtest.EmailVerified())
	app := fx.Client(oauthdbtest.SkipConsent())
	srv.LoginAs(fx.Session(alice)) // alice is signed in at the provider

	// The relying party. Its verifier reads the DB's clock, as the server does.
	ctx := oidc.ClientContext(context.Background(), srv.Client())
	provider, err := oidc.NewProvider(ctx, srv.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: app.ClientID, Now: fx.Clock.Now})
	cfg := oauth2.Config{ClientID: app.ClientID, ClientSecret: fx.Secret(app), Endpoint: provider.Endpoint(),
		RedirectURL: app.RedirectURIs[0], Scopes: []string{oidc.ScopeOpenID, "email"}}

	pkce := oauth2.GenerateVerifier()
	callback := srv.Visit(cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(pkce), oidc.Nonce("nonce-1")))
	tok, err := cfg.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawIDToken, _ := tok.Extra("id_token").(string)
	idToken, err := verifier.Verify(ctx, rawIDToken)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var claims struct {
		Email    string `json:"email"`
		Verified bool   `json:"email_verified"`
	}
	_ = idToken.Claims(&claims)
	fmt.Println(idToken.Subject == alice.ID, idToken.Nonce, claims.Email, claims.Verified)

	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	fmt.Println(info.Email, err)
	// Output:
	// true nonce-1 alice@example.com true
	// alice@example.com <nil>
}

// fetchToken is the code under test: it gets a client-credentials token and
// tries once more when the server says it is temporarily unavailable.
func fetchToken(ctx context.Context, cfg clientcredentials.Config) (*oauth2.Token, error) {
	tok, err := cfg.Token(ctx)
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.ErrorCode == "temporarily_unavailable" {
		return cfg.Token(ctx)
	}
	return tok, err
}

// Testing how a client handles a token endpoint in trouble: the next
// requests fail on purpose, and the fault ends with the test.
func Example_tokenEndpointFails() {
	t := newExampleT() // in a test: the test's *testing.T
	defer t.finish()

	fx := oauthdbtest.New(t)
	srv := oauthdbtest.NewServer(t, fx.DB)
	app := fx.Client(oauthdbtest.ClientCredentialsScopes("reports:read"))
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
	cfg := clientcredentials.Config{ClientID: app.ClientID, ClientSecret: fx.Secret(app),
		TokenURL: srv.Endpoint().TokenURL, AuthStyle: oauth2.AuthStyleInHeader}

	// One failure: the retry gets the token.
	srv.InjectFault(t, oauthdbtest.PathToken, 1, oauthdbtest.Fault{Error: "temporarily_unavailable"})
	tok, err := fetchToken(ctx, cfg)
	fmt.Println(tok != nil, err)

	// Two: the caller sees the error.
	srv.InjectFault(t, oauthdbtest.PathToken, 2, oauthdbtest.Fault{Error: "temporarily_unavailable"})
	_, err = fetchToken(ctx, cfg)
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
		fmt.Println(re.Response.StatusCode, re.ErrorCode)
	}
	for _, r := range srv.Requests(oauthdbtest.PathToken) {
		if r.Fault != "" {
			fmt.Println(r.Status, "fault:", r.Fault)
		} else {
			fmt.Println(r.Status, "served")
		}
	}
	// Output:
	// true <nil>
	// 503 temporarily_unavailable
	// 503 fault: temporarily_unavailable (503)
	// 200 served
	// 503 fault: temporarily_unavailable (503)
	// 503 fault: temporarily_unavailable (503)
}

// Asserting on what the client sent: the grant, how it authenticated, the
// scopes — with its secret masked, never kept.
func Example_whatTheClientSent() {
	t := newExampleT() // in a test: the test's *testing.T
	defer t.finish()

	fx := oauthdbtest.New(t)
	srv := oauthdbtest.NewServer(t, fx.DB)
	app := fx.Client(oauthdbtest.ClientCredentialsScopes("reports:read", "reports:write"),
		oauthdbtest.AuthMethod("client_secret_post"))
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())

	// The code under test asks for a read-only token, sending its secret in
	// the form, as its client registered.
	cfg := clientcredentials.Config{ClientID: app.ClientID, ClientSecret: fx.Secret(app),
		TokenURL: srv.Endpoint().TokenURL, Scopes: []string{"reports:read"}, AuthStyle: oauth2.AuthStyleInParams}
	if _, err := cfg.Token(ctx); err != nil {
		t.Fatalf("token: %v", err)
	}

	sent := srv.Requests(oauthdbtest.PathToken)[0]
	fmt.Println(sent.GrantType, sent.ClientAuth, sent.Scopes, sent.ClientID == app.ClientID)
	fmt.Println(sent.Params.Get("client_secret") == oauthdbtest.Fingerprint(fx.Secret(app)))
	// Output:
	// client_credentials client_secret_post [reports:read] true
	// true
}

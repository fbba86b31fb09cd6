package oauthdbtest_test

// The fake server driven by a real client, golang.org/x/oauth2, with the
// store's state checked after each step.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// clientContext makes x/oauth2 talk to the fake server with its client.
func clientContext(t *testing.T, srv *oauthdbtest.Server) context.Context {
	return context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client())
}

// wantRetrieveError checks that x/oauth2 got an RFC 6749 error.
func wantRetrieveError(t *testing.T, err error, code string) {
	t.Helper()
	re, ok := errors.AsType[*oauth2.RetrieveError](err)
	if !ok || re.ErrorCode != code {
		t.Errorf("error %v, want an oauth2.RetrieveError %q", err, code)
	}
}

func TestOAuth2ClientCredentials(t *testing.T) {
	fx := oauthdbtest.New(t)
	srv := oauthdbtest.NewServer(t, fx.DB)
	// A client authenticates as it registered: client_secret_basic (the
	// header), or client_secret_post (the form).
	basic := fx.Client(oauthdbtest.ClientCredentialsScopes("reports:read", "reports:write"))
	post := fx.Client(oauthdbtest.ClientCredentialsScopes("reports:read", "reports:write"), oauthdbtest.AuthMethod("client_secret_post"))
	clientOf := map[oauth2.AuthStyle]oauthdb.OAuthClient{oauth2.AuthStyleInHeader: basic, oauth2.AuthStyleInParams: post,
		oauth2.AuthStyleAutoDetect: basic}
	ctx := clientContext(t, srv)

	want := oauthdbtest.Dump(fx.DB)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams, oauth2.AuthStyleAutoDetect} {
		c := clientOf[style]
		cfg := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: fx.Secret(c),
			TokenURL: srv.Endpoint().TokenURL, Scopes: []string{"reports:read"}, AuthStyle: style}
		tok, err := cfg.Token(ctx)
		if err != nil {
			t.Fatalf("auth style %d: %v", style, err)
		}
		if tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Extra("scope") != "reports:read" {
			t.Errorf("auth style %d: token %+v", style, tok)
		}
		info, err := fx.ValidateAccessToken(tok.AccessToken)
		if err != nil || info.Token.ClientID != c.ClientID {
			t.Fatalf("auth style %d: the issued token: %v", style, err)
		}
		want.AccessTokens = append(want.AccessTokens, oauthdb.OAuthAccessToken{ClientID: c.ClientID,
			Scopes: []string{"reports:read"}, CreatedAt: fx.Now(), ExpiresAt: fx.Now().Add(time.Hour)})
		oauthdbtest.AssertState(t, fx.DB, want, oauthdbtest.IgnoreGeneratedIDs())
	}

	oauthdbtest.AssertUnchanged(t, fx.DB, func() {
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			bad := clientcredentials.Config{ClientID: clientOf[style].ClientID, ClientSecret: "wrong", TokenURL: srv.Endpoint().TokenURL, AuthStyle: style}
			_, err := bad.Token(ctx)
			wantRetrieveError(t, err, "invalid_client")
		}
		// The right secret the way the client did not register.
		wrongWay := clientcredentials.Config{ClientID: basic.ClientID, ClientSecret: fx.Secret(basic),
			TokenURL: srv.Endpoint().TokenURL, AuthStyle: oauth2.AuthStyleInParams}
		_, err := wrongWay.Token(ctx)
		wantRetrieveError(t, err, "invalid_client")
		tooMuch := clientcredentials.Config{ClientID: basic.ClientID, ClientSecret: fx.Secret(basic),
			TokenURL: srv.Endpoint().TokenURL, Scopes: []string{"admin"}, AuthStyle: oauth2.AuthStyleInHeader}
		_, err = tooMuch.Token(ctx)
		wantRetrieveError(t, err, "invalid_scope")
	})
}

func TestOAuth2AuthorizationCodeAndRefresh(t *testing.T) {
	fx := oauthdbtest.New(t)
	srv := oauthdbtest.NewServer(t, fx.DB)
	alice := fx.User(oauthdbtest.Name("Alice"))
	laptop := fx.Session(alice)
	c := fx.Client(oauthdbtest.Scopes("openid", "offline_access", "notes:read"))
	cfg := oauth2.Config{
		ClientID: c.ClientID, ClientSecret: fx.Secret(c), Endpoint: srv.Endpoint(),
		RedirectURL: c.RedirectURIs[0], Scopes: []string{"offline_access", "notes:read"},
	}
	ctx := clientContext(t, srv)
	start := fx.Now()
	want := oauthdbtest.Dump(fx.DB)

	// 1. The user, signed in, follows the client's authorization URL.
	srv.LoginAs(laptop)
	verifier := oauth2.GenerateVerifier()
	back := srv.Visit(cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)))
	code := back.Query().Get("code")
	if code == "" || back.Query().Get("state") != "state-1" {
		t.Fatalf("redirect: %s", back)
	}
	want.Consents = []oauthdb.OAuthConsent{{ClientID: c.ClientID, UserID: alice.ID,
		Scopes: []string{"offline_access", "notes:read"}, CreatedAt: start, UpdatedAt: start}}
	want.Verifications = []oauthdb.Verification{{
		Identifier: oauthdb.HashToken(code),
		Value: oauthdbtest.CodeValue{Type: "authorization_code", Query: map[string]string{
			"client_id": c.ClientID, "redirect_uri": c.RedirectURIs[0], "response_type": "code",
			"scope": "offline_access notes:read", "state": "state-1",
			"code_challenge": oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method": "S256",
		}, UserID: alice.ID, SessionID: laptop.ID, AuthTime: laptop.CreatedAt.UnixMilli()}.JSON(),
		ExpiresAt: start.Add(10 * time.Minute), CreatedAt: start, UpdatedAt: start,
	}}
	oauthdbtest.AssertState(t, fx.DB, want, oauthdbtest.IgnoreGeneratedIDs())

	// 2. A wrong verifier is refused, and the code survives it.
	oauthdbtest.AssertUnchanged(t, fx.DB, func() {
		_, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		wantRetrieveError(t, err, "invalid_grant")
	})

	// 3. The client exchanges the code, with its verifier.
	fx.Clock.Advance(30 * time.Second)
	now := fx.Now()
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Extra("scope") != "offline_access notes:read" {
		t.Fatalf("token %+v", tok)
	}
	scopes := []string{"offline_access", "notes:read"}
	want.Verifications = nil
	codeID := fx.Hash(code)
	want.RefreshTokens = []oauthdb.OAuthRefreshToken{{ClientID: c.ClientID, SessionID: laptop.ID, UserID: alice.ID,
		Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour),
		AuthorizationCodeID: codeID, AuthTime: laptop.CreatedAt.Truncate(time.Millisecond)}}
	want.AccessTokens = []oauthdb.OAuthAccessToken{{ClientID: c.ClientID, SessionID: laptop.ID, UserID: alice.ID,
		Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(time.Hour), AuthorizationCodeID: codeID}}
	oauthdbtest.AssertState(t, fx.DB, want, oauthdbtest.IgnoreGeneratedIDs())
	first := oauthdbtest.Dump(fx.DB)

	// 4. An hour later the access token has expired; the TokenSource
	// refreshes it. (The client reads the real clock, the server the fake
	// one: the test tells the client its token has expired.)
	fx.Clock.Advance(time.Hour)
	later := fx.Now()
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Second)
	fresh, err := cfg.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
		t.Fatalf("the refresh returned the old tokens")
	}
	if _, err := fx.ValidateAccessToken(fresh.AccessToken); err != nil {
		t.Fatalf("the refreshed access token: %v", err)
	}
	want = first.Clone()
	want.RefreshTokens[0].Revoked, want.RefreshTokens[0].RotatedAt = later, later
	// The grant's code and sign-in time carry on to the rotated tokens.
	want.RefreshTokens = append(want.RefreshTokens, oauthdb.OAuthRefreshToken{ClientID: c.ClientID, SessionID: laptop.ID,
		UserID: alice.ID, Scopes: scopes, CreatedAt: later, ExpiresAt: later.Add(30 * 24 * time.Hour),
		AuthorizationCodeID: codeID, AuthTime: laptop.CreatedAt.Truncate(time.Millisecond)})
	want.AccessTokens = append(want.AccessTokens, oauthdb.OAuthAccessToken{ClientID: c.ClientID, SessionID: laptop.ID,
		UserID: alice.ID, Scopes: scopes, CreatedAt: later, ExpiresAt: later.Add(time.Hour), AuthorizationCodeID: codeID})
	oauthdbtest.AssertState(t, fx.DB, want, oauthdbtest.IgnoreGeneratedIDs())
	if got := oauthdbtest.Dump(fx.DB).AccessTokens; !slices.ContainsFunc(got, func(a oauthdb.OAuthAccessToken) bool {
		return a.Token == oauthdb.HashToken(fresh.AccessToken) && a.RefreshID != "" && a.RefreshID != first.RefreshTokens[0].ID
	}) {
		t.Error("the refreshed access token is not linked to the new refresh token")
	}

	// 5. The old refresh token, replayed, fails and revokes the family: both
	// refresh tokens revoked, every access token of the client and user gone.
	_, err = cfg.TokenSource(ctx, &expired).Token()
	wantRetrieveError(t, err, "invalid_grant")
	want.RefreshTokens[1].Revoked = later
	want.AccessTokens = nil
	oauthdbtest.AssertState(t, fx.DB, want, oauthdbtest.IgnoreGeneratedIDs())
	_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token()
	wantRetrieveError(t, err, "invalid_grant")

	// 6. The code, used again, fails: its tokens are already revoked.
	oauthdbtest.AssertUnchanged(t, fx.DB, func() {
		_, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		wantRetrieveError(t, err, "invalid_grant")
	})
}

func TestOAuth2ReusedCode(t *testing.T) {
	fx := oauthdbtest.New(t)
	srv := oauthdbtest.NewServer(t, fx.DB)
	alice := fx.User()
	srv.LoginAs(fx.Session(alice))
	c := fx.Client(oauthdbtest.Public(), oauthdbtest.SkipConsent())
	cfg := oauth2.Config{ClientID: c.ClientID, Endpoint: srv.Endpoint(), RedirectURL: c.RedirectURIs[0],
		Scopes: []string{"offline_access"}}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	ctx := clientContext(t, srv)

	verifier := oauth2.GenerateVerifier()
	code := srv.Visit(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))).Query().Get("code")
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	issued := oauthdbtest.Dump(fx.DB)
	if len(issued.AccessTokens) != 1 || len(issued.RefreshTokens) != 1 {
		t.Fatalf("issued %d access and %d refresh tokens", len(issued.AccessTokens), len(issued.RefreshTokens))
	}

	// Someone replays the code: refused, and the tokens it gave are revoked.
	_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	wantRetrieveError(t, err, "invalid_grant")
	want := issued.Clone()
	want.AccessTokens = nil
	want.RefreshTokens[0].Revoked = fx.Now()
	oauthdbtest.AssertState(t, fx.DB, want)
	if _, err := fx.ValidateAccessToken(tok.AccessToken); !errors.Is(err, oauthdb.ErrTokenNotFound) {
		t.Errorf("the code's access token after the replay: %v", err)
	}
	_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	wantRetrieveError(t, err, "invalid_grant")
}

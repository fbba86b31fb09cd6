// Package oauthdbtest is the kit for testing Go code that reads and writes
// OAuth data held in an [oauthdb.DB]: what every project would otherwise
// write by hand.
//
//   - [New] opens a fresh DB for one test, on a fake [Clock] and a seeded
//     source of randomness, so that IDs, tokens and timestamps are the same
//     on every run. Nothing is global: tests may run in parallel.
//   - The fixture builders of [Fixtures] insert records with sensible
//     defaults ([Fixtures.User], [Fixtures.Client], [Fixtures.Session],
//     [Fixtures.AccessToken], ...), changed by a [FixtureOption] where a test
//     cares. [LoadFile] loads a whole scenario from a JSON file whose fields
//     are better-auth's.
//   - [Dump] reads every table into a [State]; [AssertState] and
//     [AssertUnchanged] compare states and print a diff that names the tables
//     and rows that differ, with [IgnoreTimestamps], [IgnoreGeneratedIDs]
//     and [EquateEmpty] to say what does not matter.
//   - [NewServer] starts a fake OAuth 2.1 authorization server and OpenID
//     provider over a DB — token, introspection, revocation, authorization,
//     metadata and discovery, JWKS, userinfo and logout endpoints — that
//     real clients such as golang.org/x/oauth2 and
//     github.com/coreos/go-oidc/v3 talk to. [Server.InjectFault] makes it
//     fail or stall on purpose, [Server.Requests] tells what a client sent,
//     and [WithClaims] chooses the claims of its id_tokens and userinfo.
//
// # An OpenID Connect login in a test
//
// The server is the OpenID provider; the code under test is the relying
// party, configured by discovery. Its verifier must read the DB's clock,
// which dates the id_tokens:
//
//	srv := oauthdbtest.NewServer(t, fx.DB)
//	srv.LoginAs(fx.Session(alice)) // alice is signed in at the provider
//	ctx := oidc.ClientContext(t.Context(), srv.Client())
//	provider, err := oidc.NewProvider(ctx, srv.Issuer())
//	verifier := provider.Verifier(&oidc.Config{ClientID: app.ClientID, Now: fx.Clock.Now})
//	cfg := oauth2.Config{ClientID: app.ClientID, ClientSecret: fx.Secret(app),
//		Endpoint: provider.Endpoint(), RedirectURL: app.RedirectURIs[0],
//		Scopes: []string{oidc.ScopeOpenID, "email"}}
//	callback := srv.Visit(cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(pkce), oidc.Nonce("n-1")))
//	tok, err := cfg.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(pkce))
//	rawIDToken, _ := tok.Extra("id_token").(string)
//	idToken, err := verifier.Verify(ctx, rawIDToken) // and compare idToken.Nonce with "n-1"
//
// See the example of an OpenID Connect login for the whole of it. Faults
// injected with [Server.InjectFault] end with the test that injected them;
// note that x/oauth2's auto-detected authentication style (the zero
// AuthStyle, as go-oidc's Provider.Endpoint leaves it) retries a failed
// token request once with the other style, so one Exchange can meet two
// faults.
//
// # Fixture files
//
// A fixture file is a State in JSON: an object whose keys are better-auth's
// model names — user, session, oauthClient, oauthRefreshToken,
// oauthAccessToken, oauthConsent, verification — each holding an array of
// rows in better-auth's field names, as better-auth's own database holds
// them: dates as ISO-8601 strings, string arrays as JSON arrays, null or an
// absent field for NULL — or in any other shape better-auth's adapters
// store a value in (booleans as 0/1, dates as milliseconds, arrays as JSON
// text: see betterauth.DecodeRow, which decodes each row). Rows exported
// from a better-auth database load as they are; fields this model does
// not know are ignored.
//
//	{
//	  "user": [{"id": "u1", "name": "Alice", "email": "alice@example.com"}],
//	  "oauthClient": [{"id": "c1", "clientId": "app", "clientSecret": "plain:s3cret",
//	                   "redirectUris": ["https://app.example.com/cb"]}],
//	  "oauthAccessToken": [{"id": "a1", "token": "plain:alice-token", "clientId": "app",
//	                        "userId": "u1", "scopes": ["read"],
//	                        "expiresAt": "2026-01-01T10:00:00Z"}]
//	}
//
// Tokens and secrets are stored hashed, so a file exported from a database
// holds hashes. A test that wants to present a token writes it instead with
// the prefix "plain:" — in oauthAccessToken.token, oauthRefreshToken.token,
// oauthClient.clientSecret and verification.identifier — and the loader
// stores its hash. (A hash never contains a colon, so the prefix cannot be
// mistaken for one.) A missing createdAt or updatedAt is the DB clock's time.
//
// The whole file loads in one write transaction: all of it, or, on an error,
// nothing.
//
// # Secrets
//
// Plaintext tokens and secrets are returned to the test that created them and
// are never printed by the kit: diffs show a short fingerprint in place of a
// token, a token hash or a session cookie.
package oauthdbtest

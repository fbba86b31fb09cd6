package oauthdbtest_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"golang.org/x/oauth2"
)

func (w *world) redeem(t *testing.T, c oauthdb.OAuthClient, code, verifier string) response {
	t.Helper()
	f := form("grant_type", "authorization_code", "code", code, "redirect_uri", c.RedirectURIs[0], "code_verifier", verifier)
	if c.ClientSecret == "" {
		f.Set("client_id", c.ClientID)
		return do(t, w.srv, request{path: oauthdbtest.PathToken, form: f})
	}
	return do(t, w.srv, request{path: oauthdbtest.PathToken, form: f, basic: w.basic(c)})
}

func TestAuthorizeStoresTheCodeAsBetterAuthDoes(t *testing.T) {
	w := newWorld(t)
	before := oauthdbtest.Dump(w.fx.DB)
	code, verifier := w.code(t, w.app, "openid", "read")
	now := w.fx.Now()

	want := before.Clone()
	want.Consents = append(want.Consents, oauthdb.OAuthConsent{ClientID: "app", UserID: w.alice.ID,
		Scopes: []string{"openid", "read"}, CreatedAt: now, UpdatedAt: now})
	want.Verifications = []oauthdb.Verification{{
		Identifier: oauthdb.HashToken(code),
		Value: oauthdbtest.CodeValue{
			Type: "authorization_code",
			Query: map[string]string{
				"response_type": "code", "client_id": "app", "redirect_uri": w.app.RedirectURIs[0],
				"scope": "openid read", "state": "xyz", "code_challenge": oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method": "S256",
			},
			UserID: w.alice.ID, SessionID: w.laptop.ID, AuthTime: w.laptop.CreatedAt.UnixMilli(),
		}.JSON(),
		ExpiresAt: now.Add(600 * time.Second), CreatedAt: now, UpdatedAt: now,
	}}
	oauthdbtest.AssertState(t, w.fx.DB, want, oauthdbtest.IgnoreGeneratedIDs())
	got := oauthdbtest.Dump(w.fx.DB).Verifications[0]
	if got.Identifier != oauthdb.HashToken(code) {
		t.Error("the verification's identifier is not the code's hash")
	}
	// A second code for the same scopes needs no new consent.
	w.code(t, w.app, "read")
	if n := len(oauthdbtest.Dump(w.fx.DB).Consents); n != 1 {
		t.Errorf("%d consents, want 1", n)
	}
}

func TestRedeemCode(t *testing.T) {
	w := newWorld(t)
	code, verifier := w.code(t, w.app, "openid", "offline_access", "read")
	before := oauthdbtest.Dump(w.fx.DB)
	got := w.redeem(t, w.app, code, verifier)
	if got.status != http.StatusOK || got.str("refresh_token") == "" || got.str("scope") != "openid offline_access read" {
		t.Fatalf("answer %d %v", got.status, got.body)
	}
	info, err := w.fx.ValidateAccessToken(got.str("access_token"))
	if err != nil || info.User.ID != w.alice.ID || info.Session.ID != w.laptop.ID || info.Token.RefreshID == "" {
		t.Fatalf("issued access token: %v %+v", err, info.Token)
	}
	// The code is gone; the tokens are stored, linked, and carry the code's
	// hash and, the refresh token, when the user signed in.
	now := w.fx.Now()
	want := before.Clone()
	want.Verifications = nil
	scopes := []string{"openid", "offline_access", "read"}
	codeID := w.fx.Hash(code)
	want.RefreshTokens = []oauthdb.OAuthRefreshToken{{ClientID: "app", SessionID: w.laptop.ID, UserID: w.alice.ID,
		Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour),
		AuthorizationCodeID: codeID, AuthTime: w.laptop.CreatedAt.Truncate(time.Millisecond)}}
	want.AccessTokens = []oauthdb.OAuthAccessToken{{ClientID: "app", SessionID: w.laptop.ID, UserID: w.alice.ID,
		Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(time.Hour), AuthorizationCodeID: codeID}}
	oauthdbtest.AssertState(t, w.fx.DB, want, oauthdbtest.IgnoreGeneratedIDs())

	// Without offline_access there is no refresh token.
	code, verifier = w.code(t, w.app, "read")
	if got := w.redeem(t, w.app, code, verifier); got.status != http.StatusOK || got.str("refresh_token") != "" {
		t.Errorf("answer without offline_access: %d %v", got.status, got.body)
	}
}

func TestRedeemCodeRefusals(t *testing.T) {
	w := newWorld(t)
	code, verifier := w.code(t, w.app, "read")
	redirect := w.app.RedirectURIs[0]
	ac := func(kv ...string) url.Values {
		return form(append([]string{"grant_type", "authorization_code"}, kv...)...)
	}
	for _, tc := range []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"wrong verifier", request{form: ac("code", code, "redirect_uri", redirect, "code_verifier", verifier+"x"), basic: w.basic(w.app)}, 400, "invalid_grant"},
		{"no verifier", request{form: ac("code", code, "redirect_uri", redirect), basic: w.basic(w.app)}, 400, "invalid_request"},
		{"no redirect_uri", request{form: ac("code", code, "code_verifier", verifier), basic: w.basic(w.app)}, 400, "invalid_request"},
		{"other redirect_uri", request{form: ac("code", code, "redirect_uri", redirect+"/other", "code_verifier", verifier), basic: w.basic(w.app)}, 400, "invalid_grant"},
		{"other client", request{form: ac("code", code, "redirect_uri", redirect, "code_verifier", verifier), basic: w.basic(w.other)}, 400, "invalid_grant"},
		{"wrong secret", request{form: ac("code", code, "redirect_uri", redirect, "code_verifier", verifier), basic: []string{"app", "x"}}, 401, "invalid_client"},
		{"unknown code", request{form: ac("code", "A"+code[1:], "redirect_uri", redirect, "code_verifier", verifier), basic: w.basic(w.app)}, 400, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.path = oauthdbtest.PathToken
			oauthdbtest.AssertUnchanged(t, w.fx.DB, func() { wantError(t, do(t, w.srv, tc.req), tc.status, tc.code) })
		})
	}
	// After all that, the code still works.
	if got := w.redeem(t, w.app, code, verifier); got.status != http.StatusOK {
		t.Errorf("the code after refused requests: %d %v", got.status, got.body)
	}
	// A verifier for a code issued without a challenge (better-auth issues
	// one to a confidential client that asks for no offline_access) is a
	// malformed request, as better-auth 1.7.29 answers it, and leaves the
	// code.
	other, _ := w.code(t, w.app, "read")
	const plain = "a-code-issued-without-pkce"
	if err := w.fx.Update(func(tx *oauthdb.Tx) error {
		v, err := tx.VerificationByIdentifier(w.fx.Hash(other))
		if err != nil {
			return err
		}
		cv, err := oauthdbtest.ParseCodeValue(v)
		if err != nil {
			return err
		}
		delete(cv.Query, "code_challenge")
		delete(cv.Query, "code_challenge_method")
		v.ID, v.Identifier, v.Value = "v-no-pkce", w.fx.Hash(plain), cv.JSON()
		return tx.InsertVerification(v)
	}); err != nil {
		t.Fatal(err)
	}
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		wantError(t, do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(w.app),
			form: ac("code", plain, "redirect_uri", redirect, "code_verifier", verifier)}), 400, "invalid_request")
	})
}

func TestExpiredCode(t *testing.T) {
	w := newWorld(t)
	code, verifier := w.code(t, w.app, "read")
	w.fx.Clock.Advance(600 * time.Second)
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() { wantError(t, w.redeem(t, w.app, code, verifier), 400, "invalid_grant") })
	// The sweep removes it.
	if res, err := w.fx.SweepExpired(10); err != nil || res.Verifications != 1 {
		t.Errorf("sweep: %v %+v", err, res)
	}
}

func TestCodeOfAnEndedSession(t *testing.T) {
	w := newWorld(t)
	code, verifier := w.code(t, w.app, "read")
	if err := w.fx.Update(func(tx *oauthdb.Tx) error { return tx.DeleteSession(w.laptop.ID) }); err != nil {
		t.Fatal(err)
	}
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() { wantError(t, w.redeem(t, w.app, code, verifier), 400, "invalid_grant") })
}

func TestPublicClientCode(t *testing.T) {
	w := newWorld(t)
	code, verifier := w.code(t, w.mobile, "offline_access")
	got := w.redeem(t, w.mobile, code, verifier)
	if got.status != http.StatusOK || got.str("refresh_token") == "" {
		t.Fatalf("answer %d %v", got.status, got.body)
	}
	// The public client refreshes with its client_id alone.
	got = do(t, w.srv, request{path: oauthdbtest.PathToken,
		form: form("grant_type", "refresh_token", "refresh_token", got.str("refresh_token"), "client_id", "mobile")})
	if got.status != http.StatusOK {
		t.Fatalf("refresh: %d %v", got.status, got.body)
	}
}

// A reused code fails and revokes every token issued with it, and those
// descended from them by rotation (RFC 6749 §4.1.2; better-auth's
// revokeTokensIssuedForAuthorizationCode). Tokens of other grants stay.
func TestReusedCodeRevokesItsTokens(t *testing.T) {
	w := newWorld(t)
	code, verifier := w.code(t, w.app, "offline_access", "read")
	first := w.redeem(t, w.app, code, verifier)
	if first.status != http.StatusOK {
		t.Fatalf("first use: %d %v", first.status, first.body)
	}
	rotated := do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(w.app),
		form: form("grant_type", "refresh_token", "refresh_token", first.str("refresh_token"))})
	if rotated.status != http.StatusOK {
		t.Fatalf("rotation: %d %v", rotated.status, rotated.body)
	}
	// Another grant of the same client and user, which must survive.
	otherCode, otherVerifier := w.code(t, w.app, "offline_access", "read")
	other := w.redeem(t, w.app, otherCode, otherVerifier)

	before := oauthdbtest.Dump(w.fx.DB)
	second := w.redeem(t, w.app, code, verifier)
	wantError(t, second, http.StatusBadRequest, "invalid_grant")

	want := before.Clone()
	now := w.fx.Now()
	revoked := map[string]bool{}
	for i, r := range want.RefreshTokens {
		if r.Token == oauthdb.HashToken(first.str("refresh_token")) || r.Token == oauthdb.HashToken(rotated.str("refresh_token")) {
			revoked[r.ID] = true
			if r.Revoked.IsZero() {
				want.RefreshTokens[i].Revoked = now
			}
		}
	}
	if len(revoked) != 2 {
		t.Fatalf("found %d of the code's refresh tokens", len(revoked))
	}
	want.AccessTokens = slices.DeleteFunc(want.AccessTokens, func(a oauthdb.OAuthAccessToken) bool {
		return a.Token == oauthdb.HashToken(first.str("access_token")) || a.Token == oauthdb.HashToken(rotated.str("access_token"))
	})
	if len(want.AccessTokens) != len(before.AccessTokens)-2 {
		t.Fatalf("found %d of the code's access tokens", len(before.AccessTokens)-len(want.AccessTokens))
	}
	oauthdbtest.AssertState(t, w.fx.DB, want)

	for _, tok := range []string{first.str("access_token"), rotated.str("access_token")} {
		if _, err := w.fx.ValidateAccessToken(tok); !errors.Is(err, oauthdb.ErrTokenNotFound) {
			t.Errorf("an access token of the reused code: %v", err)
		}
	}
	if _, err := w.fx.ValidateRefreshToken(rotated.str("refresh_token")); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the rotated refresh token of the reused code: %v", err)
	}
	if _, err := w.fx.ValidateAccessToken(other.str("access_token")); err != nil {
		t.Errorf("the other grant's token: %v", err)
	}
	// A third use changes nothing more.
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() { wantError(t, w.redeem(t, w.app, code, verifier), 400, "invalid_grant") })
}

func TestRefreshRotationAndReplay(t *testing.T) {
	w := newWorld(t)
	rt1, r1 := w.fx.RefreshToken(w.app, w.laptop, oauthdbtest.Scopes("offline_access", "read", "write"))
	at1, _ := w.fx.AccessToken(w.app, w.laptop, oauthdbtest.WithRefresh(r1), oauthdbtest.Scopes("offline_access", "read", "write"))
	// Another client's family is not this one's.
	otherRT, _ := w.fx.RefreshToken(w.other, w.laptop)
	refresh := func(c oauthdb.OAuthClient, tok string, kv ...string) response {
		return do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(c),
			form: form(append([]string{"grant_type", "refresh_token", "refresh_token", tok}, kv...)...)})
	}
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		wantError(t, refresh(w.other, rt1), 400, "invalid_grant")
		wantError(t, refresh(w.app, rt1, "scope", "read admin"), 400, "invalid_scope")
	})

	w.fx.Clock.Advance(time.Minute)
	got := refresh(w.app, rt1, "scope", "offline_access read")
	if got.status != http.StatusOK || got.str("scope") != "offline_access read" || got.str("refresh_token") == "" {
		t.Fatalf("rotation: %d %v", got.status, got.body)
	}
	rt2 := got.str("refresh_token")
	if _, err := w.fx.ValidateRefreshToken(rt1); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the rotated token: %v", err)
	}
	if _, err := w.fx.ValidateAccessToken(at1); err != nil {
		t.Errorf("rotation revoked the old access token, which better-auth keeps: %v", err)
	}

	// The replay of rt1 fails and revokes the whole family of app and alice.
	before := oauthdbtest.Dump(w.fx.DB)
	wantError(t, refresh(w.app, rt1), 400, "invalid_grant")
	now := w.fx.Now()
	want := before.Clone()
	for i, r := range want.RefreshTokens {
		if r.ClientID == "app" && r.Revoked.IsZero() {
			want.RefreshTokens[i].Revoked = now
		}
	}
	want.AccessTokens = slices.DeleteFunc(want.AccessTokens, func(a oauthdb.OAuthAccessToken) bool { return a.ClientID == "app" })
	oauthdbtest.AssertState(t, w.fx.DB, want)
	if _, err := w.fx.ValidateRefreshToken(rt2); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("rt2 after the replay: %v", err)
	}
	if _, err := w.fx.ValidateRefreshToken(otherRT); err != nil {
		t.Errorf("the other client's token after the replay: %v", err)
	}
}

func TestCodeForScopesTheClientLostIsRefused(t *testing.T) {
	w := newWorld(t)
	code, verifier := w.code(t, w.app, "read", "write")
	narrowed := w.app
	narrowed.Scopes = []string{"read"}
	if err := w.fx.Update(func(tx *oauthdb.Tx) error { return tx.UpdateClient(narrowed) }); err != nil {
		t.Fatal(err)
	}
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() { wantError(t, w.redeem(t, w.app, code, verifier), 400, "invalid_scope") })
}

// Two clients racing with one code: whatever the interleaving, the code
// mints at most one set of tokens, and since it was used twice, none of
// them stays active.
func TestConcurrentRedemptions(t *testing.T) {
	w := newWorld(t)
	code, verifier := w.code(t, w.app, "offline_access", "read")
	const n = 4
	answers := make(chan response, n)
	for range n {
		go func() { answers <- w.redeem(t, w.app, code, verifier) }()
	}
	ok := 0
	for range n {
		got := <-answers
		switch {
		case got.status == http.StatusOK:
			ok++
		case got.str("error") != "invalid_grant":
			t.Errorf("answer %d %v", got.status, got.body)
		}
	}
	if ok > 1 {
		t.Errorf("%d redemptions of one code succeeded", ok)
	}
	s := oauthdbtest.Dump(w.fx.DB)
	if len(s.AccessTokens) != 0 || len(s.RefreshTokens) > 1 || (len(s.RefreshTokens) == 1 && s.RefreshTokens[0].Revoked.IsZero()) {
		t.Errorf("after a code used %d times: %d access tokens, refresh tokens %+v", n, len(s.AccessTokens), s.RefreshTokens)
	}
}

// A code's tokens carry its hash, so the code presented again revokes them
// through the DB alone: a second server over the same DB, which never saw
// the code, revokes what the first one issued with it, and what was rotated
// from that.
func TestCodeReplayedAtAnotherServer(t *testing.T) {
	w := newWorld(t)
	code, verifier := w.code(t, w.app, "openid", "offline_access", "read")
	first := w.redeem(t, w.app, code, verifier)
	if first.status != http.StatusOK {
		t.Fatalf("redeem: %d %v", first.status, first.body)
	}
	rotated, err := w.fx.RotateRefreshToken(first.str("refresh_token"), w.app.ClientID, nil)
	if err != nil {
		t.Fatal(err)
	}
	second := &world{fx: w.fx, srv: oauthdbtest.NewServer(t, w.fx.DB), app: w.app}
	again := second.redeem(t, w.app, code, verifier)
	if again.status != http.StatusBadRequest || again.str("error") != "invalid_grant" {
		t.Fatalf("the code again, at another server: %d %v", again.status, again.body)
	}
	for name, tok := range map[string]string{"first access token": first.str("access_token"), "rotated access token": rotated.AccessToken} {
		if _, err := w.fx.ValidateAccessToken(tok); err == nil {
			t.Errorf("the %s of a replayed code is active", name)
		}
	}
	if _, err := w.fx.ValidateRefreshToken(rotated.RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the rotated refresh token of a replayed code: %v, want ErrTokenRevoked", err)
	}
}

package oauthdbtest_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

// The refresh_token grant answers as better-auth 1.7.29's does.

func (w *world) refresh(t *testing.T, c oauthdb.OAuthClient, tok string, kv ...string) response {
	t.Helper()
	return do(t, w.srv, request{path: oauthdbtest.PathToken, basic: w.basic(c),
		form: form(append([]string{"grant_type", "refresh_token", "refresh_token", tok}, kv...)...)})
}

// A refresh token without offline_access is not rotated: the answer has an
// access token (and an id_token in the live session) but no refresh token,
// and the same refresh token works again — it is no replay.
func TestRefreshWithoutOfflineAccess(t *testing.T) {
	w := newWorld(t)
	rt, r := w.fx.RefreshToken(w.app, w.laptop, oauthdbtest.Scopes("openid", "read"))
	for i := range 2 {
		w.fx.Clock.Advance(time.Second)
		got := w.refresh(t, w.app, rt)
		if got.status != http.StatusOK || got.str("refresh_token") != "" || got.str("scope") != "openid read" || got.str("id_token") == "" {
			t.Fatalf("use %d: %d %v", i+1, got.status, got.body)
		}
		info, err := w.fx.ValidateAccessToken(got.str("access_token"))
		if err != nil || info.Token.RefreshID != "" || info.Session.ID != w.laptop.ID {
			t.Errorf("use %d: the access token %+v, %v; want one in the session, linked to no refresh token", i+1, info.Token, err)
		}
	}
	_ = w.fx.View(func(tx *oauthdb.Tx) error {
		if now, err := tx.RefreshToken(r.ID); err != nil || !now.Revoked.IsZero() {
			t.Errorf("the refresh token after two uses: %+v, %v; want it as it was", now, err)
		}
		return nil
	})
}

// Once its session has ended, a refresh token bound to it is refused with
// invalid_grant, and nothing changes: its family is not revoked, even when
// the token was revoked too (by the sign-out).
func TestRefreshAfterTheSessionEnded(t *testing.T) {
	w := newWorld(t)
	bound, _ := w.fx.RefreshToken(w.app, w.laptop, oauthdbtest.Scopes("openid", "read"))
	offline, _ := w.fx.RefreshToken(w.app, w.laptop, oauthdbtest.Scopes("openid", "offline_access", "read"))
	w.fx.Clock.Advance(8 * 24 * time.Hour) // the laptop's session lives 7 days
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		wantError(t, w.refresh(t, w.app, bound), 400, "invalid_grant")
		// Narrowing offline_access away now would make a token born dead.
		wantError(t, w.refresh(t, w.app, offline, "scope", "openid read"), 400, "invalid_grant")
	})
	got := w.refresh(t, w.app, offline)
	if got.status != http.StatusOK || got.str("refresh_token") == "" {
		t.Fatalf("the offline token after the session expired: %d %v", got.status, got.body)
	}
	if info, err := w.fx.ValidateAccessToken(got.str("access_token")); err != nil || info.Session.ID != "" {
		t.Errorf("the access token of a refresh after the session expired: session %q, %v; want none", info.Session.ID, err)
	}

	// Signed out: the bound token is revoked and its session gone.
	w = newWorld(t)
	code, verifier := w.code(t, w.app, "openid", "offline_access", "read")
	first := w.redeem(t, w.app, code, verifier)
	narrowed := w.refresh(t, w.app, first.str("refresh_token"), "scope", "openid read")
	if narrowed.status != http.StatusOK || narrowed.str("refresh_token") == "" {
		t.Fatalf("narrowing in a live session: %d %v", narrowed.status, narrowed.body)
	}
	if err := w.fx.Update(func(tx *oauthdb.Tx) error { return tx.DeleteSession(w.laptop.ID) }); err != nil {
		t.Fatal(err)
	}
	oauthdbtest.AssertUnchanged(t, w.fx.DB, func() {
		wantError(t, w.refresh(t, w.app, narrowed.str("refresh_token")), 400, "invalid_grant")
	})
}

// A refresh token revoked through /revoke and presented again is refused as
// revoked, not as a replay of a rotation — and its family is revoked, as
// better-auth revokes it.
func TestRefreshOfARevokedToken(t *testing.T) {
	w := newWorld(t)
	rt, _ := w.fx.RefreshToken(w.app, w.laptop)
	sibling, _ := w.fx.RefreshToken(w.app, w.laptop)
	if got := do(t, w.srv, request{path: oauthdbtest.PathRevoke, basic: w.basic(w.app), form: form("token", rt)}); got.status != http.StatusOK {
		t.Fatalf("revoke: %d %v", got.status, got.body)
	}
	got := w.refresh(t, w.app, rt)
	wantError(t, got, 400, "invalid_grant")
	if d := got.str("error_description"); !strings.Contains(d, "revoked") || strings.Contains(d, "replayed") {
		t.Errorf("error_description %q, want it to say revoked", d)
	}
	if _, err := w.fx.ValidateRefreshToken(sibling); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the family after a revoked token was presented: %v", err)
	}
}

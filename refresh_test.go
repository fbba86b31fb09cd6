package oauthdb_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

// The refresh token rules of better-auth 1.7.29 (@better-auth/oauth-provider:
// isSessionBoundRefreshToken, resolveRefreshTokenSession,
// handleRefreshTokenGrant, createUserTokens, createRefreshToken).

// onlineGrant asks for a refresh token without offline access: it is bound
// to its session.
var onlineGrant = oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", SessionID: "s1",
	Scopes: []string{"openid", "profile"}, Refresh: true}

// A refresh token granted without offline_access, in a session or from an
// authorization code, ends with its session: expired, or gone. With
// offline_access, or with neither a session nor a code, it outlives it. In
// lenient mode (better-auth 1.4–1.6) every refresh token outlives it.
func TestSessionBoundRefreshToken(t *testing.T) {
	insert := func(t *testing.T, db *oauthdb.DB, r oauthdb.OAuthRefreshToken) string {
		t.Helper()
		plain := "refresh-" + r.ID
		r.Token, r.ClientID, r.UserID, r.ExpiresAt = oauthdb.HashToken(plain), "cid-2", "u1", t0.Add(time.Hour)
		update(t, db, func(tx *oauthdb.Tx) error { return tx.InsertRefreshToken(r) })
		return plain
	}
	for _, lenient := range []bool{false, true} {
		var opts []oauthdb.Option
		if lenient {
			opts = append(opts, oauthdb.WithLenientSessions())
		}
		db, _ := world(t, opts...)
		online := issue(t, db, onlineGrant)
		offline := issue(t, db, offlineGrant)
		codeOnly := insert(t, db, oauthdb.OAuthRefreshToken{ID: "r-code", AuthorizationCodeID: "code-hash", Scopes: []string{"openid"}})
		neither := insert(t, db, oauthdb.OAuthRefreshToken{ID: "r-device", Scopes: []string{"openid"}})
		if info, err := db.ValidateRefreshToken(online.RefreshToken); err != nil || info.Session.ID != "s1" {
			t.Fatalf("lenient=%v: a live session's online refresh token = %+v, %v", lenient, info.Session, err)
		}
		bound := !lenient
		want := func(name, token string, ended bool, reason error) {
			t.Helper()
			info, err := db.ValidateRefreshToken(token)
			if !ended {
				if err != nil || info.Session.ID != "" {
					t.Errorf("lenient=%v: %s = session %q, %v; want active without a session", lenient, name, info.Session.ID, err)
				}
				return
			}
			if !errors.Is(err, reason) {
				t.Errorf("lenient=%v: %s = %v, want %v", lenient, name, err, reason)
			}
			if _, err := db.IntrospectRefreshToken(token, "cid-2"); !errors.Is(err, reason) {
				t.Errorf("lenient=%v: %s introspected = %v, want %v", lenient, name, err, reason)
			}
		}
		want("a code's refresh token without a session", codeOnly, bound, oauthdb.ErrSessionNotFound)
		want("a refresh token of neither session nor code", neither, false, nil)
		expireSession(t, db, "s1")
		want("an expired session's online refresh token", online.RefreshToken, bound, oauthdb.ErrSessionExpired)
		want("an expired session's offline refresh token", offline.RefreshToken, false, nil)
	}
}

// A refresh token without offline_access is not rotated: better-auth mints
// an access token, linked to no refresh token, in the token's live session,
// and leaves the refresh token as it was — so using it again is no replay.
func TestRefreshWithoutOfflineAccessDoesNotRotate(t *testing.T) {
	db, clk := world(t)
	tok := issue(t, db, onlineGrant)
	for i := range 2 {
		clk.Advance(time.Second)
		before := db.Snapshot()
		got, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", []string{"openid"})
		if err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
		if got.RefreshToken != "" || got.Refresh.ID != "" || got.Access.RefreshID != "" {
			t.Errorf("use %d: a refresh token came, or the access token is linked to one: %v, refreshId %q", i+1, got, got.Access.RefreshID)
		}
		if got.Access.SessionID != "s1" || !cmp.Equal(got.Access.Scopes, []string{"openid"}) {
			t.Errorf("use %d: access token session %q, scopes %v; want s1, [openid]", i+1, got.Access.SessionID, got.Access.Scopes)
		}
		if diff := cmp.Diff(tok.Refresh, got.Previous); diff != "" {
			t.Errorf("use %d: the refresh token changed (-issued +now):\n%s", i+1, diff)
		}
		want := before.Clone()
		want.AccessTokens = append(want.AccessTokens, got.Access)
		if diff := cmp.Diff(sortedSnapshot(want), db.Snapshot()); diff != "" {
			t.Errorf("use %d: the rows (-want +got):\n%s", i+1, diff)
		}
		if _, err := db.ValidateAccessToken(got.AccessToken); err != nil {
			t.Errorf("use %d: the access token: %v", i+1, err)
		}
	}
	if _, err := db.ValidateRefreshToken(tok.RefreshToken); err != nil {
		t.Errorf("after two uses the refresh token is %v", err)
	}
}

// sortedSnapshot is s with its access tokens in ID order, as a snapshot
// lists them.
func sortedSnapshot(s oauthdb.Snapshot) oauthdb.Snapshot {
	out := s.Clone()
	slices.SortFunc(out.AccessTokens, func(a, b oauthdb.OAuthAccessToken) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// A rotation that narrows away offline_access makes a refresh token bound to
// the session — the original one — while the session lives; once it has
// ended, such a narrowing is refused, as the token would be born inactive,
// and nothing changes.
func TestRotateNarrowingAwayOfflineAccess(t *testing.T) {
	db, clk := world(t)
	tok := issue(t, db, offlineGrant)
	narrowed, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", []string{"openid"})
	if err != nil {
		t.Fatal(err)
	}
	if narrowed.RefreshToken == "" || narrowed.Refresh.SessionID != "s1" || narrowed.Access.SessionID != "s1" {
		t.Fatalf("narrowed = %v, sessions %q and %q; want a new refresh token in s1", narrowed, narrowed.Refresh.SessionID, narrowed.Access.SessionID)
	}
	if narrowed.Previous.Revoked.IsZero() {
		t.Error("the offline token was not rotated")
	}
	expireSession(t, db, "s1")
	if _, err := db.ValidateRefreshToken(narrowed.RefreshToken); !errors.Is(err, oauthdb.ErrSessionExpired) {
		t.Errorf("the narrowed refresh token after its session expired: %v, want ErrSessionExpired", err)
	}

	// A second offline token of the same grant, narrowed after the session
	// ended: refused with the session's reason, the store unchanged.
	db, clk = world(t)
	tok = issue(t, db, offlineGrant)
	clk.Advance(25 * time.Hour)
	before := db.Snapshot()
	_, err = db.RotateRefreshToken(tok.RefreshToken, "cid-2", []string{"openid"})
	var te *oauthdb.TokenError
	if !errors.Is(err, oauthdb.ErrSessionExpired) || !errors.As(err, &te) || te.ID != tok.Refresh.ID {
		t.Errorf("narrowing after the session expired = %v, want ErrSessionExpired naming %s", err, tok.Refresh.ID)
	}
	if diff := cmp.Diff(before, db.Snapshot()); diff != "" {
		t.Errorf("a refused narrowing changed the store (-before +after):\n%s", diff)
	}
	// Without narrowing it rotates: the access token has no session, the
	// new refresh token keeps the original one.
	next, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if next.Access.SessionID != "" || next.Refresh.SessionID != "s1" {
		t.Errorf("rotation after the session expired: access session %q, refresh session %q; want none and s1",
			next.Access.SessionID, next.Refresh.SessionID)
	}
	if info, err := db.ValidateRefreshToken(next.RefreshToken); err != nil || info.Session.ID != "" {
		t.Errorf("the rotated offline token = session %q, %v; want active without a session", info.Session.ID, err)
	}
}

// A session-bound refresh token whose session has ended is refused before
// its revocation is looked at: presented again after a sign-out (which
// revoked it and cleared its sessionId; its authorization code keeps it
// bound), it is ErrSessionNotFound and the family stays.
func TestRefreshOfAnEndedSessionRevokesNoFamily(t *testing.T) {
	for _, end := range []string{"expire", "delete"} {
		db, _ := world(t)
		family := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", Scopes: []string{"openid", "offline_access"}, Refresh: true})
		grant := onlineGrant
		grant.AuthorizationCodeID = "code-hash"
		tok := issue(t, db, grant)
		want := oauthdb.ErrSessionExpired
		if end == "expire" {
			expireSession(t, db, "s1")
		} else {
			update(t, db, func(tx *oauthdb.Tx) error { return tx.DeleteSession("s1") })
			want = oauthdb.ErrSessionNotFound
		}
		before := db.Snapshot()
		if _, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil); !errors.Is(err, want) {
			t.Errorf("%s: refresh = %v, want %v", end, err, want)
		}
		if diff := cmp.Diff(before, db.Snapshot()); diff != "" {
			t.Errorf("%s: the refused refresh changed the store (-before +after):\n%s", end, diff)
		}
		if _, err := db.ValidateRefreshToken(family.RefreshToken); err != nil {
			t.Errorf("%s: the family's offline token: %v", end, err)
		}
	}
}

// A refresh token revoked otherwise than by its rotation (RevokeRefreshToken,
// a sign-out) and presented again is ErrTokenRevoked, not a replay of a
// rotation; its family is revoked all the same, as better-auth does.
func TestRefreshOfARevokedToken(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, offlineGrant)
	other := issue(t, db, offlineGrant)
	if _, err := db.RevokeRefreshToken(tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	_, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil)
	if !errors.Is(err, oauthdb.ErrTokenRevoked) || errors.Is(err, oauthdb.ErrTokenReplayed) {
		t.Errorf("a revoked token presented = %v, want ErrTokenRevoked", err)
	}
	if _, err := db.ValidateRefreshToken(other.RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the family after a revoked token was presented: %v, want ErrTokenRevoked", err)
	}
}

// The refresh grant checks what better-auth checks, in its order: the client
// (ErrClientDisabled), the scopes asked — within the token's and the
// client's — and only then whether the token is revoked: a refused request
// revokes no family.
func TestRotateChecksBeforeTheReplay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prep   func(t *testing.T, db *oauthdb.DB)
		scopes []string
		want   error
	}{
		{"wider scopes", nil, []string{"openid", "email"}, oauthdb.ErrScopeNotGranted},
		{"a scope the client lost", func(t *testing.T, db *oauthdb.DB) {
			update(t, db, func(tx *oauthdb.Tx) error {
				c, _ := tx.Client("c2")
				c.Scopes = []string{"profile", "offline_access"}
				return tx.UpdateClient(c)
			})
		}, nil, oauthdb.ErrScopeNotGranted},
		{"a disabled client", func(t *testing.T, db *oauthdb.DB) {
			update(t, db, func(tx *oauthdb.Tx) error {
				c, _ := tx.Client("c2")
				c.Disabled = true
				return tx.UpdateClient(c)
			})
		}, nil, oauthdb.ErrClientDisabled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := world(t)
			tok := issue(t, db, offlineGrant)
			issue(t, db, offlineGrant) // of the family: the store compared below holds it
			if _, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil); err != nil {
				t.Fatal(err)
			}
			if tc.prep != nil {
				tc.prep(t, db)
			}
			before := db.Snapshot()
			if _, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", tc.scopes); !errors.Is(err, tc.want) {
				t.Errorf("the rotated token presented = %v, want %v", err, tc.want)
			}
			if diff := cmp.Diff(before, db.Snapshot()); diff != "" {
				t.Errorf("the refused request changed the store (-before +after):\n%s", diff)
			}
		})
	}
	// A client's narrowed scopes refuse a live token too.
	db, _ := world(t)
	tok := issue(t, db, offlineGrant)
	update(t, db, func(tx *oauthdb.Tx) error {
		c, _ := tx.Client("c2")
		c.Scopes = []string{"profile", "offline_access"}
		return tx.UpdateClient(c)
	})
	if _, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil); !errors.Is(err, oauthdb.ErrScopeNotGranted) {
		t.Errorf("a refresh asking for a scope the client lost = %v, want ErrScopeNotGranted", err)
	}
}

// A refresh token that would be born inactive — from an authorization code,
// in no session, without offline_access — is refused; with offline_access,
// or in lenient mode, it is issued.
func TestIssueRefusesARefreshTokenBornInactive(t *testing.T) {
	req := oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", AuthorizationCodeID: "code-hash",
		Scopes: []string{"openid"}, Refresh: true}
	db, _ := world(t)
	before := db.Snapshot()
	_, err := db.IssueTokens(req)
	var e *oauthdb.Error
	if !errors.Is(err, oauthdb.ErrInvalid) || !errors.As(err, &e) || e.Table != oauthdb.TableOAuthRefreshToken || e.Field != "sessionId" {
		t.Errorf("IssueTokens(code, no session, no offline_access) = %v, want ErrInvalid on oauthRefreshToken.sessionId", err)
	}
	if diff := cmp.Diff(before, db.Snapshot()); diff != "" {
		t.Errorf("a refused issue changed the store (-before +after):\n%s", diff)
	}
	offline := req
	offline.Scopes = []string{"openid", "offline_access"}
	issue(t, db, offline)
	lenient, _ := world(t, oauthdb.WithLenientSessions())
	issue(t, lenient, req)
}

// Extending a session that had expired does not bring back its refresh
// tokens bound to it: they are revoked, as its access tokens are. Offline
// ones were never inactive and stay as they are.
func TestExtendingAnExpiredSessionDoesNotReviveRefreshTokens(t *testing.T) {
	db, _ := world(t)
	online := issue(t, db, onlineGrant)
	offline := issue(t, db, offlineGrant)
	expireSession(t, db, "s1")
	w := &watcher{t: t, db: db, access: online.AccessToken, refresh: online.RefreshToken}
	w.step("expiry")
	if !w.deadR {
		t.Fatal("the online refresh token of an expired session is active")
	}
	setSessionExpiry(t, db, "s1", t0.Add(48*time.Hour))
	w.step("the session's extension")
	if _, err := db.ValidateRefreshToken(online.RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the online refresh token after the extension: %v, want ErrTokenRevoked", err)
	}
	view(t, db, func(tx *oauthdb.Tx) {
		if r, _ := tx.RefreshToken(offline.Refresh.ID); !r.Revoked.IsZero() {
			t.Errorf("the offline refresh token was revoked by the extension: %+v", r)
		}
	})
	if info, err := db.ValidateRefreshToken(offline.RefreshToken); err != nil || info.Session.ID != "s1" {
		t.Errorf("the offline refresh token after the extension = session %q, %v; want active in s1", info.Session.ID, err)
	}
}

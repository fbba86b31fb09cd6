package oauthdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// Liveness is monotonic: a token that was inactive at some moment never
// becomes active again unless its own record is written anew. These tests
// take each way a token's session can end and each way the session can then
// go, and check the token after every step.

// active reports whether the access token validates, and fails the test if
// it validates although it was seen inactive before.
type watcher struct {
	t        *testing.T
	db       *oauthdb.DB
	access   string
	refresh  string
	deadA    bool
	deadR    bool
	stepName string
}

func (w *watcher) step(name string) {
	w.t.Helper()
	_, errA := w.db.ValidateAccessToken(w.access)
	if w.deadA && errA == nil {
		w.t.Errorf("after %s: the access token is active again (inactive after %s)", name, w.stepName)
	}
	if errA != nil && !w.deadA {
		w.deadA, w.stepName = true, name
	}
	if w.refresh == "" {
		return
	}
	_, errR := w.db.ValidateRefreshToken(w.refresh)
	if w.deadR && errR == nil {
		w.t.Errorf("after %s: the refresh token is active again", name)
	}
	if errR != nil {
		w.deadR = true
	}
}

func TestSessionEndDoesNotReviveTokens(t *testing.T) {
	ends := map[string]func(t *testing.T, db *oauthdb.DB, clk *clock){
		"DeleteSession": func(t *testing.T, db *oauthdb.DB, clk *clock) {
			update(t, db, func(tx *oauthdb.Tx) error { return tx.DeleteSession("s1") })
		},
		"SweepExpired": func(t *testing.T, db *oauthdb.DB, clk *clock) {
			expireSession(t, db, "s1")
			if _, err := db.SweepExpired(100); err != nil {
				t.Fatal(err)
			}
		},
		"RunJanitor": func(t *testing.T, db *oauthdb.DB, clk *clock) {
			expireSession(t, db, "s1")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- db.RunJanitor(ctx, time.Millisecond, 10, nil) }()
			for deadline := time.Now().Add(10 * time.Second); ; {
				if err := db.View(func(tx *oauthdb.Tx) error { _, err := tx.Session("s1"); return err }); err != nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the janitor did not sweep the session")
				}
				time.Sleep(time.Millisecond)
			}
			cancel()
			<-done
		},
		"DeleteUser": func(t *testing.T, db *oauthdb.DB, clk *clock) {
			expireSession(t, db, "s1")
			update(t, db, func(tx *oauthdb.Tx) error { return tx.DeleteUser("u1") })
		},
	}
	for name, end := range ends {
		for _, lenient := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "/strict", true: "/lenient"}[lenient], func(t *testing.T) {
				var opts []oauthdb.Option
				if lenient {
					opts = append(opts, oauthdb.WithLenientSessions())
				}
				db, clk := world(t, opts...)
				tok := issue(t, db, offlineGrant)
				w := &watcher{t: t, db: db, access: tok.AccessToken, refresh: tok.RefreshToken}
				w.step("issue")
				end(t, db, clk)
				w.step(name)
				if name == "DeleteUser" {
					if !w.deadA || !w.deadR {
						t.Errorf("a deleted user's tokens are active")
					}
				} else {
					if !lenient && !w.deadA {
						t.Errorf("strict: the access token is active after its session ended")
					}
					if lenient && w.deadA {
						t.Errorf("lenient: the access token is inactive after its session ended")
					}
					if w.deadR {
						t.Errorf("the refresh token is inactive after its session ended: offline access must survive a logout")
					}
				}
				update(t, db, func(tx *oauthdb.Tx) error {
					return tx.InsertSession(oauthdb.Session{ID: "s9", Token: "cookie-9", UserID: "u2", ExpiresAt: t0.Add(48 * time.Hour)})
				})
				w.step("another session's insert")
				clk.Advance(time.Minute)
				if _, err := db.SweepExpired(100); err != nil {
					t.Fatal(err)
				}
				w.step("a second sweep")
			})
		}
	}
}

// A token cannot name a session of another user, or a session and no
// user: such a row would outlive its session's user and, its session gone,
// nothing would keep it inactive. It is refused at the door.
func TestATokensSessionIsItsUsers(t *testing.T) {
	db, _ := world(t)
	for name, tok := range map[string]oauthdb.OAuthAccessToken{
		"no user":      {ID: "a9", Token: oauthdb.HashToken("a9"), ClientID: "cid-2", SessionID: "s1", ExpiresAt: t0.Add(time.Hour)},
		"another user": {ID: "a9", Token: oauthdb.HashToken("a9"), ClientID: "cid-2", UserID: "u2", SessionID: "s1", ExpiresAt: t0.Add(time.Hour)},
	} {
		err := db.Update(func(tx *oauthdb.Tx) error { return tx.InsertAccessToken(tok) })
		if !errors.Is(err, oauthdb.ErrForeignKey) {
			t.Errorf("an access token with s1 and %s: %v, want ErrForeignKey", name, err)
		}
	}
	err := db.Update(func(tx *oauthdb.Tx) error {
		return tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: "r9", Token: oauthdb.HashToken("r9"), ClientID: "cid-2",
			UserID: "u2", SessionID: "s1", ExpiresAt: t0.Add(time.Hour)})
	})
	if !errors.Is(err, oauthdb.ErrForeignKey) {
		t.Errorf("a refresh token of u2 with u1's session: %v, want ErrForeignKey", err)
	}
}

// An expired session extended by an update does not bring back the access
// tokens that were inactive while it was expired.
func TestExtendingAnExpiredSessionDoesNotReviveTokens(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, userGrant)
	expireSession(t, db, "s1")
	w := &watcher{t: t, db: db, access: tok.AccessToken}
	w.step("expiry")
	if !w.deadA {
		t.Fatal("the token of an expired session is active")
	}
	setSessionExpiry(t, db, "s1", t0.Add(48*time.Hour))
	w.step("the session's extension")
	// A token issued in the extended session is a new grant: active.
	fresh := issue(t, db, userGrant)
	if _, err := db.ValidateAccessToken(fresh.AccessToken); err != nil {
		t.Errorf("a token issued after the extension: %v", err)
	}
}

// A client disabled and enabled again does not bring back the tokens that
// were inactive while it was disabled.
func TestReenablingAClientDoesNotReviveTokens(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, userGrant)
	setDisabled := func(d bool) {
		update(t, db, func(tx *oauthdb.Tx) error {
			c, _ := tx.Client("c1")
			c.Disabled = d
			return tx.UpdateClient(c)
		})
	}
	w := &watcher{t: t, db: db, access: tok.AccessToken, refresh: tok.RefreshToken}
	setDisabled(true)
	w.step("disable")
	if !w.deadA || !w.deadR {
		t.Fatal("a disabled client's tokens are active")
	}
	setDisabled(false)
	w.step("enable")
	if _, err := db.RotateRefreshToken(tok.RefreshToken, "cid-1", nil); err == nil {
		t.Error("a refresh token that was inactive while its client was disabled rotates after the client is enabled")
	}
	fresh := issue(t, db, userGrant)
	if _, err := db.ValidateAccessToken(fresh.AccessToken); err != nil {
		t.Errorf("a token issued after the client is enabled: %v", err)
	}
}

// better-auth 1.7: a refresh token granted offline_access outlives its
// session; its session is dropped from the result and from the access token
// a rotation issues, which is active without a session. The new refresh
// token keeps the session it was issued in (better-auth 1.7.29's
// createRefreshToken), dropped from its result likewise.
func TestRefreshTokenOutlivesItsSession(t *testing.T) {
	for _, lenient := range []bool{false, true} {
		var opts []oauthdb.Option
		if lenient {
			opts = append(opts, oauthdb.WithLenientSessions())
		}
		db, _ := world(t, opts...)
		tok := issue(t, db, offlineGrant)
		expireSession(t, db, "s1")
		info, err := db.ValidateRefreshToken(tok.RefreshToken)
		if err != nil || info.Session.ID != "" || info.User.ID != "u1" {
			t.Fatalf("lenient=%v: ValidateRefreshToken of an expired session's token = %+v, %v; want active, no session", lenient, info.Session, err)
		}
		next, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil)
		if err != nil {
			t.Fatalf("lenient=%v: rotation: %v", lenient, err)
		}
		if next.Access.SessionID != "" || next.Refresh.SessionID != "s1" {
			t.Errorf("lenient=%v: rotation gave the access token session %q, the refresh token %q; want none and s1",
				lenient, next.Access.SessionID, next.Refresh.SessionID)
		}
		if _, err := db.ValidateAccessToken(next.AccessToken); err != nil {
			t.Errorf("lenient=%v: the rotated access token: %v", lenient, err)
		}
		if info, err := db.ValidateRefreshToken(next.RefreshToken); err != nil || info.Session.ID != "" {
			t.Errorf("lenient=%v: the new refresh token = session %q, %v; want active without a session", lenient, info.Session.ID, err)
		}
	}
}

// offlineGrant asks for offline access: its refresh token outlives the
// session.
var offlineGrant = oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", SessionID: "s1",
	Scopes: []string{"openid", oauthdb.ScopeOfflineAccess}, Refresh: true}

// Deleting a session in strict mode leaves the rows as better-auth 1.7
// leaves them after a sign-out: the session's access tokens kept, with
// sessionId cleared and revoked set; its refresh tokens kept with sessionId
// cleared, revoked unless they were granted offline_access.
func TestDeleteSessionRowsAreBetterAuths(t *testing.T) {
	db, _ := world(t)
	online := issue(t, db, onlineGrant)
	offline := issue(t, db, offlineGrant)
	update(t, db, func(tx *oauthdb.Tx) error { return tx.DeleteSession("s1") })
	view(t, db, func(tx *oauthdb.Tx) {
		for _, tok := range []oauthdb.IssuedTokens{online, offline} {
			a, err := tx.AccessToken(tok.Access.ID)
			if err != nil || a.SessionID != "" || !a.Revoked.Equal(t0) {
				t.Errorf("access token after DeleteSession = %+v, %v; want sessionId cleared, revoked %v", a, err, t0)
			}
		}
		r, err := tx.RefreshToken(online.Refresh.ID)
		if err != nil || r.SessionID != "" || !r.Revoked.Equal(t0) {
			t.Errorf("online refresh token after DeleteSession = %+v, %v; want sessionId cleared, revoked", r, err)
		}
		r, err = tx.RefreshToken(offline.Refresh.ID)
		if err != nil || r.SessionID != "" || !r.Revoked.IsZero() {
			t.Errorf("offline refresh token after DeleteSession = %+v, %v; want sessionId cleared, not revoked", r, err)
		}
	})
	if _, err := db.ValidateAccessToken(online.AccessToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("ValidateAccessToken after DeleteSession = %v, want ErrTokenRevoked", err)
	}
	if _, err := db.ValidateRefreshToken(offline.RefreshToken); err != nil {
		t.Errorf("the offline refresh token after DeleteSession: %v", err)
	}
}

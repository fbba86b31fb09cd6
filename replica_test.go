package oauthdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

// follow opens a replica of the primary on the primary's clock and mirrors
// all of the primary's rows into it.
func follow(t *testing.T, primary *oauthdb.DB, clk *clock, opts ...oauthdb.Option) *oauthdb.DB {
	t.Helper()
	r, err := oauthdb.Open(append([]oauthdb.Option{oauthdb.WithReplica(), oauthdb.WithClock(clk.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	catchUp(t, r, primary)
	r.SetFreshUntil(farFuture)
	return r
}

var farFuture = t0.Add(1000 * time.Hour)

// catchUp mirrors into the replica what the primary has now: its rows, and
// the deletion of those it no longer has.
func catchUp(t *testing.T, r, primary *oauthdb.DB) {
	t.Helper()
	have := r.Snapshot()
	want := primary.Snapshot()
	mirror(t, r, func(mt *oauthdb.MirrorTx) error {
		var errs []error
		gone := func(table string, ids, keep []string) {
			for _, id := range ids {
				if !slices.Contains(keep, id) {
					errs = append(errs, mt.Delete(table, id))
				}
			}
		}
		gone(oauthdb.TableOAuthAccessToken, ids(slices.Values(have.AccessTokens), accessID), ids(slices.Values(want.AccessTokens), accessID))
		gone(oauthdb.TableOAuthRefreshToken, ids(slices.Values(have.RefreshTokens), refreshID), ids(slices.Values(want.RefreshTokens), refreshID))
		gone(oauthdb.TableSession, ids(slices.Values(have.Sessions), sessionID), ids(slices.Values(want.Sessions), sessionID))
		return errors.Join(append(errs, mt.PutAll(want))...)
	})
}

// verdict is what a DB says of an access token: "active" or its error.
func verdict(db *oauthdb.DB, token string) string {
	if _, err := db.ValidateAccessToken(token); err != nil {
		return err.Error()
	}
	return "active"
}

// mirror applies fn to the replica and fails the test on an error or a
// refusal.
func mirror(t *testing.T, r *oauthdb.DB, fn func(mt *oauthdb.MirrorTx) error) {
	t.Helper()
	refused, err := r.Mirror(fn)
	if err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	if len(refused) > 0 {
		t.Fatalf("Mirror refused %v", refused)
	}
}

func wantAccess(t *testing.T, db *oauthdb.DB, token string, want error) {
	t.Helper()
	_, err := db.ValidateAccessToken(token)
	if !errors.Is(err, want) && !(want == nil && err == nil) {
		t.Fatalf("ValidateAccessToken = %v, want %v", err, want)
	}
}

func wantRefresh(t *testing.T, db *oauthdb.DB, token string, want error) {
	t.Helper()
	_, err := db.ValidateRefreshToken(token)
	if !errors.Is(err, want) && !(want == nil && err == nil) {
		t.Fatalf("ValidateRefreshToken = %v, want %v", err, want)
	}
}

func TestReplicaFollowsRows(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r := follow(t, primary, clk)

	if diff := cmp.Diff(primary.Snapshot(), r.Snapshot()); diff != "" {
		t.Errorf("replica differs from its source (-source +replica):\n%s", diff)
	}
	for _, db := range []*oauthdb.DB{primary, r} {
		a, err := db.ValidateAccessToken(tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if a.User.ID != "u1" || a.Session.ID != "s1" || a.Client.ClientID != "cid-1" {
			t.Errorf("joined view = %+v", a)
		}
		wantRefresh(t, db, tok.RefreshToken, nil)
	}

	// The source revokes; the replica's next verdict says so, cache or not.
	if _, err := primary.RevokeRefreshToken(tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	catchUp(t, r, primary)
	if got, want := verdict(r, tok.AccessToken), verdict(primary, tok.AccessToken); got != want || want == "active" {
		t.Errorf("replica says %s, its source %s", got, want)
	}
	wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrTokenRevoked)
	if diff := cmp.Diff(primary.Snapshot(), r.Snapshot()); diff != "" {
		t.Errorf("replica differs from its source (-source +replica):\n%s", diff)
	}
}

// better-auth signs out in two transactions: the session's row goes, and
// Postgres sets sessionId to null in its tokens' rows; a hook then sets
// revoked on them. Between the two, the rows alone say active.
func TestReplicaSignOutInTwoTransactions(t *testing.T) {
	for _, offline := range []bool{false, true} {
		t.Run(map[bool]string{false: "online", true: "offline_access"}[offline], func(t *testing.T) {
			primary, clk := world(t)
			req := onlineGrant
			req.Scopes = slices.Clone(req.Scopes)
			if offline {
				req.Scopes = append(req.Scopes, oauthdb.ScopeOfflineAccess)
			}
			tok := issue(t, primary, req)
			r := follow(t, primary, clk)
			wantAccess(t, r, tok.AccessToken, nil) // in the cache now
			s := primary.Snapshot()
			at, rt := s.AccessTokens[0], s.RefreshTokens[0]

			mirror(t, r, func(mt *oauthdb.MirrorTx) error {
				at.SessionID, rt.SessionID = "", ""
				return errors.Join(mt.Delete(oauthdb.TableSession, "s1"), mt.Put(at), mt.Put(rt))
			})
			wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)
			if offline {
				wantRefresh(t, r, tok.RefreshToken, nil)
			} else {
				wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrTokenRevoked)
			}

			// A snapshot of the replica keeps the verdict: restored into a
			// DB of its own, the token is still inactive.
			snap := r.Snapshot()
			if got := snap.AccessTokens[0].Revoked; !got.Equal(clk.Now()) {
				t.Errorf("replica snapshot: access token revoked %v, want %v", got, clk.Now())
			}
			other, err := oauthdb.Open(oauthdb.WithClock(clk.Now))
			if err != nil {
				t.Fatal(err)
			}
			if err := other.Restore(snap); err != nil {
				t.Fatal(err)
			}
			wantAccess(t, other, tok.AccessToken, oauthdb.ErrTokenRevoked)
			// So does its streamed snapshot.
			var buf bytes.Buffer
			if err := r.WriteSnapshot(&buf); err != nil {
				t.Fatal(err)
			}
			streamed, _ := oauthdb.Open(oauthdb.WithClock(clk.Now))
			if _, err := streamed.ReadSnapshot(&buf); err != nil {
				t.Fatal(err)
			}
			wantAccess(t, streamed, tok.AccessToken, oauthdb.ErrTokenRevoked)

			clk.Advance(time.Second)
			mirror(t, r, func(mt *oauthdb.MirrorTx) error {
				at.Revoked = clk.Now()
				if !offline {
					rt.Revoked = clk.Now()
				}
				return errors.Join(mt.Put(at), mt.Put(rt))
			})
			wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)
			if got := r.Snapshot().AccessTokens[0]; !got.Revoked.Equal(at.Revoked) {
				t.Errorf("after the source's revocation the snapshot says revoked %v, want the source's %v", got.Revoked, at.Revoked)
			}
		})
	}
}

// A lenient replica follows better-auth to the letter: a token whose
// session went is inactive only once its row says so.
func TestReplicaSignOutLenient(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r := follow(t, primary, clk, oauthdb.WithLenientSessions())
	at, rt := primary.Snapshot().AccessTokens[0], primary.Snapshot().RefreshTokens[0]
	mirror(t, r, func(mt *oauthdb.MirrorTx) error {
		at.SessionID, rt.SessionID = "", ""
		return errors.Join(mt.Delete(oauthdb.TableSession, "s1"), mt.Put(at), mt.Put(rt))
	})
	wantAccess(t, r, tok.AccessToken, nil)
}

func TestReplicaExtendedSessionDoesNotRevive(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r := follow(t, primary, clk)
	s := primary.Snapshot().Sessions[0]
	s.ExpiresAt = clk.Now().Add(time.Minute)
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { return mt.Put(s) })

	clk.Advance(2 * time.Minute) // past s1's expiry, not the token's
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrSessionExpired)
	mirror(t, r, func(mt *oauthdb.MirrorTx) error {
		s.ExpiresAt = clk.Now().Add(24 * time.Hour)
		return mt.Put(s)
	})
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)

	// A new grant on the extended session is active: the mark is the old
	// token's, not the session's.
	issued := issue(t, primary, userGrant)
	catchUp(t, r, primary)
	wantAccess(t, r, issued.AccessToken, nil)
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)
}

// A refresh token bound to its session (better-auth 1.7.29) is inactive
// while the session is expired; the session extended, or the token's row
// rewritten so that it is bound no more — offline_access added, its session
// moved to a live one, its session and code cleared — does not bring it
// back.
func TestReplicaSessionBoundRefreshTokenDoesNotRevive(t *testing.T) {
	grant := onlineGrant
	grant.AuthorizationCodeID = "code-hash"
	for name, revive := range map[string]func(s *oauthdb.Session, rt *oauthdb.OAuthRefreshToken, now time.Time) []any{
		"the session extended": func(s *oauthdb.Session, rt *oauthdb.OAuthRefreshToken, now time.Time) []any {
			s.ExpiresAt = now.Add(24 * time.Hour)
			return []any{*s}
		},
		"offline_access added": func(s *oauthdb.Session, rt *oauthdb.OAuthRefreshToken, now time.Time) []any {
			rt.Scopes = append(slices.Clone(rt.Scopes), oauthdb.ScopeOfflineAccess)
			return []any{*rt}
		},
		"moved to a live session": func(s *oauthdb.Session, rt *oauthdb.OAuthRefreshToken, now time.Time) []any {
			live := oauthdb.Session{ID: "s9", Token: "cookie-9", UserID: rt.UserID, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
			rt.SessionID = live.ID
			return []any{live, *rt}
		},
		"session and code cleared": func(s *oauthdb.Session, rt *oauthdb.OAuthRefreshToken, now time.Time) []any {
			rt.SessionID, rt.AuthorizationCodeID = "", ""
			return []any{*rt}
		},
	} {
		t.Run(name, func(t *testing.T) {
			primary, clk := world(t)
			tok := issue(t, primary, grant)
			r := follow(t, primary, clk)
			s, rt := primary.Snapshot().Sessions[0], primary.Snapshot().RefreshTokens[0]
			s.ExpiresAt = clk.Now().Add(time.Minute)
			mirror(t, r, func(mt *oauthdb.MirrorTx) error { return mt.Put(s) })
			clk.Advance(2 * time.Minute) // past s1's expiry, not the token's
			wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrSessionExpired)
			rows := revive(&s, &rt, clk.Now())
			mirror(t, r, func(mt *oauthdb.MirrorTx) error {
				for _, row := range rows {
					if err := mt.Put(row); err != nil {
						return err
					}
				}
				return nil
			})
			wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrTokenRevoked)
		})
	}
}

func TestReplicaReenabledClientDoesNotRevive(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r := follow(t, primary, clk)
	c := primary.Snapshot().Clients[0]
	if c.ClientID != "cid-1" {
		t.Fatalf("first client is %q", c.ClientID)
	}

	mirror(t, r, func(mt *oauthdb.MirrorTx) error { c.Disabled = true; return mt.Put(c) })
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrClientDisabled)
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { c.Disabled = false; return mt.Put(c) })
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)
	wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrTokenRevoked)

	// Disabled and enabled again in one transaction of the source: the
	// replica never saw it disabled, and neither did a reader.
	tok2 := issue(t, primary, userGrant)
	catchUp(t, r, primary)
	wantAccess(t, r, tok2.AccessToken, nil)
}

func TestReplicaRefusesWhatItCannotKeep(t *testing.T) {
	primary, clk := world(t)
	issue(t, primary, userGrant)
	r := follow(t, primary, clk)
	before := r.Snapshot()

	orphan := primary.Snapshot().AccessTokens[0]
	orphan.ID, orphan.Token, orphan.UserID = "orphan", oauthdb.HashToken("orphan-token"), "no-such-user"
	bad := oauthdb.User{ID: "bad", Name: "bad\xffname", Email: "bad@example.com"}
	good := oauthdb.User{ID: "u3", Name: "Cy", Email: "cy@example.com"}

	refused, err := r.Mirror(func(mt *oauthdb.MirrorTx) error {
		return errors.Join(mt.Put(orphan), mt.Put(bad), mt.Put(good))
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]error{}
	for _, x := range refused {
		got[x.Table+"/"+x.ID] = x.Err
	}
	if !errors.Is(got["oauthAccessToken/orphan"], oauthdb.ErrForeignKey) || !errors.Is(got["user/bad"], oauthdb.ErrInvalid) || len(got) != 2 {
		t.Errorf("refused = %v, want oauthAccessToken/orphan (foreign key) and user/bad (invalid)", refused)
	}
	for _, x := range refused {
		if strings.Contains(x.Err.Error(), "\xff") {
			t.Errorf("refusal repeats the bad bytes: %q", x.Err)
		}
	}
	want := before.Clone()
	want.Users = append(want.Users, good)
	if diff := cmp.Diff(want, r.Snapshot()); diff != "" {
		t.Errorf("after refusals (-want +got):\n%s", diff)
	}

	// An error from fn keeps nothing.
	boom := errors.New("boom")
	if _, err := r.Mirror(func(mt *oauthdb.MirrorTx) error {
		_ = mt.Put(oauthdb.User{ID: "u4", Name: "Di", Email: "di@example.com"})
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Mirror = %v, want boom", err)
	}
	if diff := cmp.Diff(want, r.Snapshot()); diff != "" {
		t.Errorf("an aborted Mirror changed the replica (-want +got):\n%s", diff)
	}
	if _, err := r.Mirror(func(mt *oauthdb.MirrorTx) error { return mt.Put(42) }); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("Put(42) = %v, want ErrInvalid", err)
	}
}

func TestReplicaIsReadOnly(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r := follow(t, primary, clk)
	before := r.Snapshot()

	for name, err := range map[string]error{
		"Update":      r.Update(func(tx *oauthdb.Tx) error { return nil }),
		"Restore":     r.Restore(oauthdb.Snapshot{}),
		"IssueTokens": func() error { _, err := r.IssueTokens(userGrant); return err }(),
		"RotateRefreshToken": func() error {
			_, err := r.RotateRefreshToken(tok.RefreshToken, "cid-1", nil)
			return err
		}(),
		"RevokeAccessToken": func() error { _, err := r.RevokeAccessToken(tok.AccessToken); return err }(),
		"RevokeSession":     func() error { _, err := r.RevokeSession("s1"); return err }(),
		"SweepExpired":      func() error { _, err := r.SweepExpired(100); return err }(),
	} {
		if !errors.Is(err, oauthdb.ErrReadOnly) {
			t.Errorf("%s on a replica = %v, want ErrReadOnly", name, err)
		}
	}
	if diff := cmp.Diff(before, r.Snapshot()); diff != "" {
		t.Errorf("refused writes changed the replica (-want +got):\n%s", diff)
	}
	if _, err := primary.Mirror(func(*oauthdb.MirrorTx) error { return nil }); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("Mirror on a primary = %v, want ErrInvalid", err)
	}
}

func TestReplicaFailsClosedUntilVouchedFor(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r, err := oauthdb.Open(oauthdb.WithReplica(), oauthdb.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { return mt.PutAll(primary.Snapshot()) })

	stale := func(when string) {
		t.Helper()
		wantAccess(t, r, tok.AccessToken, oauthdb.ErrStale)
		wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrStale)
		if _, err := r.IntrospectAccessToken(tok.AccessToken, "cid-1"); !errors.Is(err, oauthdb.ErrStale) {
			t.Errorf("%s: IntrospectAccessToken = %v, want ErrStale", when, err)
		}
		if _, err := r.AuthenticateClient("cid-1", "secret-1"); !errors.Is(err, oauthdb.ErrStale) {
			t.Errorf("%s: AuthenticateClient = %v, want ErrStale", when, err)
		}
	}
	stale("never vouched for")
	if !r.FreshUntil().IsZero() {
		t.Errorf("FreshUntil = %v before any vouching", r.FreshUntil())
	}

	r.SetFreshUntil(clk.Now().Add(time.Second))
	wantAccess(t, r, tok.AccessToken, nil) // and now in the cache
	if _, err := r.AuthenticateClient("cid-1", "secret-1"); err != nil {
		t.Errorf("AuthenticateClient = %v", err)
	}
	clk.Advance(time.Second)
	stale("a second later") // the cache does not answer for a stale replica

	r.SetFreshUntil(clk.Now().Add(time.Minute))
	wantAccess(t, r, tok.AccessToken, nil)
	r.SetFreshUntil(time.Time{})
	stale("made stale")

	// A DB that is not a replica is its own source: never stale.
	primary.SetFreshUntil(time.Time{})
	wantAccess(t, primary, tok.AccessToken, nil)
}

// A change of the source that the replica cannot take must not leave the
// row it replaces in place: here a client the source disables, in a row
// the door refuses.
func TestReplicaRefusedUpdateFailsClosed(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r := follow(t, primary, clk)
	c := primary.Snapshot().Clients[0]
	c.Disabled, c.Name = true, "bad\xffname"
	refused, err := r.Mirror(func(mt *oauthdb.MirrorTx) error { return mt.Put(c) })
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for _, x := range refused {
		tables = append(tables, x.Table)
	}
	slices.Sort(tables)
	if want := []string{"oauthAccessToken", "oauthClient", "oauthRefreshToken"}; !slices.Equal(tables, want) {
		t.Errorf("refused %v, want the client and the tokens that name it: %v", refused, want)
	}
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenNotFound)
	wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrTokenNotFound)
}

func TestReplicaTruncate(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r := follow(t, primary, clk)
	mirror(t, r, func(mt *oauthdb.MirrorTx) error {
		return errors.Join(mt.Truncate(oauthdb.TableOAuthAccessToken), mt.Truncate(oauthdb.TableOAuthRefreshToken))
	})
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenNotFound)
	want := primary.Snapshot()
	want.AccessTokens, want.RefreshTokens = nil, nil
	if diff := cmp.Diff(want, r.Snapshot()); diff != "" {
		t.Errorf("after TRUNCATE (-want +got):\n%s", diff)
	}
	if _, err := r.Mirror(func(mt *oauthdb.MirrorTx) error { return mt.Truncate("account") }); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("Truncate(account) = %v, want ErrInvalid", err)
	}
	if _, err := r.Mirror(func(mt *oauthdb.MirrorTx) error { return mt.Delete("account", "x") }); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("Delete(account) = %v, want ErrInvalid", err)
	}
}

func TestReplicaReload(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r := follow(t, primary, clk)
	// The sign-out's first transaction marks the access token.
	at := primary.Snapshot().AccessTokens[0]
	rt := primary.Snapshot().RefreshTokens[0]
	mirror(t, r, func(mt *oauthdb.MirrorTx) error {
		at.SessionID, rt.SessionID = "", ""
		return errors.Join(mt.Delete(oauthdb.TableSession, "s1"), mt.Put(at), mt.Put(rt))
	})
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)

	// The resync reads the rows as they are, between the sign-out's two
	// transactions, plus a new grant: the old token stays marked.
	if _, err := primary.RevokeSession("s1"); err != nil {
		t.Fatal(err)
	}
	fresh := issue(t, primary, oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u2", SessionID: "s2", Scopes: []string{"openid"}})
	rows := primary.Snapshot()
	for i := range rows.AccessTokens {
		if rows.AccessTokens[i].ID == at.ID {
			t.Fatalf("RevokeSession kept the access token row")
		}
	}
	rows.AccessTokens = append(rows.AccessTokens, at)
	wait, err := r.Watch(func(tx *oauthdb.Tx) error { _, _ = tx.User("u9"); return nil })
	if err != nil {
		t.Fatalf("Watch = %v", err)
	}
	refused, err := r.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(rows) })
	if err != nil || len(refused) != 0 {
		t.Fatalf("Reload = %v, %v", refused, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wait(ctx); err != nil {
		t.Errorf("Reload did not wake a watch of the old state: %v", err)
	}
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)
	wantAccess(t, r, fresh.AccessToken, nil)

	// Without the row, the mark goes: a row with the same ID later is the
	// source's own, and a new grant.
	before := r.Snapshot()
	boom := errors.New("boom")
	if _, err := r.Reload(func(mt *oauthdb.MirrorTx) error { _ = mt.PutAll(oauthdb.Snapshot{}); return boom }); !errors.Is(err, boom) {
		t.Fatalf("Reload = %v, want boom", err)
	}
	if diff := cmp.Diff(before, r.Snapshot()); diff != "" {
		t.Errorf("a failed Reload changed the replica (-want +got):\n%s", diff)
	}
	if _, err := primary.Reload(func(*oauthdb.MirrorTx) error { return nil }); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("Reload on a primary = %v, want ErrInvalid", err)
	}
}

// A resync reads the source's rows as they are after whatever happened
// while the replica was away (its slot dropped, say); what happened is
// judged as one transaction from the rows it held to the rows it reads, so
// that a token it held inactive stays inactive: a revocation undone, a
// session deleted with its tokens left unrevoked (the sign-out's first
// half), a disabled client enabled, an expired session extended, a token's
// expiry moved on after it passed.
func TestReplicaReloadJudgesWhatChangedWhileAway(t *testing.T) {
	primary, clk := world(t)
	revoked := issue(t, primary, userGrant)
	signedOut := issue(t, primary, oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u2", SessionID: "s2", Scopes: []string{"openid"}})
	disabled := issue(t, primary, oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", SessionID: "s1", Scopes: []string{"openid"}})
	r := follow(t, primary, clk)
	rows := primary.Snapshot()
	byToken := func(tok string) int {
		for i, a := range rows.AccessTokens {
			if a.Token == oauthdb.HashToken(tok) {
				return i
			}
		}
		t.Fatalf("no row of token %q", tok)
		return -1
	}
	// What the replica saw before it went away: a revocation, a disabled
	// client.
	rows.AccessTokens[byToken(revoked.AccessToken)].Revoked = clk.Now()
	for i := range rows.Clients {
		if rows.Clients[i].ClientID == "cid-2" {
			rows.Clients[i].Disabled = true
		}
	}
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { return mt.PutAll(rows) })
	wantAccess(t, r, revoked.AccessToken, oauthdb.ErrTokenRevoked)
	wantAccess(t, r, disabled.AccessToken, oauthdb.ErrClientDisabled)
	wantAccess(t, r, signedOut.AccessToken, nil)

	// While away: the revocation undone, the client enabled, u2's session
	// deleted and its token's sessionId cleared.
	rows.AccessTokens[byToken(revoked.AccessToken)].Revoked = time.Time{}
	for i := range rows.Clients {
		rows.Clients[i].Disabled = false
	}
	rows.AccessTokens[byToken(signedOut.AccessToken)].SessionID = ""
	rows.Sessions = slices.DeleteFunc(rows.Sessions, func(s oauthdb.Session) bool { return s.ID == "s2" })
	for i := range rows.RefreshTokens {
		if rows.RefreshTokens[i].SessionID == "s2" {
			rows.RefreshTokens[i].SessionID = ""
		}
	}
	if _, err := r.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(rows) }); err != nil {
		t.Fatal(err)
	}
	wantAccess(t, r, revoked.AccessToken, oauthdb.ErrTokenRevoked)
	wantAccess(t, r, disabled.AccessToken, oauthdb.ErrTokenRevoked)
	wantAccess(t, r, signedOut.AccessToken, oauthdb.ErrTokenRevoked)
}

// With SetMarkTime the marks are a function of the transaction, not of when
// it is mirrored: mirrored at once, or again an hour later (a replay after a
// crash), a session extended before its expiry as of the mark time marks
// nothing, and one extended after marks its tokens.
func TestReplicaMarkTime(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	s := primary.Snapshot().Sessions[0]
	expiry := clk.Now().Add(time.Minute)
	var snaps []oauthdb.Snapshot
	for _, late := range []time.Duration{0, time.Hour} {
		later := &clock{now: clk.Now().Add(late)}
		r := follow(t, primary, later)
		mirror(t, r, func(mt *oauthdb.MirrorTx) error { s.ExpiresAt = expiry; return mt.Put(s) })
		mirror(t, r, func(mt *oauthdb.MirrorTx) error {
			mt.SetMarkTime(expiry.Add(-time.Second)) // before the old expiry
			s.ExpiresAt = expiry.Add(24 * time.Hour)
			return mt.Put(s)
		})
		snaps = append(snaps, r.Snapshot())
		if late == 0 {
			wantAccess(t, r, tok.AccessToken, nil)
		}
	}
	if diff := cmp.Diff(snaps[0], snaps[1]); diff != "" {
		t.Errorf("mirrored an hour later, the replica differs (-at once +later):\n%s", diff)
	}

	r := follow(t, primary, clk)
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { s.ExpiresAt = expiry; return mt.Put(s) })
	mirror(t, r, func(mt *oauthdb.MirrorTx) error {
		mt.SetMarkTime(expiry) // as of the old expiry: expired
		s.ExpiresAt = expiry.Add(48 * time.Hour)
		return mt.Put(s)
	})
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)
	if got := r.Snapshot().AccessTokens[0].Revoked; !got.Equal(expiry) {
		t.Errorf("the mark's time is %v, want the mark time %v", got, expiry)
	}
}

// A replica lists its marks, for the others of its fleet, and takes theirs:
// a mark of a token it has, with the same token, makes it inactive; one of
// a token it does not have, or has under a new grant, changes nothing.
func TestReplicaSharesMarks(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	other := issue(t, primary, oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u2", SessionID: "s2", Scopes: []string{"openid"}})
	r := follow(t, primary, clk)
	var at oauthdb.OAuthAccessToken
	for _, a := range primary.Snapshot().AccessTokens {
		if a.Token == oauthdb.HashToken(tok.AccessToken) {
			at = a
		}
	}
	revokedAt := clk.Now()
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { at.Revoked = revokedAt; return mt.Put(at) })
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { at.Revoked = time.Time{}; return mt.Put(at) })
	marks := r.Marks()
	want := []oauthdb.Mark{{Table: oauthdb.TableOAuthAccessToken, ID: at.ID, Token: at.Token, At: revokedAt}}
	if diff := cmp.Diff(want, marks); diff != "" {
		t.Fatalf("Marks (-want +got):\n%s", diff)
	}

	fresh := follow(t, primary, clk) // a replica that never saw the revocation
	mirror(t, fresh, func(mt *oauthdb.MirrorTx) error { return mt.PutAll(r.Rows()) })
	wantAccess(t, fresh, tok.AccessToken, nil)
	mirror(t, fresh, func(mt *oauthdb.MirrorTx) error {
		return errors.Join(mt.Mark(marks[0]),
			mt.Mark(oauthdb.Mark{Table: oauthdb.TableOAuthAccessToken, ID: "no-such-token", Token: "x", At: revokedAt}),
			mt.Mark(oauthdb.Mark{Table: oauthdb.TableOAuthAccessToken, ID: other.AccessToken, Token: "another grant's", At: revokedAt}))
	})
	wantAccess(t, fresh, tok.AccessToken, oauthdb.ErrTokenRevoked)
	wantAccess(t, fresh, other.AccessToken, nil)
	if diff := cmp.Diff(marks, fresh.Marks()); diff != "" {
		t.Errorf("the marks taken (-shared +taken):\n%s", diff)
	}
	if _, err := fresh.Mirror(func(mt *oauthdb.MirrorTx) error { return mt.Mark(oauthdb.Mark{Table: "user"}) }); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("a mark of a user: %v, want ErrInvalid", err)
	}
}

// A replica's streamed snapshot is the replica: read into another replica,
// it gives back its source's rows as they are (not its marks folded in),
// its marks and its position; stale until vouched for, then with the same
// verdicts, and it writes the same bytes again.
func TestReplicaSnapshotRoundTrip(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r := follow(t, primary, clk)
	at, rt := primary.Snapshot().AccessTokens[0], primary.Snapshot().RefreshTokens[0]
	mirror(t, r, func(mt *oauthdb.MirrorTx) error {
		at.SessionID, rt.SessionID = "", ""
		return errors.Join(mt.Delete(oauthdb.TableSession, "s1"), mt.Put(at), mt.Put(rt), mt.SetPosition("source 0/42"))
	})
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)
	var buf bytes.Buffer
	if err := r.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	data := bytes.Clone(buf.Bytes())

	next, err := oauthdb.Open(oauthdb.WithReplica(), oauthdb.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	info, err := next.ReadSnapshot(&buf)
	if err != nil {
		t.Fatalf("ReadSnapshot into a replica: %v", err)
	}
	if info.Marks != len(r.Marks()) || info.Marks == 0 || info.Position != "source 0/42" {
		t.Errorf("info: %d marks at %q, want the replica's %d at %q", info.Marks, info.Position, len(r.Marks()), "source 0/42")
	}
	if diff := cmp.Diff(r.Rows(), next.Rows()); diff != "" {
		t.Errorf("rows (-written +read):\n%s", diff)
	}
	if got := next.Position(); got != "source 0/42" {
		t.Errorf("Position = %q", got)
	}
	wantAccess(t, next, tok.AccessToken, oauthdb.ErrStale)
	next.SetFreshUntil(farFuture)
	wantAccess(t, next, tok.AccessToken, oauthdb.ErrTokenRevoked)
	_, was := r.ValidateRefreshToken(tok.RefreshToken)
	if _, got := next.ValidateRefreshToken(tok.RefreshToken); fmt.Sprint(got) != fmt.Sprint(was) {
		t.Errorf("the refresh token: %v, the replica written said %v", got, was)
	}
	var again bytes.Buffer
	if err := next.WriteSnapshot(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), data) {
		t.Errorf("the replica read writes another snapshot (%d bytes, was %d)", again.Len(), len(data))
	}

	// A resync of the replica read carries its marks over.
	if _, err := next.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(r.Rows()) }); err != nil {
		t.Fatal(err)
	}
	wantAccess(t, next, tok.AccessToken, oauthdb.ErrTokenRevoked)
}

// A token's own row may not bring it back either: a revocation undone, an
// expiry moved on after it passed. Only a new row is a new grant.
func TestReplicaTokenRowDoesNotRevive(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, userGrant)
	r := follow(t, primary, clk)
	at, rt := primary.Snapshot().AccessTokens[0], primary.Snapshot().RefreshTokens[0]

	revokedAt := clk.Now()
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { at.Revoked = revokedAt; return mt.Put(at) })
	clk.Advance(time.Second)
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { at.Revoked = time.Time{}; return mt.Put(at) })
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)
	if got := r.Snapshot().AccessTokens[0].Revoked; !got.Equal(revokedAt) {
		t.Errorf("snapshot: revoked %v, want the first revocation's %v", got, revokedAt)
	}

	clk.Advance(31 * 24 * time.Hour) // past the refresh token's expiry
	wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrTokenExpired)
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { rt.ExpiresAt = clk.Now().Add(time.Hour); return mt.Put(rt) })
	wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrTokenRevoked)

	// The same token deleted and inserted again is the source's new grant.
	mirror(t, r, func(mt *oauthdb.MirrorTx) error {
		return errors.Join(mt.Delete(oauthdb.TableOAuthRefreshToken, rt.ID), mt.Delete(oauthdb.TableOAuthAccessToken, at.ID))
	})
	mirror(t, r, func(mt *oauthdb.MirrorTx) error { return mt.Put(rt) })
	wantRefresh(t, r, tok.RefreshToken, nil)
}

// A replica's subscribers see its source's rows change, never its marks;
// and a vouching past what a clock can count stays a vouching.
func TestReplicaFeedAndFarFreshness(t *testing.T) {
	primary, clk := world(t)
	tok := issue(t, primary, onlineGrant)
	r := follow(t, primary, clk)
	sub := r.Subscribe(8)
	defer sub.Close()
	at, rt := primary.Snapshot().AccessTokens[0], primary.Snapshot().RefreshTokens[0]
	mirror(t, r, func(mt *oauthdb.MirrorTx) error {
		at.SessionID, rt.SessionID = "", ""
		return errors.Join(mt.Delete(oauthdb.TableSession, "s1"), mt.Put(at), mt.Put(rt))
	})
	ev := <-sub.Events()
	var tables []string
	for _, c := range ev.Changes {
		tables = append(tables, c.Table)
		if c.Before == nil && c.After == nil {
			t.Errorf("a change with neither before nor after: %+v", c)
		}
	}
	slices.Sort(tables)
	if want := []string{"oauthAccessToken", "oauthRefreshToken", "session"}; !slices.Equal(tables, want) {
		t.Errorf("the event's changes are of %v, want %v", tables, want)
	}
	wantAccess(t, r, tok.AccessToken, oauthdb.ErrTokenRevoked)

	r.SetFreshUntil(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrTokenRevoked)
	if got := r.FreshUntil(); got.Year() != 2262 {
		t.Errorf("FreshUntil = %v, want the last instant a clock counts, in 2262", got)
	}
	r.SetFreshUntil(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC))
	wantRefresh(t, r, tok.RefreshToken, oauthdb.ErrStale)
}

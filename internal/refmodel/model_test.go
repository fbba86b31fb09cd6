package refmodel

import (
	"errors"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// The model is checked against oauthdb by internal/modeltest; these tests
// pin the few rules of docs/DESIGN.md that everything else rests on, so that a
// change to the model that breaks one is caught on its own.

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func filled(t *testing.T) (*Model, *time.Time) {
	now := t0
	m := New(Config{Now: func() time.Time { return now }, AccessTTL: time.Minute, RefreshTTL: time.Hour})
	must(t, m.InsertUser(oauthdb.User{ID: "u", Name: "N", Email: "e"}))
	must(t, m.InsertUser(oauthdb.User{ID: "v", Name: "N", Email: "f"}))
	must(t, m.InsertSession(oauthdb.Session{ID: "s", Token: "st", UserID: "u", ExpiresAt: t0.Add(time.Hour)}))
	must(t, m.InsertClient(oauthdb.OAuthClient{ID: "c", ClientID: "cid", RedirectURIs: []string{"https://x/cb"}, UserID: "v"}))
	return m, &now
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func issue(t *testing.T, m *Model, n string, req oauthdb.IssueRequest) oauthdb.IssuedTokens {
	t.Helper()
	out, err := m.IssueTokens(req, Fresh{AccessToken: "at" + n, AccessID: "a" + n, RefreshToken: "rt" + n, RefreshID: "r" + n})
	must(t, err)
	return out
}

func TestDeleteActions(t *testing.T) {
	m, _ := filled(t)
	issue(t, m, "1", oauthdb.IssueRequest{ClientID: "cid", UserID: "u", SessionID: "s", Refresh: true})
	must(t, m.DeleteSession("s"))
	if a := m.AccessTokens["a1"]; a.SessionID != "" {
		t.Errorf("deleting a session left sessionId %q on its token", a.SessionID)
	}
	must(t, m.DeleteRefreshToken("r1"))
	if len(m.AccessTokens) != 0 {
		t.Errorf("deleting a refresh token left its access tokens: %v", m.AccessTokens)
	}
	issue(t, m, "2", oauthdb.IssueRequest{ClientID: "cid", UserID: "u", Refresh: true})
	// v owns the client: deleting v deletes it, and u's tokens for it.
	must(t, m.DeleteUser("v"))
	if len(m.Clients)+len(m.AccessTokens)+len(m.RefreshTokens) != 0 {
		t.Errorf("deleting a client's owner left %v %v %v", m.Clients, m.AccessTokens, m.RefreshTokens)
	}
}

func TestWriteChecks(t *testing.T) {
	m, _ := filled(t)
	for name, err := range map[string]error{
		"missing name":   m.InsertUser(oauthdb.User{ID: "w", Email: "g"}),
		"taken email":    m.InsertUser(oauthdb.User{ID: "w", Name: "N", Email: "e"}),
		"dangling user":  m.InsertSession(oauthdb.Session{ID: "s2", Token: "st2", UserID: "nobody", ExpiresAt: t0}),
		"NUL in key":     m.InsertUser(oauthdb.User{ID: "w\x00", Name: "N", Email: "g"}),
		"update unknown": m.UpdateUser(oauthdb.User{ID: "w", Name: "N", Email: "g"}),
	} {
		want := map[string]error{"missing name": oauthdb.ErrInvalid, "taken email": oauthdb.ErrConflict,
			"dangling user": oauthdb.ErrForeignKey, "NUL in key": oauthdb.ErrInvalid, "update unknown": oauthdb.ErrNotFound}[name]
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	issue(t, m, "1", oauthdb.IssueRequest{ClientID: "cid"})
	c := m.Clients["c"]
	c.ClientID = "cid2"
	if err := m.UpdateClient(c); !errors.Is(err, oauthdb.ErrForeignKey) {
		t.Errorf("changing a referenced clientId: %v, want ErrForeignKey", err)
	}
}

func TestReplayRevokesTheFamily(t *testing.T) {
	m, _ := filled(t)
	first := issue(t, m, "1", oauthdb.IssueRequest{ClientID: "cid", UserID: "u", Scopes: []string{oauthdb.ScopeOfflineAccess}, Refresh: true})
	other := issue(t, m, "2", oauthdb.IssueRequest{ClientID: "cid", UserID: "v", Scopes: []string{oauthdb.ScopeOfflineAccess}, Refresh: true})
	code := issue(t, m, "5", oauthdb.IssueRequest{ClientID: "cid", UserID: "u"}) // no refresh token: not in the family
	_, err := m.RotateRefreshToken(first.RefreshToken, "cid", nil, Fresh{AccessToken: "at3", AccessID: "a3", RefreshToken: "rt3", RefreshID: "r3"})
	must(t, err)
	_, err = m.RotateRefreshToken(first.RefreshToken, "cid", nil, Fresh{AccessToken: "at4", AccessID: "a4", RefreshToken: "rt4", RefreshID: "r4"})
	if !errors.Is(err, oauthdb.ErrTokenReplayed) {
		t.Fatalf("replay: %v", err)
	}
	if _, err := m.ValidateRefreshToken("rt3"); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the rotated token after a replay: %v, want ErrTokenRevoked", err)
	}
	if _, err := m.ValidateRefreshToken(other.RefreshToken); err != nil {
		t.Errorf("another user's token after a replay: %v", err)
	}
	if _, err := m.ValidateAccessToken(code.AccessToken); err != nil {
		t.Errorf("an access token issued without a refresh token after a replay: %v", err)
	}
}

func TestExpiryAndSweep(t *testing.T) {
	m, now := filled(t)
	issue(t, m, "1", oauthdb.IssueRequest{ClientID: "cid", UserID: "u", Refresh: true})
	issue(t, m, "2", oauthdb.IssueRequest{ClientID: "cid", UserID: "u"})
	*now = t0.Add(time.Minute) // the access tokens' expiresAt: expired from this instant
	if _, err := m.ValidateAccessToken("at2"); !errors.Is(err, oauthdb.ErrTokenExpired) {
		t.Errorf("at expiresAt: %v, want ErrTokenExpired", err)
	}
	res, _ := m.SweepExpired(1)
	if res != (oauthdb.SweepResult{AccessTokens: 1}) || m.AccessTokens["a1"].ID != "" {
		t.Errorf("a sweep of 1 deleted %+v; want the first-expiring access token, a1", res)
	}
	*now = t0.Add(time.Hour)
	res, _ = m.SweepExpired(10)
	if res != (oauthdb.SweepResult{AccessTokens: 1, RefreshTokens: 1, Sessions: 1}) {
		t.Errorf("sweep: %+v", res)
	}
}

package oauthdb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

func TestRevoke(t *testing.T) {
	type issued struct{ a, b, c, cc oauthdb.IssuedTokens }
	setup := func(t *testing.T) (*oauthdb.DB, issued) {
		db, _ := world(t)
		return db, issued{
			a:  issue(t, db, userGrant),                                                                             // cid-1, u1, s1
			b:  issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", SessionID: "s1", Refresh: true}), // cid-2, u1, s1
			c:  issue(t, db, oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u2", SessionID: "s2", Refresh: true}), // cid-1, u2, s2
			cc: issue(t, db, oauthdb.IssueRequest{ClientID: "cid-1", Scopes: []string{"openid"}}),                   // client credentials
		}
	}
	tests := []struct {
		name   string
		revoke func(db *oauthdb.DB, is issued) (int, error)
		n      int
		dead   func(is issued) []oauthdb.IssuedTokens
	}{
		{"access token", func(db *oauthdb.DB, is issued) (int, error) { return db.RevokeAccessToken(is.a.AccessToken) }, 1,
			func(is issued) []oauthdb.IssuedTokens { return []oauthdb.IssuedTokens{{AccessToken: is.a.AccessToken}} }},
		{"unknown access token", func(db *oauthdb.DB, is issued) (int, error) { return db.RevokeAccessToken("nope") }, 0,
			func(is issued) []oauthdb.IssuedTokens { return nil }},
		{"refresh token", func(db *oauthdb.DB, is issued) (int, error) { return db.RevokeRefreshToken(is.a.RefreshToken) }, 2,
			func(is issued) []oauthdb.IssuedTokens { return []oauthdb.IssuedTokens{is.a} }},
		{"session", func(db *oauthdb.DB, is issued) (int, error) { return db.RevokeSession("s1") }, 4,
			func(is issued) []oauthdb.IssuedTokens { return []oauthdb.IssuedTokens{is.a, is.b} }},
		{"user", func(db *oauthdb.DB, is issued) (int, error) { return db.RevokeUser("u2") }, 2,
			func(is issued) []oauthdb.IssuedTokens { return []oauthdb.IssuedTokens{is.c} }},
		{"client", func(db *oauthdb.DB, is issued) (int, error) { return db.RevokeClient("cid-1") }, 5,
			func(is issued) []oauthdb.IssuedTokens { return []oauthdb.IssuedTokens{is.a, is.c, is.cc} }},
		{"client for one user", func(db *oauthdb.DB, is issued) (int, error) { return db.RevokeClientUser("cid-1", "u1") }, 2,
			func(is issued) []oauthdb.IssuedTokens { return []oauthdb.IssuedTokens{is.a} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, is := setup(t)
			n, err := tt.revoke(db, is)
			if err != nil || n != tt.n {
				t.Fatalf("revoke = %d, %v; want %d rows", n, err, tt.n)
			}
			dead := map[string]bool{}
			for _, d := range tt.dead(is) {
				dead[d.AccessToken], dead[d.RefreshToken] = true, true
			}
			for _, tok := range []oauthdb.IssuedTokens{is.a, is.b, is.c, is.cc} {
				_, err := db.ValidateAccessToken(tok.AccessToken)
				if gone := errors.Is(err, oauthdb.ErrTokenNotFound); gone != dead[tok.AccessToken] {
					t.Errorf("access token %s: err = %v, revoked want %v", tok.Access.ID, err, dead[tok.AccessToken])
				}
				if tok.RefreshToken == "" {
					continue
				}
				_, err = db.ValidateRefreshToken(tok.RefreshToken)
				if revoked := errors.Is(err, oauthdb.ErrTokenRevoked); revoked != dead[tok.RefreshToken] {
					t.Errorf("refresh token %s: err = %v, revoked want %v", tok.Refresh.ID, err, dead[tok.RefreshToken])
				}
			}
			if err := db.Verify(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRevokeMalformed(t *testing.T) {
	db, _ := world(t)
	if _, err := db.RevokeAccessToken(""); !errors.Is(err, oauthdb.ErrTokenMalformed) {
		t.Errorf("RevokeAccessToken(\"\") = %v", err)
	}
	if _, err := db.RevokeRefreshToken("\x00"); !errors.Is(err, oauthdb.ErrTokenMalformed) {
		t.Errorf("RevokeRefreshToken(NUL) = %v", err)
	}
}

func TestRevokeRefreshTokenByID(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, userGrant)
	var n int
	update(t, db, func(tx *oauthdb.Tx) error {
		var err error
		n, err = tx.RevokeRefreshTokenByID(tok.Refresh.ID)
		return err
	})
	if n != 2 {
		t.Errorf("revoked %d rows, want 2 (the refresh token and its access token)", n)
	}
	if _, err := db.ValidateRefreshToken(tok.RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("after revoking: %v", err)
	}
	err := db.Update(func(tx *oauthdb.Tx) error {
		_, err := tx.RevokeRefreshTokenByID("nobody")
		return err
	})
	if !errors.Is(err, oauthdb.ErrNotFound) {
		t.Errorf("unknown ID: %v", err)
	}
}

// A code presented twice revokes every token issued from it, and those
// rotated from them; other grants' tokens stay.
func TestRevokeAuthorizationCode(t *testing.T) {
	db, _ := world(t)
	grant := oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", SessionID: "s1", Scopes: []string{"openid", "offline_access"},
		Refresh: true, AuthorizationCodeID: "code-1"}
	first := issue(t, db, grant)
	rotated, err := db.RotateRefreshToken(first.RefreshToken, "cid-2", nil)
	if err != nil {
		t.Fatal(err)
	}
	other := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", SessionID: "s1", Scopes: []string{"openid", "offline_access"},
		Refresh: true, AuthorizationCodeID: "code-2"})
	n, err := db.RevokeAuthorizationCode("code-1")
	// first's access token, rotated's access and refresh tokens (first's
	// refresh token was revoked by the rotation already).
	if err != nil || n != 3 {
		t.Fatalf("RevokeAuthorizationCode = %d, %v; want 3", n, err)
	}
	for _, tok := range []string{first.AccessToken, rotated.AccessToken} {
		if _, err := db.ValidateAccessToken(tok); !errors.Is(err, oauthdb.ErrTokenNotFound) {
			t.Errorf("an access token of the code: %v, want ErrTokenNotFound", err)
		}
	}
	if _, err := db.ValidateRefreshToken(rotated.RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the rotated refresh token: %v, want ErrTokenRevoked", err)
	}
	if _, err := db.ValidateAccessToken(other.AccessToken); err != nil {
		t.Errorf("another code's token: %v", err)
	}
	if n, err := db.RevokeAuthorizationCode("code-1"); n != 0 || err != nil {
		t.Errorf("again = %d, %v; want 0", n, err)
	}
	if _, err := db.RevokeAuthorizationCode(""); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("no code: %v, want ErrInvalid", err)
	}
}

// RevokeToken is a client's RFC 7009 revocation request, with better-auth
// 1.7.29's rules (revokeEndpoint, revokeRefreshToken): a client revokes its
// own tokens only; the owner presenting a refresh token that was revoked
// already revokes its whole family, as a replay at the token endpoint does,
// while anyone else's presenting it changes nothing.
func TestRevokeToken(t *testing.T) {
	db, clk := world(t)
	first := issue(t, db, userGrant)
	clk.Advance(time.Second)
	next, err := db.RotateRefreshToken(first.RefreshToken, "cid-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	other := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", SessionID: "s1",
		Scopes: []string{"openid", oauthdb.ScopeOfflineAccess}, Refresh: true})

	// Not the caller's: nothing changes, and it is no error (RFC 7009 §2.2).
	before := db.Snapshot()
	for _, tc := range []struct{ name, token, hint string }{
		{"an access token", next.AccessToken, ""},
		{"a refresh token", next.RefreshToken, "refresh_token"},
		{"a revoked refresh token", first.RefreshToken, "refresh_token"},
		{"an unknown token", "no-such-token", ""},
	} {
		if n, err := db.RevokeToken(tc.token, "cid-2", tc.hint); n != 0 || err != nil {
			t.Errorf("another client revoking %s = %d, %v; want 0, nil", tc.name, n, err)
		}
	}
	if d := cmp.Diff(before, db.Snapshot()); d != "" {
		t.Fatalf("another client's revocations changed the rows (-before +after):\n%s", d)
	}
	if _, err := db.RevokeToken(next.AccessToken, "", ""); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("no caller: %v, want ErrInvalid", err)
	}

	// A hint of a kind is looked up as that kind only, as better-auth's
	// revokeEndpoint does: a miss changes nothing and is no error. Any
	// other hint is none.
	before = db.Snapshot()
	for _, tc := range []struct{ name, token, owner, hint string }{
		{"its access token as a refresh token", other.AccessToken, "cid-2", "refresh_token"},
		{"its refresh token as an access token", other.RefreshToken, "cid-2", "access_token"},
		{"its revoked refresh token as an access token", first.RefreshToken, "cid-1", "access_token"},
	} {
		if n, err := db.RevokeToken(tc.token, tc.owner, tc.hint); n != 0 || err != nil {
			t.Errorf("the owner revoking %s = %d, %v; want 0, nil", tc.name, n, err)
		}
	}
	if d := cmp.Diff(before, db.Snapshot()); d != "" {
		t.Fatalf("a hint of the other kind changed the rows (-before +after):\n%s", d)
	}
	if n, err := db.RevokeToken(other.AccessToken, "cid-2", "id_token"); n != 1 || err != nil {
		t.Errorf("the owner revoking its access token with a hint of no kind = %d, %v; want 1, nil", n, err)
	}
	if _, err := db.ValidateAccessToken(other.AccessToken); !errors.Is(err, oauthdb.ErrTokenNotFound) {
		t.Errorf("a revoked access token: %v, want ErrTokenNotFound", err)
	}

	// The owner presenting a refresh token revoked already (by its
	// rotation): the family — both refresh tokens' access tokens, and next's
	// refresh token — goes, as better-auth's invalidateRefreshFamily takes
	// it, and the call says the token was revoked.
	n, err := db.RevokeToken(first.RefreshToken, "cid-1", "")
	if n != 3 || !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the owner revoking a revoked refresh token = %d, %v; want 3, ErrTokenRevoked", n, err)
	}
	if _, err := db.ValidateAccessToken(first.AccessToken); !errors.Is(err, oauthdb.ErrTokenNotFound) {
		t.Errorf("the rotated token's access token: %v, want ErrTokenNotFound", err)
	}
	if _, err := db.ValidateRefreshToken(next.RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the family's refresh token: %v, want ErrTokenRevoked", err)
	}
	if _, err := db.ValidateAccessToken(next.AccessToken); !errors.Is(err, oauthdb.ErrTokenNotFound) {
		t.Errorf("the family's access token: %v, want ErrTokenNotFound", err)
	}
	// Another client's family is not the owner's.
	if _, err := db.ValidateRefreshToken(other.RefreshToken); err != nil {
		t.Errorf("another client's refresh token: %v", err)
	}
	// An active refresh token of the owner's: revoked, with its access
	// tokens.
	if n, err := db.RevokeToken(other.RefreshToken, "cid-2", ""); n != 1 || err != nil {
		t.Errorf("the owner revoking its refresh token = %d, %v; want 1, nil", n, err)
	}
}

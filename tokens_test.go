package oauthdb_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

// clock is a settable clock for one test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// world opens a DB on a fake clock with u1/s1, u2/s2 and clients cid-1
// (scopes openid, profile, email) and cid-2 (any scope).
func world(t *testing.T, opts ...oauthdb.Option) (*oauthdb.DB, *clock) {
	t.Helper()
	clk := &clock{now: t0}
	db, err := oauthdb.Open(append([]oauthdb.Option{oauthdb.WithClock(clk.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	update(t, db, func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertUser(oauthdb.User{ID: "u2", Name: "Bob", Email: "bob@example.com"}),
			tx.InsertSession(oauthdb.Session{ID: "s1", Token: "cookie-1", UserID: "u1", ExpiresAt: t0.Add(24 * time.Hour)}),
			tx.InsertSession(oauthdb.Session{ID: "s2", Token: "cookie-2", UserID: "u2", ExpiresAt: t0.Add(24 * time.Hour)}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "cid-1", ClientSecret: oauthdb.HashSecret("secret-1"),
				Scopes: []string{"openid", "profile", "email"}, RedirectURIs: []string{"https://one.example/cb"}}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c2", ClientID: "cid-2", RedirectURIs: []string{"https://two.example/cb"}}),
		)
	})
	return db, clk
}

func issue(t *testing.T, db *oauthdb.DB, req oauthdb.IssueRequest) oauthdb.IssuedTokens {
	t.Helper()
	tok, err := db.IssueTokens(req)
	if err != nil {
		t.Fatalf("IssueTokens(%+v): %v", req, err)
	}
	return tok
}

var userGrant = oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u1", SessionID: "s1", Scopes: []string{"openid", "profile"}, Refresh: true}

func TestHashVectors(t *testing.T) {
	// Computed with Node's crypto: createHash("sha256").update(x).digest("base64url").
	for in, want := range map[string]string{
		"abc":                              "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0",
		"kY3r7c0lH2xV9pQm4ZsT8wNe1aBfJ6dU": "SXzr8nKDPfRYll96JOSeZ7eABu8in00gbFCKZ6zJvlc",
	} {
		if got := oauthdb.HashToken(in); got != want {
			t.Errorf("HashToken(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("x", 300) // past the stack buffer
	if got, want := oauthdb.HashToken(long), oauthdb.HashToken(long[:150]+long[150:]); got != want || len(got) != 43 {
		t.Errorf("HashToken of a long token = %q", got)
	}
}

// A token that a better-auth server issued, loaded with its stored hash,
// validates here.
func TestValidateBetterAuthToken(t *testing.T) {
	db, _ := world(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "ba", Token: "SXzr8nKDPfRYll96JOSeZ7eABu8in00gbFCKZ6zJvlc",
			ClientID: "cid-1", UserID: "u1", Scopes: []string{"openid"}, ExpiresAt: t0.Add(time.Hour)})
	})
	info, err := db.ValidateAccessToken("kY3r7c0lH2xV9pQm4ZsT8wNe1aBfJ6dU")
	if err != nil || info.Token.ID != "ba" || info.User.ID != "u1" {
		t.Fatalf("ValidateAccessToken = %+v, %v", info.Token, err)
	}
}

func TestIssueAndValidate(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, userGrant)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Access.RefreshID != tok.Refresh.ID {
		t.Fatalf("issued %v: access linked to %q, refresh %q", tok, tok.Access.RefreshID, tok.Refresh.ID)
	}
	info, err := db.ValidateAccessToken(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{info.Token.ID, info.Client.ID, info.User.ID, info.Session.ID}
	if diff := cmp.Diff([]string{tok.Access.ID, "c1", "u1", "s1"}, got); diff != "" {
		t.Errorf("joined view (-want +got):\n%s", diff)
	}
	if !info.Token.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("access token expires %v, want an hour after issue", info.Token.ExpiresAt)
	}
	rinfo, err := db.ValidateRefreshToken(tok.RefreshToken)
	if err != nil || rinfo.Token.ID != tok.Refresh.ID || !rinfo.Token.ExpiresAt.Equal(t0.Add(30*24*time.Hour)) {
		t.Errorf("ValidateRefreshToken = %+v, %v", rinfo.Token, err)
	}
	// Only hashes are stored.
	s := dump(t, db)
	for _, plain := range []string{tok.AccessToken, tok.RefreshToken} {
		if strings.Contains(fmt.Sprintf("%+v", s), plain) {
			t.Errorf("a plaintext token is stored")
		}
	}
	if s.AccessTokens[0].Token != oauthdb.HashToken(tok.AccessToken) {
		t.Errorf("stored access token is not the hash of the token")
	}
}

func TestClientCredentialsToken(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"api"}})
	if tok.RefreshToken != "" {
		t.Errorf("a refresh token was issued unasked")
	}
	info, err := db.ValidateAccessToken(tok.AccessToken)
	if err != nil || info.User.ID != "" || info.Session.ID != "" || info.Client.ClientID != "cid-2" {
		t.Errorf("ValidateAccessToken = %+v, %v", info, err)
	}
}

func TestIssueRefused(t *testing.T) {
	tests := []struct {
		name string
		req  oauthdb.IssueRequest
		want error
	}{
		{"unknown client", oauthdb.IssueRequest{ClientID: "nobody"}, oauthdb.ErrNotFound},
		{"disabled client", oauthdb.IssueRequest{ClientID: "cid-off"}, oauthdb.ErrClientDisabled},
		{"scope outside the client's", oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u1", Scopes: []string{"admin"}}, oauthdb.ErrScopeNotGranted},
		{"unknown user", oauthdb.IssueRequest{ClientID: "cid-2", UserID: "nobody"}, oauthdb.ErrNotFound},
		{"unknown session", oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", SessionID: "nobody"}, oauthdb.ErrNotFound},
		{"another user's session", oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", SessionID: "s2"}, oauthdb.ErrInvalid},
		{"refresh token without user", oauthdb.IssueRequest{ClientID: "cid-2", Refresh: true}, oauthdb.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := world(t)
			update(t, db, func(tx *oauthdb.Tx) error {
				return tx.InsertClient(oauthdb.OAuthClient{ID: "c9", ClientID: "cid-off", Disabled: true, RedirectURIs: []string{"https://x/cb"}})
			})
			before := dump(t, db)
			if _, err := db.IssueTokens(tt.req); !errors.Is(err, tt.want) {
				t.Errorf("IssueTokens = %v, want %v", err, tt.want)
			}
			if diff := cmp.Diff(before, dump(t, db)); diff != "" {
				t.Errorf("store changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestIssueForExpiredSession(t *testing.T) {
	db, clk := world(t)
	clk.Advance(25 * time.Hour)
	if _, err := db.IssueTokens(userGrant); !errors.Is(err, oauthdb.ErrSessionExpired) {
		t.Errorf("IssueTokens on an expired session = %v, want ErrSessionExpired", err)
	}
}

// Each reason a token is inactive has its own error, and none of them
// changes the store.
func TestValidateInactive(t *testing.T) {
	tests := []struct {
		name  string
		token func(t *testing.T, db *oauthdb.DB, clk *clock) string
		opts  []oauthdb.Option
		want  error
	}{
		{"empty", func(*testing.T, *oauthdb.DB, *clock) string { return "" }, nil, oauthdb.ErrTokenMalformed},
		{"oversized", func(*testing.T, *oauthdb.DB, *clock) string { return strings.Repeat("a", oauthdb.MaxTokenLength+1) }, nil, oauthdb.ErrTokenMalformed},
		{"non-ASCII", func(*testing.T, *oauthdb.DB, *clock) string { return "tökén" }, nil, oauthdb.ErrTokenMalformed},
		{"with a space", func(*testing.T, *oauthdb.DB, *clock) string { return "a b" }, nil, oauthdb.ErrTokenMalformed},
		{"unknown", func(*testing.T, *oauthdb.DB, *clock) string { return "never-issued" }, nil, oauthdb.ErrTokenNotFound},
		{"expired", func(t *testing.T, db *oauthdb.DB, clk *clock) string {
			tok := issue(t, db, userGrant)
			clk.Advance(time.Hour) // expiresAt is exclusive
			return tok.AccessToken
		}, nil, oauthdb.ErrTokenExpired},
		{"revoked (a better-auth 1.7 row)", func(t *testing.T, db *oauthdb.DB, clk *clock) string {
			update(t, db, func(tx *oauthdb.Tx) error {
				return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "r", Token: oauthdb.HashToken("revoked-one"), ClientID: "cid-1",
					ExpiresAt: t0.Add(time.Hour), Revoked: t0})
			})
			return "revoked-one"
		}, nil, oauthdb.ErrTokenRevoked},
		{"disabled client", func(t *testing.T, db *oauthdb.DB, clk *clock) string {
			tok := issue(t, db, userGrant)
			update(t, db, func(tx *oauthdb.Tx) error {
				c, _ := tx.Client("c1")
				c.Disabled = true
				return tx.UpdateClient(c)
			})
			return tok.AccessToken
		}, nil, oauthdb.ErrClientDisabled},
		{"expired session", func(t *testing.T, db *oauthdb.DB, clk *clock) string {
			tok := issue(t, db, userGrant)
			expireSession(t, db, "s1")
			return tok.AccessToken
		}, nil, oauthdb.ErrSessionExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, clk := world(t, tt.opts...)
			token := tt.token(t, db, clk)
			before := dump(t, db)
			_, err := db.ValidateAccessToken(token)
			var te *oauthdb.TokenError
			if !errors.Is(err, tt.want) || !errors.As(err, &te) {
				t.Fatalf("ValidateAccessToken = %v, want a *TokenError for %v", err, tt.want)
			}
			if token != "" && strings.Contains(err.Error(), token) {
				t.Errorf("error %q shows the token", err)
			}
			if diff := cmp.Diff(before, dump(t, db)); diff != "" {
				t.Errorf("validation changed the store (-before +after):\n%s", diff)
			}
		})
	}
}

func expireSession(t *testing.T, db *oauthdb.DB, id string) {
	t.Helper()
	update(t, db, func(tx *oauthdb.Tx) error {
		s, _ := tx.Session(id)
		s.ExpiresAt = t0
		return tx.UpdateSession(s)
	})
}

func TestMalformedIsInvalid(t *testing.T) {
	db, _ := world(t)
	_, err := db.ValidateAccessToken("")
	if !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("a malformed token is not ErrInvalid: %v", err)
	}
}

// better-auth 1.4–1.6 kept a token active when its session ended; 1.7 does
// not. Strict is the default; lenient is an option.
func TestLenientSessions(t *testing.T) {
	db, _ := world(t, oauthdb.WithLenientSessions())
	tok := issue(t, db, userGrant)
	expireSession(t, db, "s1")
	info, err := db.ValidateAccessToken(tok.AccessToken)
	if err != nil || info.Session.ID != "" || info.User.ID != "u1" {
		t.Errorf("lenient ValidateAccessToken = %+v, %v; want active without its session", info, err)
	}
}

// In lenient mode a deleted session nulls sessionId on its tokens and
// nothing more: they stay active, as tokens without a session. (In strict
// mode its access tokens are revoked: TestDeleteSessionRowsAreBetterAuths.)
func TestValidateAfterSessionDeletedLenient(t *testing.T) {
	db, _ := world(t, oauthdb.WithLenientSessions())
	tok := issue(t, db, userGrant)
	update(t, db, func(tx *oauthdb.Tx) error { return tx.DeleteSession("s1") })
	info, err := db.ValidateAccessToken(tok.AccessToken)
	if err != nil || info.Token.SessionID != "" || !info.Token.Revoked.IsZero() {
		t.Errorf("ValidateAccessToken = %+v, %v", info.Token, err)
	}
}

func TestIntrospectByAnotherClient(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, userGrant)
	if _, err := db.IntrospectAccessToken(tok.AccessToken, "cid-2"); !errors.Is(err, oauthdb.ErrWrongClient) {
		t.Errorf("introspection by another client = %v, want ErrWrongClient", err)
	}
	if _, err := db.IntrospectAccessToken(tok.AccessToken, "cid-1"); err != nil {
		t.Errorf("introspection by its client = %v", err)
	}
}

func TestRotate(t *testing.T) {
	db, clk := world(t)
	first := issue(t, db, userGrant)
	clk.Advance(time.Minute)
	second, err := db.RotateRefreshToken(first.RefreshToken, "cid-1", []string{"openid"})
	if err != nil {
		t.Fatal(err)
	}
	want := oauthdb.OAuthRefreshToken{ID: second.Refresh.ID, Token: oauthdb.HashToken(second.RefreshToken),
		ClientID: "cid-1", SessionID: "s1", UserID: "u1", Scopes: []string{"openid"},
		ExpiresAt: clk.Now().Add(30 * 24 * time.Hour), CreatedAt: clk.Now()}
	if diff := cmp.Diff(want, second.Refresh); diff != "" {
		t.Errorf("new refresh token (-want +got):\n%s", diff)
	}
	if second.Access.RefreshID != second.Refresh.ID {
		t.Errorf("new access token is linked to %q, want %q", second.Access.RefreshID, second.Refresh.ID)
	}
	view(t, db, func(tx *oauthdb.Tx) {
		old, _ := tx.RefreshToken(first.Refresh.ID)
		if !old.Revoked.Equal(clk.Now()) {
			t.Errorf("old refresh token revoked = %v, want now", old.Revoked)
		}
	})
	if _, err := db.ValidateRefreshToken(first.RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("old refresh token validates: %v", err)
	}
	if _, err := db.ValidateAccessToken(second.AccessToken); err != nil {
		t.Errorf("new access token: %v", err)
	}
}

func TestRotateRefused(t *testing.T) {
	tests := []struct {
		name   string
		prep   func(t *testing.T, db *oauthdb.DB, clk *clock, tok oauthdb.IssuedTokens)
		client string
		scopes []string
		want   error
	}{
		{"another client", nil, "cid-2", nil, oauthdb.ErrWrongClient},
		{"wider scopes", nil, "cid-1", []string{"openid", "email"}, oauthdb.ErrScopeNotGranted},
		{"expired", func(t *testing.T, db *oauthdb.DB, clk *clock, tok oauthdb.IssuedTokens) {
			clk.Advance(31 * 24 * time.Hour)
		}, "cid-1", nil, oauthdb.ErrTokenExpired},
		{"disabled client", func(t *testing.T, db *oauthdb.DB, clk *clock, tok oauthdb.IssuedTokens) {
			update(t, db, func(tx *oauthdb.Tx) error {
				c, _ := tx.Client("c1")
				c.Disabled = true
				return tx.UpdateClient(c)
			})
		}, "cid-1", nil, oauthdb.ErrClientDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, clk := world(t)
			tok := issue(t, db, userGrant)
			if tt.prep != nil {
				tt.prep(t, db, clk, tok)
			}
			before := dump(t, db)
			if _, err := db.RotateRefreshToken(tok.RefreshToken, tt.client, tt.scopes); !errors.Is(err, tt.want) {
				t.Fatalf("RotateRefreshToken = %v, want %v", err, tt.want)
			}
			if diff := cmp.Diff(before, dump(t, db)); diff != "" {
				t.Errorf("store changed (-before +after):\n%s", diff)
			}
		})
	}
	db, _ := world(t)
	if _, err := db.RotateRefreshToken("never-issued", "cid-1", nil); !errors.Is(err, oauthdb.ErrTokenNotFound) {
		t.Errorf("unknown refresh token: %v", err)
	}
}

// Presenting a refresh token that was already used revokes the family: every
// refresh token of that client and user, with their access tokens. Other
// clients' and users' tokens are untouched, and so is an access token issued
// without a refresh token.
func TestRotateReplayRevokesFamily(t *testing.T) {
	db, clk := world(t)
	first := issue(t, db, userGrant)
	other := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", Refresh: true})
	bob := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u2", SessionID: "s2", Refresh: true})
	// Issued without a refresh token, so never derived from one: not family.
	code := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-1", UserID: "u1", SessionID: "s1"})
	second, err := db.RotateRefreshToken(first.RefreshToken, "cid-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	_, err = db.RotateRefreshToken(first.RefreshToken, "cid-1", nil)
	var te *oauthdb.TokenError
	if !errors.Is(err, oauthdb.ErrTokenReplayed) || !errors.As(err, &te) || te.ID != first.Refresh.ID {
		t.Fatalf("replay = %v, want ErrTokenReplayed naming %s", err, first.Refresh.ID)
	}
	for _, dead := range []string{first.AccessToken, second.AccessToken} {
		if _, err := db.ValidateAccessToken(dead); !errors.Is(err, oauthdb.ErrTokenNotFound) {
			t.Errorf("family access token still there: %v", err)
		}
	}
	if _, err := db.ValidateRefreshToken(second.RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("family refresh token still active: %v", err)
	}
	for _, live := range []oauthdb.IssuedTokens{other, bob, code} {
		if _, err := db.ValidateAccessToken(live.AccessToken); err != nil {
			t.Errorf("a token outside the family was revoked: %v", err)
		}
		if live.RefreshToken == "" {
			continue
		}
		if _, err := db.ValidateRefreshToken(live.RefreshToken); err != nil {
			t.Errorf("a refresh token outside the family was revoked: %v", err)
		}
	}
}

// Of two concurrent rotations of one refresh token exactly one wins; the
// other is a replay.
func TestRotateRace(t *testing.T) {
	db, _ := world(t)
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	for i := range rounds {
		tok := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u2", Refresh: true})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for g := range errs {
			wg.Go(func() {
				_, errs[g] = db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil)
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, oauthdb.ErrTokenReplayed):
				t.Fatalf("round %d: a loser failed with %v, want ErrTokenReplayed", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d rotations won, want exactly 1 (%v)", i, wins, errs)
		}
	}
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
}

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

func TestConsent(t *testing.T) {
	db, clk := world(t)
	if err := db.CheckConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"openid"}); !errors.Is(err, oauthdb.ErrConsentRequired) {
		t.Errorf("CheckConsent before any grant = %v", err)
	}
	first, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"openid", "profile"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"profile"}); err != nil {
		t.Errorf("CheckConsent of a granted scope = %v", err)
	}
	if err := db.CheckConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"openid", "email"}); !errors.Is(err, oauthdb.ErrConsentRequired) {
		t.Errorf("CheckConsent of an ungranted scope = %v", err)
	}
	clk.Advance(time.Minute)
	second, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"email"})
	if err != nil {
		t.Fatal(err)
	}
	want := first
	want.Scopes = []string{"email"}
	want.UpdatedAt = clk.Now()
	if diff := cmp.Diff(want, second); diff != "" {
		t.Errorf("granting again (-want +got):\n%s", diff)
	}
	if _, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "cid-2", UserID: "u1", ReferenceID: "org-9"}, []string{"openid"}); err != nil {
		t.Fatal(err)
	}
	list, err := db.UserConsents("u1")
	if err != nil || len(list) != 2 {
		t.Fatalf("Consents(u1) = %v, %v", list, err)
	}
	if n, err := db.RevokeConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}); n != 1 || err != nil {
		t.Errorf("RevokeConsent = %d, %v", n, err)
	}
	if n, err := db.RevokeConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}); n != 0 || err != nil {
		t.Errorf("RevokeConsent again = %d, %v", n, err)
	}
	if _, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "nobody", UserID: "u1"}, nil); !errors.Is(err, oauthdb.ErrNotFound) {
		t.Errorf("GrantConsent to an unknown client = %v", err)
	}
}

func TestSkipConsent(t *testing.T) {
	db, _ := world(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		c, _ := tx.Client("c2")
		c.SkipConsent = true
		return tx.UpdateClient(c)
	})
	if err := db.CheckConsent(oauthdb.ConsentKey{ClientID: "cid-2", UserID: "u1"}, []string{"anything"}); err != nil {
		t.Errorf("CheckConsent for a skip-consent client = %v", err)
	}
}

func TestSweepExpired(t *testing.T) {
	db, clk := world(t, oauthdb.WithTokenLifetimes(time.Hour, 2*time.Hour))
	var old []oauthdb.IssuedTokens
	for range 3 {
		old = append(old, issue(t, db, userGrant))
	}
	clk.Advance(90 * time.Minute)
	fresh := issue(t, db, userGrant)
	// Three access tokens have expired; no refresh token has.
	res, err := db.SweepExpired(2)
	if err != nil || res != (oauthdb.SweepResult{AccessTokens: 2}) {
		t.Fatalf("first batch = %+v, %v", res, err)
	}
	res, err = db.SweepExpired(10)
	if err != nil || res != (oauthdb.SweepResult{AccessTokens: 1}) {
		t.Fatalf("second batch = %+v, %v", res, err)
	}
	// Now the old refresh tokens expire too, and the sessions.
	clk.Advance(23 * time.Hour)
	res, err = db.SweepExpired(100)
	if err != nil || res != (oauthdb.SweepResult{AccessTokens: 1, RefreshTokens: 4, Sessions: 2}) {
		t.Fatalf("third batch = %+v, %v", res, err)
	}
	s := dump(t, db)
	if len(s.AccessTokens)+len(s.RefreshTokens)+len(s.Sessions) != 0 {
		t.Errorf("left after sweeping: %+v", s)
	}
	_ = old
	_ = fresh
}

func TestRunJanitor(t *testing.T) {
	db, clk := world(t)
	for range 5 {
		issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"api"}})
	}
	clk.Advance(2 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.RunJanitor(ctx, time.Millisecond, 2, nil) }()
	deadline := time.After(10 * time.Second)
	for len(dump(t, db).AccessTokens) > 0 {
		select {
		case <-deadline:
			t.Fatal("the janitor did not sweep")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunJanitor = %v, want context.Canceled", err)
	}
	if err := db.RunJanitor(context.Background(), 0, 1, nil); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("RunJanitor with no interval = %v, want ErrInvalid", err)
	}
}

// A service configured with another hasher gets the same hashing here.
type upperHasher struct{}

func (upperHasher) AppendHash(dst []byte, token string) []byte {
	return append(dst, "H:"+strings.ToUpper(token)...)
}

func TestCustomHasher(t *testing.T) {
	db, _ := world(t, oauthdb.WithHasher(upperHasher{}))
	tok := issue(t, db, userGrant)
	if tok.Access.Token != "H:"+strings.ToUpper(tok.AccessToken) {
		t.Errorf("stored %q, want the custom hash", tok.Access.Token)
	}
	if _, err := db.ValidateAccessToken(tok.AccessToken); err != nil {
		t.Error(err)
	}
	if _, err := db.RotateRefreshToken(tok.RefreshToken, "cid-1", nil); err != nil {
		t.Error(err)
	}
}

func TestDeterministicWithSeededRandom(t *testing.T) {
	run := func() oauthdb.IssuedTokens {
		db, _ := world(t, oauthdb.WithRandom(strings.NewReader(strings.Repeat("0123456789abcdef", 64))))
		return issue(t, db, userGrant)
	}
	a, b := run(), run()
	if a.AccessToken != b.AccessToken || a.Access.ID != b.Access.ID {
		t.Errorf("the same seed gave different tokens")
	}
}

// Issued tokens print by their record IDs: %v, %+v, %#v, %s and slog.
func TestIssuedTokensDoNotPrint(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, userGrant)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("issued", "tokens", tok)
	for _, out := range []string{fmt.Sprintf("%v", tok), fmt.Sprintf("%+v", tok), fmt.Sprintf("%#v", tok),
		fmt.Sprint(tok), fmt.Sprintf("%s", tok), logged.String()} {
		if strings.Contains(out, tok.AccessToken) || strings.Contains(out, tok.RefreshToken) {
			t.Errorf("printed a plaintext token: %s", out)
		}
		if !strings.Contains(out, tok.Access.ID) {
			t.Errorf("printed without the record ID: %s", out)
		}
	}
}

func TestVerifySecret(t *testing.T) {
	stored := oauthdb.HashSecret("s3cret")
	if !oauthdb.VerifySecret(stored, "s3cret") || oauthdb.VerifySecret(stored, "s3cre") || oauthdb.VerifySecret(stored, "") {
		t.Error("VerifySecret")
	}
}

// A grant that consumes something else issues its tokens in the same
// transaction: if the transaction fails, no token was issued.
func TestIssueInsideTransaction(t *testing.T) {
	db, _ := world(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertVerification(oauthdb.Verification{ID: "v1", Identifier: db.Hash("code"), Value: "{}", ExpiresAt: t0.Add(time.Minute)})
	})
	before := dump(t, db)
	boom := errors.New("boom")
	err := db.Update(func(tx *oauthdb.Tx) error {
		if err := tx.DeleteVerification("v1"); err != nil {
			return err
		}
		if _, err := tx.IssueTokens(userGrant); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	if diff := cmp.Diff(before, dump(t, db)); diff != "" {
		t.Errorf("store changed (-before +after):\n%s", diff)
	}
	var tok oauthdb.IssuedTokens
	update(t, db, func(tx *oauthdb.Tx) error {
		var err error
		tok, err = tx.IssueTokens(userGrant)
		return errors.Join(err, tx.DeleteVerification("v1"))
	})
	if _, err := db.ValidateAccessToken(tok.AccessToken); err != nil {
		t.Error(err)
	}
}

func TestRotateReturnsPrevious(t *testing.T) {
	db, _ := world(t)
	first := issue(t, db, userGrant)
	second, err := db.RotateRefreshToken(first.RefreshToken, "cid-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.Previous.ID != first.Refresh.ID || !second.Previous.Revoked.Equal(t0) {
		t.Errorf("Previous = %+v, want %s revoked now", second.Previous, first.Refresh.ID)
	}
}

func TestIntrospectRefreshToken(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, userGrant)
	if _, err := db.IntrospectRefreshToken(tok.RefreshToken, "cid-2"); !errors.Is(err, oauthdb.ErrWrongClient) {
		t.Errorf("by another client = %v, want ErrWrongClient", err)
	}
	if info, err := db.IntrospectRefreshToken(tok.RefreshToken, "cid-1"); err != nil || info.Token.ID != tok.Refresh.ID {
		t.Errorf("by its client = %+v, %v", info.Token, err)
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

func TestHashAndLifetimes(t *testing.T) {
	db, _ := world(t, oauthdb.WithTokenLifetimes(time.Minute, time.Hour))
	if db.Hash("abc") != oauthdb.HashToken("abc") {
		t.Errorf("Hash differs from HashToken under the default hasher")
	}
	custom, _ := world(t, oauthdb.WithHasher(upperHasher{}))
	if custom.Hash("abc") != "H:ABC" {
		t.Errorf("Hash under a custom hasher = %q", custom.Hash("abc"))
	}
	if a, r := db.TokenLifetimes(); a != time.Minute || r != time.Hour {
		t.Errorf("TokenLifetimes = %v, %v", a, r)
	}
}

// The sweep starts at the start of the expiry index, not at some earliest
// time it assumes.
func TestSweepAncientExpiry(t *testing.T) {
	db, _ := world(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertAccessToken(oauthdb.OAuthAccessToken{ID: "old", Token: oauthdb.HashToken("old"), ClientID: "cid-2",
			ExpiresAt: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)}) // before year 1, the zero time's
	})
	if res, err := db.SweepExpired(10); err != nil || res.AccessTokens != 1 {
		t.Errorf("SweepExpired = %+v, %v; want the ancient token swept", res, err)
	}
}

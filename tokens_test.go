package oauthdb_test

import (
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
		tok := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u2", Scopes: []string{oauthdb.ScopeOfflineAccess}, Refresh: true})
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

// better-auth 1.7's fields with meaning: clientCredentialsScopes bounds a
// client-credentials grant; a rotation sets rotatedAt and carries the
// grant's code, sign-in time and resources to the new tokens.
func TestBetterAuth17Fields(t *testing.T) {
	db, clk := world(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		c, _ := tx.Client("c2")
		c.ClientCredentialsScopes = []string{"api:read"}
		return tx.UpdateClient(c)
	})
	if _, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"api:write"}}); !errors.Is(err, oauthdb.ErrScopeNotGranted) {
		t.Errorf("a client-credentials scope outside clientCredentialsScopes: %v, want ErrScopeNotGranted", err)
	}
	if _, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"api:read"}}); err != nil {
		t.Errorf("a client-credentials scope in clientCredentialsScopes: %v", err)
	}
	// A user's grant is bounded by scopes, not clientCredentialsScopes.
	if _, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", Scopes: []string{"api:write"}}); err != nil {
		t.Errorf("a user's grant on that client: %v", err)
	}
	signedIn := t0.Add(-time.Hour)
	tok := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", UserID: "u1", SessionID: "s1", Scopes: []string{"openid", "offline_access"},
		Refresh: true, AuthorizationCodeID: "code-hash", AuthTime: signedIn, Resources: []string{"https://api.example/a"}})
	clk.Advance(time.Minute)
	next, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if at := t0.Add(time.Minute); !next.Previous.RotatedAt.Equal(at) || !next.Previous.Revoked.Equal(at) {
		t.Errorf("the rotated token: rotatedAt %v, revoked %v; want both %v", next.Previous.RotatedAt, next.Previous.Revoked, at)
	}
	if r := next.Refresh; r.AuthorizationCodeID != "code-hash" || !r.AuthTime.Equal(signedIn) || len(r.Resources) != 1 {
		t.Errorf("the new refresh token lost the grant's fields: %+v", r)
	}
	if a := next.Access; a.AuthorizationCodeID != "code-hash" || len(a.Resources) != 1 {
		t.Errorf("the new access token lost the grant's fields: %+v", a)
	}
}

// With a reuse interval, refreshes of one token that race each other inside
// the window all get tokens and the family survives; after the window, the
// token presented again is a replay.
func TestRefreshReuseIntervalUnderConcurrency(t *testing.T) {
	db, clk := world(t, oauthdb.WithRefreshReuseInterval(30*time.Second))
	tok := issue(t, db, offlineGrant)
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	got := make([]oauthdb.IssuedTokens, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("racer %d: %v", i, err)
		}
		if _, err := db.ValidateAccessToken(got[i].AccessToken); err != nil {
			t.Errorf("racer %d's access token: %v", i, err)
		}
	}
	clk.Advance(31 * time.Second)
	if _, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil); !errors.Is(err, oauthdb.ErrTokenReplayed) {
		t.Fatalf("after the window: %v, want ErrTokenReplayed", err)
	}
	for i := range got {
		if _, err := db.ValidateRefreshToken(got[i].RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
			t.Errorf("racer %d's refresh token after the replay: %v, want ErrTokenRevoked", i, err)
		}
	}
}

// A revocation ends the window a rotation left: the rotated token cannot
// get its client a fresh pair once what the rotation gave is revoked.
func TestRevocationClosesTheReuseWindow(t *testing.T) {
	db, _ := world(t, oauthdb.WithRefreshReuseInterval(time.Minute))
	tok := issue(t, db, offlineGrant)
	next, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RevokeRefreshToken(next.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RotateRefreshToken(tok.RefreshToken, "cid-2", nil); !errors.Is(err, oauthdb.ErrTokenReplayed) {
		t.Errorf("the rotated token after its successor's revocation: %v, want ErrTokenReplayed", err)
	}
}

// The cache's counters: a first validation misses, the next hits.
func TestCacheStats(t *testing.T) {
	db, _ := world(t)
	tok := issue(t, db, userGrant)
	for range 3 {
		if _, err := db.ValidateAccessToken(tok.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	if s := db.CacheStats(); s.Misses != 1 || s.Hits != 2 || s.Entries != 1 {
		t.Errorf("CacheStats = %+v, want 1 miss, 2 hits, 1 entry", s)
	}
	off, _ := world(t, oauthdb.WithValidationCache(0))
	if _, err := off.ValidateAccessToken("x"); err == nil || off.CacheStats() != (oauthdb.CacheStats{}) {
		t.Errorf("without a cache: %+v", off.CacheStats())
	}
}

// A revocation closes the grace window of a refresh token it revokes, even
// one whose row says rotated and not revoked (written by hand, or by a
// source better-auth is not): revokeRefresh wrote back the token as it read
// it before closing the windows, and so opened the window again. Found by
// TestModel, seed 610, once it rewrote token rows.
func TestRevocationClosesAnUnrevokedWindow(t *testing.T) {
	db, clk := world(t, oauthdb.WithRefreshReuseInterval(5*time.Minute))
	update(t, db, func(tx *oauthdb.Tx) error {
		return tx.InsertRefreshToken(oauthdb.OAuthRefreshToken{ID: "r1", Token: oauthdb.HashToken("hand-written"), ClientID: "cid-2",
			UserID: "u1", Scopes: []string{"openid"}, ExpiresAt: clk.Now().Add(time.Hour),
			RotatedAt: clk.Now(), RotationReplayExpiresAt: clk.Now().Add(5 * time.Minute)})
	})
	if _, err := db.RevokeClient("cid-2"); err != nil {
		t.Fatal(err)
	}
	view(t, db, func(tx *oauthdb.Tx) {
		r, _ := tx.RefreshToken("r1")
		if r.Revoked.IsZero() || r.RotationReplayExpiresAt.After(clk.Now()) {
			t.Errorf("after RevokeClient: revoked %v, window until %v; want revoked and the window closed at %v", r.Revoked, r.RotationReplayExpiresAt, clk.Now())
		}
	})
	if _, err := db.RotateRefreshToken("hand-written", "cid-2", nil); err == nil {
		t.Error("a revoked refresh token rotated again inside its window")
	}
}

package oauthdbtest_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

func TestFixtureDefaults(t *testing.T) {
	fx := oauthdbtest.New(t)
	now := fx.Now()
	u1, u2 := fx.User(), fx.User()
	if u1.Name != "User 1" || u1.Email != "user1@example.com" || u2.Email != "user2@example.com" {
		t.Errorf("default users: %+v, %+v", u1, u2)
	}
	c := fx.Client()
	if c.Name != "Client 1" || len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != "https://client1.example.com/callback" {
		t.Errorf("default client: %+v", c)
	}
	if secret := fx.Secret(c); !oauthdb.VerifySecret(c.ClientSecret, secret) {
		t.Errorf("Secret(c) does not match the stored hash")
	}
	s := fx.Session(u1)
	if s.UserID != u1.ID || !s.ExpiresAt.Equal(now.Add(7*24*time.Hour)) || s.Token == "" {
		t.Errorf("default session: %+v", s)
	}
	rtok, r := fx.RefreshToken(c, s)
	atok, a := fx.AccessToken(c, s, oauthdbtest.WithRefresh(r))
	if a.RefreshID != r.ID || a.UserID != u1.ID || a.SessionID != s.ID || !a.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("access token: %+v", a)
	}
	if !r.ExpiresAt.Equal(now.Add(30 * 24 * time.Hour)) {
		t.Errorf("refresh token expires at %v", r.ExpiresAt)
	}
	// As better-auth issues them: with offline_access, so it outlives the
	// session and is rotated when redeemed.
	if !slices.Equal(r.Scopes, []string{oauthdb.ScopeOfflineAccess}) {
		t.Errorf("refresh token scopes %v, want the client's (any) and offline_access", r.Scopes)
	}
	if a.Token != oauthdb.HashToken(atok) || r.Token != oauthdb.HashToken(rtok) {
		t.Errorf("stored tokens are not the plaintexts' hashes")
	}
	if _, err := fx.ValidateAccessToken(atok); err != nil {
		t.Errorf("access token: %v", err)
	}
	if _, err := fx.ValidateRefreshToken(rtok); err != nil {
		t.Errorf("refresh token: %v", err)
	}
	// A client-credentials token: the zero session.
	cctok, cc := fx.AccessToken(c, oauthdb.Session{})
	if cc.UserID != "" || cc.SessionID != "" {
		t.Errorf("client-credentials token has a user: %+v", cc)
	}
	if info, err := fx.ValidateAccessToken(cctok); err != nil || info.User.ID != "" {
		t.Errorf("client-credentials token: %v, %+v", err, info.User)
	}
	// Every record is what Dump reads back.
	want := oauthdbtest.State{
		Users:         []oauthdb.User{u1, u2},
		Sessions:      []oauthdb.Session{s},
		Clients:       []oauthdb.OAuthClient{c},
		RefreshTokens: []oauthdb.OAuthRefreshToken{r},
		AccessTokens:  []oauthdb.OAuthAccessToken{a, cc},
	}
	oauthdbtest.AssertState(t, fx.DB, want, oauthdbtest.IgnoreGeneratedIDs(), oauthdbtest.EquateEmpty())
}

func TestFixtureOptions(t *testing.T) {
	fx := oauthdbtest.New(t)
	created := fx.Now().Add(-48 * time.Hour)
	owner := fx.User(oauthdbtest.WithID("owner"), oauthdbtest.Name("Olive"), oauthdbtest.Email("olive@example.com"),
		oauthdbtest.CreatedAt(created),
		oauthdbtest.Edit(func(u *oauthdb.User) { u.EmailVerified = true }))
	if owner.ID != "owner" || owner.Name != "Olive" || owner.Email != "olive@example.com" || !owner.EmailVerified ||
		!owner.CreatedAt.Equal(created) || !owner.UpdatedAt.Equal(created) {
		t.Errorf("user with options: %+v", owner)
	}
	c := fx.Client(oauthdbtest.WithOwner(owner), oauthdbtest.Disabled(), oauthdbtest.SkipConsent(),
		oauthdbtest.ClientID("app"), oauthdbtest.WithSecret("s3cret"), oauthdbtest.Scopes("read"),
		oauthdbtest.RedirectURIs("https://app.example.com/cb"), oauthdbtest.GrantTypes("client_credentials"),
		oauthdbtest.Reference("org-1"))
	if c.UserID != "owner" || !c.Disabled || !c.SkipConsent || c.ClientID != "app" || fx.Secret(c) != "s3cret" ||
		c.ClientSecret != oauthdb.HashSecret("s3cret") || c.ReferenceID != "org-1" {
		t.Errorf("client with options: %+v", c)
	}
	if diff := cmp.Diff([]string{"https://app.example.com/cb"}, c.RedirectURIs); diff != "" {
		t.Error(diff)
	}
	pub := fx.Client(oauthdbtest.Public())
	if !pub.Public || pub.ClientSecret != "" || fx.Secret(pub) != "" || pub.TokenEndpointAuthMethod != "none" {
		t.Errorf("public client: %+v", pub)
	}
	enabled := fx.Client(oauthdbtest.Scopes("read", "write"))
	at := fx.Now().Add(90 * time.Minute)
	s := fx.Session(owner, oauthdbtest.ExpiresAt(at), oauthdbtest.WithID("s1"), oauthdbtest.CreatedAt(created))
	if !s.ExpiresAt.Equal(at) || s.ID != "s1" || !s.CreatedAt.Equal(created) {
		t.Errorf("session with options: %+v", s)
	}
	tok, a := fx.AccessToken(enabled, s, oauthdbtest.Expired(), oauthdbtest.Reference("org-2"))
	if a.Scopes[1] != "write" || a.ReferenceID != "org-2" || !a.ExpiresAt.Before(fx.Now()) {
		t.Errorf("access token with options: %+v", a)
	}
	if _, err := fx.ValidateAccessToken(tok); !errors.Is(err, oauthdb.ErrTokenExpired) {
		t.Errorf("expired fixture token: %v", err)
	}
	rtok, r := fx.RefreshToken(enabled, oauthdb.Session{}, oauthdbtest.ForUser(owner), oauthdbtest.Revoked(),
		oauthdbtest.Scopes("read"))
	if r.UserID != "owner" || r.SessionID != "" || r.Revoked.IsZero() {
		t.Errorf("refresh token with options: %+v", r)
	}
	if _, err := fx.ValidateRefreshToken(rtok); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("revoked fixture token: %v", err)
	}
	cs := fx.Consent(enabled, owner, oauthdbtest.Scopes("read"))
	if cs.ClientID != enabled.ClientID || cs.UserID != "owner" {
		t.Errorf("consent: %+v", cs)
	}
	if err := fx.CheckConsent(oauthdb.ConsentKey{ClientID: enabled.ClientID, UserID: owner.ID}, []string{"read"}); err != nil {
		t.Errorf("CheckConsent: %v", err)
	}
}

func TestFixtureMisuseFailsTheTest(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		build      func(fx *oauthdbtest.Fixtures)
	}{
		{"option of another record", "User: option Disabled does not apply to a user",
			func(fx *oauthdbtest.Fixtures) { fx.User(oauthdbtest.Disabled()) }},
		{"Edit of another record", "Session: option Edit(func(*oauthdb.User)) does not apply to a session",
			func(fx *oauthdbtest.Fixtures) {
				fx.Session(fx.User(), oauthdbtest.Edit(func(*oauthdb.User) {}))
			}},
		{"duplicate email", `User: user.email "a@example.com" (id "`,
			func(fx *oauthdbtest.Fixtures) {
				fx.User(oauthdbtest.Email("a@example.com"))
				fx.User(oauthdbtest.Email("a@example.com"))
			}},
		{"unknown user", "Session: session.userId",
			func(fx *oauthdbtest.Fixtures) { fx.Session(oauthdb.User{ID: "nobody"}) }},
		{"refresh token without a user", "RefreshToken: oauthRefreshToken.userId (id ",
			func(fx *oauthdbtest.Fixtures) { fx.RefreshToken(fx.Client(), oauthdb.Session{}) }},
		{"secret of a stranger", `Secret: client "elsewhere" was not made by Fixtures.Client`,
			func(fx *oauthdbtest.Fixtures) { fx.Secret(oauthdb.OAuthClient{ClientID: "elsewhere"}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := failures(t, func(tb testing.TB) { tc.build(oauthdbtest.New(tb)) })
			if !strings.Contains(got, tc.want) {
				t.Errorf("failure report:\n%s\nwant it to contain %q", got, tc.want)
			}
		})
	}
}

package oauthdbtest_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

func TestDumpIsSortedPlainValues(t *testing.T) {
	fx := oauthdbtest.New(t)
	var users []oauthdb.User
	for range 5 {
		users = append(users, fx.User())
	}
	got := oauthdbtest.Dump(fx.DB)
	slices.SortFunc(users, func(a, b oauthdb.User) int { return strings.Compare(a.ID, b.ID) })
	if diff := cmp.Diff(users, got.Users); diff != "" {
		t.Errorf("Dump's users (-want +got):\n%s", diff)
	}
	// A dump is a copy: changing it changes nothing stored.
	got.Users[0].Name = "changed"
	if again := oauthdbtest.Dump(fx.DB); again.Users[0].Name == "changed" {
		t.Error("changing a dump changed the DB")
	}
}

func TestDiffNamesTablesAndRows(t *testing.T) {
	fx := oauthdbtest.New(t)
	u := fx.User()
	c := fx.Client()
	s := fx.Session(u)
	tok, a := fx.AccessToken(c, s)
	_, gone := fx.AccessToken(c, s)
	want := oauthdbtest.Dump(fx.DB)

	fx.RevokeAccessToken(tok)
	fx.GrantConsent(oauthdb.ConsentKey{ClientID: c.ClientID, UserID: u.ID}, []string{"read"})
	renamed := u
	renamed.Name = "Renamed"
	if err := fx.Update(func(tx *oauthdb.Tx) error { return tx.UpdateUser(renamed) }); err != nil {
		t.Fatal(err)
	}

	d := oauthdbtest.Diff(want, oauthdbtest.Dump(fx.DB))
	for _, line := range []string{
		`table user: changed row "` + u.ID + `"`,
		`table oauthAccessToken: missing row "` + a.ID + `"`,
		"table oauthConsent: unexpected row",
		`"User 1"`, // cmp.Diff's spacing is deliberately unstable: match values only
		`"Renamed"`,
	} {
		if !strings.Contains(d, line) {
			t.Errorf("the diff does not say %q:\n%s", line, d)
		}
	}
	for line := range strings.Lines(d) {
		if strings.HasPrefix(line, "table ") && (strings.Contains(line, "oauthClient") || strings.Contains(line, gone.ID)) {
			t.Errorf("the diff names a table or row that did not change: %s", line)
		}
	}
}

func TestDiffHidesSecrets(t *testing.T) {
	fx := oauthdbtest.New(t)
	u := fx.User()
	c := fx.Client()
	s := fx.Session(u)
	tok, a := fx.AccessToken(c, s)
	rtok, r := fx.RefreshToken(c, s)
	d := oauthdbtest.Diff(oauthdbtest.State{}, oauthdbtest.Dump(fx.DB))
	for name, secret := range map[string]string{
		"access token": tok, "its hash": a.Token, "refresh token": rtok, "its hash ": r.Token,
		"session cookie": s.Token, "client secret": fx.Secret(c), "its hash  ": c.ClientSecret,
	} {
		if strings.Contains(d, secret) {
			t.Errorf("the diff prints the %s", name)
		}
	}
	if !strings.Contains(d, "<secret ") {
		t.Errorf("the diff shows no fingerprint:\n%s", d)
	}
}

func TestIgnoreTimestamps(t *testing.T) {
	fx := oauthdbtest.New(t)
	c := fx.Client()
	_, r := fx.RefreshToken(c, fx.Session(fx.User()))
	got := oauthdbtest.Dump(fx.DB).RefreshTokens

	other := r
	other.CreatedAt, other.ExpiresAt = time.Time{}, time.Time{}
	other.Revoked = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
	// Revoked is compared as set or unset: set here, unset in got.
	if cmp.Equal([]oauthdb.OAuthRefreshToken{other}, got, oauthdbtest.IgnoreTimestamps()) {
		t.Error("IgnoreTimestamps ignored whether the token is revoked")
	}
	other.Revoked = time.Time{}
	if !cmp.Equal([]oauthdb.OAuthRefreshToken{other}, got, oauthdbtest.IgnoreTimestamps()) {
		t.Errorf("IgnoreTimestamps did not ignore the times:\n%s",
			cmp.Diff([]oauthdb.OAuthRefreshToken{other}, got, oauthdbtest.IgnoreTimestamps()))
	}
	// Other values with times are left alone.
	type event struct{ CreatedAt time.Time }
	if cmp.Equal(event{time.Unix(1, 0)}, event{time.Unix(2, 0)}, oauthdbtest.IgnoreTimestamps()) {
		t.Error("IgnoreTimestamps ignored a field of a type that is not a record")
	}
}

func TestIgnoreGeneratedIDsMatchesRowsByContent(t *testing.T) {
	fx := oauthdbtest.New(t, oauthdbtest.WithSeed(7))
	u := fx.User()
	c := fx.Client(oauthdbtest.Scopes("a", "b", "c"))
	s := fx.Session(u)
	for _, sc := range []string{"c", "a", "b"} {
		if _, err := fx.IssueTokens(oauthdb.IssueRequest{ClientID: c.ClientID, UserID: u.ID, SessionID: s.ID,
			Scopes: []string{sc}, Refresh: true}); err != nil {
			t.Fatal(err)
		}
	}
	// The rows as a test can write them, in any order, without their IDs.
	want := oauthdbtest.State{Users: []oauthdb.User{u}, Sessions: []oauthdb.Session{s}, Clients: []oauthdb.OAuthClient{c}}
	now := fx.Now()
	for _, sc := range []string{"a", "b", "c"} {
		want.RefreshTokens = append(want.RefreshTokens, oauthdb.OAuthRefreshToken{ClientID: c.ClientID, UserID: u.ID,
			SessionID: s.ID, Scopes: []string{sc}, CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)})
		want.AccessTokens = append(want.AccessTokens, oauthdb.OAuthAccessToken{ClientID: c.ClientID, UserID: u.ID,
			SessionID: s.ID, Scopes: []string{sc}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	oauthdbtest.AssertState(t, fx.DB, want, oauthdbtest.IgnoreGeneratedIDs())

	want.AccessTokens[1].Scopes = []string{"z"}
	d := oauthdbtest.Diff(want, oauthdbtest.Dump(fx.DB), oauthdbtest.IgnoreGeneratedIDs())
	if !strings.Contains(d, "table oauthAccessToken: want 3 rows, got 3 (rows are not matched by ID") {
		t.Errorf("diff:\n%s", d)
	}
}

func TestEquateEmpty(t *testing.T) {
	fx := oauthdbtest.New(t)
	c := fx.Client()
	fx.AccessToken(c, oauthdb.Session{}) // the client has no scopes: nil
	got := oauthdbtest.Dump(fx.DB)
	want := got.Clone()
	want.AccessTokens[0].Scopes = []string{}
	if oauthdbtest.Diff(want, got) == "" {
		t.Fatal("nil and empty scopes are equal without EquateEmpty")
	}
	oauthdbtest.AssertState(t, fx.DB, want, oauthdbtest.EquateEmpty())
	// An empty table is equal to an absent one, with or without it.
	want.Verifications = []oauthdb.Verification{}
	oauthdbtest.AssertState(t, fx.DB, want, oauthdbtest.EquateEmpty())
}

func TestAssertUnchanged(t *testing.T) {
	fx := oauthdbtest.New(t)
	u := fx.User()
	oauthdbtest.AssertUnchanged(t, fx.DB, func() {
		if _, err := fx.ValidateAccessToken("no-such-token"); err == nil {
			t.Error("an unknown token validated")
		}
	})
	got := failures(t, func(tb testing.TB) {
		oauthdbtest.AssertUnchanged(tb, fx.DB, func() {
			if err := fx.Update(func(tx *oauthdb.Tx) error { return tx.DeleteUser(u.ID) }); err != nil {
				t.Error(err)
			}
		})
	})
	if !strings.Contains(got, "the DB changed (-before +after)") || !strings.Contains(got, `table user: missing row "`+u.ID+`"`) {
		t.Errorf("AssertUnchanged's report:\n%s", got)
	}
}

func TestAssertStateReports(t *testing.T) {
	fx := oauthdbtest.New(t)
	fx.User()
	got := failures(t, func(tb testing.TB) { oauthdbtest.AssertState(tb, fx.DB, oauthdbtest.State{}) })
	if !strings.Contains(got, "the DB's state is not the one wanted (-want +got)") || !strings.Contains(got, "table user: unexpected row") {
		t.Errorf("AssertState's report:\n%s", got)
	}
}

func TestStateJSONIsBetterAuthShaped(t *testing.T) {
	fx := oauthdbtest.New(t)
	u := fx.User()
	fx.Session(u)
	b, err := json.Marshal(oauthdbtest.Dump(fx.DB))
	if err != nil {
		t.Fatal(err)
	}
	var tables map[string][]map[string]any
	if err := json.Unmarshal(b, &tables); err != nil {
		t.Fatal(err)
	}
	if len(tables) != 2 || tables["user"][0]["email"] != "user1@example.com" || tables["session"][0]["userId"] != u.ID {
		t.Errorf("Dump as JSON: %s", b)
	}
}

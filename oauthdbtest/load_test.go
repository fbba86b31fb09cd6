package oauthdbtest_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

func TestLoadScenario(t *testing.T) {
	fx := oauthdbtest.New(t)
	loaded := fx.Load("testdata/scenario.json")
	oauthdbtest.AssertState(t, fx.DB, loaded)

	if n := len(loaded.Users) + len(loaded.AccessTokens) + len(loaded.Consents); n != 5 {
		t.Errorf("loaded %d users, access tokens and consents, want 5", n)
	}
	// "plain:" tokens are stored hashed and validate as plaintext.
	info, err := fx.ValidateAccessToken("alice-access")
	if err != nil {
		t.Fatalf("alice's token: %v", err)
	}
	if info.User.Name != "Alice" || info.Session.IPAddress != "192.0.2.1" || info.Token.RefreshID != "rt-alice" {
		t.Errorf("alice's token is %+v", info)
	}
	if loaded.AccessTokens[0].Token != oauthdb.HashToken("alice-access") {
		t.Errorf("the returned state holds %q, not the stored hash", loaded.AccessTokens[0].Token)
	}
	if _, err := fx.ValidateRefreshToken("alice-refresh"); err != nil {
		t.Errorf("alice's refresh token: %v", err)
	}
	c := loaded.Clients[0]
	if !oauthdb.VerifySecret(c.ClientSecret, "billing-secret") || string(c.Metadata) != `{"tier":"gold"}` {
		t.Errorf("client: %+v", c)
	}
	// Absent timestamps are the clock's time; given ones are kept.
	if !loaded.Users[1].CreatedAt.Equal(fx.Now()) || loaded.Users[0].CreatedAt.Year() != 2025 {
		t.Errorf("users created at %v and %v", loaded.Users[0].CreatedAt, loaded.Users[1].CreatedAt)
	}
	// The dump of a loaded DB loads again, into another DB, as it was.
	b, err := json.Marshal(oauthdbtest.Dump(fx.DB))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dump.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	again := oauthdbtest.New(t)
	again.Load(path)
	oauthdbtest.AssertState(t, again.DB, oauthdbtest.Dump(fx.DB))
}

// A fixture's row may be in any shape better-auth's adapters store it in:
// each is decoded by package betterauth.
func TestLoadFileTakesEveryAdapterShape(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sqlite.json")
	rows := `{"user": [{"id": "u1", "name": "Ada", "email": "ada@example.com", "emailVerified": 1, "createdAt": 1767225600000,
	    "updatedAt": "2026-01-01 00:00:00.000"}],
	  "oauthClient": [{"id": "c1", "clientId": "app", "redirectUris": "[\"https://app.example/cb\"]", "disabled": "f"}]}`
	if err := os.WriteFile(path, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	fx := oauthdbtest.New(t)
	s, err := oauthdbtest.LoadFile(fx.DB, path)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if u := s.Users[0]; !u.EmailVerified || !u.CreatedAt.Equal(day) || !u.UpdatedAt.Equal(day) {
		t.Errorf("user: %+v", u)
	}
	if c := s.Clients[0]; len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != "https://app.example/cb" || c.Disabled {
		t.Errorf("client: %+v", c)
	}
}

func TestLoadStateDirectly(t *testing.T) {
	fx := oauthdbtest.New(t)
	s, err := oauthdbtest.Load(fx.DB, oauthdbtest.State{
		Users:   []oauthdb.User{{ID: "u", Name: "U", Email: "u@example.com"}},
		Clients: []oauthdb.OAuthClient{{ID: "c", ClientID: "app", RedirectURIs: []string{"https://app.example/cb"}}},
		AccessTokens: []oauthdb.OAuthAccessToken{{ID: "a", Token: "plain:tok", ClientID: "app", UserID: "u",
			ExpiresAt: fx.Now().Add(time.Hour)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.ValidateAccessToken("tok"); err != nil {
		t.Fatal(err)
	}
	oauthdbtest.AssertState(t, fx.DB, s)
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       string // the error's text, after the file name
		is         error
	}{
		{"not JSON", `{"user": [}`, `:1:11: user: malformed JSON: invalid character '}' looking for beginning of value`, nil},
		{"truncated", "{\n  \"user\": [\n", `:3:1: user: malformed JSON: unexpected end of input`, nil},
		{"not an object", `[]`, `:1:1: a fixture file is a JSON object of tables, keyed by model name`, nil},
		{"unknown table", "{\n  \"users\": []\n}", `:2:3: unknown table "users": the tables are user, session, oauthClient, oauthRefreshToken, oauthAccessToken, oauthConsent, verification`, nil},
		{"table twice", `{"user": [], "user": []}`, `:1:14: user: the table appears twice`, nil},
		{"table not an array", `{"user": {}}`, `:1:10: user: a table is an array of rows`, nil},
		{"row not an object", `{"user": [42]}`, `:1:11: user[0]: a row is a JSON object`, nil},
		{"wrong type", "{\"user\": [\n  {\"id\": \"u1\",\n   \"name\": 7}]}",
			`:3:4: user[0] (id "u1"): field name: user.name: want a string, got a number`, oauthdb.ErrInvalid},
		{"malformed date", "{\"session\": [{\"id\": \"s1\", \"token\": \"t\",\n  \"expiresAt\": \"next tuesday\"}]}",
			`:2:3: session[0] (id "s1"): field expiresAt: session.expiresAt: not a date (ISO 8601, SQL DATETIME or timestamptz text)`, oauthdb.ErrInvalid},
		{"missing required field", "{\"user\": [{\"id\": \"u1\", \"email\": \"a@b\"},\n  {\"id\": \"u2\", \"email\": \"c@d\", \"name\": \"\"}]}",
			`:1:11: user[0] (id "u1"): field name: user.name: required`, oauthdb.ErrInvalid},
		{"unknown foreign key", "{\"user\": [{\"id\": \"u1\", \"name\": \"U\", \"email\": \"u@x\"}],\n \"session\": [{\"id\": \"s1\", \"token\": \"t\", \"expiresAt\": \"2026-02-01T00:00:00Z\",\n   \"userId\": \"ghost\"}]}",
			`:3:4: session[0] (id "s1"): field userId: session.userId "ghost": no user has this id`, oauthdb.ErrForeignKey},
		{"duplicate id", `{"user": [{"id": "u1", "name": "A", "email": "a@x"}, {"id": "u1", "name": "B", "email": "b@x"}]}`,
			`:1:55: user[1] (id "u1"): field id: user.id "u1": a record with this id exists`, oauthdb.ErrConflict},
		{"missing expiry", `{"oauthClient": [{"id": "c", "clientId": "app", "redirectUris": ["https://a.example/cb"]}], "oauthAccessToken": [{"id": "a", "token": "plain:x", "clientId": "app"}]}`,
			`:1:114: oauthAccessToken[0] (id "a"): field expiresAt: oauthAccessToken.expiresAt: required`, oauthdb.ErrInvalid},
		{"text after", `{} {}`, `:1:4: text after the fixture object`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fixture.json")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			fx := oauthdbtest.New(t)
			oauthdbtest.AssertUnchanged(t, fx.DB, func() {
				_, err := oauthdbtest.LoadFile(fx.DB, path)
				if err == nil {
					t.Fatal("the file loaded")
				}
				if want := path + tc.want; err.Error() != want {
					t.Errorf("error:\n%s\nwant:\n%s", err, want)
				}
				var le *oauthdbtest.LoadError
				if !errors.As(err, &le) || le.File != path {
					t.Errorf("error %T does not name the file", err)
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("error is not %v", tc.is)
				}
			})
		})
	}
}

func TestLoadIsAllOrNothing(t *testing.T) {
	fx := oauthdbtest.New(t)
	fx.User(oauthdbtest.Email("taken@example.com"))
	oauthdbtest.AssertUnchanged(t, fx.DB, func() {
		_, err := oauthdbtest.Load(fx.DB, oauthdbtest.State{Users: []oauthdb.User{
			{ID: "new", Name: "New", Email: "new@example.com"},
			{ID: "dup", Name: "Dup", Email: "taken@example.com"},
		}})
		if !errors.Is(err, oauthdb.ErrConflict) || !strings.Contains(err.Error(), `user[1] (id "dup"): field email`) {
			t.Errorf("error: %v", err)
		}
	})
}

func TestFixturesLoadFailsTheTest(t *testing.T) {
	got := failures(t, func(tb testing.TB) { oauthdbtest.New(tb).Load("testdata/no-such-file.json") })
	if !strings.Contains(got, "oauthdbtest: Load: open testdata/no-such-file.json") {
		t.Errorf("report: %s", got)
	}
}

func TestParseState(t *testing.T) {
	data, err := os.ReadFile("testdata/scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := oauthdbtest.ParseState("scenario.json", data)
	if err != nil {
		t.Fatal(err)
	}
	// Parsed, not loaded: "plain:" values are as written.
	if len(s.Users) != 2 || s.AccessTokens[0].Token != "plain:alice-access" {
		t.Errorf("parsed %+v", s.AccessTokens)
	}
	_, err = oauthdbtest.ParseState("inline", []byte(`{"oauthClient": [{"id": "c", "disabled": "no"}]}`))
	if want := `inline:1:30: oauthClient[0] (id "c"): field disabled: oauthClient.disabled: not a boolean (true/false, 1/0, t/f)`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

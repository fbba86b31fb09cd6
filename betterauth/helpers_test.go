package betterauth_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/betterauth"
	"github.com/oauthdb/oauthdb/internal/parity"
)

// harness is the folder of the Node harness that runs the real better-auth
// (interop/betterauth/README.md describes it and its export format).
var harness = filepath.Join("..", "interop", "betterauth")

// adapters are the adapters whose exports are committed as samples.
var adapters = []string{"memory", "sqlite", "postgres"}

func samplePath(adapter string) string {
	return filepath.Join(harness, "samples", "betterauth-"+adapter+".json")
}

// export is the part of a harness export that the tests read.
type export struct {
	Adapter string `json:"adapter"`
	BaseURL string `json:"baseURL"`
	Clients []struct {
		Name         string `json:"name"`
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	} `json:"clients"`
	Tokens []struct {
		Name     string `json:"name"`
		Kind     string `json:"kind"` // access, refresh
		Token    string `json:"token"`
		ClientID string `json:"clientId"`
		Hash     string `json:"hash"`
	} `json:"tokens"`
	Codes []struct {
		Name        string `json:"name"`
		Code        string `json:"code"`
		Verifier    string `json:"verifier"`
		RedirectURI string `json:"redirectUri"`
		Scope       string `json:"scope"`
		ClientID    string `json:"clientId"`
		ClientName  string `json:"clientName"`
		Redeemed    bool   `json:"redeemed"`
		Hash        string `json:"hash"`
	} `json:"codes"`
	Sessions []struct {
		Name string `json:"name"`
		ID   string `json:"id"`
	} `json:"sessions"`
	Steps   []step   `json:"steps"`
	Moments []moment `json:"moments"`
}

// step is one thing the scenario did, as the export's timeline records it:
// a token request (grant, from, scope, status, the tokens it gave and the
// answer), a revocation (token, by, hint, status), a sign-out (session).
type step struct {
	At       time.Time      `json:"at"`
	Step     string         `json:"step"`
	Grant    string         `json:"grant"`
	From     string         `json:"from"`
	Client   string         `json:"client"`
	Scope    string         `json:"scope"`
	Status   int            `json:"status"`
	Tokens   []string       `json:"tokens"`
	Response map[string]any `json:"response"`
	Token    string         `json:"token"`
	By       string         `json:"by"`
	Hint     string         `json:"hint"`
	Session  string         `json:"session"`
}

type moment struct {
	Name           string                 `json:"name"`
	Now            time.Time              `json:"now"`
	Tables         json.RawMessage        `json:"tables"`
	Introspections []parity.Introspection `json:"introspections"`
	Userinfo       []parity.Userinfo      `json:"userinfo"`
}

func readExport(t testing.TB, path string) export {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e export
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(e.Moments) == 0 {
		t.Fatalf("%s: no moments", path)
	}
	return e
}

// clock is a settable clock for a DB.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// loadMoment loads a moment's tables — the export's per-moment object of
// tables is the loader's input as it is — into a fresh DB whose clock reads
// the moment's now.
func loadMoment(t testing.TB, m moment, opts ...betterauth.Option) (*oauthdb.DB, betterauth.Report) {
	t.Helper()
	db, _, rep := load(t, m, opts...)
	return db, rep
}

// loadClocked is loadMoment, with the DB's clock to move.
func loadClocked(t testing.TB, m moment) (*oauthdb.DB, *clock) {
	t.Helper()
	db, c, _ := load(t, m)
	return db, c
}

func load(t testing.TB, m moment, opts ...betterauth.Option) (*oauthdb.DB, *clock, betterauth.Report) {
	t.Helper()
	c := &clock{now: m.Now}
	db, err := oauthdb.Open(oauthdb.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := betterauth.Load(db, bytes.NewReader(m.Tables), opts...)
	if err != nil {
		t.Fatalf("moment %s: %v", m.Name, err)
	}
	if err := db.Verify(); err != nil {
		t.Fatalf("moment %s: the loaded DB is inconsistent: %v", m.Name, err)
	}
	return db, c, rep
}

func openDB(t testing.TB) *oauthdb.DB {
	t.Helper()
	db, err := oauthdb.Open()
	if err != nil {
		t.Fatal(err)
	}
	return db
}

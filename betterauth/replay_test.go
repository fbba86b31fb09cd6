package betterauth_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/parity"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

// Rotation and revocation, as better-auth answers them: from better-auth's
// rows at moment now, oauthdb — its fake server over the loaded DB, on the
// same clock — takes every step the scenario took after it (revocations,
// the sign-out, refresh grants: narrowed, refused, rotated, replayed), and
// must answer each as better-auth did (status, error, whether a refresh
// token came, its scope), and give every token, at every later moment, the
// verdict better-auth gave it — the tokens it minted itself standing for
// those better-auth minted. The deliberate differences of the introspection
// test apply, and these of the steps:
var stepDifferences = []struct {
	name, reason string
	applies      func(s step, owner string) bool
}{
	{
		name: "revoking another client's revoked refresh token",
		reason: "better-auth answers 400 invalid_request \"refresh token revoked\" when a client revokes another's refresh " +
			"token that is revoked already, and changes nothing; the fake server changes nothing either and answers 200, " +
			"as RFC 7009 §2.2 asks of a token the caller cannot revoke",
		applies: func(s step, owner string) bool { return s.Step == "revoke" && s.Status == 400 && s.By != owner },
	},
	{
		name: "revoking its own revoked refresh token",
		reason: "better-auth answers 400 invalid_request \"refresh token revoked\" when the owner of a refresh token that " +
			"is revoked already revokes it again, and deletes its family (invalidateRefreshFamily); the fake server " +
			"answers 200, as RFC 7009 §2.2 asks, and DB.RevokeToken revokes the family (revoked set rather than rows " +
			"deleted, so that a later replay is recognised): every later verdict is the same",
		applies: func(s step, owner string) bool { return s.Step == "revoke" && s.Status == 400 && s.By == owner },
	},
}

func TestReplayMatchesBetterAuth(t *testing.T) {
	for _, d := range stepDifferences {
		t.Logf("deliberate difference %q: %s", d.name, d.reason)
	}
	for _, a := range adapters {
		t.Run(a, func(t *testing.T) { replayExport(t, readExport(t, samplePath(a))) })
	}
}

// replayed is oauthdb going through an export's steps.
type replayed struct {
	t       *testing.T
	e       export
	db      *oauthdb.DB
	clk     *clock
	srv     *oauthdbtest.Server
	plain   map[string]string // token name -> plaintext: better-auth's, or the one oauthdb minted for it
	owner   map[string]string // token name -> client name
	clients map[string]clientOf
	seen    map[string]int // step differences, by name: how many steps each covered
}

type clientOf struct{ id, secret string }

func replayExport(t *testing.T, e export) {
	start := e.Moments[0]
	if start.Name != "now" {
		t.Fatalf("first moment %s", start.Name)
	}
	db, clk := loadClocked(t, start)
	r := &replayed{t: t, e: e, db: db, clk: clk, srv: oauthdbtest.NewServer(t, db),
		plain: map[string]string{}, owner: map[string]string{}, clients: map[string]clientOf{}, seen: map[string]int{}}
	for _, c := range e.Clients {
		r.clients[c.Name] = clientOf{c.ClientID, c.ClientSecret}
	}
	names := map[string]string{}
	for _, c := range e.Clients {
		names[c.ClientID] = c.Name
	}
	later := map[string]bool{} // minted after now: oauthdb mints its own
	for _, s := range e.Steps {
		if s.At.After(start.Now) {
			for _, name := range s.Tokens {
				later[name] = true
			}
		}
	}
	for _, x := range e.Tokens {
		r.owner[x.Name] = names[x.ClientID]
		if !later[x.Name] {
			r.plain[x.Name] = x.Token // in the loaded rows
		}
	}
	steps, taken, verdicts := 0, 0, 0
	for _, m := range e.Moments[1:] {
		for steps < len(e.Steps) && !e.Steps[steps].At.After(m.Now) {
			if s := e.Steps[steps]; s.At.After(start.Now) {
				r.step(s)
				taken++
			}
			steps++
		}
		if m.Name == "sign-out-between" {
			continue // inside better-auth's sign-out, which oauthdb does in one transaction
		}
		r.clk.now = m.Now
		verdicts += r.compare(m)
	}
	if taken == 0 || verdicts == 0 {
		t.Fatalf("%s: %d steps replayed, %d verdicts compared", e.Adapter, taken, verdicts)
	}
	for _, d := range stepDifferences {
		if r.seen[d.name] == 0 {
			t.Errorf("%s: step difference %q is listed but no step shows it", e.Adapter, d.name)
		}
	}
	t.Logf("%s: %d steps replayed, %d verdicts compared", e.Adapter, taken, verdicts)
}

// step takes one step of the scenario and holds its answer to better-auth's.
func (r *replayed) step(s step) {
	t := r.t
	r.clk.now = s.At
	where := fmt.Sprintf("%s: step %s at %s", r.e.Adapter, s.Step, s.At.Format(time.RFC3339))
	switch s.Step {
	case "sign-out":
		id := ""
		for _, x := range r.e.Sessions {
			if x.Name == s.Session {
				id = x.ID
			}
		}
		if err := r.db.Update(func(tx *oauthdb.Tx) error { return tx.DeleteSession(id) }); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
	case "revoke":
		status, body := r.post(oauthdbtest.PathRevoke, s.By, url.Values{"token": {r.plain[s.Token]}, "token_type_hint": {s.Hint}})
		for _, d := range stepDifferences {
			if d.applies(s, r.owner[s.Token]) {
				r.seen[d.name]++
				if status != http.StatusOK {
					t.Errorf("%s: listed difference %q: oauthdb answers %d %v, want 200", where, d.name, status, body)
				}
				return
			}
		}
		if status != s.Status {
			t.Errorf("%s: %s revoking %s: oauthdb answers %d %v, better-auth %d %v", where, s.By, s.Token, status, body, s.Status, s.Response)
		}
	case "token":
		if s.Grant != oauthdbtest.GrantRefreshToken {
			t.Fatalf("%s: a %s grant after moment now", where, s.Grant)
		}
		form := url.Values{"grant_type": {s.Grant}, "refresh_token": {r.plain[s.From]}}
		if s.Scope != "" {
			form.Set("scope", s.Scope)
		}
		status, body := r.post(oauthdbtest.PathToken, r.owner[s.From], form)
		where += " (refresh of " + s.From + ")"
		if status != s.Status {
			t.Errorf("%s: oauthdb answers %d %v, better-auth %d %v", where, status, body, s.Status, s.Response)
			return
		}
		if status != http.StatusOK {
			if body["error"] != s.Response["error"] {
				t.Errorf("%s: oauthdb refuses with %v, better-auth with %v", where, body, s.Response)
			}
			return
		}
		_, gaveRefresh := body["refresh_token"].(string)
		if body["scope"] != s.Response["scope"] || gaveRefresh != (len(s.Tokens) == 2) {
			t.Errorf("%s: oauthdb answers scope %v, a refresh token %v; better-auth scope %v, tokens %v", where,
				body["scope"], gaveRefresh, s.Response["scope"], s.Tokens)
		}
		r.plain[s.Tokens[0]], _ = body["access_token"].(string)
		if gaveRefresh && len(s.Tokens) == 2 {
			r.plain[s.Tokens[1]] = body["refresh_token"].(string)
		}
	default:
		t.Fatalf("%s: a step oauthdb does not replay", where)
	}
}

// post sends a form to the fake server as a client: HTTP Basic with its
// secret, or its client_id alone for a public client.
func (r *replayed) post(path, client string, form url.Values) (int, map[string]any) {
	r.t.Helper()
	c := r.clients[client]
	if c.secret == "" {
		form.Set("client_id", c.id)
	}
	req, err := http.NewRequest(http.MethodPost, r.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.secret != "" {
		req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	}
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// compare holds oauthdb's verdict on every token of a moment to
// better-auth's, and returns how many it compared.
func (r *replayed) compare(m moment) int {
	userinfo := parity.UserinfoStatus(m.Userinfo)
	for _, in := range m.Introspections {
		plain, ok := r.plain[in.Token]
		if !ok {
			r.t.Errorf("%s/%s: better-auth has %s, oauthdb minted no token for it", r.e.Adapter, m.Name, in.Token)
			continue
		}
		x := r.token(in.Token)
		adapter := r.e.Adapter + " (replayed)"
		v := &parity.Verdict{Where: adapter + "/" + m.Name, Adapter: adapter, Moment: m.Name, Now: m.Now,
			Token: in.Token, Kind: x.Kind, Owner: r.owner[in.Token], Caller: in.CallerName, Status: in.Status,
			Theirs: parity.Restrict(in.Response), Userinfo: userinfo[in.Token], DB: r.db, CallerID: in.Caller}
		v.Ours, v.Err = parity.Introspect(r.db, plain, in.Caller)
		hash := r.db.Hash(plain)
		_ = r.db.View(func(tx *oauthdb.Tx) error {
			if a, err := tx.AccessTokenByHash(hash); err == nil {
				v.ExpiresAt = a.ExpiresAt
			} else if t, err := tx.RefreshTokenByHash(hash); err == nil {
				v.ExpiresAt = t.ExpiresAt
			}
			return nil
		})
		differences.Compare(r.t, v)
	}
	return len(m.Introspections)
}

func (r *replayed) token(name string) (x struct{ Kind string }) {
	for _, t := range r.e.Tokens {
		if t.Name == name {
			x.Kind = t.Kind
		}
	}
	return x
}

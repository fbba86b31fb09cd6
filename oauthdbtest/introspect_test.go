package oauthdbtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

// TestIntrospectAnswersAsServe: the fake server answers introspection
// with every field better-auth 1.7 (and oauthdb serve) answers — aud from
// the token's resources, azp, cnf, token_type DPoP for a token bound to a
// DPoP key — for both kinds of token.
func TestIntrospectAnswersAsServe(t *testing.T) {
	w := newWorld(t)
	const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	bound := oauthdbtest.Edit(func(a *oauthdb.OAuthAccessToken) {
		a.Confirmation = json.RawMessage(`{"jkt":"` + jkt + `"}`)
		a.Resources = []string{"https://api.example"}
	})
	at, a := w.fx.AccessToken(w.app, w.laptop, oauthdbtest.Scopes("openid", "read"), bound)
	rt, r := w.fx.RefreshToken(w.app, w.laptop, oauthdbtest.Scopes("openid", "read"),
		oauthdbtest.Edit(func(r *oauthdb.OAuthRefreshToken) { r.Confirmation = json.RawMessage(`{"jkt":"` + jkt + `"}`) }))
	introspect := func(tok string) map[string]any {
		got := do(t, w.srv, request{path: oauthdbtest.PathIntrospect, basic: w.basic(w.app), form: form("token", tok)})
		if got.status != http.StatusOK {
			t.Fatalf("introspection: %d %v", got.status, got.body)
		}
		return got.body
	}
	cnf := map[string]any{"jkt": jkt}
	want := map[string]any{"active": true, "iss": w.srv.URL, "aud": []any{"https://api.example", w.srv.URL + "/oauth2/userinfo"},
		"client_id": "app", "azp": "app", "sub": w.alice.ID, "sid": w.laptop.ID, "exp": float64(a.ExpiresAt.Unix()),
		"iat": float64(a.CreatedAt.Unix()), "scope": "openid read", "token_type": "DPoP", "cnf": cnf}
	if d := cmp.Diff(want, introspect(at)); d != "" {
		t.Errorf("a DPoP-bound access token with a resource (-want +got):\n%s", d)
	}
	want = map[string]any{"active": true, "iss": w.srv.URL, "client_id": "app", "sub": w.alice.ID, "sid": w.laptop.ID,
		"exp": float64(r.ExpiresAt.Unix()), "iat": float64(r.CreatedAt.Unix()), "scope": "openid read",
		"token_type": "DPoP", "cnf": cnf}
	if d := cmp.Diff(want, introspect(rt)); d != "" {
		t.Errorf("a DPoP-bound refresh token (-want +got):\n%s", d)
	}
}

// TestIntrospectPairwiseRefused: a token of a client with pairwise subject
// identifiers is refused 500, as oauthdb serve refuses it: the fake cannot
// compute better-auth's pairwise sub, and the user's own ID would defeat it.
func TestIntrospectPairwiseRefused(t *testing.T) {
	w := newWorld(t)
	pw := w.fx.Client(oauthdbtest.ClientID("pairwise"), oauthdbtest.Edit(func(c *oauthdb.OAuthClient) { c.SubjectType = "pairwise" }))
	at, _ := w.fx.AccessToken(pw, w.laptop)
	got := do(t, w.srv, request{path: oauthdbtest.PathIntrospect, basic: w.basic(pw), form: form("token", at)})
	wantError(t, got, http.StatusInternalServerError, "server_error")
	if strings.Contains(got.str("error_description")+got.str("sub"), w.alice.ID) {
		t.Errorf("the answer names the user: %v", got.body)
	}
}

// TestStaleReplicaUnavailable: over a replica DB that nothing vouches for,
// introspection and revocation answer 503 with Retry-After — never an
// inactive answer, which a caller would take for a revocation, nor a 401,
// which it would take for a bad secret — until the replica is fresh.
func TestStaleReplicaUnavailable(t *testing.T) {
	w := newWorld(t)
	at, _ := w.fx.AccessToken(w.app, w.laptop)
	replica, err := oauthdb.Open(oauthdb.WithReplica(), oauthdb.WithClock(w.fx.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	snap := w.fx.DB.Snapshot()
	if _, err := replica.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(snap) }); err != nil {
		t.Fatal(err)
	}
	srv := oauthdbtest.NewServer(t, replica)
	for _, path := range []string{oauthdbtest.PathIntrospect, oauthdbtest.PathRevoke} {
		got := do(t, srv, request{path: path, basic: w.basic(w.app), form: form("token", at)})
		wantError(t, got, http.StatusServiceUnavailable, "temporarily_unavailable")
		if got.header.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", path)
		}
	}
	replica.SetFreshUntil(w.fx.Clock.Now().Add(time.Minute))
	if got := do(t, srv, request{path: oauthdbtest.PathIntrospect, basic: w.basic(w.app), form: form("token", at)}); got.body["active"] != true {
		t.Errorf("once fresh: %d %v", got.status, got.body)
	}
}

// TestTwoAuthorizationHeaders: two Authorization headers are refused 400
// invalid_request, as a parameter repeated in the body is (RFC 6749 §3.2),
// at every endpoint that reads the header — rather than the first one
// winning silently.
func TestTwoAuthorizationHeaders(t *testing.T) {
	w := newWorld(t)
	at, _ := w.fx.AccessToken(w.app, w.laptop, oauthdbtest.Scopes("openid"))
	basic := w.basic(w.app)
	for _, tc := range []struct {
		path  string
		form  string
		other string
	}{
		{oauthdbtest.PathToken, "grant_type=client_credentials", "Basic " + basicValue(basic[0], basic[1])},
		{oauthdbtest.PathIntrospect, "token=" + at, "Basic " + basicValue(basic[0], basic[1])},
		{oauthdbtest.PathRevoke, "token=" + at, "Basic " + basicValue(basic[0], basic[1])},
		{oauthdbtest.PathUserInfo, "", "Bearer " + at},
	} {
		req, err := http.NewRequest(http.MethodPost, w.srv.URL+tc.path, strings.NewReader(tc.form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Add("Authorization", tc.other)
		req.Header.Add("Authorization", tc.other)
		resp, err := w.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Error string }
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusBadRequest || e.Error != "invalid_request" {
			t.Errorf("%s with two Authorization headers: %d %s, want 400 invalid_request", tc.path, resp.StatusCode, body)
		}
	}
}

// basicValue is the token68 of client_secret_basic credentials.
func basicValue(id, secret string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(id, secret)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

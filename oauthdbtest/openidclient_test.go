package oauthdbtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb/internal/testenv"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

// openidClientHarness is the Node harness that runs openid-client.
var openidClientHarness = filepath.Join("..", "interop", "openidclient")

// openidClientRun is what the harness saw.
type openidClientRun struct {
	Step, Error, Code string
	Sub, Email, Alg   string
	UserinfoEmail     string
	RefreshedSub      string
	Introspection     map[string]any
	RevokedUserinfo   any
}

// runOpenIDClient runs openid-client 6.9 (Node) against srv as the client
// c of fx, with args added to the harness's. The harness installs itself
// when it must (testenv.Node).
func runOpenIDClient(t *testing.T, srv *oauthdbtest.Server, fx *oauthdbtest.Fixtures, clientID, secret, redirect string, args ...string) openidClientRun {
	t.Helper()
	node := testenv.Node(t, openidClientHarness)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"login.mjs", "--issuer", srv.Issuer(), "--client-id", clientID,
		"--client-secret", secret, "--redirect-uri", redirect}, args...)...)
	cmd.Dir = openidClientHarness
	out, err := cmd.Output()
	var run openidClientRun
	if jerr := json.Unmarshal(out, &run); jerr != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node login.mjs: %v, %v\n%s\n%s", err, jerr, out, stderr)
	}
	if (err != nil) != (run.Error != "") {
		t.Fatalf("node login.mjs: %v\n%s", err, out)
	}
	return run
}

// TestOpenIDClient runs openid-client 6.9, which nobody here wrote, through
// every flow the fake server serves, on its defaults but for plain HTTP
// (allowInsecureRequests): with the DB's clock given to it (its clockSkew),
// with the DB's clock at the wall clock, and with better-auth's EdDSA.
func TestOpenIDClient(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []oauthdbtest.Option
		sopts []oauthdbtest.ServerOption
		skew  bool
		alg   string
	}{
		{name: "the DB's clock given to the relying party", skew: true, alg: "RS256"},
		{name: "the DB's clock at the wall clock", opts: []oauthdbtest.Option{oauthdbtest.WithStart(time.Now().Truncate(time.Second))}, alg: "RS256"},
		{name: "EdDSA, as better-auth signs", opts: []oauthdbtest.Option{oauthdbtest.WithStart(time.Now().Truncate(time.Second))},
			sopts: []oauthdbtest.ServerOption{oauthdbtest.WithSigningAlgorithm(oauthdbtest.EdDSA)}, alg: "EdDSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := oauthdbtest.New(t, tc.opts...)
			srv := oauthdbtest.NewServer(t, fx.DB, tc.sopts...)
			alice := fx.User(oauthdbtest.Email("alice@example.com"))
			// openid-client sends a client's secret in the form unless told
			// otherwise: the app is registered for that.
			app := fx.Client(oauthdbtest.SkipConsent(), oauthdbtest.AuthMethod("client_secret_post"))
			srv.LoginAs(fx.Session(alice))
			var args []string
			if tc.skew {
				args = []string{"--clock-skew=" + fmt.Sprint(int64(fx.Clock.Now().Sub(time.Now()).Seconds()))}
			}
			run := runOpenIDClient(t, srv, fx, app.ClientID, fx.Secret(app), app.RedirectURIs[0], args...)
			if run.Step != "done" || run.Sub != alice.ID || run.Email != "alice@example.com" || run.Alg != tc.alg ||
				run.UserinfoEmail != "alice@example.com" || run.RefreshedSub != alice.ID {
				t.Errorf("openid-client saw %+v", run)
			}
			if i := run.Introspection; i["active"] != true || i["sub"] != alice.ID || i["client_id"] != app.ClientID || i["token_type"] != "Bearer" {
				t.Errorf("introspection %v", i)
			}
			if run.RevokedUserinfo != float64(401) {
				t.Errorf("userinfo with the revoked token: %v, want 401", run.RevokedUserinfo)
			}
		})
	}
}

// TestOpenIDClientOnTheDefaultClock: on the kit's fixed default clock,
// openid-client on its defaults refuses the id_token — and the server's
// log says what to set, with the very clockSkew to give.
func TestOpenIDClientOnTheDefaultClock(t *testing.T) {
	fx := oauthdbtest.New(t)
	lt := &logTB{TB: t}
	srv := oauthdbtest.NewServer(lt, fx.DB)
	alice := fx.User()
	app := fx.Client(oauthdbtest.SkipConsent(), oauthdbtest.AuthMethod("client_secret_post"))
	srv.LoginAs(fx.Session(alice))
	run := runOpenIDClient(t, srv, fx, app.ClientID, fx.Secret(app), app.RedirectURIs[0])
	if run.Step != "code" || run.Code != "OAUTH_JWT_TIMESTAMP_CHECK_FAILED" {
		t.Errorf("openid-client on the 2026-01-01 clock: %+v, want the id_token refused for its timestamps", run)
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if len(lt.logs) != 1 || !strings.Contains(lt.logs[0], "[client.clockSkew]: -") {
		t.Errorf("the server's hint: %q", lt.logs)
	}
}

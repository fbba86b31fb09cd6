package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/pgtest"
)

// serve -postgres over a real Postgres with better-auth's schema, its
// connection and flags from the environment alone: it
// answers from the replica once loaded, a revocation committed in Postgres
// turns the answer inactive, and with Postgres down it fails closed (503)
// within -max-lag.
func TestServePostgres(t *testing.T) {
	srv := pgtest.Start(t)
	dbName := srv.CreateDatabase(t, pgtest.BetterAuthSchema)
	dsn := srv.DSN(dbName)
	exec := func(sql string, args ...any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	const secret, token = "api-secret", "an-access-token-better-auth-issued"
	exec(`INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") VALUES ('u1', 'Ada', 'ada@example.com', true, now(), now())`)
	exec(`INSERT INTO "oauthClient" (id, "clientId", "clientSecret", "redirectUris", "createdAt", "updatedAt")
		VALUES ('c1', 'api', $1, '["https://api.example/cb"]', now(), now())`, oauthdb.HashSecret(secret))
	exec(`INSERT INTO "oauthAccessToken" (id, token, "clientId", "userId", scopes, "expiresAt", "createdAt")
		VALUES ('a1', $1, 'api', 'u1', '["openid"]', now() + interval '1 hour', now())`, oauthdb.HashToken(token))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	// Everything but the listen address from the environment, as a
	// deployment sets it: the connection from libpq's PG* variables
	// (-postgres "" says so), the slot and the lag from OAUTHDB_*.
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"PGHOST": cfg.Host, "PGPORT": fmt.Sprint(cfg.Port), "PGUSER": cfg.User,
		"PGDATABASE": cfg.Database, "PGSSLMODE": "disable", "OAUTHDB_SLOT": "serve_test", "OAUTHDB_MAX_LAG": "2s",
		"OAUTHDB_STATE_DIR": t.TempDir()} {
		t.Setenv(k, v)
	}
	go func() {
		done <- serveMain(ctx, []string{"-listen", "127.0.0.1:0", "-postgres", ""}, &stderr, &stderr)
	}()
	base := waitListening(t, &stderr, done)
	client := &http.Client{Timeout: 10 * time.Second}
	introspect := func() (int, map[string]any) {
		hr, _ := http.NewRequest(http.MethodPost, base+pathIntrospect, strings.NewReader(url.Values{"token": {token}}.Encode()))
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		hr.SetBasicAuth("api", secret)
		res, err := client.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var got map[string]any
		_ = json.NewDecoder(res.Body).Decode(&got)
		return res.StatusCode, got
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s\n%s", what, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	healthz := func() int {
		res, err := client.Get(base + pathHealthz)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	eventually("ready", func() bool { return healthz() == http.StatusOK })
	if code, got := introspect(); code != http.StatusOK || got["active"] != true || got["sub"] != "u1" {
		t.Fatalf("before revocation: %d %v", code, got)
	}
	exec(`UPDATE "oauthAccessToken" SET revoked = now() WHERE id = 'a1'`)
	eventually("the revocation", func() bool {
		code, got := introspect()
		return code == http.StatusOK && got["active"] == false
	})
	res, err := client.Get(base + pathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	_, _ = metrics.ReadFrom(res.Body)
	res.Body.Close()
	for _, want := range []string{"oauthdb_ready 1", "oauthdb_replica_rows_refused_total 0", "# TYPE oauthdb_replica_slot_retained_bytes gauge",
		"# TYPE oauthdb_replica_state_written_timestamp_seconds gauge"} {
		if !strings.Contains(metrics.String(), want+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics.String())
		}
	}
	if strings.Contains(metrics.String(), "oauthdb_replica_rows_applied_total 0\n") {
		t.Errorf("/metrics counts no row applied:\n%s", metrics.String())
	}

	srv.Stop(t)
	eventually("failing closed with Postgres down", func() bool {
		code, _ := introspect()
		return code == http.StatusServiceUnavailable && healthz() == http.StatusServiceUnavailable
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if strings.Contains(stderr.String(), secret) || strings.Contains(stderr.String(), token) {
		t.Errorf("the log holds a secret:\n%s", stderr.String())
	}
}

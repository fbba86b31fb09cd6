package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oauthdb/oauthdb/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func query(t *testing.T, dsn, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	res, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return string(res[len(res)-1].Rows[0][0])
}

func TestServerIsReadyForLogicalReplication(t *testing.T) {
	s := pgtest.Start(t)
	dsn := s.DSN("postgres")
	if got := query(t, dsn, "SHOW wal_level"); got != "logical" {
		t.Errorf("wal_level = %q, want logical", got)
	}
	if got := query(t, dsn, "SELECT rolreplication AND rolsuper FROM pg_roles WHERE rolname = current_user"); got != "t" {
		t.Errorf("the role may not replicate: %q", got)
	}
	if got := query(t, dsn, "SHOW server_version_num"); got < "150000" {
		t.Errorf("server_version_num = %s, want PostgreSQL 15 or later", got)
	}
}

func TestCreateDatabaseRunsTheSchema(t *testing.T) {
	s := pgtest.Start(t)
	db := s.CreateDatabase(pgtest.BetterAuthSchema)
	got := query(t, s.DSN(db), `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`)
	if got != "9" {
		t.Errorf("%s tables in public, want 9", got)
	}
	if other := s.CreateDatabase(); other == db {
		t.Errorf("two databases named %s", db)
	}
}

// Data committed before a stop or a kill is there after the restart: the
// fault tests rely on Kill being a crash of Postgres, not of the disk.
func TestRestartAndKillKeepCommittedData(t *testing.T) {
	s := pgtest.Start(t)
	db := s.CreateDatabase("CREATE TABLE t (n int); INSERT INTO t VALUES (1)")
	s.Restart()
	if err := s.Exec(context.Background(), db, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	s.Start()
	if got := query(t, s.DSN(db), "SELECT sum(n) FROM t"); got != "3" {
		t.Errorf("sum = %s after restart and kill, want 3", got)
	}
}

// A connection open when the server is killed is broken, not hung.
func TestKillBreaksConnections(t *testing.T) {
	s := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	s.Kill()
	if _, err := conn.Exec(ctx, "SELECT 1").ReadAll(); err == nil {
		t.Fatal("a query on a connection to a killed server succeeded")
	}
	s.Start()
}

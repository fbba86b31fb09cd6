package pgtest_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oauthdb/oauthdb/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// query runs a query and returns the first column of its first row.
func query(t *testing.T, dsn, sql string) string {
	t.Helper()
	r := rows(t, dsn, sql)
	if len(r) == 0 {
		t.Fatalf("%s: no row", sql)
	}
	return r[0][0]
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
	s := pgtest.Shared(t)
	db := s.CreateDatabase(t, pgtest.BetterAuthSchema)
	got := query(t, s.DSN(db), `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'`)
	if got != "12" {
		t.Errorf("%s tables in public, want 12", got)
	}
	if other := s.CreateDatabase(t); other == db {
		t.Errorf("two databases named %s", db)
	}
}

// Data committed before a stop or a kill is there after the restart: the
// fault tests rely on Kill being a crash of Postgres, not of the disk.
func TestRestartAndKillKeepCommittedData(t *testing.T) {
	s := pgtest.Start(t)
	db := s.CreateDatabase(t, "CREATE TABLE t (n int); INSERT INTO t VALUES (1)")
	s.Restart(t)
	if err := s.Exec(context.Background(), db, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	s.Kill(t)
	s.Start(t)
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
	s.Kill(t)
	if _, err := conn.Exec(ctx, "SELECT 1").ReadAll(); err == nil {
		t.Fatal("a query on a connection to a killed server succeeded")
	}
	s.Start(t)
}

// The shared server is one for all the tests of the binary, refuses to be
// stopped, and drops each test's databases, slots included, when it ends.
func TestSharedServer(t *testing.T) {
	s := pgtest.Shared(t)
	if pgtest.Shared(t) != s {
		t.Fatal("two shared servers")
	}
	var db string
	t.Run("user", func(t *testing.T) {
		db = s.CreateDatabase(t)
		ctx := context.Background()
		conn, err := pgconn.Connect(ctx, s.DSN(db)+" replication=database")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE_REPLICATION_SLOT kept LOGICAL pgoutput").ReadAll(); err != nil {
			t.Fatal(err)
		}
	})
	if got := query(t, s.DSN("postgres"), "SELECT count(*) FROM pg_database WHERE datname = '"+db+"'"); got != "0" {
		t.Errorf("database %s still there after its test", db)
	}
	if got := query(t, s.DSN("postgres"), "SELECT count(*) FROM pg_replication_slots"); got != "0" {
		t.Errorf("%s slots left after the test that made them", got)
	}
}

// BetterAuthSchema is a copy of the DDL the better-auth harness dumps
// (go:embed cannot reach outside the package): the two must not drift.
func TestBetterAuthSchemaIsTheHarnessDump(t *testing.T) {
	dump, err := os.ReadFile("../../interop/betterauth/postgres-schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	_, copied, ok := strings.Cut(pgtest.BetterAuthDump, "below this line. pgtest strips the psql meta-commands (\\restrict, \\unrestrict) before running it.\n")
	if !ok {
		t.Fatal("testdata/betterauth-schema.sql lost its header")
	}
	if copied != string(dump) {
		t.Error("testdata/betterauth-schema.sql differs from interop/betterauth/postgres-schema.sql: copy the harness's dump again")
	}
}

// The copy is better-auth's DDL, not only by its text: run on Postgres, it
// makes the tables better-auth made in the committed Postgres export — the
// same columns, of the same types, nullability and defaults, and the same
// indexes — and its header names the release the export was made with.
func TestBetterAuthSchemaMakesTheExportsTables(t *testing.T) {
	data, err := os.ReadFile("../../interop/betterauth/samples/betterauth-postgres.json")
	if err != nil {
		t.Fatal(err)
	}
	var export struct {
		BetterAuth string                   `json:"betterAuth"`
		Schema     map[string]exportedTable `json:"schema"`
	}
	if err := json.Unmarshal(data, &export); err != nil {
		t.Fatal(err)
	}
	if want := "-- better-auth " + export.BetterAuth + " + @better-auth/oauth-provider " + export.BetterAuth + " "; !strings.Contains(pgtest.BetterAuthDump, want) {
		t.Errorf("testdata/betterauth-schema.sql does not say %q: it is not the DDL of the export's release", want)
	}
	s := pgtest.Shared(t)
	db := s.CreateDatabase(t, pgtest.BetterAuthSchema)
	got := map[string]exportedTable{}
	for _, r := range rows(t, s.DSN(db), `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`) {
		table := r[0]
		var et exportedTable
		for _, c := range rows(t, s.DSN(db), `SELECT column_name, CASE data_type WHEN 'ARRAY' THEN udt_name ELSE data_type END,
			is_nullable, coalesce(column_default, '<null>') FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = '`+table+`' ORDER BY ordinal_position`) {
			col := exportedColumn{Name: c[0], Type: c[1], Nullable: c[2] == "YES"}
			if c[3] != "<null>" {
				col.Default = &c[3]
			}
			et.Columns = append(et.Columns, col)
		}
		for _, ix := range rows(t, s.DSN(db), `SELECT indexname, indexdef FROM pg_indexes
			WHERE schemaname = 'public' AND tablename = '`+table+`' ORDER BY indexname`) {
			et.Indexes = append(et.Indexes, exportedIndex{Name: ix[0], SQL: ix[1]})
		}
		got[table] = et
	}
	// The export ran in a schema of its own.
	want := map[string]exportedTable{}
	for name, et := range export.Schema {
		for i := range et.Indexes {
			et.Indexes[i].SQL = strings.Replace(et.Indexes[i].SQL, " ON oauthdb_interop_export.", " ON public.", 1)
		}
		want[name] = et
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the tables testdata/betterauth-schema.sql makes differ from the export's (-export +DDL):\n%s", diff)
	}
}

// exportedTable is a table as the harness's Postgres export describes it
// (information_schema.columns and pg_indexes).
type exportedTable struct {
	Columns []exportedColumn `json:"columns"`
	Indexes []exportedIndex  `json:"indexes"`
}

type exportedColumn struct {
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Nullable bool    `json:"nullable"`
	Default  *string `json:"default"`
}

type exportedIndex struct {
	Name string `json:"name"`
	SQL  string `json:"sql"`
}

// rows runs a query and returns its rows as text.
func rows(t *testing.T, dsn, sql string) [][]string {
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
	var out [][]string
	for _, r := range res[len(res)-1].Rows {
		row := make([]string, len(r))
		for i, v := range r {
			row[i] = string(v)
		}
		out = append(out, row)
	}
	return out
}

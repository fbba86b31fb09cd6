package pgreplica_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/oauthdb/oauthdb/pgreplica"
)

const (
	insertUser    = `INSERT INTO "user" (id, name, email, "emailVerified", "createdAt", "updatedAt") VALUES ($1, $1, $1 || '@example.com', true, now(), now())`
	insertSession = `INSERT INTO "session" (id, "expiresAt", token, "updatedAt", "userId") VALUES ($1, now() + interval '1 day', $1 || '-token', now(), $2)`
	insertClient  = `INSERT INTO "oauthClient" (id, "clientId", "redirectUris", metadata) VALUES ($1, $1 || '-cid', '["https://app.example/cb"]', $2::jsonb)`
	insertRefresh = `INSERT INTO "oauthRefreshToken" (id, token, "clientId", "sessionId", "userId", scopes, "expiresAt", "createdAt") VALUES ($1, $1 || '-hash', $2 || '-cid', $3, $4, '["openid"]', now() + interval '30 days', now())`
	insertAccess  = `INSERT INTO "oauthAccessToken" (id, token, "clientId", "sessionId", "userId", "refreshId", scopes, "expiresAt", "createdAt") VALUES ($1, $1 || '-hash', $2 || '-cid', $3, $4, $5, '["openid"]', now() + interval '1 hour', now())`
)

// changesOf returns the changes of the transactions applied since the
// recorder's txns had n entries, flattened.
func changesOf(txns []pgreplica.Txn) []pgreplica.Change {
	var out []pgreplica.Change
	for _, tx := range txns {
		out = append(out, tx.Changes...)
	}
	return out
}

// summary is a change as "OP table id", for comparing sequences.
func summary(c pgreplica.Change) string {
	id := c.New["id"].Text
	if c.Key != nil {
		id = c.Key["id"].Text
	}
	return c.Op.String() + " " + c.Table + " " + id
}

// The snapshot holds what was committed before the replica started, the
// stream everything after, once each and in commit order, and the two meet:
// the sink ends up holding what Postgres does.
func TestLoadThenStream(t *testing.T) {
	e := newEnv(t)
	e.exec(insertUser, "u1")
	e.exec(insertClient, "c1", `{"a": 1}`)
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	r.waitFor(t, e.walLSN())

	loads, _, _, _ := sink.snapshot()
	if len(loads) != 1 {
		t.Fatalf("%d loads, want 1", len(loads))
	}
	var names []string
	for _, tb := range loads[0].Tables {
		names = append(names, tb.Name)
	}
	if !slices.Equal(names, pgreplica.DefaultTables) {
		t.Errorf("snapshot tables %v, want %v", names, pgreplica.DefaultTables)
	}

	for i, id := range []string{"u2", "u3", "u4"} {
		e.exec(insertUser, id)
		e.exec(insertSession, "s"+id, id)
		if i == 1 {
			e.exec(`UPDATE "user" SET name = 'renamed' WHERE id = $1`, id)
		}
	}
	e.exec(`DELETE FROM "user" WHERE id = 'u2'`)
	e.converged(r, sink, pgreplica.DefaultTables)
	sink.checkOrder(t)

	_, txns, _, _ := sink.snapshot()
	// 3 × (user, session), 1 update, 1 delete (with its cascade).
	if len(txns) != 8 {
		t.Errorf("%d transactions applied, want 8", len(txns))
	}
	if st := r.Status(); !st.Loaded || !st.Connected || st.Applied != 8 || st.Loads != 1 || st.CaughtUpAt.IsZero() {
		t.Errorf("status %+v", st)
	}
}

// Under the default replica identity a DELETE carries only the primary key,
// and an UPDATE carries no old values at all: its Key is taken from the new
// row.
func TestDeleteAndUpdateCarryOnlyTheKey(t *testing.T) {
	e := newEnv(t)
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	e.exec(insertUser, "u1")
	e.exec(`UPDATE "user" SET name = 'n2' WHERE id = 'u1'`)
	e.exec(`DELETE FROM "user" WHERE id = 'u1'`)
	r.waitFor(t, e.walLSN())
	_, txns, _, _ := sink.snapshot()
	cs := changesOf(txns)
	if len(cs) != 3 {
		t.Fatalf("changes %v", cs)
	}
	upd, del := cs[1], cs[2]
	if upd.Op != pgreplica.Update || len(upd.Key) != 1 || upd.Key["id"].Text != "u1" || upd.New["name"].Text != "n2" {
		t.Errorf("update: %+v", upd)
	}
	if del.Op != pgreplica.Delete || len(del.Key) != 1 || del.Key["id"].Text != "u1" || del.New != nil {
		t.Errorf("delete: %+v", del)
	}
	if del.Key["id"].TypeOID != pgtype.TextOID {
		t.Errorf("id type %d, want text", del.Key["id"].TypeOID)
	}
}

// An UPDATE that leaves a TOASTed value alone does not send it: the column
// arrives Unchanged, and the recorder keeps the value it had.
func TestUpdateLeavesToastedValueUnchanged(t *testing.T) {
	e := newEnv(t)
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	// md5 hex is poorly compressible: 40 kB stays well over the TOAST
	// threshold after compression, so it is stored out of line.
	e.exec(`INSERT INTO "oauthClient" (id, "clientId", "redirectUris", metadata)
		VALUES ('c1', 'c1-cid', '[]', jsonb_build_object('blob', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 1250) i)))`)
	e.exec(`UPDATE "oauthClient" SET name = 'renamed' WHERE id = 'c1'`)
	e.exec(`UPDATE "oauthClient" SET metadata = '{"small": true}' WHERE id = 'c1'`)
	e.converged(r, sink, pgreplica.DefaultTables)
	_, txns, _, _ := sink.snapshot()
	cs := changesOf(txns)
	if len(cs) != 3 {
		t.Fatalf("changes %v", cs)
	}
	if v := cs[0].New["metadata"]; v.Unchanged || len(v.Text) < 40000 {
		t.Errorf("insert: metadata %d bytes, unchanged %v; want the whole value", len(v.Text), v.Unchanged)
	}
	if v := cs[1].New["metadata"]; !v.Unchanged || v.Text != "" || v.TypeOID != pgtype.JSONBOID {
		t.Errorf("rename: metadata %+v, want Unchanged jsonb", v)
	}
	if v := cs[1].New["name"]; v.Text != "renamed" {
		t.Errorf("rename: name %+v", v)
	}
	if v := cs[2].New["metadata"]; v.Unchanged || v.Text != `{"small": true}` {
		t.Errorf("new metadata: %+v", v)
	}
}

// The foreign keys' actions are changes of their own, in the transaction of
// the delete that caused them, after it: deleting a client deletes its
// tokens (CASCADE); deleting a session sets its tokens' sessionId to NULL.
func TestForeignKeyActionsAreChangesOfTheirOwn(t *testing.T) {
	e := newEnv(t)
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	e.exec(insertUser, "u1")
	e.exec(insertSession, "s1", "u1")
	e.exec(insertClient, "c1", `{}`)
	e.exec(insertRefresh, "r1", "c1", "s1", "u1")
	e.exec(insertAccess, "a1", "c1", "s1", "u1", "r1")
	e.exec(insertAccess, "a2", "c1", "s1", "u1", nil)
	r.waitFor(t, e.walLSN())
	_, before, _, _ := sink.snapshot()

	e.exec(`DELETE FROM "session" WHERE id = 's1'`)
	e.exec(`DELETE FROM "oauthClient" WHERE id = 'c1'`)
	e.converged(r, sink, pgreplica.DefaultTables)
	_, txns, _, _ := sink.snapshot()
	txns = txns[len(before):]
	if len(txns) != 2 {
		t.Fatalf("%d transactions, want 2", len(txns))
	}
	got := [][]string{}
	for _, tx := range txns {
		var s []string
		for _, c := range tx.Changes {
			s = append(s, summary(c))
		}
		slices.Sort(s[1:]) // the order among the foreign keys' own changes is Postgres' business
		got = append(got, s)
	}
	want := [][]string{
		{"DELETE session s1", "UPDATE oauthAccessToken a1", "UPDATE oauthAccessToken a2", "UPDATE oauthRefreshToken r1"},
		{"DELETE oauthClient c1", "DELETE oauthAccessToken a1", "DELETE oauthAccessToken a2", "DELETE oauthRefreshToken r1"},
	}
	slices.Sort(want[1][1:])
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("changes:\n got %q\nwant %q", got, want)
	}
	for _, c := range txns[0].Changes[1:] {
		if v := c.New["sessionId"]; !v.Null {
			t.Errorf("%s: sessionId %+v, want NULL", summary(c), v)
		}
	}
}

// What Postgres' text form of each kind of column looks like, and that the
// snapshot and the stream agree on it: one decoder serves both.
func TestTextFormsAgreeBetweenLoadAndStream(t *testing.T) {
	e := newEnv(t, `CREATE TABLE "kinds" (id text PRIMARY KEY, j jsonb, ts timestamptz, b boolean, arr text[], n bigint)`)
	const row = `INSERT INTO "kinds" VALUES ($1, '{"b": [1, "x"], "a": null}', '2026-03-04 05:06:07.089+02', true, ARRAY['a', 'b c', 'd"e', NULL], 42)`
	e.exec(row, "loaded")
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1", Tables: []string{"kinds"}}, sink)
	e.exec(row, "streamed")
	e.converged(r, sink, []string{"kinds"})

	got := sink.Tables()["kinds"]
	want := pgreplica.Row{
		"j":   {Text: `{"a": null, "b": [1, "x"]}`, TypeOID: pgtype.JSONBOID},
		"ts":  {Text: "2026-03-04 03:06:07.089+00", TypeOID: pgtype.TimestamptzOID},
		"b":   {Text: "t", TypeOID: pgtype.BoolOID},
		"arr": {Text: `{a,"b c","d\"e",NULL}`, TypeOID: pgtype.TextArrayOID},
		"n":   {Text: "42", TypeOID: pgtype.Int8OID},
	}
	for _, id := range []string{"loaded", "streamed"} {
		for col, w := range want {
			if g := got[id][col]; g != w {
				t.Errorf("%s.%s = %+v, want %+v", id, col, g, w)
			}
		}
	}
}

// A relation message that comes again after ALTER TABLE changed the
// columns makes the replica resync: the stream says nothing of the rows the
// sink already holds, which lose a dropped column or gain an added one.
func TestSchemaChangeMidStreamResyncs(t *testing.T) {
	e := newEnv(t)
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	e.exec(insertUser, "u1")
	r.waitFor(t, e.walLSN())
	e.exec(`ALTER TABLE "user" ADD COLUMN "role" text`)
	e.exec(insertUser, "u2")
	e.exec(`UPDATE "user" SET "role" = 'admin' WHERE id = 'u1'`)
	e.exec(`ALTER TABLE "user" DROP COLUMN "image"`)
	e.exec(insertUser, "u3")
	e.converged(r, sink, pgreplica.DefaultTables)
	if st := r.Status(); st.Loads < 2 {
		t.Errorf("%d loads after two ALTER TABLEs, want a resync", st.Loads)
	}
}

// TRUNCATE arrives as a change per truncated table, cascaded ones included.
func TestTruncate(t *testing.T) {
	e := newEnv(t)
	sink := newRecorder()
	r := e.startReplica(pgreplica.Config{Slot: "r1"}, sink)
	e.exec(insertUser, "u1")
	e.exec(insertSession, "s1", "u1")
	e.exec(`TRUNCATE "user" CASCADE`)
	e.converged(r, sink, pgreplica.DefaultTables)
	_, txns, _, _ := sink.snapshot()
	last := txns[len(txns)-1]
	var tables []string
	for _, c := range last.Changes {
		if c.Op != pgreplica.Truncate {
			t.Errorf("change %s in the TRUNCATE transaction", summary(c))
		}
		tables = append(tables, c.Table)
	}
	if !slices.Contains(tables, "user") || !slices.Contains(tables, "session") {
		t.Errorf("truncated %s, want user and session among them", strings.Join(tables, ", "))
	}
}

package pgreplica

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oauthdb/oauthdb"
)

// Shared marks (FollowerConfig.SharedMarks). Every Follower that follows
// the stream from before an event makes the same marks (they are a function
// of the stream), but one that starts later loads the rows as they are and
// knows nothing of what made a token inactive before: a revocation since
// undone, a sign-out stopped halfway. With shared marks, each Follower
// writes the marks it makes into a table of oauthdb's own in Postgres,
// MarksTable, which is in the publication: every Follower takes the marks
// of the others from its load and its stream.
//
// The table holds one row per marked token: its kind, id and stored hash
// (a mark holds for that row only) and the time of the mark. A Follower
// writes what it marked every StatusInterval (INSERT ... ON CONFLICT DO
// NOTHING: all of them write the same marks) and deletes the rows whose
// token is gone; the first Follower creates the table. Its role needs
// CREATE on the schema (or the table made beforehand), INSERT and DELETE on
// the table, and to own the publication and the table if the publication
// must be extended with it.

// MarksTable is the table of shared marks.
const MarksTable = "oauthdb_mark"

// marksDDL makes the table of shared marks; %s is the schema, quoted.
const marksDDL = `CREATE TABLE IF NOT EXISTS %s.` + MarksTable + ` (
	kind text NOT NULL CHECK (kind IN ('a', 'r')),
	token_id text NOT NULL,
	token text NOT NULL,
	marked_at timestamptz NOT NULL,
	PRIMARY KEY (kind, token_id)
)`

// markKinds are the kinds of a mark's row, by the token's table.
var markKinds = map[string]string{oauthdb.TableOAuthAccessToken: "a", oauthdb.TableOAuthRefreshToken: "r"}

// markOf returns the mark a row of the marks table says, and whether it is
// one.
func markOf(row Row) (oauthdb.Mark, bool) {
	var m oauthdb.Mark
	for table, kind := range markKinds {
		if row["kind"].Text == kind {
			m.Table = table
		}
	}
	m.ID, m.Token = row["token_id"].Text, row["token"].Text
	at, err := time.Parse("2006-01-02 15:04:05.999999-07", row["marked_at"].Text)
	if err != nil || m.Table == "" || m.ID == "" || m.Token == "" {
		return oauthdb.Mark{}, false
	}
	m.At = at.UTC()
	return m, true
}

// shareMarks writes the DB's marks to the marks table every interval, and
// deletes the rows whose token is gone, until ctx is done. It retries what
// fails (the marks wait in the DB meanwhile) and logs it.
func (f *Follower) shareMarks(ctx context.Context) {
	schema := quoteIdent(f.r.cfg.Schema)
	table := schema + "." + MarksTable
	written := map[string]bool{} // kind/id of the marks known to be in the table
	var conn *pgconn.PgConn
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	t := time.NewTicker(f.r.cfg.StatusInterval)
	defer t.Stop()
	for {
		err := func() error {
			if conn == nil || conn.IsClosed() {
				c, err := f.r.connect(ctx, false)
				if err != nil {
					return err
				}
				conn = c
				if _, err := conn.Exec(ctx, fmt.Sprintf(marksDDL, schema)).ReadAll(); err != nil {
					return err
				}
			}
			return f.writeMarks(ctx, conn, table, written)
		}()
		if err != nil && ctx.Err() == nil {
			f.log.Warn("pgreplica: cannot share marks", "slot", f.r.cfg.Slot, "err", err)
			if conn != nil {
				closeConn(conn)
				conn = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// marksPerInsert bounds the rows of one INSERT (four parameters each, of
// Postgres' 65,535).
const marksPerInsert = 1000

// writeMarks writes the marks not yet written, in one statement, and
// deletes the rows of tokens that are gone.
func (f *Follower) writeMarks(ctx context.Context, conn *pgconn.PgConn, table string, written map[string]bool) error {
	marks := f.db.Marks()
	now := make(map[string]bool, len(marks))
	var pending []oauthdb.Mark
	for _, m := range marks {
		key := markKinds[m.Table] + "/" + m.ID
		now[key] = true
		if !written[key] {
			pending = append(pending, m)
		}
	}
	for batch := range slices.Chunk(pending, marksPerInsert) {
		values := make([]string, len(batch))
		args := make([]string, 0, 4*len(batch))
		for i, m := range batch {
			n := len(args)
			values[i] = fmt.Sprintf("($%d, $%d, $%d, $%d::timestamptz)", n+1, n+2, n+3, n+4)
			args = append(args, markKinds[m.Table], m.ID, m.Token, m.At.Format(time.RFC3339Nano))
		}
		_, err := query(ctx, conn, `INSERT INTO `+table+` (kind, token_id, token, marked_at) VALUES `+
			strings.Join(values, ", ")+` ON CONFLICT (kind, token_id) DO NOTHING`, args...)
		if err != nil {
			return err
		}
		for _, m := range batch {
			written[markKinds[m.Table]+"/"+m.ID] = true
		}
	}
	for key := range written {
		if !now[key] {
			delete(written, key)
		}
	}
	// A row outlives its mark only while its token does.
	schema := quoteIdent(f.r.cfg.Schema)
	_, err := query(ctx, conn, `DELETE FROM `+table+` m WHERE
		(m.kind = 'a' AND NOT EXISTS (SELECT 1 FROM `+schema+`."oauthAccessToken" t WHERE t.id = m.token_id)) OR
		(m.kind = 'r' AND NOT EXISTS (SELECT 1 FROM `+schema+`."oauthRefreshToken" t WHERE t.id = m.token_id))`)
	return err
}

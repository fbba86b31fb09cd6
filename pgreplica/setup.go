package pgreplica

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATEs that say the slot cannot stream what the sink needs.
const (
	sqlstateUndefinedObject  = "42704" // the slot does not exist
	sqlstateNotInPrereqState = "55000" // the slot was invalidated
	sqlstateUndefinedFile    = "58P01" // its WAL was removed
)

// session is one connection's life: set up, load if needed, stream. It
// reports whether it got as far as streaming, which resets the backoff.
func (r *Replica) session(ctx context.Context) (streamed bool, err error) {
	repl, err := r.connect(ctx, true)
	if err != nil {
		return false, &SetupError{Step: "connect for replication", Err: err}
	}
	defer closeConn(repl)
	sys, err := pglogrepl.IdentifySystem(ctx, repl)
	if err != nil {
		return false, &SetupError{Step: "identify the primary", Err: err}
	}
	if !r.pos.identified(sys.SystemID, r.resumeSystemID) {
		r.log.Warn("pgreplica: the state to resume is of another cluster; loading", "state", r.resumeSystemID, "primary", sys.SystemID)
		r.pos.unload()
	}
	r.resumeSystemID = ""
	if err := r.prepare(ctx, repl); err != nil {
		return false, err
	}
	loaded, from := r.pos.position()
	if !loaded {
		return false, errors.New("pgreplica: internal error: streaming without a load")
	}
	if r.fromSlot {
		from = 0 // Postgres starts from the greater of this and the slot's position
	}
	if err := r.startReplication(ctx, repl, from); err != nil {
		return false, err
	}
	hb, err := r.connect(ctx, false)
	if err != nil {
		return false, &SetupError{Step: "connect for heartbeats", Err: err}
	}
	defer closeConn(hb)
	r.pos.connected(true)
	r.log.Info("pgreplica: streaming", "from", from)

	// The heartbeats run beside the stream; when they fail, the session
	// ends with their error.
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		if err := r.heartbeats(sctx, hb); err != nil {
			cancel(err)
		}
	}()
	err = r.stream(sctx, repl)
	if ctx.Err() == nil && sctx.Err() != nil {
		err = context.Cause(sctx)
	}
	cancel(nil)
	<-beating
	return true, err
}

// prepare makes sure the publication exists and the slot can resume the
// sink's position, and when it cannot, makes a new slot and loads the sink
// from its snapshot. It uses a second, ordinary connection, closed before
// streaming starts.
func (r *Replica) prepare(ctx context.Context, repl *pgconn.PgConn) error {
	setupCtx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	conn, err := r.connect(setupCtx, false)
	if err != nil {
		return &SetupError{Step: "connect", Err: err}
	}
	defer closeConn(conn)

	changed, err := r.ensurePublication(setupCtx, conn)
	if err != nil {
		return &SetupError{Step: "publication " + r.cfg.Publication, Err: err}
	}
	if changed {
		// Tables just added to the publication have rows the sink never saw.
		r.pos.unload()
	}
	if r.cfg.TemporarySlot {
		// The last session's slot went with its connection.
		r.pos.unload()
	}
	loaded, applied := r.pos.position()
	if loaded {
		reason, err := r.checkSlot(setupCtx, conn, applied)
		if err != nil {
			return &SetupError{Step: "inspect slot", Err: err}
		}
		if reason == "" {
			return nil
		}
		r.log.Warn("pgreplica: cannot resume the slot; resyncing", "reason", reason, "applied", applied)
		r.pos.unload()
	}
	if err := r.dropSlot(setupCtx, conn); err != nil {
		return &SetupError{Step: "drop old slot", Err: err}
	}
	// Creating the slot waits for the transactions running on the primary
	// to end, however long they take: only ctx bounds it, as it does the
	// load.
	kind := ""
	if r.cfg.TemporarySlot {
		kind = "TEMPORARY "
	}
	slot, err := pglogrepl.ParseCreateReplicationSlot(repl.Exec(ctx,
		"CREATE_REPLICATION_SLOT "+r.cfg.Slot+" "+kind+"LOGICAL pgoutput (SNAPSHOT 'export')"))
	if err != nil {
		return &SetupError{Step: "create slot", Err: err}
	}
	lsn, err := pglogrepl.ParseLSN(slot.ConsistentPoint)
	if err != nil {
		return &SetupError{Step: "create slot", Err: err}
	}
	return r.load(ctx, conn, slot.SnapshotName, lsn)
}

// connect opens a connection from the DSN with SessionSettings, for logical
// replication when repl is set.
func (r *Replica) connect(ctx context.Context, repl bool) (*pgconn.PgConn, error) {
	cfg, err := pgconn.ParseConfig(r.cfg.DSN)
	if err != nil {
		return nil, errors.New("the DSN cannot be parsed")
	}
	maps.Copy(cfg.RuntimeParams, sessionSettings)
	if repl {
		cfg.RuntimeParams["replication"] = "database"
	} else {
		delete(cfg.RuntimeParams, "replication")
	}
	cfg.RuntimeParams["application_name"] = "pgreplica " + r.cfg.Slot
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	return pgconn.ConnectConfig(ctx, cfg)
}

// closeConn closes a connection, politely but without waiting long: a dead
// primary must not hold up a reconnect.
func closeConn(c *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// ensurePublication creates the publication for the tables, or adds to it
// those it lacks. It reports whether it changed anything.
func (r *Replica) ensurePublication(ctx context.Context, conn *pgconn.PgConn) (changed bool, err error) {
	res, err := query(ctx, conn,
		`SELECT pubinsert AND pubupdate AND pubdelete AND pubtruncate, puballtables FROM pg_publication WHERE pubname = $1`,
		r.cfg.Publication)
	if err != nil {
		return false, err
	}
	if len(res.Rows) == 0 {
		_, err := conn.Exec(ctx, "CREATE PUBLICATION "+quoteIdent(r.cfg.Publication)+" FOR TABLE "+r.tableList(r.cfg.Tables)).ReadAll()
		if err != nil {
			return false, err
		}
		r.log.Info("pgreplica: created publication", "publication", r.cfg.Publication)
		return true, nil
	}
	if string(res.Rows[0][0]) != "t" {
		return false, errors.New("it does not publish every kind of change (insert, update, delete, truncate)")
	}
	if string(res.Rows[0][1]) == "t" {
		return false, nil // FOR ALL TABLES
	}
	res, err = query(ctx, conn,
		`SELECT tablename FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2`,
		r.cfg.Publication, r.cfg.Schema)
	if err != nil {
		return false, err
	}
	present := make(map[string]bool, len(res.Rows))
	for _, row := range res.Rows {
		present[string(row[0])] = true
	}
	var missing []string
	for _, t := range r.cfg.Tables {
		if !present[t] {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	_, err = conn.Exec(ctx, "ALTER PUBLICATION "+quoteIdent(r.cfg.Publication)+" ADD TABLE "+r.tableList(missing)).ReadAll()
	if err != nil {
		return false, err
	}
	r.log.Info("pgreplica: added tables to the publication", "publication", r.cfg.Publication, "tables", missing)
	return true, nil
}

// checkSlot says why the slot cannot resume from applied, or "" when it can.
// Postgres resumes a slot from its confirmed position: a slot acknowledged
// past applied would skip transactions the sink never saw.
func (r *Replica) checkSlot(ctx context.Context, conn *pgconn.PgConn, applied LSN) (string, error) {
	res, err := query(ctx, conn,
		`SELECT plugin, database = current_database(), confirmed_flush_lsn, wal_status, pg_current_wal_lsn()
		 FROM pg_replication_slots WHERE slot_name = $1 AND slot_type = 'logical'`,
		r.cfg.Slot)
	if err != nil {
		return "", err
	}
	if len(res.Rows) == 0 {
		return "the slot does not exist", nil
	}
	row := res.Rows[0]
	switch {
	case string(row[0]) != "pgoutput":
		return "the slot does not use pgoutput", nil
	case string(row[1]) != "t":
		return "the slot belongs to another database", nil
	case row[3] != nil && string(row[3]) == "lost":
		return "the slot's WAL was removed", nil
	case row[2] == nil:
		return "the slot has no confirmed position", nil
	}
	confirmed, err := pglogrepl.ParseLSN(string(row[2]))
	if err != nil {
		return "", err
	}
	current, err := pglogrepl.ParseLSN(string(row[4]))
	if err != nil {
		return "", err
	}
	switch {
	case confirmed > applied:
		return fmt.Sprintf("the slot was acknowledged up to %s, past the sink's %s", confirmed, applied), nil
	case applied > current:
		// A sink restored from another cluster, or a primary restored from
		// a backup: its position means nothing here.
		return fmt.Sprintf("the sink's position %s is ahead of the primary's WAL (%s)", applied, current), nil
	}
	return "", nil
}

// dropSlot drops the replica's slot if it exists. It fails while another
// connection streams from it, which the backoff then retries.
func (r *Replica) dropSlot(ctx context.Context, conn *pgconn.PgConn) error {
	_, err := query(ctx, conn,
		`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`,
		r.cfg.Slot)
	return err
}

// snapshotName is the form of an exported snapshot's name; it is checked
// because it goes into SQL as a literal.
var snapshotName = regexp.MustCompile(`^[0-9A-Fa-f-]+$`)

// load reads every table in the snapshot the slot exported, which is the
// database exactly as of the slot's consistent point lsn, and hands it to the
// sink: row by row as it is read to a StreamingSink, whole to another. The
// exported snapshot lives only while the replication connection stays idle,
// which it does until streaming starts.
func (r *Replica) load(ctx context.Context, conn *pgconn.PgConn, snapshot string, lsn LSN) error {
	if !snapshotName.MatchString(snapshot) {
		return &SetupError{Step: "create slot", Err: errors.New("the exported snapshot has an unexpected name")}
	}
	start := time.Now()
	_, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT '"+snapshot+"'").ReadAll()
	if err != nil {
		return &LoadError{Err: fmt.Errorf("import snapshot: %w", err)}
	}
	columns := make(map[string][]Column, len(r.cfg.Tables))
	n := 0
	var readErr error
	rows := func(yield func(Change, error) bool) {
		for _, name := range r.cfg.Tables {
			more := true
			cols, err := r.scanTable(ctx, conn, name, func(row Row) bool {
				n++
				more = yield(Change{Table: name, Op: Insert, New: row}, nil)
				return more
			})
			if err != nil {
				readErr = &LoadError{Table: name, Err: err}
				yield(Change{}, readErr)
				return
			}
			if !more {
				return
			}
			columns[name] = cols
		}
	}
	if ss, ok := r.sink.(StreamingSink); ok {
		err = ss.LoadStream(ctx, lsn, rows)
	} else {
		// Every table, empty ones too, in order; the rows come in that
		// order, table after table.
		snap := Snapshot{LSN: lsn, Tables: make([]Table, len(r.cfg.Tables))}
		for i, name := range r.cfg.Tables {
			snap.Tables[i].Name = name
		}
		i := 0
		for c, cerr := range rows {
			if cerr != nil {
				break
			}
			for snap.Tables[i].Name != c.Table {
				i++
			}
			snap.Tables[i].Rows = append(snap.Tables[i].Rows, c.New)
		}
		if readErr == nil {
			for i := range snap.Tables {
				snap.Tables[i].Columns = columns[snap.Tables[i].Name]
			}
			err = r.sink.Load(ctx, snap)
		}
	}
	if readErr != nil {
		return readErr
	}
	if err != nil {
		return &LoadError{Err: err}
	}
	if len(columns) != len(r.cfg.Tables) {
		return &LoadError{Err: errors.New("the sink returned before the snapshot's end")}
	}
	if _, err := conn.Exec(ctx, "COMMIT").ReadAll(); err != nil {
		return &LoadError{Err: fmt.Errorf("end snapshot transaction: %w", err)}
	}
	r.columns = columns
	r.pos.loaded(lsn)
	r.log.Info("pgreplica: loaded", "lsn", lsn, "rows", n, "took", time.Since(start))
	return nil
}

// scanTable reads a whole table in text format, the format of the stream,
// and exactly the columns the stream carries (pgoutput leaves out generated
// columns), handing each row to fn until fn says no more. It returns the
// table's columns.
func (r *Replica) scanTable(ctx context.Context, conn *pgconn.PgConn, name string, fn func(Row) bool) ([]Column, error) {
	qualified := quoteIdent(r.cfg.Schema) + "." + quoteIdent(name)
	res, err := query(ctx, conn, `SELECT attname FROM pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
		ORDER BY attnum`, qualified)
	if err != nil {
		return nil, err
	}
	cols := make([]string, len(res.Rows))
	for i, row := range res.Rows {
		cols[i] = quoteIdent(string(row[0]))
	}
	rr := conn.ExecParams(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+qualified, nil, nil, nil, nil)
	fds := rr.FieldDescriptions()
	columns := make([]Column, len(fds))
	for i, fd := range fds {
		columns[i] = Column{Name: fd.Name, TypeOID: fd.DataTypeOID}
	}
	for rr.NextRow() {
		vals := rr.Values()
		row := make(Row, len(vals))
		for i, v := range vals {
			c := columns[i]
			if v == nil {
				row[c.Name] = Value{Null: true, TypeOID: c.TypeOID}
			} else {
				row[c.Name] = Value{Text: string(v), TypeOID: c.TypeOID}
			}
		}
		if !fn(row) {
			break
		}
	}
	if _, err := rr.Close(); err != nil {
		return nil, err
	}
	return columns, nil
}

// startReplication starts streaming the slot from lsn. Errors saying that
// the slot cannot serve the stream unload the sink, so that the next
// session resyncs.
func (r *Replica) startReplication(ctx context.Context, conn *pgconn.PgConn, lsn LSN) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	err := pglogrepl.StartReplication(ctx, conn, r.cfg.Slot, lsn, pglogrepl.StartReplicationOptions{
		Mode: pglogrepl.LogicalReplication,
		// Protocol 1: each transaction arrives whole, after its commit.
		// Messages (Postgres 14 and later) carry the heartbeats.
		PluginArgs: []string{"proto_version '1'", "publication_names '" + r.cfg.Publication + "'", "messages 'true'"},
	})
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && slices.Contains([]string{sqlstateUndefinedObject, sqlstateNotInPrereqState, sqlstateUndefinedFile}, pgErr.Code) {
		r.pos.unload()
		return fmt.Errorf("%w: %v", ErrSlotLost, err)
	}
	return &SetupError{Step: "start replication", Err: err}
}

// query runs one statement with text parameters and returns its result.
func query(ctx context.Context, conn *pgconn.PgConn, sql string, args ...string) (*pgconn.Result, error) {
	params := make([][]byte, len(args))
	for i, a := range args {
		params[i] = []byte(a)
	}
	res := conn.ExecParams(ctx, sql, params, nil, nil, nil).Read()
	return res, res.Err
}

// tableList is the tables, schema-qualified and quoted, comma-separated.
func (r *Replica) tableList(tables []string) string {
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = quoteIdent(r.cfg.Schema) + "." + quoteIdent(t)
	}
	return strings.Join(q, ", ")
}

// quoteIdent quotes a name for SQL: better-auth's tables and columns are
// camelCase and "user" is a reserved word.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

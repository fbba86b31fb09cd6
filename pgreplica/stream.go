package pgreplica

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// stream is the receive loop of one session: it reads the primary's
// messages, hands each to the function for its kind, and sends a status
// update every StatusInterval. It returns why it stopped.
func (r *Replica) stream(ctx context.Context, conn *pgconn.PgConn) error {
	s := &streamer{r: r, conn: conn, rels: make(map[uint32]*relation), tables: make(map[string]bool),
		// The first status update goes out at once, so that the primary's
		// answer moves an idle replica's position as soon as it can.
		nextStatus: time.Now(), lastHeard: time.Now()}
	for _, t := range r.cfg.Tables {
		s.tables[t] = true
	}
	defer s.sayGoodbye()
	for {
		msg, err := s.next(ctx)
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pglogrepl.BeginMessage:
			err = s.transaction(ctx, m)
		case *pglogrepl.RelationMessage:
			err = s.onRelation(m)
		case *pglogrepl.LogicalDecodingMessage:
			if !m.Transactional {
				nonce := ""
				if m.Prefix == heartbeatPrefix {
					nonce = string(m.Content)
				}
				s.r.pos.message(nonce, m.LSN)
				err = s.advanced(ctx)
			}
		case *pglogrepl.TypeMessage, *pglogrepl.OriginMessage:
			// Types are described for user-defined types, whose OIDs the
			// relation already gives; origins concern others.
		default:
			err = &ProtocolError{What: fmt.Sprintf("%T outside a transaction", msg)}
		}
		if err != nil {
			return err
		}
	}
}

// next returns the next pgoutput message, sending status updates when
// they are due and answering keepalives on the way.
func (s *streamer) next(ctx context.Context) (pglogrepl.Message, error) {
	for {
		s.r.park()
		if now := time.Now(); !now.Before(s.nextStatus) {
			if err := s.sendStatus(true); err != nil {
				return nil, err
			}
			s.nextStatus = now.Add(s.r.cfg.StatusInterval)
		}
		recvCtx, cancel := context.WithDeadline(ctx, s.nextStatus)
		msg, err := s.conn.ReceiveMessage(recvCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if pgconn.Timeout(err) {
				if time.Since(s.lastHeard) > s.r.cfg.Timeout {
					return nil, ErrSilent
				}
				continue
			}
			return nil, &StreamError{Err: err}
		}
		s.lastHeard = time.Now()
		switch msg := msg.(type) {
		case *pgproto3.CopyData:
			if m, err := s.onCopyData(ctx, msg.Data); m != nil || err != nil {
				return m, err
			}
		case *pgproto3.ErrorResponse:
			return nil, &StreamError{Err: pgconn.ErrorResponseToPgError(msg)}
		case *pgproto3.CopyDone:
			return nil, &StreamError{Err: errors.New("the primary ended the stream")}
		default:
			// Notices and parameter changes carry nothing for the replica.
		}
	}
}

// relation is what a Relation message said about a table.
type relation struct {
	schema, name string
	columns      []relColumn
}

type relColumn struct {
	name    string
	typeOID uint32
	key     bool // part of the replica identity
}

// streamer holds one session's stream state: the relations the primary
// described, and the transaction being received.
type streamer struct {
	r      *Replica
	conn   *pgconn.PgConn
	rels   map[uint32]*relation
	tables map[string]bool // Config.Tables, to drop other tables' changes

	nextStatus time.Time // when the next status update is due
	lastHeard  time.Time // when the primary was last heard from
	inTx       bool      // a transaction is being received

	// advancedTo is the position last told to an Advancer sink.
	advancedTo LSN
}

// onCopyData handles one message of the replication stream: a keepalive,
// or the pgoutput message it returns.
func (s *streamer) onCopyData(ctx context.Context, data []byte) (pglogrepl.Message, error) {
	if len(data) == 0 {
		return nil, &ProtocolError{What: "empty message"}
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		pkm, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return nil, &ProtocolError{What: err.Error()}
		}
		return nil, s.onKeepalive(ctx, pkm)
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return nil, &ProtocolError{What: err.Error()}
		}
		return parse(xld.WALData)
	}
	return nil, &ProtocolError{What: fmt.Sprintf("unknown message kind %q", data[0])}
}

// onKeepalive: with no transaction pending, everything the primary had sent
// is in the sink. That moves the position, not the freshness (see
// heartbeat.go).
func (s *streamer) onKeepalive(ctx context.Context, pkm pglogrepl.PrimaryKeepaliveMessage) error {
	s.r.pos.keepalive(pkm.ServerWALEnd, !s.inTx)
	if err := s.advanced(ctx); err != nil {
		return err
	}
	if pkm.ReplyRequested {
		return s.sendStatus(false)
	}
	return nil
}

// advanced tells a sink that keeps its position with its state (an
// Advancer) that the position moved with no transaction to apply: other
// tables' WAL, heartbeats. Between transactions only.
func (s *streamer) advanced(ctx context.Context) error {
	a, ok := s.r.sink.(Advancer)
	if !ok || s.inTx {
		return nil
	}
	loaded, applied := s.r.pos.position()
	if !loaded || applied <= s.advancedTo {
		return nil
	}
	if err := a.Advance(ctx, applied); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.r.pos.unload()
		return &ApplyError{CommitLSN: applied, Err: err}
	}
	s.advancedTo = applied
	return nil
}

// parse parses a pgoutput message. pglogrepl trusts lengths in the message,
// so a malformed one could make it index out of range: that is a protocol
// error, not a crash.
func parse(data []byte) (msg pglogrepl.Message, err error) {
	if len(data) == 0 {
		return nil, &ProtocolError{What: "empty pgoutput message"}
	}
	defer func() {
		if p := recover(); p != nil {
			msg, err = nil, &ProtocolError{What: fmt.Sprintf("malformed pgoutput message %q", data[0])}
		}
	}()
	msg, err = pglogrepl.Parse(data)
	if err != nil {
		return nil, &ProtocolError{What: fmt.Sprintf("pgoutput message %q: %v", data[0], err)}
	}
	return msg, nil
}

// transaction receives the transaction begun by m and hands it to the sink:
// change by change as they arrive to a StreamingSink, whole to another.
func (s *streamer) transaction(ctx context.Context, m *pglogrepl.BeginMessage) error {
	tx := &Txn{XID: m.Xid, CommitLSN: m.FinalLSN, CommitTime: m.CommitTime}
	rd := &txnReader{s: s, tx: tx, resent: s.r.pos.skip(m.FinalLSN)}
	s.inTx = true
	defer func() { s.inTx = false }()
	changes := rd.changes(ctx)
	var err error
	ss, streaming := s.r.sink.(StreamingSink)
	switch {
	case rd.resent:
		for range changes {
		}
	case streaming:
		err = ss.ApplyStream(ctx, tx, changes)
	default:
		for c, cerr := range changes {
			if cerr != nil {
				err = cerr
				break
			}
			tx.Changes = append(tx.Changes, c)
		}
		if err == nil && rd.done && len(tx.Changes) > 0 {
			err = s.r.sink.Apply(ctx, *tx)
		}
	}
	if rd.err != nil {
		return rd.err // the stream's fault, not the sink's
	}
	if err == nil && !rd.done {
		err = errors.New("the sink returned before the transaction's end")
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.r.pos.unload()
		return &ApplyError{XID: tx.XID, CommitLSN: tx.CommitLSN, Err: err}
	}
	if rd.resent || rd.n == 0 {
		s.r.pos.skipped(tx, rd.resent)
	} else {
		s.r.pos.applied(tx)
	}
	if rd.n >= bigTxn {
		s.r.log.Info("pgreplica: applied a large transaction", "xid", tx.XID, "changes", rd.n,
			"took", time.Since(rd.began), "streaming", streaming)
	}
	return nil
}

// bigTxn is the number of changes from which a transaction's apply is
// logged.
const bigTxn = 10000

// txnReader reads one transaction's changes from the stream, for the sink
// to pull.
type txnReader struct {
	s      *streamer
	tx     *Txn
	resent bool // applied before: read through, nothing yielded
	began  time.Time
	n      int   // changes yielded
	done   bool  // the COMMIT was read: tx is complete
	err    error // the stream failed: the session ends
}

// changes yields the transaction's changes to the replicated tables, in
// order, until its COMMIT, which completes tx. A failure of the stream is
// yielded as an error, and ends it.
func (rd *txnReader) changes(ctx context.Context) iter.Seq2[Change, error] {
	rd.began = time.Now()
	return func(yield func(Change, error) bool) {
		s := rd.s
		for !rd.done && rd.err == nil {
			msg, err := s.next(ctx)
			var out []Change
			switch m := msg.(type) {
			case nil:
			case *pglogrepl.CommitMessage:
				rd.tx.CommitLSN, rd.tx.EndLSN, rd.tx.CommitTime = m.CommitLSN, m.TransactionEndLSN, m.CommitTime
				rd.done = true
				return
			case *pglogrepl.RelationMessage:
				err = s.onRelation(m)
			case *pglogrepl.InsertMessage:
				out, err = s.onInsert(m)
			case *pglogrepl.UpdateMessage:
				out, err = s.onUpdate(m)
			case *pglogrepl.DeleteMessage:
				out, err = s.onDelete(m)
			case *pglogrepl.TruncateMessage:
				out, err = s.onTruncate(m)
			case *pglogrepl.BeginMessage:
				err = &ProtocolError{What: fmt.Sprintf("BEGIN of transaction %d inside transaction %d", m.Xid, rd.tx.XID)}
			case *pglogrepl.TypeMessage, *pglogrepl.OriginMessage, *pglogrepl.LogicalDecodingMessage:
				// A transactional message concerns others.
			default:
				err = &ProtocolError{What: fmt.Sprintf("unexpected message %T", msg)}
			}
			if err != nil {
				rd.err = err
				yield(Change{}, err)
				return
			}
			if rd.resent {
				continue
			}
			for _, c := range out {
				rd.n++
				if !yield(c, nil) {
					return
				}
			}
		}
	}
}

// onRelation records a table's description. Postgres sends one before the
// first change to a table in a session, and again after its schema changed.
// Columns that differ from those the sink holds rows of end the session for
// a resync (see ErrSchemaChanged).
func (s *streamer) onRelation(m *pglogrepl.RelationMessage) error {
	rel := &relation{schema: m.Namespace, name: m.RelationName, columns: make([]relColumn, len(m.Columns))}
	cols := make([]Column, len(m.Columns))
	for i, c := range m.Columns {
		rel.columns[i] = relColumn{name: c.Name, typeOID: c.DataType, key: c.Flags&1 != 0}
		cols[i] = Column{Name: c.Name, TypeOID: c.DataType}
	}
	s.rels[m.RelationID] = rel
	if rel.schema != s.r.cfg.Schema || !s.tables[rel.name] {
		return nil
	}
	known, ok := s.r.columns[rel.name]
	s.r.columns[rel.name] = cols
	if ok && !slices.Equal(known, cols) {
		s.r.pos.unload()
		return fmt.Errorf("%w: table %q", ErrSchemaChanged, rel.name)
	}
	return nil
}

// change starts a row change: the relation, or nil when the change is to be
// dropped (a table not replicated).
func (s *streamer) change(kind string, relID uint32) (*relation, error) {
	rel, ok := s.rels[relID]
	if !ok {
		return nil, &ProtocolError{What: fmt.Sprintf("%s on relation %d, never described", kind, relID)}
	}
	if rel.schema != s.r.cfg.Schema || !s.tables[rel.name] {
		return nil, nil
	}
	return rel, nil
}

func (s *streamer) onInsert(m *pglogrepl.InsertMessage) ([]Change, error) {
	rel, err := s.change("INSERT", m.RelationID)
	if rel == nil || err != nil {
		return nil, err
	}
	row, err := rel.row(m.Tuple, false)
	if err != nil {
		return nil, err
	}
	return []Change{{Table: rel.name, Op: Insert, New: row}}, nil
}

func (s *streamer) onUpdate(m *pglogrepl.UpdateMessage) ([]Change, error) {
	rel, err := s.change("UPDATE", m.RelationID)
	if rel == nil || err != nil {
		return nil, err
	}
	row, err := rel.row(m.NewTuple, false)
	if err != nil {
		return nil, err
	}
	var key Row
	switch m.OldTupleType {
	case pglogrepl.UpdateMessageTupleTypeKey:
		key, err = rel.row(m.OldTuple, true)
	case pglogrepl.UpdateMessageTupleTypeOld:
		key, err = rel.row(m.OldTuple, false)
	default:
		// The key did not change: Postgres sends no old tuple.
		key = rel.keyOf(row)
	}
	if err != nil {
		return nil, err
	}
	return []Change{{Table: rel.name, Op: Update, Key: key, New: row}}, nil
}

func (s *streamer) onDelete(m *pglogrepl.DeleteMessage) ([]Change, error) {
	rel, err := s.change("DELETE", m.RelationID)
	if rel == nil || err != nil {
		return nil, err
	}
	key, err := rel.row(m.OldTuple, m.OldTupleType == pglogrepl.DeleteMessageTupleTypeKey)
	if err != nil {
		return nil, err
	}
	return []Change{{Table: rel.name, Op: Delete, Key: key}}, nil
}

func (s *streamer) onTruncate(m *pglogrepl.TruncateMessage) ([]Change, error) {
	var out []Change
	for _, id := range m.RelationIDs {
		rel, err := s.change("TRUNCATE", id)
		if err != nil {
			return nil, err
		}
		if rel != nil {
			out = append(out, Change{Table: rel.name, Op: Truncate})
		}
	}
	return out, nil
}

// row converts a tuple to a Row; keyOnly keeps only the replica identity
// columns (a key tuple sends the others as NULLs that mean nothing).
func (rel *relation) row(tuple *pglogrepl.TupleData, keyOnly bool) (Row, error) {
	if tuple == nil {
		return nil, &ProtocolError{What: fmt.Sprintf("change to %q without a tuple", rel.name)}
	}
	if len(tuple.Columns) != len(rel.columns) {
		return nil, &ProtocolError{What: fmt.Sprintf("tuple of %q has %d columns, its relation %d",
			rel.name, len(tuple.Columns), len(rel.columns))}
	}
	row := make(Row, len(tuple.Columns))
	for i, col := range tuple.Columns {
		rc := rel.columns[i]
		if keyOnly && !rc.key {
			continue
		}
		v := Value{TypeOID: rc.typeOID}
		switch col.DataType {
		case pglogrepl.TupleDataTypeNull:
			v.Null = true
		case pglogrepl.TupleDataTypeToast:
			v.Unchanged = true
		case pglogrepl.TupleDataTypeText:
			v.Text = string(col.Data)
		default:
			return nil, &ProtocolError{What: fmt.Sprintf("column %q of %q in format %q", rc.name, rel.name, col.DataType)}
		}
		row[rc.name] = v
	}
	return row, nil
}

// keyOf returns the replica identity columns of row.
func (rel *relation) keyOf(row Row) Row {
	key := make(Row, 1)
	for _, c := range rel.columns {
		if c.key {
			key[c.name] = row[c.name]
		}
	}
	return key
}

// sendStatus reports the replica's position and asks for a keepalive in
// reply when reply is set. It acknowledges (as flushed, which is what
// moves the slot) only transactions the sink has applied, and no further
// than its durable state when Config.Durable says where that is.
func (s *streamer) sendStatus(reply bool) error {
	_, applied := s.r.pos.position()
	ack := applied
	if s.r.cfg.Durable != nil {
		ack = min(ack, s.r.cfg.Durable())
	}
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), s.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: applied,
		WALFlushPosition: ack,
		WALApplyPosition: applied,
		ReplyRequested:   reply,
	})
	if err != nil {
		return &StreamError{Err: fmt.Errorf("send status update: %w", err)}
	}
	s.r.pos.acknowledged(ack)
	return nil
}

// sayGoodbye acknowledges the final position before the connection closes,
// so that the slot's confirmed position is as fresh as it can be for the
// next session or a later ResumeLSN. It is best effort, and skipped on a
// connection that failed: pgconn is then closing it in a goroutine of its
// own, which a write would race with.
func (s *streamer) sayGoodbye() {
	if !s.conn.IsClosed() {
		_ = s.sendStatus(false)
	}
}

package pgreplica

import (
	"context"
	"errors"
	"fmt"
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
	s := &streamer{r: r, conn: conn, rels: make(map[uint32]*relation), tables: make(map[string]bool)}
	for _, t := range r.cfg.Tables {
		s.tables[t] = true
	}
	defer s.sayGoodbye()
	// The first status update goes out at once, so that the primary's
	// answer moves an idle replica's position as soon as it can.
	nextStatus := time.Now()
	lastHeard := time.Now()
	for {
		r.park()
		if now := time.Now(); !now.Before(nextStatus) {
			if err := s.sendStatus(true); err != nil {
				return err
			}
			nextStatus = now.Add(r.cfg.StatusInterval)
		}
		recvCtx, cancel := context.WithDeadline(ctx, nextStatus)
		msg, err := conn.ReceiveMessage(recvCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pgconn.Timeout(err) {
				if time.Since(lastHeard) > r.cfg.Timeout {
					return ErrSilent
				}
				continue
			}
			return &StreamError{Err: err}
		}
		lastHeard = time.Now()
		switch msg := msg.(type) {
		case *pgproto3.CopyData:
			if err := s.onCopyData(ctx, msg.Data); err != nil {
				return err
			}
		case *pgproto3.ErrorResponse:
			return &StreamError{Err: pgconn.ErrorResponseToPgError(msg)}
		case *pgproto3.CopyDone:
			return &StreamError{Err: errors.New("the primary ended the stream")}
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

	tx     *Txn // the transaction being received, or nil between transactions
	resent bool // tx was applied before: it is read through and dropped

	// advancedTo is the position last told to an Advancer sink.
	advancedTo LSN
}

// onCopyData handles one message of the replication stream.
func (s *streamer) onCopyData(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return &ProtocolError{What: "empty message"}
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		pkm, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return &ProtocolError{What: err.Error()}
		}
		return s.onKeepalive(ctx, pkm)
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return &ProtocolError{What: err.Error()}
		}
		return s.onXLogData(ctx, xld)
	}
	return &ProtocolError{What: fmt.Sprintf("unknown message kind %q", data[0])}
}

// onKeepalive: with no transaction pending, everything the primary had sent
// is in the sink. That moves the position, not the freshness (see
// heartbeat.go).
func (s *streamer) onKeepalive(ctx context.Context, pkm pglogrepl.PrimaryKeepaliveMessage) error {
	s.r.pos.keepalive(pkm.ServerWALEnd, s.tx == nil)
	if err := s.advanced(ctx); err != nil {
		return err
	}
	if pkm.ReplyRequested {
		return s.sendStatus(false)
	}
	return nil
}

func (s *streamer) onXLogData(ctx context.Context, xld pglogrepl.XLogData) error {
	msg, err := parse(xld.WALData)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		return s.onBegin(m)
	case *pglogrepl.CommitMessage:
		return s.onCommit(ctx, m)
	case *pglogrepl.RelationMessage:
		return s.onRelation(m)
	case *pglogrepl.InsertMessage:
		return s.onInsert(m)
	case *pglogrepl.UpdateMessage:
		return s.onUpdate(m)
	case *pglogrepl.DeleteMessage:
		return s.onDelete(m)
	case *pglogrepl.TruncateMessage:
		return s.onTruncate(m)
	case *pglogrepl.LogicalDecodingMessage:
		if !m.Transactional && s.tx == nil {
			nonce := ""
			if m.Prefix == heartbeatPrefix {
				nonce = string(m.Content)
			}
			s.r.pos.message(nonce, m.LSN)
			return s.advanced(ctx)
		}
		return nil
	case *pglogrepl.TypeMessage, *pglogrepl.OriginMessage:
		// Types are described for user-defined types, whose OIDs the
		// relation already gives; origins concern others.
		return nil
	}
	return &ProtocolError{What: fmt.Sprintf("unexpected message %T", msg)}
}

// advanced tells a sink that keeps its position with its state (an
// Advancer) that the position moved with no transaction to apply: other
// tables' WAL, heartbeats. Between transactions only.
func (s *streamer) advanced(ctx context.Context) error {
	a, ok := s.r.sink.(Advancer)
	if !ok || s.tx != nil {
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

func (s *streamer) onBegin(m *pglogrepl.BeginMessage) error {
	if s.tx != nil {
		return &ProtocolError{What: fmt.Sprintf("BEGIN of transaction %d inside transaction %d", m.Xid, s.tx.XID)}
	}
	s.tx = &Txn{XID: m.Xid, CommitLSN: m.FinalLSN, CommitTime: m.CommitTime}
	s.resent = s.r.pos.skip(m.FinalLSN)
	return nil
}

func (s *streamer) onCommit(ctx context.Context, m *pglogrepl.CommitMessage) error {
	tx := s.tx
	if tx == nil {
		return &ProtocolError{What: "COMMIT outside a transaction"}
	}
	s.tx = nil
	tx.CommitLSN, tx.EndLSN, tx.CommitTime = m.CommitLSN, m.TransactionEndLSN, m.CommitTime
	if s.resent || len(tx.Changes) == 0 {
		s.r.pos.skipped(tx, s.resent)
		return nil
	}
	if err := s.r.sink.Apply(ctx, *tx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.r.pos.unload()
		return &ApplyError{XID: tx.XID, CommitLSN: tx.CommitLSN, Err: err}
	}
	s.r.pos.applied(tx)
	return nil
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
// dropped (a resent transaction, a table not replicated).
func (s *streamer) change(kind string, relID uint32) (*relation, error) {
	if s.tx == nil {
		return nil, &ProtocolError{What: kind + " outside a transaction"}
	}
	rel, ok := s.rels[relID]
	if !ok {
		return nil, &ProtocolError{What: fmt.Sprintf("%s on relation %d, never described", kind, relID)}
	}
	if s.resent || rel.schema != s.r.cfg.Schema || !s.tables[rel.name] {
		return nil, nil
	}
	return rel, nil
}

func (s *streamer) onInsert(m *pglogrepl.InsertMessage) error {
	rel, err := s.change("INSERT", m.RelationID)
	if rel == nil || err != nil {
		return err
	}
	row, err := rel.row(m.Tuple, false)
	if err != nil {
		return err
	}
	s.tx.Changes = append(s.tx.Changes, Change{Table: rel.name, Op: Insert, New: row})
	return nil
}

func (s *streamer) onUpdate(m *pglogrepl.UpdateMessage) error {
	rel, err := s.change("UPDATE", m.RelationID)
	if rel == nil || err != nil {
		return err
	}
	row, err := rel.row(m.NewTuple, false)
	if err != nil {
		return err
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
		return err
	}
	s.tx.Changes = append(s.tx.Changes, Change{Table: rel.name, Op: Update, Key: key, New: row})
	return nil
}

func (s *streamer) onDelete(m *pglogrepl.DeleteMessage) error {
	rel, err := s.change("DELETE", m.RelationID)
	if rel == nil || err != nil {
		return err
	}
	key, err := rel.row(m.OldTuple, m.OldTupleType == pglogrepl.DeleteMessageTupleTypeKey)
	if err != nil {
		return err
	}
	s.tx.Changes = append(s.tx.Changes, Change{Table: rel.name, Op: Delete, Key: key})
	return nil
}

func (s *streamer) onTruncate(m *pglogrepl.TruncateMessage) error {
	for _, id := range m.RelationIDs {
		rel, err := s.change("TRUNCATE", id)
		if err != nil {
			return err
		}
		if rel != nil {
			s.tx.Changes = append(s.tx.Changes, Change{Table: rel.name, Op: Truncate})
		}
	}
	return nil
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

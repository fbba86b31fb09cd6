package pgreplica

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Freshness is proven by heartbeats that travel through the stream itself.
// Every StatusInterval, at local time T, the replica writes a
// non-transactional logical decoding message into the WAL on an ordinary
// connection (pg_logical_emit_message). Its WAL record is reserved after T,
// so it follows the commit record of every transaction acknowledged to
// anyone before T (asynchronous commits too: their records are inserted
// before the acknowledgement, only their flush is deferred). Logical
// decoding reads the WAL in order and sends a transaction when it decodes
// its commit record, and a non-transactional message when it decodes the
// message: when the heartbeat comes back on the stream, every transaction
// committed before T has come before it and been applied. The replica is
// then fresh as of T (Status.CaughtUpAt).
//
// A keepalive proves no such thing: a logical WAL sender's keepalive carries
// how far it has decoded (its sentPtr), not how far the server has written,
// so "nothing pending" right after a reconnect, or between the records of
// a backlog, means "nothing decoded yet" (walsender.c: WalSndKeepalive sends
// sentPtr; XLogSendLogical sets it to the end of the last record decoded).
// Keepalives still move the replica's position, never its freshness.

// heartbeatPrefix is the prefix of a heartbeat message. Every slot of the
// database decodes every message, so other replicas' heartbeats arrive too;
// each replica knows its own by their content.
const heartbeatPrefix = "pgreplica.heartbeat"

// maxPendingBeats bounds the heartbeats a replica remembers while they are
// on their way: one that old is no use as a proof any more.
const maxPendingBeats = 64

// beat is a heartbeat on its way: its content, and the local time before
// it was written.
type beat struct {
	nonce string
	at    time.Time
}

// newBeatPrefix returns what the content of a replica's heartbeats starts
// with: its slot, for a human reading the WAL, and a random instance id,
// so that no two replicas, nor two runs of one, take each other's.
func newBeatPrefix(slot string) string {
	var id [8]byte
	_, _ = rand.Read(id[:])
	return slot + " " + hex.EncodeToString(id[:]) + " "
}

// heartbeats writes a heartbeat at once and then every StatusInterval on
// conn, an ordinary connection, until ctx is done (nil) or a heartbeat
// cannot be written (the error: the replica cannot prove itself fresh
// without them, so the session ends and says why). With each, it reads
// what the slot costs the primary and reclaims dead replicas' slots
// (slots.go).
func (r *Replica) heartbeats(ctx context.Context, conn *pgconn.PgConn) error {
	w := &slotWatch{r: r, unused: map[string]unusedSlot{}}
	emit := `SELECT pg_logical_emit_message(false, $1, $2)`
	if serverMajor(conn) >= 17 {
		// Flushed at once, rather than by the WAL writer within
		// wal_writer_delay: the proof comes back sooner.
		emit = `SELECT pg_logical_emit_message(false, $1, $2, true)`
	}
	t := time.NewTicker(r.cfg.StatusInterval)
	defer t.Stop()
	for seq := uint64(1); ; seq++ {
		nonce := r.beatPrefix + strconv.FormatUint(seq, 10)
		// The time is taken, and the beat recorded, before the message is
		// sent: the proof is for a moment before its WAL record, and the
		// message may be back on the stream before this call returns.
		r.pos.emitting(beat{nonce: nonce, at: time.Now()})
		bctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
		_, err := query(bctx, conn, emit, heartbeatPrefix, nonce)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("pgreplica: write a heartbeat (pg_logical_emit_message): %w", err)
		}
		w.look(ctx, conn)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// serverMajor returns the server's major version, or 0 if it does not say.
func serverMajor(conn *pgconn.PgConn) int {
	v := conn.ParameterStatus("server_version")
	major, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(strings.TrimFunc(major, func(r rune) bool { return r < '0' || r > '9' }))
	return n
}

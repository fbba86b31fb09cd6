package pgreplica

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// What a slot costs, and the slots of dead replicas. A permanent slot that
// no one streams from makes the primary keep WAL from its restart_lsn on,
// without bound but max_slot_wal_keep_size. Postgres 15 does not say how
// long a slot has been unused (17's inactive_since does), so a replica
// watches the others' slots itself: one of its fleet's (Config.SlotPrefix)
// that it sees inactive and still, heartbeat after heartbeat, for SlotTTL,
// belongs to a replica that is gone, and is dropped. That takes no privilege
// beyond REPLICATION (pg_drop_replication_slot; pg_replication_slots is
// readable by all). A lease table would say the same without a live
// replica watching, at the price of write privileges on a table; a slot
// whose replica died while none watched is reclaimed SlotTTL after the
// next one starts.

// slotWatch is one session's watch over the slots, on the heartbeat
// connection.
type slotWatch struct {
	r      *Replica
	unused map[string]unusedSlot // the fleet's slots seen unused, by name
}

// unusedSlot is a slot seen inactive since a moment, at a position.
type unusedSlot struct {
	since     time.Time
	confirmed string
}

// look reads what the replica's own slot holds back and drops the fleet's
// slots unused for SlotTTL. It is best effort: a failure waits for the
// next heartbeat, and a drop that loses a race (the slot in use again) is
// no harm.
func (w *slotWatch) look(ctx context.Context, conn *pgconn.PgConn) {
	cfg := &w.r.cfg
	res, err := query(ctx, conn, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, wal_status
		FROM pg_replication_slots WHERE slot_name = $1`, cfg.Slot)
	if err == nil && len(res.Rows) == 1 {
		retained, _ := strconv.ParseInt(string(res.Rows[0][0]), 10, 64)
		w.r.pos.slotCost(retained, string(res.Rows[0][1]))
	}
	if cfg.SlotTTL <= 0 {
		return
	}
	res, err = query(ctx, conn, `SELECT slot_name, active, coalesce(confirmed_flush_lsn::text, '')
		FROM pg_replication_slots
		WHERE slot_type = 'logical' AND database = current_database() AND starts_with(slot_name, $1) AND slot_name <> $2`,
		cfg.SlotPrefix, cfg.Slot)
	if err != nil {
		return
	}
	now := time.Now()
	seen := make(map[string]bool, len(res.Rows))
	for _, row := range res.Rows {
		name, active, confirmed := string(row[0]), string(row[1]) == "t", string(row[2])
		seen[name] = true
		u, ok := w.unused[name]
		if active || !ok || u.confirmed != confirmed {
			// In use, or used since it was last seen: its TTL starts over.
			delete(w.unused, name)
			if !active {
				w.unused[name] = unusedSlot{since: now, confirmed: confirmed}
			}
			continue
		}
		if now.Sub(u.since) < cfg.SlotTTL {
			continue
		}
		dropped, err := query(ctx, conn, `SELECT pg_drop_replication_slot(slot_name)
			FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, name)
		if err != nil {
			w.r.log.Warn("pgreplica: cannot reclaim an unused slot", "unused", name, "err", err)
			continue
		}
		delete(w.unused, name)
		if len(dropped.Rows) == 1 {
			w.r.pos.reclaimed()
			w.r.log.Warn("pgreplica: reclaimed the slot of a replica that is gone", "unused", name,
				"since", u.since, "ttl", cfg.SlotTTL)
		}
	}
	for name := range w.unused {
		if !seen[name] {
			delete(w.unused, name)
		}
	}
}

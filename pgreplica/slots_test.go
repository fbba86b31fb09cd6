package pgreplica_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/pgreplica"
)

// A replica reclaims the slot of a replica of its fleet that is gone: seen
// unused for SlotTTL, it is dropped, and the WAL it held is free. A replica
// that comes back within SlotTTL resumes its slot; a slot of another name
// is never touched. And a replica says what its own slot holds back.
func TestDeadReplicasSlotIsReclaimed(t *testing.T) {
	e := newEnv(t)
	prefix := e.db + "_fleet_"
	const ttl = 2 * time.Second
	dead := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "fleet_dead"}, StateDir: t.TempDir()})
	dead.close(t) // its permanent slot stays behind
	e.exec(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, e.db+"_another_tool")
	back := pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "fleet_back"}, StateDir: t.TempDir()}
	f := e.startFollower(back)
	f.close(t)

	live := e.newFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "fleet_live", SlotPrefix: prefix}})
	pgreplica.SetSlotTTL(live.Follower, ttl)
	// The TTL runs from the live replica's first look at the slots, which
	// can come before run returns: start the watch's clock before it.
	start := time.Now()
	live.run(t)
	time.Sleep(ttl/2 - time.Since(start))
	f = e.startFollower(back) // back within the TTL
	if st := f.Status(); st.Loads != 0 {
		t.Errorf("a replica back within the TTL loaded %d times, want 0 (its slot resumed)", st.Loads)
	}
	waitUntil(t, "the dead replica's slot reclaimed", func() bool { return e.slotIs(e.db+"_fleet_dead", "") })
	if took := time.Since(start); took < ttl {
		t.Errorf("reclaimed after %v, before the TTL (%v)", took, ttl)
	}
	time.Sleep(ttl + time.Second)
	for _, slot := range []string{"fleet_back", "fleet_live", "another_tool"} {
		if e.slotIs(e.db+"_"+slot, "") {
			t.Errorf("slot %s was dropped", slot)
		}
	}
	st := live.Status()
	if st.SlotsReclaimed != 1 {
		t.Errorf("%d slots reclaimed, want 1", st.SlotsReclaimed)
	}
	if st.SlotRetainedBytes <= 0 || st.SlotWALStatus != "reserved" {
		t.Errorf("the live slot holds %d bytes of WAL, its wal_status %q: want some, reserved", st.SlotRetainedBytes, st.SlotWALStatus)
	}
	e.exec(`SELECT pg_drop_replication_slot($1)`, e.db+"_another_tool")
}

// A slot that holds more WAL than max_slot_wal_keep_size is invalidated by
// Postgres (wal_status lost), and its WAL sender ended. The follower, paused
// meanwhile, fails closed: it cannot prove fresh the rows it holds, and
// resyncs once it is back; it never answers active a token revoked while
// it was away.
func TestSlotPastMaxSlotWALKeepSizeResyncsFailingClosed(t *testing.T) {
	e := newOwnEnv(t, "max_slot_wal_keep_size=1MB", "max_wal_size=32MB", "min_wal_size=32MB")
	access, _ := e.grant("ada")
	const maxLag = 500 * time.Millisecond
	f := e.startFollower(pgreplica.FollowerConfig{Config: pgreplica.Config{Slot: "kept"}, MaxLag: maxLag, StateDir: t.TempDir()})
	if err := verdict(f.db, access); err != nil {
		t.Fatal(err)
	}
	release := pgreplica.HoldFollower(f.Follower)
	e.exec(`UPDATE "oauthAccessToken" SET revoked = now() WHERE id = 'ada-a'`)
	revoked := time.Now()
	for i := range 4 {
		e.exec(insertUser, fmt.Sprintf("w%d", i))
		e.exec(`SELECT pg_switch_wal()`)
	}
	e.exec(`CHECKPOINT`)
	var status string
	if err := e.queryRow(`SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1`, e.db+"_kept").Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "lost" {
		t.Fatalf("slot wal_status %q after the WAL moved on, want lost", status)
	}
	time.Sleep(time.Until(revoked.Add(maxLag)))
	if err := verdict(f.db, access); !errors.Is(err, oauthdb.ErrStale) {
		t.Errorf("paused past MaxLag, with its slot lost: %v, want ErrStale", err)
	}

	p := pollToken(f.db, access)
	release()
	waitUntil(t, "the resync", func() bool { return f.Status().Loads == 2 })
	f.waitFresh(t)
	active := p.halt()
	if n, first := activeAfter(active, revoked.Add(maxLag)); n > 0 {
		t.Errorf("answered active %d times after the revocation and MaxLag, the first %v after it", n, first.Sub(revoked))
	}
	if err := verdict(f.db, access); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("after the resync: %v, want ErrTokenRevoked", err)
	}
}

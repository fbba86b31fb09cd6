// Package pgreplica keeps an in-memory copy of Postgres tables in step with
// the database through Postgres' own logical replication (the pgoutput
// plugin), for services that validate better-auth's tokens locally: Postgres
// stays the one source of truth, and a revocation reaches every replica in
// milliseconds.
//
// The package is the plumbing. What the rows become is up to a Sink, which
// receives a consistent Snapshot of the tables (Load) and then every
// committed transaction after it, in commit order, once each (Apply).
// Follower is oauthdb's: it keeps a DB opened with oauthdb.WithReplica in
// step, decoding rows with package betterauth, and vouches for it only
// while the replica can prove it is caught up, so that it fails closed.
//
// # How it works
//
// Each Replica has a logical replication slot of its own (Config.Slot) on a
// publication of the tables (Config.Publication, created if absent,
// extended if it lacks a table): a permanent one, which a restart resumes,
// or with Config.TemporarySlot one that Postgres drops with its connection
// (see Slots). To load, it creates the slot
// with an exported snapshot (CREATE_REPLICATION_SLOT ... LOGICAL pgoutput
// (SNAPSHOT 'export')), reads every table in a REPEATABLE READ transaction
// that imports that snapshot (SET TRANSACTION SNAPSHOT), hands the result to
// Sink.Load, and starts streaming from the slot's consistent point: the
// snapshot holds exactly the transactions that committed before that point,
// and the stream exactly those after, so load and stream meet with nothing
// lost and nothing twice.
//
// The stream (pgoutput protocol version 1: a transaction arrives whole,
// after its commit) is grouped BEGIN..COMMIT into a Txn and applied with one
// Sink.Apply, or, for a StreamingSink, handed over change by change as it
// arrives (ApplyStream; a load likewise, LoadStream), so that a transaction
// of any size costs the sink no more memory than the rows it keeps. Only
// then does the replica count it as applied and, in its next status
// update, acknowledge it to Postgres, which may then recycle its WAL (no
// further than Config.Durable says the sink's saved state covers). Changes
// to tables not in Config.Tables are dropped; a transaction left with no
// change is not applied (its position still counts).
//
// # Positions
//
// The replica's position (Status.AppliedLSN) means: every transaction whose
// commit LSN is below it is in the sink. It moves to a Txn's EndLSN once
// the sink applied it, to a Snapshot's LSN on Load, and, when a keepalive
// or a logical decoding message arrives with no transaction pending, to
// the position it carries, so that an idle replica acknowledges WAL that
// held only other tables' changes. After a reconnect Postgres resends from
// the slot's last acknowledged position; a transaction whose commit LSN is
// below the replica's position is skipped (Status.Skipped), so none is
// applied twice.
//
// # Faults
//
// Every session (one connection's life) that ends for another reason than
// Run's context is followed, after a jittered, doubling backoff
// (Config.MinBackoff to Config.MaxBackoff, reset once a session streams), by
// another. What the next session does depends on why:
//
//   - Connection lost, Postgres restarted or killed, no message for
//     Config.Timeout (ErrSilent): it resumes the slot from the replica's
//     position. No resync (with a temporary slot, gone with the
//     connection, it loads again).
//   - Slot dropped, invalidated or its WAL removed, or acknowledged past the
//     replica's position (ErrSlotLost): it makes a new slot and loads again:
//     a full resync. Sink.Load is expected to swap the new state in.
//   - Sink.Apply returned an error (ApplyError): the sink cannot go on from
//     where it is, so the next session resyncs. A sink that merely refuses
//     a row should count and log it and return nil; an error is for "I
//     cannot go on", and Apply must then have applied nothing of the
//     transaction.
//   - A replicated table's columns changed (ErrSchemaChanged, on a Relation
//     message that differs from the columns the sink was loaded with): the
//     stream says nothing of the rows the sink already holds (a dropped
//     column, a column added with a default), so the next session resyncs.
//   - Sink.Load failed, or setting up failed (SetupError, LoadError): it
//     tries again.
//
// Run returns only when its context is done (or with ErrRunning): every
// other failure is retried, recorded in Status.LastError and logged.
//
// # Freshness
//
// Status.CaughtUpAt is a proof, not an inference: a local time T such that
// every transaction the primary had committed before T is in the sink.
// Every StatusInterval, on an ordinary connection beside the stream, the
// replica writes a heartbeat into the WAL at local time T: a
// non-transactional logical decoding message (pg_logical_emit_message,
// which needs no privilege). Its WAL record follows the commit record of
// every transaction acknowledged before T, and logical decoding sends each
// transaction when it decodes its commit record and the message when it
// decodes the message, in WAL order; so when the heartbeat comes back on
// the stream, all of those have been applied. Status.Fresh(maxAge, now) is
// the fail-closed test: the sink is loaded and CaughtUpAt is at most maxAge
// old. It is false during a resync, and until the first heartbeat comes
// back.
//
// A keepalive with no transaction pending is no such proof: a logical WAL
// sender's keepalive carries how far it has decoded, not how far the
// primary has written, so right after a reconnect, or between the records
// of a backlog, it says "caught up" with everything still to decode.
//
// CaughtUpAt and MaxLag are the wall clock's. A Follower vouches for its
// DB on the DB's own clock (oauthdb.WithClock; the wall clock by default)
// for the time the proof has left, so that a DB on a test's clock, standing
// at a scenario's instants, fails closed as surely (see Follower).
//
// A heartbeat comes back once the primary has flushed it: before Postgres
// 17, by the WAL writer, within wal_writer_delay (200 ms by default); from
// 17 on, the replica asks for the flush itself. CaughtUpAt is therefore
// about StatusInterval/2 plus that delay old at any moment while all is
// well. Heartbeats need Postgres 14 or later (pgoutput's messages option);
// each is a WAL record of about 100 bytes.
//
// # A Follower's state
//
// A Follower's marks (the tokens it holds inactive although their rows say
// otherwise: see oauthdb.WithReplica) are what keep its answers monotonic,
// so with FollowerConfig.StateDir they outlive the process: its DB — rows,
// marks, position — is written to one file with oauthdb's DB.WriteSnapshot,
// atomically, every StateInterval while the position moves, after each
// load and when Run returns, and read back when Run starts, which then
// resumes the slot. The replica acknowledges no further than the file
// covers (Config.Durable), so after a crash the slot streams again what the
// file lacks, and the marks it calls for are made again: they are decided
// as of each transaction's commit time plus MaxLag, a function of the
// stream, not of when it is applied. A load (a resync, or a restart whose
// slot is gone) judges the rows it reads against the rows the DB held, as
// one transaction. With FollowerConfig.SharedMarks the marks also go to a
// table in Postgres (MarksTable), from which every Follower takes the
// others': a Follower that starts later knows them too.
//
// # Slots
//
// A permanent slot makes Postgres keep the WAL from its restart_lsn on for
// as long as it exists, streamed from or not: that is what lets a replica
// resume after a restart, and what a replica that dies leaves behind.
// Status.SlotRetainedBytes says how much WAL the slot holds, read with each
// heartbeat. Three things bound the cost:
//
//   - Config.TemporarySlot: for a sink whose state does not outlive the
//     process (a Follower without a StateDir), the slot goes with its
//     connection, and a reconnect loads again.
//   - Config.SlotTTL and SlotPrefix: a replica drops the slots of its fleet
//     that it has seen unused (inactive, their position still) for SlotTTL.
//     Postgres 15 does not record how long a slot has been unused, so this
//     is what a live replica observes; a replica back within the TTL finds
//     its slot.
//   - max_slot_wal_keep_size on the server: past it Postgres invalidates
//     the slot (wal_status "lost", its WAL sender ended) and recycles the
//     WAL; the replica then fails closed and resyncs (ErrSlotLost), as for
//     a dropped slot.
//
// # Values
//
// Values are Postgres' text forms, in the same session settings
// (SessionSettings()) for the snapshot and the stream, so that one decoder
// serves both. With better-auth's columns:
//
//   - text: as is.
//   - boolean: "t" or "f".
//   - timestamptz: "2026-03-04 03:06:07.089+00" (ISO, UTC, as many
//     fractional digits as needed, none for whole seconds).
//   - jsonb (better-auth's string[] and json): jsonb's normal form,
//     `{"a": null, "b": [1, "x"]}` — keys sorted by length then bytes, one
//     space after each colon and comma — not the text that was written.
//   - text[] (not used by better-auth): `{a,"b c","d\"e",NULL}`.
//
// A DELETE carries only the replica identity (under better-auth's default
// identity, the primary key "id"); an UPDATE carries the new row (with
// TOASTed columns it left alone marked Unchanged) and no old values unless
// the key changed. The foreign keys' ON DELETE CASCADE and SET NULL arrive as
// Deletes and Updates of their own, in the same transaction, after the
// change that caused them.
package pgreplica

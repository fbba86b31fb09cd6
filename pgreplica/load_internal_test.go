package pgreplica

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"testing"

	"github.com/oauthdb/oauthdb"
)

// loadSink returns a Follower's sink over a new replica DB, which it does
// not connect.
func loadSink(t *testing.T) *dbSink {
	t.Helper()
	db, err := oauthdb.Open(oauthdb.WithReplica())
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFollower(FollowerConfig{Config: Config{DSN: "host=/nonexistent", Slot: "load"}}, db)
	if err != nil {
		t.Fatal(err)
	}
	return f.sink
}

// userRows yields n users as a load reads them, then err if it is not nil;
// it counts in *read the rows its consumer took and sets *ended when it
// returns.
func userRows(n int, err error, read *int, ended *bool) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		defer func() { *ended = true }()
		for i := range n {
			*read++
			row := Row{
				"id":            {Text: fmt.Sprintf("u%d", i), TypeOID: 25},
				"name":          {Text: "User", TypeOID: 25},
				"email":         {Text: fmt.Sprintf("u%d@example.com", i), TypeOID: 25},
				"emailVerified": {Text: "t", TypeOID: 16},
				"createdAt":     {Text: "2026-01-01 00:00:00+00", TypeOID: 1184},
				"updatedAt":     {Text: "2026-01-01 00:00:00+00", TypeOID: 1184},
			}
			if !yield(Change{Table: "user", Op: Insert, New: row}, nil) {
				return
			}
		}
		if err != nil {
			yield(Change{}, err)
		}
	}
}

// A load is read and decoded a few batches ahead of the DB: every row
// arrives, in order, more rows than the queue between the two holds.
func TestLoadStreamLoadsEveryRow(t *testing.T) {
	s := loadSink(t)
	n := loadBatch*(loadQueue+3) + 7
	var read int
	var ended bool
	if err := s.LoadStream(context.Background(), 0, userRows(n, nil, &read, &ended)); err != nil {
		t.Fatal(err)
	}
	if got := s.db.Rows().Len(); got != n || s.rows.Load() != uint64(n) || !ended {
		t.Fatalf("%d rows in the DB, %d counted, reader ended %v; want %d", got, s.rows.Load(), ended, n)
	}
}

// A read that fails half-way leaves the DB as it was, and LoadStream
// returns its error.
func TestLoadStreamKeepsNothingOfAFailedRead(t *testing.T) {
	s := loadSink(t)
	broken := errors.New("connection reset")
	var read int
	var ended bool
	err := s.LoadStream(context.Background(), 0, userRows(loadBatch*(loadQueue+3), broken, &read, &ended))
	if !errors.Is(err, broken) {
		t.Fatalf("LoadStream = %v, want %v", err, broken)
	}
	if got := s.db.Rows().Len(); got != 0 || s.rows.Load() != 0 {
		t.Fatalf("%d rows in the DB, %d counted after a failed load; want none", got, s.rows.Load())
	}
}

// A load cancelled half-way stops its reader within a batch, returns only
// once the reader has returned (the replica's connection is then its own
// again), and leaves the DB as it was.
func TestLoadStreamStopsItsReaderWhenCancelled(t *testing.T) {
	s := loadSink(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := loadBatch * (loadQueue + 20)
	var read, atCancel int
	var ended bool
	rows := userRows(n, nil, &read, &ended)
	cancelling := func(yield func(Change, error) bool) {
		for c, err := range rows {
			if read == loadBatch*3+1 {
				atCancel = read
				cancel()
			}
			if !yield(c, err) {
				return
			}
		}
	}
	err := s.LoadStream(ctx, 0, cancelling)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("LoadStream = %v, want context.Canceled", err)
	}
	if !ended {
		t.Fatal("LoadStream returned before its reader did")
	}
	if read > atCancel+loadBatch {
		t.Fatalf("the reader read %d rows after the cancellation; want at most a batch (%d)", read-atCancel, loadBatch)
	}
	if got := s.db.Rows().Len(); got != 0 {
		t.Fatalf("%d rows in the DB after a cancelled load; want none", got)
	}
}

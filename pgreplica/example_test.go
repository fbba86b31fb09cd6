package pgreplica_test

import (
	"context"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/oauthdb/oauthdb/pgreplica"
)

// countingSink stands in for a real sink (oauthdb's): it counts rows.
type countingSink struct{ rows, changes int }

func (s *countingSink) Load(_ context.Context, snap pgreplica.Snapshot) error {
	s.rows, s.changes = 0, 0
	for _, t := range snap.Tables {
		s.rows += len(t.Rows)
	}
	return nil
}

func (s *countingSink) Apply(_ context.Context, tx pgreplica.Txn) error {
	s.changes += len(tx.Changes)
	return nil
}

// A replica of better-auth's tables that serves only while fresh.
func Example() {
	r, err := pgreplica.New(pgreplica.Config{
		DSN:  "host=/var/run/postgresql dbname=auth user=replicator",
		Slot: "validator_1", // one per replica
	}, &countingSink{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() { _ = r.Run(ctx) }()

	// In the validator, before trusting the sink's answer:
	if !r.Status().Fresh(5*time.Second, time.Now()) {
		log.Print("replica stale: failing closed")
	}
}

package pgreplica_test

import (
	"context"
	"errors"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/pgreplica"
)

// Every instance of a service validates better-auth's tokens locally, from
// a replica of its Postgres database that fails closed when it may be
// stale.
func ExampleFollower() {
	db, err := oauthdb.Open(oauthdb.WithReplica())
	if err != nil {
		log.Fatal(err)
	}
	f, err := pgreplica.NewFollower(pgreplica.FollowerConfig{
		Config: pgreplica.Config{
			DSN:  "host=/var/run/postgresql dbname=auth user=replicator",
			Slot: "oauthdb_validator_1", // one per instance
			// Drop the slots of instances gone for good.
			SlotTTL: 15 * time.Minute, SlotPrefix: "oauthdb_",
		},
		MaxLag: 5 * time.Second,
		// The replica's state outlives the process: a restart resumes the
		// slot, and what was answered inactive stays inactive.
		StateDir: "/var/lib/validator/oauthdb",
	}, db)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() { _ = f.Run(ctx) }() // on the way out, Run writes the state: wait for it before exiting

	// In a handler: a revocation in Postgres is here within milliseconds,
	// and a stale replica answers oauthdb.ErrStale, never a stale "active".
	info, err := db.ValidateAccessToken("the bearer token")
	switch {
	case errors.Is(err, oauthdb.ErrStale):
		log.Print("503: cannot vouch for tokens now")
	case err != nil:
		log.Print("401: ", err)
	default:
		log.Print("200: ", info.User.ID)
	}
}

// countingSink stands in for a real sink (a Follower's): it counts rows.
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

package pgreplica

import (
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// On the wall clock a moment is its own: vouching on the DB's clock adds
// nothing to a proof, not even the nanoseconds between two readings. On
// another clock it moves by the clock's distance from the wall's, and never
// later than that distance allows.
func TestOnClockOf(t *testing.T) {
	wallDB, err := oauthdb.Open(oauthdb.WithReplica())
	if err != nil {
		t.Fatal(err)
	}
	proof := time.Now().Add(500 * time.Millisecond)
	for range 1000 {
		if got := onClockOf(wallDB, proof); !got.Equal(proof) {
			t.Fatalf("on the wall clock: %v, want %v", got, proof)
		}
	}
	behind := 300 * 24 * time.Hour
	fixed := time.Now().Add(-behind)
	fakeDB, err := oauthdb.Open(oauthdb.WithReplica(), oauthdb.WithClock(func() time.Time { return fixed }))
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	got := onClockOf(fakeDB, proof)
	// fixed stood for a wall reading no later than before.
	if latest := proof.Add(fixed.Sub(before)); got.After(latest) || got.Before(latest.Add(-time.Second)) {
		t.Errorf("on a clock %v behind: %v, want at most %v and about it", behind, got, latest)
	}
}

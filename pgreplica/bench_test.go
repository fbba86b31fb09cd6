package pgreplica_test

import (
	"context"
	"testing"

	"github.com/oauthdb/oauthdb/pgreplica"
)

// signalSink tells, for every applied transaction, that it came.
type signalSink struct {
	*recorder
	applied chan struct{}
}

func (s *signalSink) Apply(ctx context.Context, tx pgreplica.Txn) error {
	if err := s.recorder.Apply(ctx, tx); err != nil {
		return err
	}
	s.applied <- struct{}{}
	return nil
}

// BenchmarkRevocationToReplica measures, per operation, the revocation of
// an access token on the primary (UPDATE ... SET revoked, committed) until a
// replica's sink has applied it: the commit and the replication together.
// BenchmarkRevocationCommit is the commit alone; the difference is the
// replication's latency.
func BenchmarkRevocationToReplica(b *testing.B) {
	benchmarkRevocation(b, true)
}

// BenchmarkRevocationCommit is the baseline of BenchmarkRevocationToReplica:
// the same revocations with no replica.
func BenchmarkRevocationCommit(b *testing.B) {
	benchmarkRevocation(b, false)
}

func benchmarkRevocation(b *testing.B, replicate bool) {
	e := newEnv(b)
	e.exec(insertUser, "u1")
	e.exec(insertClient, "c1", `{}`)
	e.exec(insertAccess, "a1", "c1", nil, "u1", nil)
	sink := &signalSink{recorder: newRecorder(), applied: make(chan struct{}, 1)}
	if replicate {
		e.startReplica(pgreplica.Config{Slot: "bench"}, sink)
	}
	conn := e.conn()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := conn.Exec(ctx, `UPDATE "oauthAccessToken" SET revoked = now() WHERE id = 'a1'`); err != nil {
			b.Fatal(err)
		}
		if replicate {
			<-sink.applied
		}
	}
}

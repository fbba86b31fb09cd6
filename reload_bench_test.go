package oauthdb_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// BenchmarkReplicaReload measures a replica's resync that finds the tokens
// it holds unchanged and as many new ones beside them: the common resync
// after a replica was away. Its cost per row must not grow with the rows.
func BenchmarkReplicaReload(b *testing.B) {
	for _, n := range []int{700, 2800, 11200} {
		b.Run(fmt.Sprintf("tokens=%d", 2*n), func(b *testing.B) {
			all := bulkRowsOf(2 * n)
			held := all
			held.RefreshTokens = all.RefreshTokens[:n/2]
			held.AccessTokens = all.AccessTokens[:n]
			for b.Loop() {
				b.StopTimer()
				r, err := oauthdb.Open(oauthdb.WithReplica(), oauthdb.WithClock(func() time.Time { return t0 }))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(held) }); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := r.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(all) }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(3*n), "ns/row")
		})
	}
}

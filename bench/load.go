package bench

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/oauthdb/oauthdb"
)

// Loading and restoring: how long a store takes to be ready. Both start
// from an empty store and end with the dataset in it; neither keeps what it
// built, so that the next iteration, and the caller, start from the same
// heap. The heap around them matters to the stores that live on the Go
// heap: a collection during the load marks whatever else the process holds,
// so the go test benchmarks run them with no other store loaded, and the
// bench command in worker processes of their own before they load anything
// else.

// BenchLoad loads ds into a new, empty implementation made by f, once per
// iteration: the implementation's Load (one transaction for oauthdb and
// SQLite, batches for memdb-reflect), token hashing included. The
// implementation is made and closed with the timer stopped. It reports the
// rows loaded per second (rows/s).
func BenchLoad(b *testing.B, f Factory, ds *Dataset) {
	clock := NewClock(ds.Now)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		impl, err := f.New(clock.Now)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		if err := impl.Load(ds); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		impl.Close()
		impl = nil
		b.StartTimer()
	}
	b.ReportMetric(float64(rows(ds))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// Snapshot returns the snapshot stream of ds: oauthdb's DB loaded with it
// and written with WriteSnapshot. The DB is dropped.
func Snapshot(ds *Dataset) ([]byte, error) {
	o, err := NewOauthDB(NewClock(ds.Now).Now)
	if err != nil {
		return nil, err
	}
	if err := o.Load(ds); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := o.DB().WriteSnapshot(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BenchRestore reads snapshot, a snapshot of ds, into a new, empty oauthdb
// DB (opened with the timer stopped) once per iteration: a service's warm
// start. It reports the rows restored per second (rows/s).
func BenchRestore(b *testing.B, ds *Dataset, snapshot []byte) {
	clock := NewClock(ds.Now)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		db, err := oauthdb.Open(oauthdb.WithClock(clock.Now))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		info, err := db.ReadSnapshot(bytes.NewReader(snapshot))
		if err != nil {
			b.Fatal(err)
		}
		if info.Total() != rows(ds) {
			b.Fatalf("restored %d rows, want %d", info.Total(), rows(ds))
		}
	}
	b.ReportMetric(float64(rows(ds))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(len(snapshot)), "file-B")
}

// rows returns the number of rows of the dataset.
func rows(ds *Dataset) int {
	return len(ds.Users) + len(ds.Sessions) + len(ds.Clients) + len(ds.AccessTokens) +
		len(ds.RefreshTokens) + len(ds.Consents)
}

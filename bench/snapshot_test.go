package bench

import (
	"bytes"
	"testing"

	"github.com/oauthdb/oauthdb"
)

// The snapshot stream of oauthdb (DB.WriteSnapshot, DB.ReadSnapshot) on the
// benchmark dataset (-bench.tokens), loaded through the same Target as the
// other benchmarks: a service's warm start, measured. Targets: writing under
// 1 s and reading under 3 s at 200k tokens (330k rows), and a restored DB
// that retains within 1.1× the heap of the same DB built by inserts.

// snapshotSource returns the loaded oauthdb target and its snapshot.
func snapshotSource(b *testing.B) (*Target, *oauthdb.DB, []byte) {
	b.Helper()
	fs, err := Select("oauthdb")
	if err != nil {
		b.Fatal(err)
	}
	t, err := SharedTarget(fs[0], benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	db := t.Impl.(*OauthDB).DB()
	var buf bytes.Buffer
	if err := db.WriteSnapshot(&buf); err != nil {
		b.Fatal(err)
	}
	return t, db, buf.Bytes()
}

// BenchmarkSnapshot writes the loaded DB as a snapshot into a buffer that
// keeps its capacity, so that what is measured is the writer's work (one
// read transaction, the encoding, the checksums, the copy into the
// buffer). It reports the file's size.
func BenchmarkSnapshot(b *testing.B) {
	t, db, data := snapshotSource(b)
	buf := bytes.NewBuffer(make([]byte, 0, len(data)))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := db.WriteSnapshot(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "file-B")
	b.ReportMetric(float64(rows(t.Data)), "rows")
}

// BenchmarkRestore reads the snapshot of the loaded DB into a new, empty DB
// (BenchRestore), with no other store loaded in the process: the targets
// are released first, as a service starting warm holds nothing else. After
// the timed loop it restores once more, between two measurements of the
// heap after GC, and reports the heap that restored DB retains (retained-B)
// and its ratio to the heap the same DB retains when it is built by inserts
// (the Target's load), which must be at most 1.1.
func BenchmarkRestore(b *testing.B) {
	t, _, data := snapshotSource(b)
	ds, clock, built := t.Data, t.Clock, t.RetainedBytes
	ReleaseTargets()
	BenchRestore(b, ds, data)
	b.StopTimer()
	db, err := oauthdb.Open(oauthdb.WithClock(clock.Now))
	if err != nil {
		b.Fatal(err)
	}
	before := heapInUse()
	if _, err := db.ReadSnapshot(bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	retained := int64(heapInUse()) - int64(before)
	if db.Snapshot().Len() != rows(ds) { // and keeps db alive until here
		b.Fatal("restored DB lost rows")
	}
	b.ReportMetric(float64(retained), "retained-B")
	b.ReportMetric(float64(retained)/float64(built), "retained-ratio")
}

package bench

import (
	"testing"
	"time"
)

func BenchmarkZZSQLiteMode(b *testing.B) {
	cfg := ScaledConfig(*benchTokens)
	ds := SharedDataset(cfg)
	for _, mode := range []SQLiteMode{SQLiteMemdbVFS, SQLiteSingleConn, SQLiteSharedCache} {
		f := Factory{Name: "sqlite-" + mode.String(), New: func(now func() time.Time) (Impl, error) { return NewSQLite(now, mode) }}
		start := time.Now()
		t, err := NewTarget(f, cfg, ds)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: load %v (NewTarget %v), %.0f B/token", f.Name, t.LoadTime, time.Since(start), t.BytesPerToken)
		for _, c := range Cases()[:3] {
			b.Run(mode.String()+"/"+c.Name, func(b *testing.B) { c.Run(b, t) })
		}
		t.Impl.Close()
	}
}

func TestZZLoadTimes(t *testing.T) {
	cfg := ScaledConfig(*benchTokens)
	start := time.Now()
	ds := SharedDataset(cfg)
	t.Logf("generate: %v", time.Since(start))
	for _, f := range Factories() {
		start := time.Now()
		tg, err := NewTarget(f, cfg, ds)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: load %v (NewTarget %v), %.0f B/token", f.Name, tg.LoadTime, time.Since(start), tg.BytesPerToken)
		tg.Impl.Close()
	}
}

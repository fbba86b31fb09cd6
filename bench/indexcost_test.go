package bench

import (
	"flag"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

var indexCost = flag.Bool("bench.indexcost", false, "run TestIndexCost: the heap and insert time each index costs (a few minutes)")

// indexStep adds one index to a table under construction.
type indexStep[T any] struct {
	name string
	add  func(t *store.Table[T])
}

// TestIndexCost measures what each of oauthdb's indexes costs, on go-memdb
// through package store as oauthdb uses it: the dataset's rows of one table
// are loaded into a schema with the table's indexes added one at a time, and
// each step reports the heap retained and the load time per row. The
// difference from the step before is that index's cost. It prints a table;
// bench/README.md quotes it.
func TestIndexCost(t *testing.T) {
	if !*indexCost {
		t.Skip("-bench.indexcost runs it")
	}
	ds := Generate(DefaultConfig())
	var out strings.Builder
	fmt.Fprintf(&out, "%d access tokens, %d refresh tokens, %d sessions\n\n", len(ds.AccessTokens), len(ds.RefreshTokens), len(ds.Sessions))
	fmt.Fprintf(&out, "| table | index added | entries | heap B/row | the index, B/row | B/entry | load µs/row | the index, µs/row |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	measure(t, &out, "oauthAccessToken", ds.AccessTokens, func(r *AccessToken) string { return r.ID }, []indexStep[AccessToken]{
		{"token (unique)", func(tb *store.Table[AccessToken]) {
			store.StringIndex(tb, "token", func(r *AccessToken) string { return r.Token }).Unique()
		}},
		{"(clientId, refreshId)", func(tb *store.Table[AccessToken]) {
			store.CompoundIndex(tb, "clientRefresh", []string{"clientId", "refreshId"},
				func(r *AccessToken) string { return r.ClientID }, func(r *AccessToken) string { return r.RefreshID })
		}},
		{"(userId, sessionId), optional", func(tb *store.Table[AccessToken]) {
			store.CompoundIndex(tb, "userSession", []string{"userId", "sessionId"},
				func(r *AccessToken) string { return r.UserID }, func(r *AccessToken) string { return r.SessionID }).Optional()
		}},
		{"expiresAt", func(tb *store.Table[AccessToken]) {
			store.TimeIndex(tb, "expiresAt", func(r *AccessToken) time.Time { return r.ExpiresAt })
		}},
	})
	measure(t, &out, "oauthRefreshToken", ds.RefreshTokens, func(r *RefreshToken) string { return r.ID }, []indexStep[RefreshToken]{
		{"token (unique)", func(tb *store.Table[RefreshToken]) {
			store.StringIndex(tb, "token", func(r *RefreshToken) string { return r.Token }).Unique()
		}},
		{"clientId", func(tb *store.Table[RefreshToken]) {
			store.StringIndex(tb, "clientId", func(r *RefreshToken) string { return r.ClientID })
		}},
		{"(userId, sessionId), optional", func(tb *store.Table[RefreshToken]) {
			store.CompoundIndex(tb, "userSession", []string{"userId", "sessionId"},
				func(r *RefreshToken) string { return r.UserID }, func(r *RefreshToken) string { return r.SessionID }).Optional()
		}},
		{"expiresAt", func(tb *store.Table[RefreshToken]) {
			store.TimeIndex(tb, "expiresAt", func(r *RefreshToken) time.Time { return r.ExpiresAt })
		}},
	})
	measure(t, &out, "session", ds.Sessions, func(r *Session) string { return r.ID }, []indexStep[Session]{
		{"token (unique)", func(tb *store.Table[Session]) {
			store.StringIndex(tb, "token", func(r *Session) string { return r.Token }).Unique()
		}},
		{"userId", func(tb *store.Table[Session]) {
			store.StringIndex(tb, "userId", func(r *Session) string { return r.UserID })
		}},
		{"expiresAt", func(tb *store.Table[Session]) {
			store.TimeIndex(tb, "expiresAt", func(r *Session) time.Time { return r.ExpiresAt })
		}},
	})
	t.Log("\n" + out.String())
}

// measure loads rows into schemas of one table with steps' indexes added
// one by one, and writes a line per step.
func measure[T any](t *testing.T, out *strings.Builder, table string, rows []T, id func(*T) string, steps []indexStep[T]) {
	prevHeap, prevTime := 0.0, 0.0
	for n := 0; n <= len(steps); n++ {
		s := store.NewSchema()
		tb := store.NewTable(s, table, id)
		for _, st := range steps[:n] {
			st.add(tb)
		}
		before := heapInUse()
		db, err := store.Open(s, store.Config{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = db.Update(func(tx *store.Txn) error {
			for i := range rows {
				r := rows[i]
				if err := tb.Insert(tx, &r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		heap := float64(int64(heapInUse())-int64(before)) / float64(len(rows))
		runtime.KeepAlive(db)
		perRow := float64(elapsed.Microseconds()) / float64(len(rows))
		entries := len(rows)
		name := "id (primary key)"
		if n > 0 {
			name = steps[n-1].name
			entries = countEntries(rows, strings.Contains(name, "optional"))
		}
		idx, idxTime, perEntry := heap-prevHeap, perRow-prevTime, 0.0
		if n == 0 {
			idx, idxTime = heap, perRow
		}
		if entries > 0 {
			perEntry = idx * float64(len(rows)) / float64(entries)
		}
		fmt.Fprintf(out, "| %s | %s | %d | %.0f | %.0f | %.0f | %.1f | %.1f |\n", table, name, entries, heap, idx, perEntry, perRow, idxTime)
		prevHeap, prevTime = heap, perRow
	}
}

// countEntries counts the rows an index holds: every row, except for an
// optional (userId, sessionId) index, which leaves out rows without a user.
func countEntries[T any](rows []T, optional bool) int {
	if !optional {
		return len(rows)
	}
	n := 0
	for i := range rows {
		switch r := any(&rows[i]).(type) {
		case *AccessToken:
			if r.UserID != "" {
				n++
			}
		case *RefreshToken:
			if r.UserID != "" {
				n++
			}
		}
	}
	return n
}

package betterauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/oauthdb/oauthdb"
)

// DefaultMaxRowBytes bounds one row of the input (WithMaxRowBytes).
const DefaultMaxRowBytes = 1 << 20

// An Option configures Load.
type Option func(*config)

type config struct {
	maxRow        int64
	skip          []string
	refuseDangled bool
}

// WithMaxRowBytes bounds how much of the input one row may take — and so
// what Load buffers at once, beyond the records it keeps: a longer row, or
// that much input with no row in it, is ErrTooLarge. The default is
// DefaultMaxRowBytes.
func WithMaxRowBytes(n int) Option {
	return func(c *config) { c.maxRow = int64(max(n, 1)) }
}

// SkipTables names more tables to skip and report, as better-auth's own
// models oauthdb does not keep are: those of other plugins (organization,
// twoFactor, passkey, apikey, ...) or of the application.
func SkipTables(names ...string) Option {
	return func(c *config) { c.skip = append(c.skip, names...) }
}

// RefuseDanglingSessions makes a token whose sessionId names no session an
// error (oauthdb.ErrForeignKey), as any other dangling foreign key is. By
// default Load clears such a sessionId, as the SQL schemas' ON DELETE SET
// NULL does, and reports it: the memory adapter has no foreign keys, so
// after a sign-out its tokens keep naming the session that is gone.
func RefuseDanglingSessions() Option { return func(c *config) { c.refuseDangled = true } }

// Report says what Load did.
type Report struct {
	// Loaded is the number of rows loaded, by table.
	Loaded map[string]int
	// Skipped is the number of rows skipped, by table: better-auth's tables
	// that oauthdb does not keep (NotModeled) and those named by
	// SkipTables. A table that is present but empty is there with 0.
	Skipped map[string]int
	// ClearedSessions lists, by table, the IDs of the token rows whose
	// sessionId named no session and was cleared (see
	// RefuseDanglingSessions).
	ClearedSessions map[string][]string
}

// String lists the report's counts in table order, for a log line.
func (r Report) String() string {
	var b strings.Builder
	b.WriteString("loaded")
	for _, t := range Tables() {
		if n, ok := r.Loaded[t]; ok {
			fmt.Fprintf(&b, " %s=%d", t, n)
		}
	}
	if len(r.Skipped) > 0 {
		b.WriteString("; skipped")
		for _, t := range slices.Sorted(maps.Keys(r.Skipped)) {
			fmt.Fprintf(&b, " %s=%d", t, r.Skipped[t])
		}
	}
	for _, t := range slices.Sorted(maps.Keys(r.ClearedSessions)) {
		fmt.Fprintf(&b, "; %s: %d dangling sessionId cleared", t, len(r.ClearedSessions[t]))
	}
	return b.String()
}

// decoded is one decoded row, with where it was.
type decoded struct {
	index int
	id    string
	rec   any
}

// Load reads better-auth's rows and inserts them into db, all in one
// transaction: every row or, at the first that is refused, none.
//
// The input is one JSON object of tables, each an array of rows — the
// memory adapter's shape, and that of rows read from any other adapter and
// written as JSON:
//
//	{"user": [{"id": "…", "name": "Alice", …}], "session": [ … ], …}
//
// Each row is decoded as DecodeRow says, so a column may be in any of the
// shapes the adapters store it in. Rows are inserted parents first (users,
// sessions, clients, refresh tokens, access tokens, consents,
// verifications), whatever their order in the input. Columns oauthdb does
// not know are ignored; better-auth tables it does not keep (NotModeled,
// SkipTables) are skipped and counted in the Report; any other table name
// is ErrUnknownTable.
//
// The input is read as a stream, a row at a time, and no row may be longer
// than WithMaxRowBytes: bad input is refused when it is met, without
// reading the rest. Every error is a *RowError naming the table, the row's
// index and id and the field, and wrapping what was wrong.
func Load(db *oauthdb.DB, r io.Reader, opts ...Option) (Report, error) {
	cfg := config{maxRow: DefaultMaxRowBytes}
	for _, o := range opts {
		o(&cfg)
	}
	rows, rep, err := read(r, &cfg)
	if err != nil {
		return Report{}, err
	}
	err = db.Update(func(tx *oauthdb.Tx) error {
		if !cfg.refuseDangled {
			clearDangling(tx, rows, &rep)
		}
		for _, table := range modeled {
			for _, d := range rows[table] {
				if err := tx.Insert(d.rec); err != nil {
					return storeError(table, d, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	return rep, nil
}

// storeError names the row that the door refused.
func storeError(table string, d decoded, err error) *RowError {
	e := &RowError{Table: table, Index: d.index, ID: d.id, Err: err}
	var oe *oauthdb.Error
	if errors.As(err, &oe) && oe.Table == table {
		e.Field = oe.Field
	}
	return e
}

// clearDangling clears the sessionId of tokens whose session is neither in
// the input nor in the DB, as ON DELETE SET NULL would have.
func clearDangling(tx *oauthdb.Tx, rows map[string][]decoded, rep *Report) {
	known := map[string]bool{}
	for _, d := range rows[oauthdb.TableSession] {
		known[d.rec.(oauthdb.Session).ID] = true
	}
	gone := func(id string) bool {
		if id == "" || known[id] {
			return false
		}
		_, err := tx.Session(id)
		return err != nil
	}
	note := func(table, id string) {
		if rep.ClearedSessions == nil {
			rep.ClearedSessions = map[string][]string{}
		}
		rep.ClearedSessions[table] = append(rep.ClearedSessions[table], id)
	}
	for i, d := range rows[oauthdb.TableOAuthAccessToken] {
		if t := d.rec.(oauthdb.OAuthAccessToken); gone(t.SessionID) {
			t.SessionID = ""
			rows[oauthdb.TableOAuthAccessToken][i].rec = t
			note(oauthdb.TableOAuthAccessToken, t.ID)
		}
	}
	for i, d := range rows[oauthdb.TableOAuthRefreshToken] {
		if t := d.rec.(oauthdb.OAuthRefreshToken); gone(t.SessionID) {
			t.SessionID = ""
			rows[oauthdb.TableOAuthRefreshToken][i].rec = t
			note(oauthdb.TableOAuthRefreshToken, t.ID)
		}
	}
}

// read decodes the whole input, a row at a time, into records by table.
func read(r io.Reader, cfg *config) (map[string][]decoded, Report, error) {
	in := &boundedReader{r: r, max: cfg.maxRow}
	in.allow()
	dec := json.NewDecoder(in)
	rep := Report{Loaded: map[string]int{}, Skipped: map[string]int{}}
	rows := map[string][]decoded{}
	seen := map[string]bool{}
	// fail turns a decoder error into the error for where it happened.
	fail := func(table string, index int, err error) error {
		var se *json.SyntaxError
		switch {
		case errors.Is(err, errTooLarge):
			err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, cfg.maxRow)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			err = fmt.Errorf("%w: the input ends too soon", ErrMalformed)
		case errors.As(err, &se):
			err = fmt.Errorf("%w: not JSON at byte %d", ErrMalformed, se.Offset)
		case errors.Is(err, ErrMalformed):
		default:
			err = fmt.Errorf("%w: reading the input: %w", ErrMalformed, err)
		}
		return &RowError{Table: table, Index: index, Err: err}
	}
	if err := expect(dec, '{', "an object of tables"); err != nil {
		return nil, rep, fail("", -1, err)
	}
	for dec.More() {
		in.allow()
		tok, err := dec.Token()
		if err != nil {
			return nil, rep, fail("", -1, err)
		}
		name, ok := tok.(string) // an object's keys are strings: checked all the same
		if !ok {
			return nil, rep, fail("", -1, fmt.Errorf("%w: want a table name", ErrMalformed))
		}
		keep := slices.Contains(modeled, name)
		if !keep {
			if terr := tableError(name, cfg.skip); terr != ErrNotModeled {
				return nil, rep, &RowError{Table: name, Index: -1, Err: terr}
			}
		}
		if seen[name] {
			return nil, rep, &RowError{Table: name, Index: -1, Err: fmt.Errorf("%w: the table appears twice", ErrMalformed)}
		}
		seen[name] = true
		if err := expect(dec, '[', "an array of rows"); err != nil {
			return nil, rep, fail(name, -1, err)
		}
		n := 0
		for ; dec.More(); n++ {
			in.allow()
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, rep, fail(name, n, err)
			}
			if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' {
				return nil, rep, &RowError{Table: name, Index: n, Err: fmt.Errorf("%w: a row is not a JSON object", ErrMalformed)}
			}
			if !keep {
				continue
			}
			rec, id, err := decodeJSONRow(name, raw)
			if err != nil {
				var re *RowError
				if errors.As(err, &re) {
					re.Index = n
				}
				return nil, rep, err
			}
			rows[name] = append(rows[name], decoded{index: n, id: id, rec: rec})
		}
		if _, err := dec.Token(); err != nil { // the array's ]
			return nil, rep, fail(name, n, err)
		}
		if keep {
			rep.Loaded[name] = n
		} else {
			rep.Skipped[name] = n
		}
	}
	if _, err := dec.Token(); err != nil { // the object's }
		return nil, rep, fail("", -1, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, rep, &RowError{Index: -1, Err: fmt.Errorf("%w: more input after the object of tables", ErrMalformed)}
	}
	return rows, rep, nil
}

// expect reads the opening delimiter of what must come next.
func expect(dec *json.Decoder, delim json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != delim {
		return fmt.Errorf("%w: want %s", ErrMalformed, what)
	}
	return nil
}

// errTooLarge is what boundedReader returns past its limit.
var errTooLarge = errors.New("input over the row limit")

// boundedReader lets the JSON decoder read at most max bytes past the
// point of the last allow: whatever the input, the decoder never buffers
// more than about one row.
type boundedReader struct {
	r          io.Reader
	max        int64
	read, stop int64
}

// allow lets the decoder read up to max more bytes from here: called at
// each row.
func (b *boundedReader) allow() { b.stop = b.read + b.max }

func (b *boundedReader) Read(p []byte) (int, error) {
	left := b.stop - b.read
	if left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

package betterauth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/betterauth"
)

// A small valid input: one of each record, children before parents, with
// better-auth's own values.
const validInput = `{
  "oauthAccessToken": [{"id": "a1", "token": "HASH-of-the-access-token-aaaaaaaaaaaaaaaaaaaa", "clientId": "web",
    "userId": "u1", "sessionId": "s1", "scopes": ["openid"], "expiresAt": "2026-01-01T01:00:00.000Z",
    "createdAt": "2026-01-01T00:00:00.000Z"}],
  "oauthClient": [{"id": "c1", "clientId": "web", "clientSecret": "HASH-of-the-client-secret-ccccccccccccccccccc",
    "redirectUris": ["https://web.example/cb"], "scopes": ["openid"], "createdAt": "2026-01-01T00:00:00.000Z",
    "updatedAt": "2026-01-01T00:00:00.000Z"}],
  "session": [{"id": "s1", "token": "session-cookie-value", "userId": "u1", "expiresAt": "2026-01-08T00:00:00.000Z",
    "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"}],
  "user": [{"id": "u1", "name": "Alice", "email": "alice@example.com", "emailVerified": false,
    "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"}],
  "account": [{"id": "x1", "password": "salt:key"}],
  "jwks": []
}`

// secrets are the values no error may show.
var secrets = []string{"HASH-of-the-access-token", "HASH-of-the-client-secret", "session-cookie-value", "salt:key"}

func TestValidInputLoads(t *testing.T) {
	db := openDB(t)
	rep, err := betterauth.Load(db, strings.NewReader(validInput))
	if err != nil {
		t.Fatal(err)
	}
	want := "loaded user=1 session=1 oauthClient=1 oauthAccessToken=1; skipped account=1 jwks=0"
	if rep.String() != want {
		t.Errorf("report %q, want %q", rep, want)
	}
	if n := db.Snapshot().Len(); n != 4 {
		t.Errorf("%d records", n)
	}
}

// loadFails loads input into a fresh DB and returns the *RowError; the DB
// must be left empty and the error must show no secret.
func loadFails(t *testing.T, input string, opts ...betterauth.Option) *betterauth.RowError {
	t.Helper()
	db := openDB(t)
	_, err := betterauth.Load(db, strings.NewReader(input), opts...)
	if err == nil {
		t.Fatalf("loaded; want an error")
	}
	var re *betterauth.RowError
	if !errors.As(err, &re) {
		t.Fatalf("%T %v, want a *RowError", err, err)
	}
	if !errors.Is(err, oauthdb.ErrInvalid) && !errors.Is(err, oauthdb.ErrConflict) && !errors.Is(err, oauthdb.ErrForeignKey) {
		t.Errorf("%v: not one of oauthdb's kinds", err)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("the error shows a secret: %v", err)
		}
	}
	if n := db.Snapshot().Len(); n != 0 {
		t.Errorf("%v: %d records loaded, want none", err, n)
	}
	return re
}

// edit returns validInput with one replacement, which must apply.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(validInput, old) {
		t.Fatalf("%q is not in the input", old)
	}
	return strings.Replace(validInput, old, new, 1)
}

func TestBadInput(t *testing.T) {
	type want struct {
		kind         error
		table, id    string
		index        int
		field, words string
	}
	for _, tc := range []struct {
		name  string
		input func(t *testing.T) string
		want  want
	}{
		{"empty", func(*testing.T) string { return "" }, want{betterauth.ErrMalformed, "", "", -1, "", "ends too soon"}},
		{"not an object", func(*testing.T) string { return `[{"user": []}]` }, want{betterauth.ErrMalformed, "", "", -1, "", "an object of tables"}},
		{"truncated in a row", func(*testing.T) string { return validInput[:strings.Index(validInput, `"sessionId"`)] },
			want{betterauth.ErrMalformed, "oauthAccessToken", "", 0, "", "ends too soon"}},
		{"truncated between tables", func(*testing.T) string { return validInput[:strings.Index(validInput, `"session"`)] },
			want{betterauth.ErrMalformed, "", "", -1, "", "ends too soon"}},
		{"malformed JSON in a row", func(t *testing.T) string { return edit(t, `"userId": "u1", "sessionId"`, `"userId": u1, "sessionId"`) },
			want{betterauth.ErrMalformed, "oauthAccessToken", "", 0, "", "not JSON"}},
		{"trailing data", func(*testing.T) string { return validInput + `{}` }, want{betterauth.ErrMalformed, "", "", -1, "", "more input"}},
		{"a table is not an array", func(t *testing.T) string { return edit(t, `"jwks": []`, `"jwks": {}`) },
			want{betterauth.ErrMalformed, "jwks", "", -1, "", "an array of rows"}},
		{"a row is not an object", func(t *testing.T) string { return edit(t, `"jwks": []`, `"jwks": [{}, ["x"]]`) },
			want{betterauth.ErrMalformed, "jwks", "", 1, "", "not a JSON object"}},
		{"a table twice", func(t *testing.T) string { return edit(t, `"jwks": []`, `"jwks": [], "jwks": []`) },
			want{betterauth.ErrMalformed, "jwks", "", -1, "", "twice"}},
		{"unknown table", func(t *testing.T) string { return edit(t, `"jwks": []`, `"organization": [{"id": "o1"}]`) },
			want{betterauth.ErrUnknownTable, "organization", "", -1, "", "unknown table"}},
		{"no id", func(t *testing.T) string { return edit(t, `"id": "s1", `, ``) }, want{oauthdb.ErrInvalid, "session", "", 0, "id", "required"}},
		{"wrong type", func(t *testing.T) string {
			return edit(t, `"scopes": ["openid"], "expiresAt"`, `"scopes": 7, "expiresAt"`)
		},
			want{oauthdb.ErrInvalid, "oauthAccessToken", "a1", 0, "scopes", "want a string[], got a number"}},
		{"space-separated scopes", func(t *testing.T) string {
			return edit(t, `"scopes": ["openid"], "expiresAt"`, `"scopes": "openid profile", "expiresAt"`)
		}, want{oauthdb.ErrInvalid, "oauthAccessToken", "a1", 0, "scopes", "got a string"}},
		{"a token that is a number", func(t *testing.T) string {
			return edit(t, `"token": "HASH-of-the-access-token-aaaaaaaaaaaaaaaaaaaa"`, `"token": 12`)
		}, want{oauthdb.ErrInvalid, "oauthAccessToken", "a1", 0, "token", "want a string"}},
		{"not a date", func(t *testing.T) string {
			return edit(t, `"expiresAt": "2026-01-08T00:00:00.000Z"`, `"expiresAt": "next week"`)
		},
			want{oauthdb.ErrInvalid, "session", "s1", 0, "expiresAt", "not a date"}},
		{"not a boolean", func(t *testing.T) string { return edit(t, `"emailVerified": false`, `"emailVerified": "no"`) },
			want{oauthdb.ErrInvalid, "user", "u1", 0, "emailVerified", "not a boolean"}},
		{"metadata that is not JSON", func(t *testing.T) string {
			return edit(t, `"scopes": ["openid"], "createdAt"`, `"scopes": ["openid"], "metadata": "{oops", "createdAt"`)
		}, want{oauthdb.ErrInvalid, "oauthClient", "c1", 0, "metadata", "not JSON"}},
		{"invalid UTF-8", func(t *testing.T) string { return edit(t, `"name": "Alice"`, "\"name\": \"Al\xffce\"") },
			want{oauthdb.ErrInvalid, "user", "u1", 0, "name", "UTF-8"}},
		{"a lone surrogate", func(t *testing.T) string { return edit(t, `"name": "Alice"`, `"name": "Al\udc00ce"`) },
			want{oauthdb.ErrInvalid, "user", "u1", 0, "name", "UTF-8"}},
		{"a time past year 9999", func(t *testing.T) string {
			return edit(t, `"expiresAt": "2026-01-01T01:00:00.000Z"`, `"expiresAt": 253402300800000`)
		}, want{oauthdb.ErrInvalid, "oauthAccessToken", "a1", 0, "expiresAt", "years 0 to 9999"}},
		{"not a scope-token", func(t *testing.T) string {
			return edit(t, `"scopes": ["openid"], "expiresAt"`, `"scopes": ["openid profile"], "expiresAt"`)
		}, want{oauthdb.ErrInvalid, "oauthAccessToken", "a1", 0, "scopes", "scope-token"}},
		{"no redirect URI", func(t *testing.T) string {
			return edit(t, `"redirectUris": ["https://web.example/cb"]`, `"redirectUris": null`)
		}, want{oauthdb.ErrInvalid, "oauthClient", "c1", 0, "redirectUris", "required"}},
		{"dangling client", func(t *testing.T) string {
			return edit(t, `"clientId": "web",`+"\n    \"userId\"", `"clientId": "nobody",`+"\n    \"userId\"")
		},
			want{oauthdb.ErrForeignKey, "oauthAccessToken", "a1", 0, "clientId", "nobody"}},
		{"dangling user", func(t *testing.T) string {
			return edit(t, `"userId": "u1", "expiresAt"`, `"userId": "u2", "expiresAt"`)
		},
			want{oauthdb.ErrForeignKey, "session", "s1", 0, "userId", "u2"}},
		{"duplicate id", func(t *testing.T) string {
			return edit(t, `"account": [`, `"verification": [{"id": "v1", "identifier": "i1", "value": "{}", "expiresAt": 1},`+
				`{"id": "v1", "identifier": "i2", "value": "{}", "expiresAt": 1}], "account": [`)
		}, want{oauthdb.ErrConflict, "verification", "v1", 1, "id", "exists"}},
		{"duplicate token hash", func(t *testing.T) string {
			return edit(t, `"oauthAccessToken": [`, `"oauthAccessToken": [{"id": "a0", "token": "HASH-of-the-access-token-aaaaaaaaaaaaaaaaaaaa",`+
				`"clientId": "web", "scopes": [], "expiresAt": 1, "createdAt": 1},`)
		}, want{oauthdb.ErrConflict, "oauthAccessToken", "a1", 1, "token", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re := loadFails(t, tc.input(t))
			w := tc.want
			if !errors.Is(re, w.kind) || re.Table != w.table || re.ID != w.id || re.Index != w.index || re.Field != w.field ||
				!strings.Contains(re.Error(), w.words) {
				t.Errorf("got %v\n(table %q index %d id %q field %q)\nwant %v in table %q index %d id %q field %q, saying %q",
					re, re.Table, re.Index, re.ID, re.Field, w.kind, w.table, w.index, w.id, w.field, w.words)
			}
		})
	}
}

func TestSkipTables(t *testing.T) {
	input := edit(t, `"jwks": []`, `"organization": [{"id": "o1"}, {"id": "o2"}]`)
	db := openDB(t)
	rep, err := betterauth.Load(db, strings.NewReader(input), betterauth.SkipTables("organization"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped["organization"] != 2 || rep.Skipped["account"] != 1 {
		t.Errorf("report %v", rep)
	}
	// DecodeRow says which tables it does not decode.
	for table, kind := range map[string]error{"account": betterauth.ErrNotModeled, "organization": betterauth.ErrUnknownTable} {
		if _, err := betterauth.DecodeRow(table, map[string]betterauth.Value{"id": betterauth.TextValue("x", 25)}); !errors.Is(err, kind) {
			t.Errorf("DecodeRow(%s): %v, want %v", table, err, kind)
		}
	}
}

// TestDanglingSessionsAreCleared: the memory adapter has no foreign keys,
// so after S2's sign-out its tokens still name it. Load clears those
// sessionIds as the SQL schemas' ON DELETE SET NULL does, and says so; or
// refuses them.
func TestDanglingSessionsAreCleared(t *testing.T) {
	e := readExport(t, samplePath("memory"))
	var m moment
	for _, x := range e.Moments {
		if x.Name == "sign-out-between" {
			m = x
		}
	}
	db, rep := loadMoment(t, m)
	// B's are gone: the public client's family was deleted before.
	if len(rep.ClearedSessions[oauthdb.TableOAuthAccessToken]) != 5 || len(rep.ClearedSessions[oauthdb.TableOAuthRefreshToken]) != 2 {
		t.Errorf("cleared %v, want S2's five access tokens (C, E, E2, E3, E4) and two refresh tokens (E, E2)", rep.ClearedSessions)
	}
	for _, id := range rep.ClearedSessions[oauthdb.TableOAuthAccessToken] {
		err := db.View(func(tx *oauthdb.Tx) error {
			a, err := tx.AccessToken(id)
			if err == nil && a.SessionID != "" {
				t.Errorf("%s keeps sessionId %s", id, a.SessionID)
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}
	_, err := betterauth.Load(openDB(t), bytes.NewReader(m.Tables), betterauth.RefuseDanglingSessions())
	var re *betterauth.RowError
	if !errors.As(err, &re) || !errors.Is(err, oauthdb.ErrForeignKey) || re.Field != "sessionId" || re.ID == "" || re.Index < 0 {
		t.Errorf("RefuseDanglingSessions: %v", err)
	}
}

// countingReader counts what is read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless repeats a pattern after a prefix, up to size bytes, without
// holding them.
type endless struct {
	prefix  []byte
	pattern func(p []byte)
	left    int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n := copy(p, e.prefix)
	e.prefix = e.prefix[n:]
	e.pattern(p[n:])
	e.left -= int64(len(p))
	return len(p), nil
}

// TestGarbageIsRefusedEarly: 50 MB of garbage, in the shapes a stream can
// take, is refused after reading a small part of it, without buffering it.
func TestGarbageIsRefusedEarly(t *testing.T) {
	const size = 50 << 20
	fill := func(b byte) func([]byte) {
		return func(p []byte) {
			for i := range p {
				p[i] = b
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		in   *endless
		kind error
	}{
		{"random bytes", &endless{pattern: func(p []byte) {
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
		}, left: size}, betterauth.ErrMalformed},
		{"one huge string", &endless{prefix: []byte(`{"user": [{"id": "u1", "name": "`), pattern: fill('x'), left: size}, betterauth.ErrTooLarge},
		{"one huge skipped row", &endless{prefix: []byte(`{"account": [{"id": "x", "password": "`), pattern: fill('x'), left: size}, betterauth.ErrTooLarge},
		{"whitespace", &endless{prefix: []byte(`{"user": [`), pattern: fill(' '), left: size}, betterauth.ErrTooLarge},
		{"deep nesting", &endless{prefix: []byte(`{"user": [`), pattern: fill('['), left: size}, betterauth.ErrMalformed},
		{"a huge table name", &endless{prefix: []byte(`{"`), pattern: fill('u'), left: size}, betterauth.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &countingReader{r: tc.in}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := betterauth.Load(openDB(t), in)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tc.kind) {
				t.Errorf("%v, want %v", err, tc.kind)
			}
			if in.n > 4<<20 {
				t.Errorf("read %d bytes of %d before refusing", in.n, size)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("allocated %d bytes", alloc)
			}
			t.Logf("%v after reading %d bytes", err, in.n)
		})
	}
}

// TestErrorsShowNoHash: whatever the door refuses in a real export, the
// error names the row and never a token hash or a client secret's hash.
func TestErrorsShowNoHash(t *testing.T) {
	e := readExport(t, samplePath("sqlite"))
	m := e.Moments[0]
	var hashes []string
	for _, tok := range e.Tokens {
		hashes = append(hashes, tok.Hash)
	}
	var tables map[string][]map[string]any
	if err := json.Unmarshal(m.Tables, &tables); err != nil {
		t.Fatal(err)
	}
	// Twice the same access token row under another id: a conflict on its
	// hash.
	dup := map[string]any{}
	for k, v := range tables[oauthdb.TableOAuthAccessToken][1] {
		dup[k] = v
	}
	dup["id"] = "copy"
	tables[oauthdb.TableOAuthAccessToken] = append(tables[oauthdb.TableOAuthAccessToken], dup)
	data, _ := json.Marshal(tables)
	_, err := betterauth.Load(openDB(t), bytes.NewReader(data))
	if !errors.Is(err, oauthdb.ErrConflict) {
		t.Fatalf("%v, want a conflict", err)
	}
	for _, h := range hashes {
		if strings.Contains(err.Error(), h) {
			t.Errorf("the error shows a token hash: %v", err)
		}
	}
	t.Log(err)
}

// An unknown table's name, however long, is cut in the errors of
// DecodeRow and DecodeJSONRow, as every value an error quotes is
// (store.Bound).
func TestDecodeRowBoundsTheTableName(t *testing.T) {
	for _, name := range []string{strings.Repeat("x", 100_000), strings.Repeat("é-", 50_000)} {
		_, err := betterauth.DecodeRow(name, map[string]betterauth.Value{})
		_, jerr := betterauth.DecodeJSONRow(name, json.RawMessage(`{"id":"r1"}`))
		for _, err := range []error{err, jerr} {
			if !errors.Is(err, betterauth.ErrUnknownTable) || len(err.Error()) > 200 {
				t.Errorf("a table name of %d bytes: an error of %d bytes (%.80s…), want ErrUnknownTable in at most 200",
					len(name), len(err.Error()), err)
			}
		}
	}
}

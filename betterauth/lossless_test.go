package betterauth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/betterauth"
)

// rawExport is an export with its rows and schema as they are.
type rawExport struct {
	Adapter string                                   `json:"adapter"`
	Schema  map[string]struct{ Columns []rawColumn } `json:"schema"`
	Moments []struct {
		Name   string                                  `json:"name"`
		Tables map[string][]map[string]json.RawMessage `json:"tables"`
	} `json:"moments"`
}

type rawColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func readRaw(t *testing.T, adapter string) rawExport {
	t.Helper()
	var e rawExport
	data := readFile(t, samplePath(adapter))
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// logicalTypes are better-auth's own types of every column (string,
// boolean, date, string[], json, number), by table: the memory export's
// schema is better-auth's field list, the same for every adapter.
func logicalTypes(t *testing.T) map[string]map[string]string {
	t.Helper()
	types := map[string]map[string]string{}
	for table, s := range readRaw(t, "memory").Schema {
		types[table] = map[string]string{}
		for _, c := range s.Columns {
			types[table][c.Name] = c.Type
		}
	}
	return types
}

// recordTypes are the oauthdb record types by table.
var recordTypes = map[string]reflect.Type{
	oauthdb.TableUser:              reflect.TypeFor[oauthdb.User](),
	oauthdb.TableSession:           reflect.TypeFor[oauthdb.Session](),
	oauthdb.TableOAuthClient:       reflect.TypeFor[oauthdb.OAuthClient](),
	oauthdb.TableOAuthAccessToken:  reflect.TypeFor[oauthdb.OAuthAccessToken](),
	oauthdb.TableOAuthRefreshToken: reflect.TypeFor[oauthdb.OAuthRefreshToken](),
	oauthdb.TableOAuthConsent:      reflect.TypeFor[oauthdb.OAuthConsent](),
	oauthdb.TableVerification:      reflect.TypeFor[oauthdb.Verification](),
}

func jsonNames(rt reflect.Type) []string {
	var names []string
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

// TestEveryColumnBetterAuthWritesHasAField: for the seven tables oauthdb
// keeps, every column better-auth 1.7.29 has (in any adapter's schema) is a
// field of the record, so none is lost on load.
func TestEveryColumnBetterAuthWritesHasAField(t *testing.T) {
	for _, adapter := range adapters {
		for table, s := range readRaw(t, adapter).Schema {
			rt, ok := recordTypes[table]
			if !ok {
				continue
			}
			for _, c := range s.Columns {
				if !slices.Contains(jsonNames(rt), c.Name) {
					t.Errorf("%s: %s.%s is not a field of %s", adapter, table, c.Name, rt)
				}
			}
		}
	}
}

// canonical reads a column's value as the sample holds it, independently of
// the loader, into a comparable Go value: strings, bools, times, []string
// (nil for unset, empty for []), and parsed JSON.
func canonical(t *testing.T, typ string, raw json.RawMessage, where string) any {
	t.Helper()
	var v any
	if raw != nil {
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
	}
	fail := func() any { t.Fatalf("%s: a %s column holds %s", where, typ, raw); return nil }
	switch typ {
	case "string":
		switch v := v.(type) {
		case nil:
			return ""
		case string:
			return v
		}
	case "boolean":
		switch v {
		case nil, false, float64(0):
			return false
		case true, float64(1):
			return true
		}
	case "date":
		switch v := v.(type) {
		case nil:
			return time.Time{}
		case string:
			tm, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return fail()
			}
			return tm.UTC()
		}
	case "string[]":
		if s, ok := v.(string); ok { // SQL adapters: JSON text
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return fail()
			}
		}
		switch v := v.(type) {
		case nil:
			return []string(nil)
		case []any:
			out := []string{}
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return fail()
				}
				out = append(out, s)
			}
			return out
		}
	case "json":
		if s, ok := v.(string); ok { // memory and SQL adapters: JSON text
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return fail()
			}
		}
		return v
	}
	return fail()
}

// TestLoadKeepsEveryField: every column of every row of every moment of
// every adapter's sample is, after loading, what better-auth wrote — read
// from the stored record, not from the loader's decoding of it.
func TestLoadKeepsEveryField(t *testing.T) {
	types := logicalTypes(t)
	compared := map[string]int{} // values compared, by better-auth type
	for _, adapter := range adapters {
		raw := readRaw(t, adapter)
		exp := readExport(t, samplePath(adapter))
		for i, m := range raw.Moments {
			db, _ := loadMoment(t, exp.Moments[i])
			stored := map[string]map[string]map[string]json.RawMessage{} // table → id → column → JSON
			snap := db.Snapshot()
			for table, recs := range map[string]any{
				oauthdb.TableUser: snap.Users, oauthdb.TableSession: snap.Sessions, oauthdb.TableOAuthClient: snap.Clients,
				oauthdb.TableOAuthAccessToken: snap.AccessTokens, oauthdb.TableOAuthRefreshToken: snap.RefreshTokens,
				oauthdb.TableOAuthConsent: snap.Consents, oauthdb.TableVerification: snap.Verifications,
			} {
				var rows []map[string]json.RawMessage
				b, _ := json.Marshal(recs)
				if err := json.Unmarshal(b, &rows); err != nil {
					t.Fatal(err)
				}
				stored[table] = map[string]map[string]json.RawMessage{}
				for _, r := range rows {
					var id string
					_ = json.Unmarshal(r["id"], &id)
					stored[table][id] = r
				}
			}
			for table, rows := range m.Tables {
				if recordTypes[table] == nil {
					continue
				}
				if len(rows) != len(stored[table]) {
					t.Errorf("%s/%s: %s has %d rows, %d stored", adapter, m.Name, table, len(rows), len(stored[table]))
				}
				for _, row := range rows {
					var id string
					_ = json.Unmarshal(row["id"], &id)
					rec, ok := stored[table][id]
					if !ok {
						t.Errorf("%s/%s: %s row %s not stored", adapter, m.Name, table, id)
						continue
					}
					for col, v := range row {
						typ := types[table][col]
						if col == "sessionId" && adapter == "memory" && !sessionExists(snap, v) {
							continue // a dangling reference, cleared: TestDanglingSessionsAreCleared
						}
						where := fmt.Sprintf("%s/%s %s %s.%s", adapter, m.Name, table, id, col)
						want := canonical(t, typ, v, where+" (sample)")
						got := canonical(t, typ, rec[col], where+" (stored)")
						compared[typ]++
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("%s: stored differs from better-auth's (-better-auth +stored):\n%s", where, diff)
						}
					}
				}
			}
		}
	}
	for _, typ := range []string{"string", "boolean", "date", "string[]", "json"} {
		if compared[typ] == 0 {
			t.Errorf("no %s column compared", typ)
		}
	}
	t.Logf("values compared: %v", compared)
}

func sessionExists(s oauthdb.Snapshot, raw json.RawMessage) bool {
	var id string
	_ = json.Unmarshal(raw, &id)
	return id == "" || slices.ContainsFunc(s.Sessions, func(x oauthdb.Session) bool { return x.ID == id })
}

// roundTrip checks that db's records survive Snapshot → JSON → Restore into
// a fresh DB unchanged, and returns the snapshot.
func roundTrip(t *testing.T, db *oauthdb.DB, what string) oauthdb.Snapshot {
	t.Helper()
	snap := db.Snapshot()
	data, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back oauthdb.Snapshot
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	fresh := openDB(t)
	if err := fresh.Restore(back); err != nil {
		t.Fatalf("%s: restore: %v", what, err)
	}
	if diff := cmp.Diff(snap, fresh.Snapshot()); diff != "" {
		t.Errorf("%s: Snapshot → JSON → Restore changed the records (-loaded +restored):\n%s", what, diff)
	}
	return snap
}

// TestSamplesSurviveSnapshotAndRestore: each adapter's rows, at every
// moment, load and come back unchanged from a snapshot restored into a fresh
// DB.
func TestSamplesSurviveSnapshotAndRestore(t *testing.T) {
	for _, adapter := range adapters {
		for _, m := range readExport(t, samplePath(adapter)).Moments {
			db, _ := loadMoment(t, m)
			if roundTrip(t, db, adapter+"/"+m.Name).Len() == 0 {
				t.Errorf("%s/%s: nothing loaded", adapter, m.Name)
			}
		}
	}
}

// The shapes no sample has are made from the samples, column by column, as
// the other adapters and Postgres' text output write them (the forms below
// are those psql prints from better-auth's own Postgres tables, with
// pgreplica's session settings: TimeZone UTC, DateStyle ISO): each must
// decode to exactly the record its sample row decodes to.

// pgText writes a JSON value of the Postgres JSON export as Postgres'
// text output for the column's type, and the type's OID.
func pgText(t *testing.T, pgType string, raw json.RawMessage) betterauth.Value {
	t.Helper()
	if string(raw) == "null" {
		return betterauth.NullValue()
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	switch pgType {
	case "text":
		return betterauth.TextValue(v.(string), 25)
	case "boolean":
		return betterauth.TextValue(map[bool]string{true: "t", false: "f"}[v.(bool)], 16)
	case "timestamp with time zone":
		tm, err := time.Parse(time.RFC3339Nano, v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return betterauth.TextValue(tm.UTC().Format("2006-01-02 15:04:05.999999")+"+00", 1184)
	case "jsonb":
		return betterauth.TextValue(jsonbText(v), 3802)
	case "integer":
		return betterauth.TextValue(strconv.Itoa(int(v.(float64))), 23)
	}
	t.Fatalf("no text form for Postgres type %s", pgType)
	return betterauth.Value{}
}

// jsonbText writes v as jsonb's output function does: ", " and ": ", object
// keys shortest first.
func jsonbText(v any) string {
	switch v := v.(type) {
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = jsonbText(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if len(keys[i]) != len(keys[j]) {
				return len(keys[i]) < len(keys[j])
			}
			return keys[i] < keys[j]
		})
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = jsonbText(k) + ": " + jsonbText(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// pgArrayText writes a list as a Postgres text[] prints it.
func pgArrayText(vs []string) string {
	parts := make([]string, len(vs))
	for i, s := range vs {
		if s == "" || strings.EqualFold(s, "NULL") || strings.ContainsAny(s, "{}\",\\ \t\n") {
			s = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		parts[i] = s
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// eachRow calls fn with every row of the modeled tables of an adapter's
// sample, with the Postgres (or other) type of each column.
func eachRow(t *testing.T, adapter string, fn func(table string, row map[string]json.RawMessage, types map[string]string)) {
	t.Helper()
	raw := readRaw(t, adapter)
	for _, m := range raw.Moments {
		for table, rows := range m.Tables {
			if recordTypes[table] == nil {
				continue
			}
			types := map[string]string{}
			for _, c := range raw.Schema[table].Columns {
				types[c.Name] = c.Type
			}
			for _, row := range rows {
				fn(table, row, types)
			}
		}
	}
}

func jsonRow(row map[string]json.RawMessage) map[string]betterauth.Value {
	out := map[string]betterauth.Value{}
	for k, v := range row {
		out[k] = betterauth.JSONValue(v)
	}
	return out
}

// sameRecord decodes both rows and demands the same record, which must
// also survive a snapshot.
func sameRecord(t *testing.T, what, table string, want, got map[string]betterauth.Value) {
	t.Helper()
	w, err := betterauth.DecodeRow(table, want)
	if err != nil {
		t.Fatalf("%s: the sample row: %v", what, err)
	}
	g, err := betterauth.DecodeRow(table, got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s: %s decodes differently from the sample row (-sample +this):\n%s", what, table, diff)
	}
}

func TestPostgresTextForms(t *testing.T) {
	n := 0
	eachRow(t, "postgres", func(table string, row map[string]json.RawMessage, types map[string]string) {
		text := map[string]betterauth.Value{}
		for col, v := range row {
			text[col] = pgText(t, types[col], v)
		}
		sameRecord(t, "Postgres text", table, jsonRow(row), text)
		n++
	})
	if n == 0 {
		t.Fatal("no rows")
	}
}

func TestPostgresTextArrays(t *testing.T) {
	lists := logicalTypes(t)
	eachRow(t, "postgres", func(table string, row map[string]json.RawMessage, types map[string]string) {
		arr := map[string]betterauth.Value{}
		for col, v := range row {
			arr[col] = pgText(t, types[col], v)
			if lists[table][col] == "string[]" && string(v) != "null" {
				var vs []string
				if err := json.Unmarshal(v, &vs); err != nil {
					t.Fatal(err)
				}
				arr[col] = betterauth.TextValue(pgArrayText(vs), 1009)
			}
		}
		sameRecord(t, "text[]", table, jsonRow(row), arr)
	})
}

// TestSQLDateTimeAndEpochDates: the sqlite sample's dates as SQL DATETIME
// text (MySQL's DATETIME(3), SQLite's CURRENT_TIMESTAMP form) and as epoch
// milliseconds decode to the same instants.
func TestSQLDateTimeAndEpochDates(t *testing.T) {
	types := logicalTypes(t)
	eachRow(t, "sqlite", func(table string, row map[string]json.RawMessage, _ map[string]string) {
		datetime := map[string]betterauth.Value{}
		epoch := map[string]betterauth.Value{}
		for col, v := range row {
			datetime[col], epoch[col] = betterauth.JSONValue(v), betterauth.JSONValue(v)
			var s string
			if types[table][col] != "date" || json.Unmarshal(v, &s) != nil || s == "" {
				continue
			}
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				t.Fatal(err)
			}
			dt, _ := json.Marshal(tm.UTC().Format("2006-01-02 15:04:05.000"))
			datetime[col] = betterauth.JSONValue(dt)
			epoch[col] = betterauth.JSONValue(json.RawMessage(strconv.FormatInt(tm.UnixMilli(), 10)))
		}
		sameRecord(t, "SQL DATETIME", table, jsonRow(row), datetime)
		sameRecord(t, "epoch ms", table, jsonRow(row), epoch)
	})
}

// TestHandWrittenShapes: rows in the shapes the samples lack — every kind
// of column with values a real database may hold — load, keep every field,
// and survive a snapshot.
func TestHandWrittenShapes(t *testing.T) {
	input := `{
	  "user": [{"id": "u1", "name": "Zoë \"Z\" Ünïcode 🎉", "email": "z@example.com", "emailVerified": "t",
	            "image": null, "createdAt": "2026-11-27 01:27:42.289", "updatedAt": "2026-03-04 03:06:07.089+00"}],
	  "session": [{"id": "s1", "token": "tok", "userId": "u1", "expiresAt": 1798761600000,
	               "createdAt": "2026-03-04T05:06:07.123456+02:00", "updatedAt": "2026-03-04 03:06:07+05:30",
	               "ipAddress": "::1", "userAgent": null, "impersonatedBy": "someone", "activeOrganizationId": null}],
	  "oauthClient": [{"id": "c1", "clientId": "web", "clientSecret": null, "disabled": "f", "skipConsent": 1,
	                   "enableEndSession": "true", "public": true, "type": "public",
	                   "scopes": "{openid,profile,api:read}",
	                   "redirectUris": "{\"https://a.example/cb?x=1,2\",\"https://b.example/c b\",\"https://c.example/\\\"q\\\"\"}",
	                   "grantTypes": "[\"authorization_code\", \"refresh_token\"]", "responseTypes": ["code"],
	                   "contacts": "{}", "postLogoutRedirectUris": "null",
	                   "metadata": "{\"b\": [1, 2.50, \"<&>\"], \"a\": {\"nested\": true}}",
	                   "tokenEndpointAuthMethod": "none", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}],
	  "oauthRefreshToken": [{"id": "r1", "token": "h1", "clientId": "web", "userId": "u1", "sessionId": "s1",
	                         "scopes": "[\"openid\",\"offline_access\"]", "expiresAt": "2026-12-01 00:00:00",
	                         "createdAt": "2026-11-01 00:00:00", "authTime": 1767225600000,
	                         "confirmation": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
	                         "resources": "{https://api.example/a}", "requestedUserInfoClaims": "[]"}],
	  "oauthAccessToken": [{"id": "a1", "token": "h2", "clientId": "web", "userId": "u1", "sessionId": "s1",
	                        "refreshId": "r1", "scopes": ["openid"], "expiresAt": "2026-11-01T01:00:00.000Z",
	                        "createdAt": "2026-11-01T00:00:00.000Z", "revoked": null, "confirmation": "null"}],
	  "oauthConsent": [{"id": "k1", "clientId": "web", "userId": "u1", "scopes": "{openid}",
	                    "requestedUserInfoClaims": [], "createdAt": 0, "updatedAt": "1970-01-01T00:00:00.001Z"}],
	  "verification": [{"id": "v1", "identifier": "email-verification:z@example.com", "value": "{\"a\":1}",
	                    "expiresAt": "9999-12-31T23:59:59.999Z", "createdAt": "0000-03-01T00:00:00Z", "updatedAt": null}]
	}`
	db := openDB(t)
	rep, err := betterauth.Load(db, strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != 0 || rep.Loaded[oauthdb.TableVerification] != 1 {
		t.Errorf("report %v", rep)
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	want := oauthdb.Snapshot{
		Users: []oauthdb.User{{ID: "u1", Name: "Zoë \"Z\" Ünïcode 🎉", Email: "z@example.com", EmailVerified: true,
			CreatedAt: utc("2026-11-27T01:27:42.289Z"), UpdatedAt: utc("2026-03-04T03:06:07.089Z")}},
		Sessions: []oauthdb.Session{{ID: "s1", Token: "tok", UserID: "u1", ExpiresAt: time.UnixMilli(1798761600000).UTC(),
			CreatedAt: utc("2026-03-04T03:06:07.123456Z"), UpdatedAt: utc("2026-03-03T21:36:07Z"), IPAddress: "::1"}},
		Clients: []oauthdb.OAuthClient{{ID: "c1", ClientID: "web", SkipConsent: true, EnableEndSession: true, Public: true, Type: "public",
			Scopes:       []string{"openid", "profile", "api:read"},
			RedirectURIs: []string{"https://a.example/cb?x=1,2", "https://b.example/c b", `https://c.example/"q"`},
			GrantTypes:   []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"}, Contacts: []string{},
			Metadata:                json.RawMessage(`{"b":[1,2.50,"\u003c\u0026\u003e"],"a":{"nested":true}}`),
			TokenEndpointAuthMethod: "none", CreatedAt: utc("2026-01-01T00:00:00Z"), UpdatedAt: utc("2026-01-01T00:00:00Z")}},
		RefreshTokens: []oauthdb.OAuthRefreshToken{{ID: "r1", Token: "h1", ClientID: "web", UserID: "u1", SessionID: "s1",
			Scopes: []string{"openid", "offline_access"}, ExpiresAt: utc("2026-12-01T00:00:00Z"), CreatedAt: utc("2026-11-01T00:00:00Z"),
			AuthTime: utc("2026-01-01T00:00:00Z"), Confirmation: json.RawMessage(`{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}`),
			Resources: []string{"https://api.example/a"}, RequestedUserInfoClaims: []string{}}},
		AccessTokens: []oauthdb.OAuthAccessToken{{ID: "a1", Token: "h2", ClientID: "web", UserID: "u1", SessionID: "s1", RefreshID: "r1",
			Scopes: []string{"openid"}, ExpiresAt: utc("2026-11-01T01:00:00Z"), CreatedAt: utc("2026-11-01T00:00:00Z")}},
		Consents: []oauthdb.OAuthConsent{{ID: "k1", ClientID: "web", UserID: "u1", Scopes: []string{"openid"},
			RequestedUserInfoClaims: []string{}, CreatedAt: time.UnixMilli(0).UTC(), UpdatedAt: time.UnixMilli(1).UTC()}},
		Verifications: []oauthdb.Verification{{ID: "v1", Identifier: "email-verification:z@example.com", Value: `{"a":1}`,
			ExpiresAt: utc("9999-12-31T23:59:59.999Z"), CreatedAt: utc("0000-03-01T00:00:00Z"),
			// updatedAt is NULL: the door stamps it with the DB's clock,
			// which the comparison takes from the stored row.
		}},
	}
	got := roundTrip(t, db, "hand-written rows")
	want.Verifications[0].UpdatedAt = got.Verifications[0].UpdatedAt
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored records (-want +got):\n%s", diff)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDecodeRowAndInsertAsAReplicaWould: a moment's Postgres rows, in
// Postgres' text forms as a replica receives them, decoded one at a time and
// inserted parents first (betterauth.Tables' order) give the DB that
// loading the export gives.
func TestDecodeRowAndInsertAsAReplicaWould(t *testing.T) {
	raw := readRaw(t, "postgres")
	exp := readExport(t, samplePath("postgres"))
	types := map[string]map[string]string{}
	for table, s := range raw.Schema {
		types[table] = map[string]string{}
		for _, c := range s.Columns {
			types[table][c.Name] = c.Type
		}
	}
	for i, m := range raw.Moments {
		want, _ := loadMoment(t, exp.Moments[i])
		db := openDB(t)
		err := db.Update(func(tx *oauthdb.Tx) error {
			for _, table := range betterauth.Tables() {
				for _, row := range m.Tables[table] {
					text := map[string]betterauth.Value{}
					for col, v := range row {
						text[col] = pgText(t, types[table][col], v)
					}
					rec, err := betterauth.DecodeRow(table, text)
					if err != nil {
						return err
					}
					if err := betterauth.Insert(tx, rec); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if diff := cmp.Diff(want.Snapshot(), db.Snapshot()); diff != "" {
			t.Errorf("%s: (-Load +DecodeRow/Insert):\n%s", m.Name, diff)
		}
	}
	err := openDB(t).Update(func(tx *oauthdb.Tx) error { return betterauth.Insert(tx, "not a record") })
	if !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("Insert of a string: %v", err)
	}
}

// TestDecodeRowFeedsAReplica: what DecodeRow returns is what a replica's
// MirrorTx.Put takes: each Postgres moment, in text forms, reloaded into a
// replica, is the DB Load makes of the export, with nothing refused.
func TestDecodeRowFeedsAReplica(t *testing.T) {
	raw := readRaw(t, "postgres")
	exp := readExport(t, samplePath("postgres"))
	types := map[string]map[string]string{}
	for table, s := range raw.Schema {
		types[table] = map[string]string{}
		for _, c := range s.Columns {
			types[table][c.Name] = c.Type
		}
	}
	for i, m := range raw.Moments {
		want, _ := loadMoment(t, exp.Moments[i])
		replica, err := oauthdb.Open(oauthdb.WithReplica())
		if err != nil {
			t.Fatal(err)
		}
		refused, err := replica.Reload(func(mt *oauthdb.MirrorTx) error {
			for table, rows := range m.Tables {
				if recordTypes[table] == nil {
					continue
				}
				for _, row := range rows {
					text := map[string]betterauth.Value{}
					for col, v := range row {
						text[col] = pgText(t, types[table][col], v)
					}
					rec, err := betterauth.DecodeRow(table, text)
					if err != nil {
						return err
					}
					if err := mt.Put(rec); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil || len(refused) != 0 {
			t.Fatalf("%s: %v, refused %v", m.Name, err, refused)
		}
		if diff := cmp.Diff(want.Snapshot(), replica.Snapshot()); diff != "" {
			t.Errorf("%s: (-Load +replica):\n%s", m.Name, diff)
		}
	}
}

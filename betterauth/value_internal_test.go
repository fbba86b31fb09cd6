package betterauth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func j(s string) Value { return JSONValue(json.RawMessage(s)) }

func TestDecodeText(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{j(`"abc"`), "abc"},
		{j(`"\u00e9\ud83c\udf89"`), "é🎉"},
		{j(`""`), ""},
		{j(`null`), ""},
		{NullValue(), ""},
		{TextValue("t", 25), "t"},
		{TextValue(`{"a": 1}`, 3802), `{"a": 1}`}, // a text column is text, whatever it holds
	} {
		got, err := decodeText(tc.v)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q, %v; want %q", tc.v, got, err, tc.want)
		}
	}
	for _, v := range []Value{j(`1`), j(`true`), j(`["a"]`), j(`{}`), j(`"\ud800"`), j(`"\udc00x"`), j(`"\ud800\u0041"`),
		j("\"\xff\""), j(`nul`), j(``)} {
		if got, err := decodeText(v); err == nil {
			t.Errorf("%s: %q, want an error", v.JSON, got)
		}
	}
}

func TestDecodeBool(t *testing.T) {
	for in, want := range map[string]bool{`true`: true, `false`: false, `1`: true, `0`: false, `"t"`: true, `"f"`: false,
		`"true"`: true, `"false"`: false, `null`: false} {
		if got, err := decodeBool(j(in)); err != nil || got != want {
			t.Errorf("%s: %v, %v", in, got, err)
		}
	}
	for in, want := range map[string]bool{"t": true, "f": false, "true": true, "false": false} {
		if got, err := decodeBool(TextValue(in, 16)); err != nil || got != want {
			t.Errorf("text %s: %v, %v", in, got, err)
		}
	}
	for _, in := range []string{`2`, `"yes"`, `"T"`, `[]`, `{}`, `""`, `1.0`} {
		if _, err := decodeBool(j(in)); err == nil {
			t.Errorf("%s: want an error", in)
		}
	}
}

func TestDecodeDate(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	for in, want := range map[string]time.Time{
		`"2026-01-01T00:00:00.000Z"`:          at("2026-01-01T00:00:00Z"),
		`"2026-01-01T00:00:00Z"`:              at("2026-01-01T00:00:00Z"),
		`"2026-01-01T02:00:00+02:00"`:         at("2026-01-01T00:00:00Z"),
		`"2026-11-27 01:27:42.289"`:           at("2026-11-27T01:27:42.289Z"),
		`"2026-11-27 01:27:42"`:               at("2026-11-27T01:27:42Z"),
		`"2026-03-04 03:06:07.089+00"`:        at("2026-03-04T03:06:07.089Z"),
		`"2026-03-04 03:06:07.123456+00"`:     at("2026-03-04T03:06:07.123456Z"),
		`"2026-03-04 08:36:07+05:30"`:         at("2026-03-04T03:06:07Z"),
		`"2026-03-03 19:06:07-08"`:            at("2026-03-04T03:06:07Z"),
		`"1895-03-04 03:06:07+00:19:32"`:      at("1895-03-04T02:46:35Z"),
		`"0000-01-01T00:00:00Z"`:              at("0000-01-01T00:00:00Z"),
		`"9999-12-31T23:59:59.999999999Z"`:    at("9999-12-31T23:59:59.999999999Z"),
		`1767225600000`:                       at("2026-01-01T00:00:00Z"),
		`-1`:                                  at("1969-12-31T23:59:59.999Z"),
		`null`:                                {},
		`"2026-01-01T00:00:00.000000000001Z"`: {}, // refused below: more than ns
	} {
		if in == `"2026-01-01T00:00:00.000000000001Z"` {
			continue
		}
		got, err := decodeDate(j(in))
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s: %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := decodeDate(TextValue("2026-03-04 03:06:07.089+00", 1184)); err != nil || !got.Equal(at("2026-03-04T03:06:07.089Z")) {
		t.Errorf("timestamptz text: %v, %v", got, err)
	}
	for _, in := range []string{`"2026-01-01"`, `"yesterday"`, `"infinity"`, `"10000-01-01T00:00:00Z"`, `"2026-13-01T00:00:00Z"`,
		`"2026-01-01T00:00:00+0530"`, `1.5`, `1e3`, `true`, `[]`, `""`, `"2026-01-01 00:00:00 BC"`} {
		if got, err := decodeDate(j(in)); err == nil {
			t.Errorf("%s: %v, want an error", in, got)
		}
	}
}

func TestDecodeList(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		want []string
	}{
		{j(`["a","b c"]`), []string{"a", "b c"}},
		{j(`[]`), []string{}},
		{j(`null`), nil},
		{j(`"null"`), nil},
		{NullValue(), nil},
		{j(`"[\"a\",\"b\"]"`), []string{"a", "b"}},
		{j(`"[]"`), []string{}},
		{TextValue(`["openid", "profile"]`, 3802), []string{"openid", "profile"}},
		{TextValue(`{openid,profile}`, 1009), []string{"openid", "profile"}},
		{TextValue(`{}`, 1009), []string{}},
		{TextValue(`{"a b","c,d","e\"f","g\\h","{}","",NULLX,"NULL"}`, 1009), []string{"a b", "c,d", `e"f`, `g\h`, "{}", "", "NULLX", "NULL"}},
		{TextValue(`{a}`, 0), []string{"a"}},                 // unknown type: the braces tell
		{TextValue(`{"a"}`, 1015), []string{"a"}},            // varchar[]
		{j(`"{openid,\"b c\"}"`), []string{"openid", "b c"}}, // a text[] exported as JSON text
	} {
		got, err := decodeList(tc.v)
		if err != nil {
			t.Errorf("%+v: %v", tc.v, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" || (got == nil) != (tc.want == nil) {
			t.Errorf("%+v: (-want +got) %s (nil %v)", tc.v, diff, got == nil)
		}
	}
	for _, v := range []Value{j(`"openid profile"`), j(`["a",1]`), j(`["a",null]`), j(`[["a"]]`), j(`{"a":1}`), j(`1`), j(`true`),
		j(`"[\"a\""`), j(`""`), TextValue(`{a,NULL}`, 1009), TextValue(`{{a},{b}}`, 1009), TextValue(`{"a}`, 1009),
		TextValue(`{a,}`, 1009), TextValue(`{"a"b}`, 1009), TextValue(`{"a": 1}`, 3802), TextValue(`openid`, 25), j(`["\ud800"]`)} {
		if got, err := decodeList(v); err == nil {
			t.Errorf("%+v: %q, want an error", v, got)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{j(`{"a": [1, 2]}`), `{"a": [1, 2]}`}, // kept as written: the root package compacts
		{j(`[1]`), `[1]`},
		{j(`"{\"a\":1}"`), `{"a":1}`},
		{j(`"\"s\""`), `"s"`},
		{j(`"null"`), ``},
		{j(`null`), ``},
		{NullValue(), ``},
		{TextValue(`{"a": 1, "bb": null}`, 3802), `{"a": 1, "bb": null}`},
		{TextValue(`null`, 3802), ``},
		{j(`12.50`), `12.50`},
	} {
		got, err := decodeJSON(tc.v)
		if err != nil || string(got) != tc.want {
			t.Errorf("%+v: %s, %v; want %s", tc.v, got, err, tc.want)
		}
	}
	for _, v := range []Value{j(`"not json"`), j(`"{"`), TextValue(`{`, 3802), j(`{"a":"\ud800"}`), j(`"\"\\ud800\""`)} {
		if got, err := decodeJSON(v); err == nil {
			t.Errorf("%+v: %s, want an error", v, got)
		}
	}
}

// TestDecodeErrorsNameNoValue: a value that cannot be decoded is never in
// the error, whatever it is: it may be a token hash or a secret.
func TestDecodeErrorsNameNoValue(t *testing.T) {
	secret := "SECRET-hash-0123456789"
	for _, col := range []string{"token", "scopes", "expiresAt", "confirmation"} {
		for _, raw := range []string{`["` + secret + `", 1]`, `{"` + secret + `": 1}`, `"` + secret + `"`, `12` + strings.Repeat("3", 30)} {
			_, err := DecodeRow("oauthAccessToken", map[string]Value{"id": j(`"a1"`), col: j(raw)})
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("%s = %s: the error shows the value: %v", col, raw, err)
			}
		}
	}
}

// FuzzPlainList holds plainList, the fast path of list columns, to
// encoding/json: whatever it decodes, encoding/json decodes to the same
// strings; what it leaves, it leaves whole (the slow path then decides).
func FuzzPlainList(f *testing.F) {
	for _, s := range []string{`[]`, ` [ ] `, `["openid","profile"]`, `["openid", "profile", "offline_access"]`,
		"[\"a\",\n\t\"b\"]", `["https://app.example/cb?x=1&y=2"]`, `[""]`, `["a",]`, `["a" "b"]`, `["a"`, `["a"]x`,
		`["a\"b"]`, `["é"]`, "[\"a\x01\"]", `[null]`, `["a",1]`, `[,]`, `[`, `]`, `"a"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := plainList(raw)
		if !ok {
			return
		}
		var want []string
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatalf("%q: plainList decoded %q, encoding/json refuses it: %v", raw, got, err)
		}
		if diff := cmp.Diff(want, got); diff != "" || got == nil {
			t.Fatalf("%q: (-encoding/json +plainList) %s (nil %v)", raw, diff, got == nil)
		}
	})
}

// BenchmarkDecodeList measures a list column as a replica decodes it from
// jsonb's text.
func BenchmarkDecodeList(b *testing.B) {
	v := TextValue(`["openid", "profile", "offline_access"]`, oidJSONB)
	for b.Loop() {
		if _, err := decodeList(v); err != nil {
			b.Fatal(err)
		}
	}
}

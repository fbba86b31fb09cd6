package betterauth

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// TestEveryFieldDecodesFromItsColumn walks the record types: each field of
// each record is filled from the column of its JSON name, by a decoder of
// its Go type, and lands in that field. The columns are the records' own
// field lists (oauthdb.DecodeRecord), so a field added to a record decodes
// with no word here; a field of a type no decoder reads fails here.
func TestEveryFieldDecodesFromItsColumn(t *testing.T) {
	sample := map[reflect.Type]string{
		reflect.TypeFor[string]():          `"x"`,
		reflect.TypeFor[bool]():            `true`,
		reflect.TypeFor[time.Time]():       `"2026-01-01T00:00:00Z"`,
		reflect.TypeFor[[]string]():        `["x"]`,
		reflect.TypeFor[json.RawMessage](): `{"x":1}`,
	}
	if len(modeled) != 7 {
		t.Errorf("%d tables, want better-auth's 7 that oauthdb keeps", len(modeled))
	}
	for _, table := range modeled {
		zero, err := DecodeRow(table, map[string]Value{"id": JSONValue([]byte(`"id"`))})
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		rt := reflect.TypeOf(zero)
		for i := range rt.NumField() {
			f := rt.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			v, ok := sample[f.Type]
			if !ok {
				t.Errorf("%s.%s: no column kind for %s", table, name, f.Type)
				continue
			}
			row := map[string]Value{"id": JSONValue([]byte(`"id"`)), name: JSONValue([]byte(v))}
			rec, err := DecodeRow(table, row)
			if err != nil {
				t.Errorf("%s.%s: a %s does not decode: %v", table, name, f.Type, err)
				continue
			}
			for j := range rt.NumField() {
				changed := !reflect.DeepEqual(reflect.ValueOf(rec).Field(j).Interface(), reflect.ValueOf(zero).Field(j).Interface())
				if want := j == i; changed != want {
					t.Errorf("%s.%s: decoded into %s", table, name, rt.Field(j).Name)
				}
			}
		}
	}
	if _, err := oauthdb.DecodeRecord(oauthdb.TableUser, nil, &rowDecoder{}); err != nil {
		t.Errorf("rowDecoder is no oauthdb.FieldVisitor: %v", err)
	}
}

package betterauth

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// TestEveryFieldHasAColumn walks the record types: each field of each
// record is declared as a column of its table, under its JSON name, so that
// a field added to the root package and forgotten here fails this test.
// Each column's decoder is tried on a value of the field's Go type, so a
// column declared with the wrong kind fails too.
func TestEveryFieldHasAColumn(t *testing.T) {
	types := map[string]reflect.Type{
		oauthdb.TableUser:              reflect.TypeFor[oauthdb.User](),
		oauthdb.TableSession:           reflect.TypeFor[oauthdb.Session](),
		oauthdb.TableOAuthClient:       reflect.TypeFor[oauthdb.OAuthClient](),
		oauthdb.TableOAuthAccessToken:  reflect.TypeFor[oauthdb.OAuthAccessToken](),
		oauthdb.TableOAuthRefreshToken: reflect.TypeFor[oauthdb.OAuthRefreshToken](),
		oauthdb.TableOAuthConsent:      reflect.TypeFor[oauthdb.OAuthConsent](),
		oauthdb.TableVerification:      reflect.TypeFor[oauthdb.Verification](),
	}
	if len(types) != len(models) {
		t.Fatalf("%d tables declared, %d record types", len(models), len(types))
	}
	sample := map[reflect.Type]string{
		reflect.TypeFor[string]():          `"x"`,
		reflect.TypeFor[bool]():            `true`,
		reflect.TypeFor[time.Time]():       `"2026-01-01T00:00:00Z"`,
		reflect.TypeFor[[]string]():        `["x"]`,
		reflect.TypeFor[json.RawMessage](): `{"x":1}`,
	}
	for _, m := range models {
		rt := types[m.tableName()]
		if rt == nil {
			t.Errorf("table %s has no record type", m.tableName())
			continue
		}
		cols := m.columnNames()
		for i := range rt.NumField() {
			f := rt.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !slices.Contains(cols, name) {
				t.Errorf("%s.%s (%s) is not declared as a column", m.tableName(), name, f.Name)
				continue
			}
			v, ok := sample[f.Type]
			if !ok {
				t.Errorf("%s.%s: no column kind for %s", m.tableName(), name, f.Type)
				continue
			}
			row := map[string]Value{"id": JSONValue([]byte(`"id"`)), name: JSONValue([]byte(v))}
			rec, _, err := m.decode(row)
			if err != nil {
				t.Errorf("%s.%s: a %s does not decode: %v", m.tableName(), name, f.Type, err)
				continue
			}
			if reflect.ValueOf(rec).Field(i).IsZero() {
				t.Errorf("%s.%s: decoded into another field", m.tableName(), name)
			}
		}
		if len(cols) != rt.NumField() {
			t.Errorf("%s declares %d columns for %d fields", m.tableName(), len(cols), rt.NumField())
		}
	}
}

package oauthdb

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fieldRecorder notes the fields a field list visits.
type fieldRecorder struct {
	names []string
	addrs []uintptr
}

func (r *fieldRecorder) add(name string, p any) {
	r.names = append(r.names, name)
	r.addrs = append(r.addrs, reflect.ValueOf(p).Pointer())
}

func (r *fieldRecorder) text(name string, v *string)          { r.add(name, v) }
func (r *fieldRecorder) shared(name string, v *string)        { r.add(name, v) }
func (r *fieldRecorder) list(name string, v *[]string)        { r.add(name, v) }
func (r *fieldRecorder) scopes(name string, v *[]string)      { r.add(name, v) }
func (r *fieldRecorder) flag(name string, v *bool)            { r.add(name, v) }
func (r *fieldRecorder) time(name string, v *time.Time)       { r.add(name, v) }
func (r *fieldRecorder) json(name string, v *json.RawMessage) { r.add(name, v) }

// Each record's field list — what a snapshot carries of it — names every
// field of its struct, once, in struct order, under its JSON name: a field
// added to a record and not to its list fails here, not in a user's file.
func TestSnapshotFieldListsAreComplete(t *testing.T) {
	recs := []interface{ fields(fieldCodec) }{&User{}, &Session{}, &OAuthClient{}, &OAuthRefreshToken{},
		&OAuthAccessToken{}, &OAuthConsent{}, &Verification{}}
	for _, rec := range recs {
		v := reflect.ValueOf(rec).Elem()
		var r fieldRecorder
		rec.fields(&r)
		if len(r.names) != v.NumField() {
			t.Errorf("%s: the field list has %d fields, the struct %d", v.Type().Name(), len(r.names), v.NumField())
			continue
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if r.names[i] != name || r.addrs[i] != v.Field(i).Addr().Pointer() {
				t.Errorf("%s: field %d of the list is %q, want %s (%q)", v.Type().Name(), i, r.names[i], f.Name, name)
			}
		}
	}
}

// A snapshot has every table of the schema, once. (That they come parents
// first, the round trip shows: a child before its parent would not load.)
func TestSnapshotHasEveryTable(t *testing.T) {
	if len(snapTables) != snapTableCount {
		t.Fatalf("%d snapshot tables, the format has %d", len(snapTables), snapTableCount)
	}
	seen := map[string]int{}
	for _, st := range snapTables {
		seen[st.name()]++
	}
	for _, name := range []string{TableUser, TableSession, TableOAuthClient, TableOAuthAccessToken,
		TableOAuthRefreshToken, TableOAuthConsent, TableVerification} {
		if seen[name] != 1 {
			t.Errorf("table %s is in a snapshot %d times", name, seen[name])
		}
	}
}

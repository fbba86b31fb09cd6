package oauthdb_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// Every field of every record is checked at the door: each string field
// refuses invalid UTF-8, each list of strings too, each time field a time
// past year 9999. The records are walked by reflection, so a field added to
// a record and forgotten in its validate method fails here.
func TestEveryFieldIsCheckedAtTheDoor(t *testing.T) {
	type table struct {
		good  any // a valid record, as a pointer
		write func(tx *oauthdb.Tx, rec any) error
	}
	tables := map[string]table{
		oauthdb.TableUser: {&oauthdb.User{ID: "u9", Name: "N", Email: "n@example.com"},
			func(tx *oauthdb.Tx, r any) error { return tx.InsertUser(*r.(*oauthdb.User)) }},
		oauthdb.TableSession: {&oauthdb.Session{ID: "s9", Token: "c9", UserID: "u1", ExpiresAt: t0.Add(time.Hour)},
			func(tx *oauthdb.Tx, r any) error { return tx.InsertSession(*r.(*oauthdb.Session)) }},
		oauthdb.TableOAuthClient: {&oauthdb.OAuthClient{ID: "c9", ClientID: "cid-9", RedirectURIs: []string{"https://x.example/cb"}},
			func(tx *oauthdb.Tx, r any) error { return tx.InsertClient(*r.(*oauthdb.OAuthClient)) }},
		oauthdb.TableOAuthAccessToken: {&oauthdb.OAuthAccessToken{ID: "a9", Token: "h9", ClientID: "cid-2", ExpiresAt: t0.Add(time.Hour)},
			func(tx *oauthdb.Tx, r any) error { return tx.InsertAccessToken(*r.(*oauthdb.OAuthAccessToken)) }},
		oauthdb.TableOAuthRefreshToken: {&oauthdb.OAuthRefreshToken{ID: "r9", Token: "h9", ClientID: "cid-2", UserID: "u1", ExpiresAt: t0.Add(time.Hour)},
			func(tx *oauthdb.Tx, r any) error { return tx.InsertRefreshToken(*r.(*oauthdb.OAuthRefreshToken)) }},
		oauthdb.TableOAuthConsent: {&oauthdb.OAuthConsent{ID: "k9", ClientID: "cid-2", UserID: "u1"},
			func(tx *oauthdb.Tx, r any) error { return tx.InsertConsent(*r.(*oauthdb.OAuthConsent)) }},
		oauthdb.TableVerification: {&oauthdb.Verification{ID: "v9", Identifier: "i9", Value: "{}", ExpiresAt: t0.Add(time.Hour)},
			func(tx *oauthdb.Tx, r any) error { return tx.InsertVerification(*r.(*oauthdb.Verification)) }},
	}
	for name, tb := range tables {
		db, _ := world(t)
		if err := db.Update(func(tx *oauthdb.Tx) error { return tb.write(tx, tb.good) }); err != nil {
			t.Fatalf("%s: the good record is refused: %v", name, err)
		}
		typ := reflect.TypeOf(tb.good).Elem()
		for i := range typ.NumField() {
			f := typ.Field(i)
			jsonName, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			bad := reflect.New(typ)
			bad.Elem().Set(reflect.ValueOf(tb.good).Elem())
			v := bad.Elem().Field(i)
			switch {
			case f.Type == reflect.TypeFor[time.Time]():
				v.Set(reflect.ValueOf(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)))
			case f.Type.Kind() == reflect.String:
				v.SetString(badUTF8)
			case f.Type == reflect.TypeFor[[]string]():
				v.Set(reflect.ValueOf([]string{badUTF8}))
			case f.Type == reflect.TypeFor[json.RawMessage]():
				v.Set(reflect.ValueOf(json.RawMessage(`"` + badUTF8 + `"`)))
			case f.Type.Kind() == reflect.Bool:
				continue // every value is valid
			default:
				t.Errorf("%s.%s: a field of type %v, which this test does not know", name, jsonName, f.Type)
				continue
			}
			err := db.Update(func(tx *oauthdb.Tx) error { return tb.write(tx, bad.Interface()) })
			var e *oauthdb.Error
			if !errors.Is(err, oauthdb.ErrInvalid) || !errors.As(err, &e) || e.Table != name || e.Field != jsonName {
				t.Errorf("%s.%s holding what a snapshot cannot carry: %v, want ErrInvalid naming it", name, jsonName, err)
			}
		}
	}
}

// A client's clientId is printable ASCII, spaces allowed, as better-auth
// 1.7.29's getClient reads it (/^[\x20-\x7E]+$/): it finds no client by any
// other, so such a client could authenticate nothing and its tokens would be
// inactive there. Authenticating as one is authenticating an unknown client.
func TestClientIDIsPrintableASCII(t *testing.T) {
	db, _ := world(t)
	for _, id := range []string{"clïent", "tab\tclient", "del\x7f", "nl\n"} {
		err := db.Update(func(tx *oauthdb.Tx) error {
			return tx.InsertClient(oauthdb.OAuthClient{ID: "c-" + id, ClientID: id, RedirectURIs: []string{"https://x.example/cb"}})
		})
		var e *oauthdb.Error
		if !errors.Is(err, oauthdb.ErrInvalid) || !errors.As(err, &e) || e.Field != "clientId" {
			t.Errorf("InsertClient(clientId %q) = %v, want ErrInvalid on clientId", id, err)
		}
		if _, err := db.AuthenticateClient(id, ""); !errors.Is(err, oauthdb.ErrNotFound) {
			t.Errorf("AuthenticateClient(%q) = %v, want ErrNotFound", id, err)
		}
	}
	err := db.Update(func(tx *oauthdb.Tx) error {
		return tx.InsertClient(oauthdb.OAuthClient{ID: "c-space", ClientID: "a client ~id", RedirectURIs: []string{"https://x.example/cb"}})
	})
	if err != nil {
		t.Errorf("a clientId of printable ASCII with spaces: %v", err)
	}
}

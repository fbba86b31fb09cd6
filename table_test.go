package oauthdb_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

// The tables, parents first: the order a load inserts rows in.
func TestTablesParentsFirst(t *testing.T) {
	want := []string{oauthdb.TableUser, oauthdb.TableSession, oauthdb.TableOAuthClient, oauthdb.TableOAuthRefreshToken,
		oauthdb.TableOAuthAccessToken, oauthdb.TableOAuthConsent, oauthdb.TableVerification}
	if got := oauthdb.Tables(); !slices.Equal(got, want) {
		t.Errorf("Tables() = %v, want %v", got, want)
	}
}

// Insert and Get are the write methods and the reads by key for code that
// handles every table alike: a snapshot's rows inserted one by one, parents
// first, make the DB Restore makes, and each reads back by its table and id.
func TestInsertAndGetAnyRecord(t *testing.T) {
	db := openDB(t)
	seed(t, db)
	want := dump(t, db)
	other := openDB(t)
	update(t, other, func(tx *oauthdb.Tx) error {
		for table, rec := range want.All() {
			if err := tx.Insert(rec); err != nil {
				return err
			}
			if got, err := tx.Get(table, reflect.ValueOf(rec).FieldByName("ID").String()); err != nil || !cmp.Equal(got, rec) {
				t.Errorf("Get(%s) = %v, %v; want %v", table, got, err, rec)
			}
		}
		return nil
	})
	if diff := cmp.Diff(want, dump(t, other)); diff != "" {
		t.Errorf("inserted one by one (-Restore +Insert):\n%s", diff)
	}
	update(t, other, func(tx *oauthdb.Tx) error {
		if _, err := tx.Get(oauthdb.TableUser, "nobody"); !errors.Is(err, oauthdb.ErrNotFound) {
			t.Errorf("Get of no record: %v, want ErrNotFound", err)
		}
		if _, err := tx.Get("account", "u1"); !errors.Is(err, oauthdb.ErrInvalid) {
			t.Errorf("Get of no table: %v, want ErrInvalid", err)
		}
		// A pointer is a record too, and the door is the write methods'.
		err := tx.Insert(&oauthdb.User{ID: "u9", Email: "nine@example.com"})
		var e *oauthdb.Error
		if !errors.Is(err, oauthdb.ErrInvalid) || !errors.As(err, &e) || e.Field != "name" {
			t.Errorf("Insert of a user without a name: %v", err)
		}
		for _, v := range []any{"a user", nil, (*oauthdb.Session)(nil)} {
			if err := tx.Insert(v); !errors.Is(err, oauthdb.ErrInvalid) {
				t.Errorf("Insert(%#v) = %v, want ErrInvalid", v, err)
			}
		}
		return nil
	})
}

// fieldNames is a FieldVisitor that notes the fields it is given and sets
// each string field to its own name.
type fieldNames struct{ names []string }

func (f *fieldNames) String(name string, v *string) {
	f.names = append(f.names, name)
	*v = name
}
func (f *fieldNames) Strings(name string, _ *[]string)     { f.names = append(f.names, name) }
func (f *fieldNames) Bool(name string, _ *bool)            { f.names = append(f.names, name) }
func (f *fieldNames) Time(name string, _ *time.Time)       { f.names = append(f.names, name) }
func (f *fieldNames) JSON(name string, _ *json.RawMessage) { f.names = append(f.names, name) }

// DecodeRecord gives a FieldVisitor every field of a record, in struct
// order, by its JSON name, and returns the record as the visitor left it:
// starting from the record given, or from zero.
func TestDecodeRecordVisitsEveryField(t *testing.T) {
	for _, table := range oauthdb.Tables() {
		var f fieldNames
		rec, err := oauthdb.DecodeRecord(table, nil, &f)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		v := reflect.ValueOf(rec)
		var want []string
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			want = append(want, name)
			if fv := v.Field(i); fv.Kind() == reflect.String && fv.String() != name {
				t.Errorf("%s.%s = %q: the visitor's value is not in the record", table, name, fv.String())
			}
		}
		if !slices.Equal(f.names, want) {
			t.Errorf("%s: visited %v, want %v", table, f.names, want)
		}
	}
	from := oauthdb.Session{ID: "s1", UserID: "u1", ExpiresAt: t0}
	rec, err := oauthdb.DecodeRecord(oauthdb.TableSession, &from, &fieldNames{})
	if s, ok := rec.(oauthdb.Session); err != nil || !ok || !s.ExpiresAt.Equal(t0) || s.UserID != "userId" || from.UserID != "u1" {
		t.Errorf("from a session: %#v, %v; from is now %#v", rec, err, from)
	}
	if _, err := oauthdb.DecodeRecord("account", nil, &fieldNames{}); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("a table that is none: %v", err)
	}
	if _, err := oauthdb.DecodeRecord(oauthdb.TableUser, from, &fieldNames{}); !errors.Is(err, oauthdb.ErrInvalid) {
		t.Errorf("from a record of another table: %v", err)
	}
}

package betterauth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/betterauth"
)

// DecodeRowOnto decodes an UPDATE that leaves columns out, as a logical
// replica receives one: the columns it has replace the record's, those it
// leaves out keep theirs.
func TestDecodeRowOntoKeepsWhatTheRowLeavesOut(t *testing.T) {
	base := oauthdb.OAuthClient{ID: "c1", ClientID: "web", Name: "Web", Metadata: json.RawMessage(`{"tier":"gold"}`),
		RedirectURIs: []string{"https://web.example/cb"}, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	row := map[string]betterauth.Value{
		"id":       betterauth.TextValue("c1", 25),
		"clientId": betterauth.TextValue("web", 25),
		"name":     betterauth.NullValue(),
		"disabled": betterauth.TextValue("t", 16),
	}
	got, err := betterauth.DecodeRowOnto(oauthdb.TableOAuthClient, &base, row)
	if err != nil {
		t.Fatal(err)
	}
	want := base
	want.Name, want.Disabled = "", true
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if base.Name != "Web" || base.Disabled {
		t.Errorf("the base changed: %+v", base)
	}
	// No base is DecodeRow's zero record; a base of another table is none.
	fresh, err := betterauth.DecodeRowOnto(oauthdb.TableOAuthClient, nil, row)
	if c, ok := fresh.(oauthdb.OAuthClient); err != nil || !ok || c.Metadata != nil || !c.Disabled {
		t.Errorf("onto nothing: %+v, %v", fresh, err)
	}
	_, err = betterauth.DecodeRowOnto(oauthdb.TableOAuthClient, oauthdb.User{ID: "c1"}, row)
	var re *betterauth.RowError
	if !errors.Is(err, oauthdb.ErrInvalid) || !errors.As(err, &re) || re.ID != "c1" {
		t.Errorf("onto a user: %v", err)
	}
}

// DecodeJSONRow is DecodeRow for a row of an export.
func TestDecodeJSONRow(t *testing.T) {
	raw := json.RawMessage(`{"id": "u1", "name": "Ada", "email": "ada@example.com", "emailVerified": 1, "createdAt": 1767225600000}`)
	got, err := betterauth.DecodeJSONRow(oauthdb.TableUser, raw)
	want := oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com", EmailVerified: true, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("DecodeJSONRow = %+v, %v; want %+v", got, err, want)
	}
	if _, err := betterauth.DecodeJSONRow(oauthdb.TableUser, json.RawMessage(`["u1"]`)); !errors.Is(err, betterauth.ErrMalformed) {
		t.Errorf("an array: %v, want ErrMalformed", err)
	}
	if _, err := betterauth.DecodeJSONRow("account", json.RawMessage(`{"id": "a1"}`)); !errors.Is(err, betterauth.ErrNotModeled) {
		t.Errorf("an account: %v, want ErrNotModeled", err)
	}
}

// Each of the loader's errors is also an oauthdb.ErrInvalid, wrapped or not,
// and none is another.
func TestLoaderErrorsAreErrInvalid(t *testing.T) {
	kinds := []error{betterauth.ErrUnknownTable, betterauth.ErrNotModeled, betterauth.ErrMalformed, betterauth.ErrTooLarge}
	for i, k := range kinds {
		wrapped := &betterauth.RowError{Table: "user", Index: -1, Err: fmt.Errorf("%w: more", k)}
		if !errors.Is(k, oauthdb.ErrInvalid) || !errors.Is(wrapped, oauthdb.ErrInvalid) || !errors.Is(wrapped, k) {
			t.Errorf("%v: not ErrInvalid, or not itself once wrapped", k)
		}
		for j, other := range kinds {
			if i != j && errors.Is(k, other) {
				t.Errorf("%v is %v", k, other)
			}
		}
	}
}

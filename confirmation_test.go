package oauthdb_test

import (
	"encoding/json"
	"testing"

	"github.com/oauthdb/oauthdb"
)

// TestDPoPThumbprint: only a non-empty string jkt binds a token to a DPoP
// key, as better-auth reads the confirmation column — its member name
// escaped or not.
func TestDPoPThumbprint(t *testing.T) {
	const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	for cnf, want := range map[string]string{
		"":                           "",
		"null":                       "",
		`{"jkt":"` + jkt + `"}`:      jkt,
		`{"x5t#S256":"abc"}`:         "",
		`{"jkt":""}`:                 "",
		`{"jkt":42}`:                 "",
		`{"JKT":"` + jkt + `"}`:      "",
		`["jkt"]`:                    "",
		`{"jkt":"a","x5t#S256":"b"}`: "a",
		`{"jkt":"` + jkt + `"`:       "",
		// The same member to JSON.parse and encoding/json: bound.
		`{"\u006akt":"` + jkt + `"}`: jkt,
		`{"j\u006bt":"` + jkt + `"}`: jkt,
	} {
		if got := oauthdb.DPoPThumbprint(json.RawMessage(cnf)); got != want {
			t.Errorf("DPoPThumbprint(%s) = %q, want %q", cnf, got, want)
		}
	}
}

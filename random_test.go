package oauthdb_test

import (
	"strings"
	"testing"

	"github.com/oauthdb/oauthdb"
)

func TestDeterministicWithSeededRandom(t *testing.T) {
	run := func() oauthdb.IssuedTokens {
		db, _ := world(t, oauthdb.WithRandom(strings.NewReader(strings.Repeat("0123456789abcdef", 64))))
		return issue(t, db, userGrant)
	}
	a, b := run(), run()
	if a.AccessToken != b.AccessToken || a.Access.ID != b.Access.ID {
		t.Errorf("the same seed gave different tokens")
	}
}

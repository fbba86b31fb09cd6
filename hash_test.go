package oauthdb_test

import (
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

func TestHashVectors(t *testing.T) {
	// Computed with Node's crypto: createHash("sha256").update(x).digest("base64url").
	for in, want := range map[string]string{
		"abc":                              "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0",
		"kY3r7c0lH2xV9pQm4ZsT8wNe1aBfJ6dU": "SXzr8nKDPfRYll96JOSeZ7eABu8in00gbFCKZ6zJvlc",
	} {
		if got := oauthdb.HashToken(in); got != want {
			t.Errorf("HashToken(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("x", 300) // past the stack buffer
	if got, want := oauthdb.HashToken(long), oauthdb.HashToken(long[:150]+long[150:]); got != want || len(got) != 43 {
		t.Errorf("HashToken of a long token = %q", got)
	}
}

// A service configured with another hasher gets the same hashing here.
type upperHasher struct{}

func (upperHasher) AppendHash(dst []byte, token string) []byte {
	return append(dst, "H:"+strings.ToUpper(token)...)
}

func TestCustomHasher(t *testing.T) {
	db, _ := world(t, oauthdb.WithHasher(upperHasher{}))
	tok := issue(t, db, userGrant)
	if tok.Access.Token != "H:"+strings.ToUpper(tok.AccessToken) {
		t.Errorf("stored %q, want the custom hash", tok.Access.Token)
	}
	if _, err := db.ValidateAccessToken(tok.AccessToken); err != nil {
		t.Error(err)
	}
	if _, err := db.RotateRefreshToken(tok.RefreshToken, "cid-1", nil); err != nil {
		t.Error(err)
	}
}

func TestVerifySecret(t *testing.T) {
	stored := oauthdb.HashSecret("s3cret")
	if !oauthdb.VerifySecret(stored, "s3cret") || oauthdb.VerifySecret(stored, "s3cre") || oauthdb.VerifySecret(stored, "") {
		t.Error("VerifySecret")
	}
}

func TestHashAndLifetimes(t *testing.T) {
	db, _ := world(t, oauthdb.WithTokenLifetimes(time.Minute, time.Hour))
	if db.Hash("abc") != oauthdb.HashToken("abc") {
		t.Errorf("Hash differs from HashToken under the default hasher")
	}
	custom, _ := world(t, oauthdb.WithHasher(upperHasher{}))
	if custom.Hash("abc") != "H:ABC" {
		t.Errorf("Hash under a custom hasher = %q", custom.Hash("abc"))
	}
	if a, r := db.TokenLifetimes(); a != time.Minute || r != time.Hour {
		t.Errorf("TokenLifetimes = %v, %v", a, r)
	}
}

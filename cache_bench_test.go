package oauthdb_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// benchDB is a DB with n access tokens of 100 users and 10 clients.
func benchDB(b *testing.B, n int, opts ...oauthdb.Option) (*oauthdb.DB, []string) {
	b.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db, err := oauthdb.Open(append([]oauthdb.Option{oauthdb.WithClock(func() time.Time { return now })}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	err = db.Update(func(tx *oauthdb.Tx) error {
		for i := range 10 {
			if err := tx.InsertClient(oauthdb.OAuthClient{ID: fmt.Sprint("c", i), ClientID: fmt.Sprint("cid-", i),
				Scopes: []string{"openid", "profile"}, RedirectURIs: []string{"https://x.example/cb"}}); err != nil {
				return err
			}
		}
		for i := range 100 {
			if err := tx.InsertUser(oauthdb.User{ID: fmt.Sprint("u", i), Name: "N", Email: fmt.Sprint(i, "@x")}); err != nil {
				return err
			}
			if err := tx.InsertSession(oauthdb.Session{ID: fmt.Sprint("s", i), Token: fmt.Sprint("st", i), UserID: fmt.Sprint("u", i),
				ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, n)
	for i := range tokens {
		tok, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: fmt.Sprint("cid-", i%10), UserID: fmt.Sprint("u", i%100),
			SessionID: fmt.Sprint("s", i%100), Scopes: []string{"openid"}})
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok.AccessToken
	}
	return db, tokens
}

// BenchmarkValidateHit validates tokens the cache holds; Cold, the same
// without the cache.
func BenchmarkValidateHit(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []oauthdb.Option
	}{{"cached", nil}, {"cold", []oauthdb.Option{oauthdb.WithValidationCache(0)}}} {
		b.Run(tc.name, func(b *testing.B) {
			db, tokens := benchDB(b, 10000, tc.opts...)
			for _, t := range tokens {
				if _, err := db.ValidateAccessToken(t); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := db.ValidateAccessToken(tokens[i%len(tokens)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

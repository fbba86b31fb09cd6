package oauthdb_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/oauthdb/oauthdb"
)

// Open a DB, store a user, a session and a client, issue tokens and
// validate the access token, as a resource server would.
func Example() {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	db, err := oauthdb.Open(oauthdb.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	err = db.Update(func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertSession(oauthdb.Session{ID: "s1", Token: "cookie", UserID: "u1", ExpiresAt: now.Add(24 * time.Hour)}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "my-app", RedirectURIs: []string{"https://app.example/cb"}}),
		)
	})
	if err != nil {
		panic(err)
	}
	tokens, err := db.IssueTokens(oauthdb.IssueRequest{
		ClientID: "my-app", UserID: "u1", SessionID: "s1", Scopes: []string{"openid"}, Refresh: true,
	})
	if err != nil {
		panic(err)
	}
	info, err := db.ValidateAccessToken(tokens.AccessToken)
	if err != nil {
		panic(err)
	}
	fmt.Println(info.User.Email, info.Client.ClientID, info.Token.Scopes, info.Token.ExpiresAt)
	// Output: ada@example.com my-app [openid] 2026-01-01 10:00:00 +0000 UTC
}

// The README's usage, as it stands there (readme_test.go keeps the two the
// same): a store, a grant, a resource server's check, the token endpoint's
// client authentication and rotation, and a sign-out.
func Example_usage() {
	if err := usage(); err != nil {
		fmt.Println(err)
	}
	// Output: ada@example.com my-app [openid offline_access]
	// rotated: true
	// revoked: 3
}

func usage() error {
	db, err := oauthdb.Open() // options: WithClock, WithHasher, WithRandom, WithLenientSessions, WithTokenLifetimes
	if err != nil {
		return err
	}
	err = db.Update(func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertSession(oauthdb.Session{ID: "s1", Token: "cookie", UserID: "u1", ExpiresAt: time.Now().Add(24 * time.Hour)}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "my-app", ClientSecret: oauthdb.HashSecret("s3cret"),
				RedirectURIs: []string{"https://app.example/cb"}}),
		)
	})
	if err != nil {
		return err // an *oauthdb.Error naming table, field, value and row; nothing was written
	}
	tokens, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "my-app", UserID: "u1", SessionID: "s1",
		Scopes: []string{"openid", "offline_access"}, Refresh: true})
	if err != nil {
		return err
	}

	// A resource server: the token, its client, user and session, from one snapshot.
	info, err := db.ValidateAccessToken(tokens.AccessToken)
	if err != nil {
		return err // an *oauthdb.TokenError: errors.Is(err, oauthdb.ErrTokenExpired), ...
	}
	fmt.Println(info.User.Email, info.Client.ClientID, info.Token.Scopes)

	// The token endpoint: authenticate the client, then rotate the refresh token.
	// Presenting the old one again is a replay: it revokes the whole family.
	if _, err := db.AuthenticateClient("my-app", "s3cret"); err != nil {
		return err // ErrBadSecret, ErrClientDisabled or ErrNotFound
	}
	next, err := db.RotateRefreshToken(tokens.RefreshToken, "my-app", nil)
	if err != nil {
		return err
	}
	fmt.Println("rotated:", !next.Previous.Revoked.IsZero())

	// A sign-out that ends everything the session was given, at once; n counts the rows changed.
	n, err := db.RevokeSession("s1")
	if err != nil {
		return err
	}
	fmt.Println("revoked:", n)
	return nil
}

// Deleting a user removes their sessions, clients, tokens and consents in
// the same transaction.
func ExampleTx_DeleteUser() {
	db, _ := oauthdb.Open()
	exp := time.Now().Add(time.Hour)
	_ = db.Update(func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertSession(oauthdb.Session{ID: "s1", Token: "cookie", UserID: "u1", ExpiresAt: exp}),
		)
	})
	_ = db.Update(func(tx *oauthdb.Tx) error { return tx.DeleteUser("u1") })
	_ = db.View(func(tx *oauthdb.Tx) error {
		_, err := tx.Session("s1")
		fmt.Println(errors.Is(err, oauthdb.ErrNotFound))
		return nil
	})
	// Output: true
}

// A write with bad input returns an *Error that names what was wrong, and
// changes nothing.
func ExampleError() {
	db, _ := oauthdb.Open()
	err := db.Update(func(tx *oauthdb.Tx) error {
		return tx.InsertSession(oauthdb.Session{ID: "s1", Token: "cookie", UserID: "nobody", ExpiresAt: time.Now()})
	})
	var e *oauthdb.Error
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, oauthdb.ErrForeignKey), e.Table, e.Field, e.Value)
	}
	// Output: true session userId nobody
}

// A refresh token granted offline_access is rotated when it is redeemed, and
// can be redeemed once: presenting it again revokes every token of that
// client and user.
func ExampleDB_RotateRefreshToken() {
	db, _ := oauthdb.Open()
	_ = db.Update(func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "my-app", RedirectURIs: []string{"https://app.example/cb"}}),
		)
	})
	first, _ := db.IssueTokens(oauthdb.IssueRequest{ClientID: "my-app", UserID: "u1",
		Scopes: []string{"openid", oauthdb.ScopeOfflineAccess}, Refresh: true})
	second, err := db.RotateRefreshToken(first.RefreshToken, "my-app", nil)
	fmt.Println("rotated:", err == nil)
	_, err = db.RotateRefreshToken(first.RefreshToken, "my-app", nil)
	fmt.Println("replayed:", errors.Is(err, oauthdb.ErrTokenReplayed))
	_, err = db.ValidateAccessToken(second.AccessToken)
	fmt.Println("new token revoked:", errors.Is(err, oauthdb.ErrTokenNotFound))
	// Output:
	// rotated: true
	// replayed: true
	// new token revoked: true
}

// Revoking a session's tokens takes effect at once.
func ExampleDB_RevokeSession() {
	db, _ := oauthdb.Open()
	exp := time.Now().Add(time.Hour)
	_ = db.Update(func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertSession(oauthdb.Session{ID: "s1", Token: "cookie", UserID: "u1", ExpiresAt: exp}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "my-app", RedirectURIs: []string{"https://app.example/cb"}}),
		)
	})
	tok, _ := db.IssueTokens(oauthdb.IssueRequest{ClientID: "my-app", UserID: "u1", SessionID: "s1", Refresh: true})
	n, _ := db.RevokeSession("s1")
	_, err := db.ValidateAccessToken(tok.AccessToken)
	fmt.Println(n, errors.Is(err, oauthdb.ErrTokenNotFound))
	// Output: 2 true
}

// A replica applies its source's rows with Mirror — pgreplica does it for
// better-auth's Postgres — and keeps oauthdb's verdicts: here better-auth's
// sign-out, whose first transaction deletes the session and clears its
// tokens' sessionId, and whose second revokes them.
func ExampleDB_Mirror() {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	replica, _ := oauthdb.Open(oauthdb.WithReplica(), oauthdb.WithClock(func() time.Time { return now }))
	token := "an-opaque-access-token-of-the-source"
	at := oauthdb.OAuthAccessToken{ID: "a1", Token: oauthdb.HashToken(token), ClientID: "my-app", UserID: "u1",
		SessionID: "s1", Scopes: []string{"openid"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	refused, err := replica.Mirror(func(mt *oauthdb.MirrorTx) error {
		return errors.Join(
			mt.Put(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com", CreatedAt: now, UpdatedAt: now}),
			mt.Put(oauthdb.Session{ID: "s1", Token: "cookie", UserID: "u1", ExpiresAt: now.Add(24 * time.Hour), CreatedAt: now, UpdatedAt: now}),
			mt.Put(oauthdb.OAuthClient{ID: "c1", ClientID: "my-app", RedirectURIs: []string{"https://app.example/cb"}, CreatedAt: now, UpdatedAt: now}),
			mt.Put(at),
		)
	})
	fmt.Println(len(refused), err)
	_, err = replica.ValidateAccessToken(token)
	fmt.Println(err)

	// What keeps the replica in step vouches for it (pgreplica's Follower
	// does, as Postgres confirms it is caught up); until then, and once the
	// vouching is older than it allows, the replica fails closed.
	replica.SetFreshUntil(now.Add(5 * time.Second))
	_, err = replica.ValidateAccessToken(token)
	fmt.Println(err)

	// The sign-out's first transaction: the rows alone would say active.
	_, _ = replica.Mirror(func(mt *oauthdb.MirrorTx) error {
		at.SessionID = ""
		return errors.Join(mt.Delete(oauthdb.TableSession, "s1"), mt.Put(at))
	})
	_, err = replica.ValidateAccessToken(token)
	fmt.Println(errors.Is(err, oauthdb.ErrTokenRevoked))

	// The replica's own writes are refused.
	fmt.Println(replica.Update(func(tx *oauthdb.Tx) error { return nil }))
	// Output:
	// 0 <nil>
	// access token: replica may be stale
	// <nil>
	// true
	// read-only replica: its rows are its source's
}

package modeltest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/refmodel"
)

// Regression tests: each is a shrunk run that once diverged from the model.
// A test of a bug that is not fixed yet is skipped while the bug is listed
// in knownBugs (or run with -model.bugs=name).

func replay(t *testing.T, bug string, ops ...Op) {
	t.Helper()
	if why, known := knownBugs[bug]; known && avoid()[bug] {
		t.Skipf("bug: %s (known, not fixed; -model.bugs=%s runs it)", why, bug)
	}
	for _, lenient := range []bool{false, true} {
		r := Run{Seed: 1, Lenient: lenient, Ops: ops}
		if f := r.Replay(); f != nil {
			t.Fatalf("%v\n\nin %s", f, r)
		}
	}
}

// base is a user with a session, a client, and an access token, a refresh
// token and a consent with IDs known in advance.
var base = []Op{
	Insert[oauthdb.User]{Rec: oauthdb.User{ID: "u0", Name: "Ann", Email: "e0@x"}},
	Insert[oauthdb.Session]{Rec: oauthdb.Session{ID: "s0", Token: secretMark + "st0", UserID: "u0", ExpiresAt: Epoch.Add(time.Hour)}},
	Insert[oauthdb.OAuthClient]{Rec: oauthdb.OAuthClient{ID: "c0", ClientID: "cid0", RedirectURIs: []string{"https://x/cb"}, UserID: "u0"}},
	Insert[oauthdb.OAuthRefreshToken]{Rec: oauthdb.OAuthRefreshToken{ID: "r0", Token: refmodel.Hash("plain-1"), ClientID: "cid0",
		UserID: "u0", SessionID: "s0", ExpiresAt: Epoch.Add(time.Hour)}},
	Insert[oauthdb.OAuthAccessToken]{Rec: oauthdb.OAuthAccessToken{ID: "a0", Token: refmodel.Hash("plain-0"), ClientID: "cid0",
		UserID: "u0", SessionID: "s0", RefreshID: "r0", ExpiresAt: Epoch.Add(time.Hour)}},
	Insert[oauthdb.OAuthConsent]{Rec: oauthdb.OAuthConsent{ID: "k0", ClientID: "cid0", UserID: "u0", Scopes: []string{"openid"}}},
}

func with(ops ...Op) []Op { return append(append([]Op{}, base...), ops...) }

// A lookup by a foreign key holding NUL must find nothing: no stored key
// holds one. The store built the key "u0\x00a0\x00" for user "u0\x00a0",
// which is also how go-memdb files access token a0 of user u0 in the userId
// index, so the prefix scan found a0. Found by TestModel, seed 19; fixed in 6db2f5d.
func TestRegressionNULInQueryKey(t *testing.T) {
	replay(t, "", with(
		RevokeBy{By: "user", ID: "u0\x00a0"},
		RevokeBy{By: "session", ID: "s0\x00a0"},
		RevokeBy{By: "session", ID: "s0\x00r0"},
		RevokeBy{By: "client", ClientID: "cid0\x00a0"},
		RevokeBy{By: "clientUser", ClientID: "cid0", ID: "u0\x00r0"},
		Consent{Do: "list", UserID: "u0\x00k0"},
		Read{Key: "u0\x00a0"},
		Read{Key: "u0\x00c0"},
		Read{Key: "cid0\x00a0"},
		Read{Key: "r0\x00a0"},
	)...)
}

// A row whose expiresAt is before year one has expired and is swept. The
// sweep walked the expiresAt index from the key of time.Time{}, so it never
// saw such a row. Found by TestModel, seed 11; fixed in 6db2f5d.
func TestRegressionSweepBeforeYearOne(t *testing.T) {
	ancient := time.Time{}.Add(-time.Hour)
	replay(t, "", with(
		Insert[oauthdb.Session]{Rec: oauthdb.Session{ID: "s1", Token: secretMark + "st1", UserID: "u0", ExpiresAt: ancient}},
		Insert[oauthdb.OAuthAccessToken]{Rec: oauthdb.OAuthAccessToken{ID: "a1", Token: secretMark + "h1", ClientID: "cid0",
			ExpiresAt: ancient}},
		Insert[oauthdb.Verification]{Rec: oauthdb.Verification{ID: "v1", Identifier: secretMark + "vi1", Value: "{}",
			ExpiresAt: ancient}},
		Sweep{Limit: 10},
	)...)
}

// A consent's referenceId is part of its unique key, so it cannot hold NUL:
// once it could, and a grant for (cid0, u0, "org0") then matched the
// consent of (cid0, u0, "org0\x00x") by prefix and changed its scopes.
// Fixed in 11bf46d.
func TestRegressionConsentReferenceNUL(t *testing.T) {
	replay(t, "", with(
		Insert[oauthdb.OAuthConsent]{Rec: oauthdb.OAuthConsent{ID: "k1", ClientID: "cid0", UserID: "u0", ReferenceID: "org0\x00x"}},
		Consent{Do: "grant", ClientID: "cid0", UserID: "u0", ReferenceID: "org0\x00x", Scopes: []string{"openid"}},
		Consent{Do: "grant", ClientID: "cid0", UserID: "u0", ReferenceID: "org0", Scopes: []string{"email"}},
		Consent{Do: "check", ClientID: "cid0", UserID: "u0", ReferenceID: "org0", Scopes: []string{"email"}},
		Consent{Do: "revoke", ClientID: "cid0", UserID: "u0", ReferenceID: "org0"},
		Read{Key: "org0"},
	)...)
}

// createdAt is required: an update given a zero one keeps the stored one,
// as an insert given a zero one fills it. The update stored the zero
// createdAt, and Restore's inserts then filled it from the clock, so a
// snapshot did not restore as it was. Found by TestModel, seed 1, once
// Restore was among the operations; fixed in 6db2f5d.
func TestRegressionUpdateKeepsCreatedAt(t *testing.T) {
	replay(t, "", with(
		Update[oauthdb.Session]{Ref: -1, Rec: oauthdb.Session{ID: "s0", Token: secretMark + "st0", UserID: "u0", ExpiresAt: Epoch.Add(time.Hour)}},
		Update[oauthdb.OAuthAccessToken]{Ref: -1, Rec: oauthdb.OAuthAccessToken{ID: "a0", Token: refmodel.Hash("plain-0"),
			ClientID: "cid0", ExpiresAt: Epoch.Add(time.Hour)}},
		Advance{D: time.Minute},
		Restore{},
	)...)
}

// Empty metadata is no metadata. A client stored with empty, non-nil
// metadata made its DB's snapshot fail to encode as JSON
// (json.RawMessage("") is not JSON). Found by TestModel, seed 206; fixed in 6db2f5d.
func TestRegressionEmptyMetadata(t *testing.T) {
	replay(t, "", with(
		Insert[oauthdb.OAuthClient]{Rec: oauthdb.OAuthClient{ID: "c1", ClientID: "cid1", RedirectURIs: []string{"https://x/cb"},
			Metadata: json.RawMessage("")}},
		Update[oauthdb.OAuthClient]{Ref: -1, Rec: oauthdb.OAuthClient{ID: "c0", ClientID: "cid0", RedirectURIs: []string{"https://x/cb"},
			UserID: "u0", Metadata: json.RawMessage{}}},
		Restore{JSON: true},
	)...)
}

// Revoking a refresh token deletes its access tokens and sets revoked
// (docs/DESIGN.md), even when it is revoked already: a rotation revokes the token
// it redeems but leaves that token's access token valid until it expires,
// so revoking the redeemed token afterwards still deletes that access
// token. (RevokeRefreshToken's comment says an already revoked token
// "changes nothing"; the behaviour is docs/DESIGN.md's, and the model's.)
func TestRevokeRotatedRefreshToken(t *testing.T) {
	h := NewHarness(1, false)
	for _, op := range with() {
		if err := h.Apply(op); err != nil {
			t.Fatal(err)
		}
	}
	first, err := h.DB.IssueTokens(oauthdb.IssueRequest{ClientID: "cid0", UserID: "u0", Scopes: []string{oauthdb.ScopeOfflineAccess}, Refresh: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.DB.RotateRefreshToken(first.RefreshToken, "cid0", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.DB.ValidateAccessToken(first.AccessToken); err != nil {
		t.Fatalf("the redeemed token's access token after the rotation: %v, want it valid", err)
	}
	n, err := h.DB.RevokeRefreshToken(first.RefreshToken)
	if n != 1 || err != nil {
		t.Fatalf("revoking the redeemed token: %d, %v; want 1 (its access token)", n, err)
	}
	if _, err := h.DB.ValidateAccessToken(first.AccessToken); !errors.Is(err, oauthdb.ErrTokenNotFound) {
		t.Fatalf("its access token after: %v, want ErrTokenNotFound", err)
	}
}

// A row written back unrevoked brings its token back on the DB, whose own
// write it is, but not on a replica that receives the row: there it is a
// token that was inactive becoming active without a new grant. The same
// for a row whose session is cleared while it is unrevoked (strict mode),
// which is how better-auth's sign-out looks between its two transactions.
func TestRegressionReplicaRowRevivals(t *testing.T) {
	revoked := oauthdb.OAuthAccessToken{ID: "a0", Token: refmodel.Hash("plain-0"), ClientID: "cid0",
		UserID: "u0", SessionID: "s0", RefreshID: "r0", ExpiresAt: Epoch.Add(time.Hour), Revoked: Epoch}
	unrevoked := revoked
	unrevoked.Revoked = time.Time{}
	noSession := unrevoked
	noSession.SessionID = ""
	replay(t, "", with(
		Update[oauthdb.OAuthAccessToken]{Ref: -1, Rec: revoked},
		Update[oauthdb.OAuthAccessToken]{Ref: -1, Rec: unrevoked},
	)...)
	replay(t, "", with(Update[oauthdb.OAuthAccessToken]{Ref: -1, Rec: noSession})...)
}

// The refresh token rules of better-auth 1.7.29, held to the model in a run
// of their own: r0 (no offline_access, in session s0) is not rotated and can
// be used twice; once s0 has expired it is refused before anything else is
// looked at (no family revoked), and extending s0 revokes it; an offline
// token narrowed to drop offline_access after its session ended is refused;
// and a revoked, not rotated, token presented is ErrTokenRevoked, its family
// revoked.
func TestRegressionSessionBoundRefreshTokens(t *testing.T) {
	r0 := TokenRef{List: refLiteral, Lit: "plain-1"}
	newest := TokenRef{List: refRefresh}
	replay(t, "", with(
		Rotate{Tok: r0, Client: "cid0"},
		Rotate{Tok: r0, Client: "cid0", Scopes: []string{}},
		Issue{Req: oauthdb.IssueRequest{ClientID: "cid0", UserID: "u0", SessionID: "s0",
			Scopes: []string{"openid", oauthdb.ScopeOfflineAccess}, Refresh: true, AuthorizationCodeID: "code-0"}},
		Advance{D: 2 * time.Hour},
		ValidateRefresh{Tok: r0},
		Rotate{Tok: r0, Client: "cid0"},
		Rotate{Tok: newest, Client: "cid0", Scopes: []string{"openid"}},
		Update[oauthdb.Session]{Ref: -1, Rec: oauthdb.Session{ID: "s0", Token: secretMark + "st0", UserID: "u0", ExpiresAt: Epoch.Add(24 * time.Hour)}},
		ValidateRefresh{Tok: r0},
		Rotate{Tok: newest, Client: "cid0"},
		RevokeRefresh{Tok: newest},
		Rotate{Tok: newest, Client: "cid0"},
		ValidateRefresh{Tok: r0},
	)...)
}

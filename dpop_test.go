package oauthdb_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

// DPoP at issuance, as better-auth 1.7.29's resolveDpopTokenBinding decides
// it: a proof is required when the client has dpopBoundAccessTokens or the
// refresh token redeemed is bound to a key; a proof's key must be the
// refresh token's; and a proof, required or not, binds both new tokens.

// Two keys' thumbprints: what a verified proof's jwk hashes to.
const (
	jktA = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	jktB = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

// boundTo fails the test unless both tokens, and their records as stored,
// are bound to the key jkt.
func boundTo(t *testing.T, db *oauthdb.DB, tok oauthdb.IssuedTokens, jkt string) {
	t.Helper()
	if got := oauthdb.DPoPThumbprint(tok.Access.Confirmation); got != jkt {
		t.Errorf("access token bound to %q, want %q", got, jkt)
	}
	if tok.RefreshToken != "" {
		if got := oauthdb.DPoPThumbprint(tok.Refresh.Confirmation); got != jkt {
			t.Errorf("refresh token bound to %q, want %q", got, jkt)
		}
		if info, err := db.ValidateRefreshToken(tok.RefreshToken); err != nil || oauthdb.DPoPThumbprint(info.Token.Confirmation) != jkt {
			t.Errorf("stored refresh token: confirmation %s, %v; want bound to %q", info.Token.Confirmation, err, jkt)
		}
	}
	if info, err := db.ValidateAccessToken(tok.AccessToken); err != nil || oauthdb.DPoPThumbprint(info.Token.Confirmation) != jkt {
		t.Errorf("stored access token: confirmation %s, %v; want bound to %q", info.Token.Confirmation, err, jkt)
	}
}

// refresh redeems a refresh token of cid-1 with a proof of the key jkt.
func refresh(t *testing.T, db *oauthdb.DB, token, jkt string) oauthdb.IssuedTokens {
	t.Helper()
	tok, err := db.Refresh(oauthdb.RefreshRequest{Token: token, ClientID: "cid-1", DPoPThumbprint: jkt})
	if err != nil {
		t.Fatalf("Refresh with a proof of %s: %v", jkt, err)
	}
	return tok
}

// withProof is userGrant with a proof of the key jkt.
func withProof(jkt string) oauthdb.IssueRequest {
	g := userGrant
	g.DPoPThumbprint = jkt
	return g
}

// refusedDPoP fails the test unless err is the sentinel why, in an *Error
// of table that names no thumbprint but the one given, and the rows are as
// before.
func refusedDPoP(t *testing.T, db *oauthdb.DB, before oauthdb.Snapshot, err, why error, table string) {
	t.Helper()
	if !errors.Is(err, why) {
		t.Fatalf("err = %v, want %v", err, why)
	}
	if e, ok := errors.AsType[*oauthdb.Error](err); !ok || e.Table != table {
		t.Errorf("err = %#v, want an *oauthdb.Error of %s", err, table)
	}
	if d := cmp.Diff(before, db.Snapshot()); d != "" {
		t.Errorf("a refused request changed the rows (-before +after):\n%s", d)
	}
}

// A refresh token bound to a key is redeemed only with a proof of that key,
// and its successors are bound to it too; without a proof, or with another
// key's, the request is refused and nothing changes.
func TestRefreshOfDPoPBoundToken(t *testing.T) {
	for name, grant := range map[string]oauthdb.IssueRequest{
		"offline_access (rotated)":        userGrant,
		"no offline_access (not rotated)": onlineGrant,
	} {
		t.Run(name, func(t *testing.T) {
			db, clk := world(t)
			grant.DPoPThumbprint = jktA
			first := issue(t, db, grant)
			boundTo(t, db, first, jktA)
			clk.Advance(time.Second)

			before := db.Snapshot()
			_, err := db.RotateRefreshToken(first.RefreshToken, grant.ClientID, nil)
			refusedDPoP(t, db, before, err, oauthdb.ErrDPoPRequired, oauthdb.TableOAuthRefreshToken)
			if strings.Contains(err.Error(), first.RefreshToken) {
				t.Errorf("the error %q names the token", err)
			}
			_, err = db.Refresh(oauthdb.RefreshRequest{Token: first.RefreshToken, ClientID: grant.ClientID, DPoPThumbprint: jktB})
			refusedDPoP(t, db, before, err, oauthdb.ErrDPoPKeyMismatch, oauthdb.TableOAuthRefreshToken)

			next, err := db.Refresh(oauthdb.RefreshRequest{Token: first.RefreshToken, ClientID: grant.ClientID, DPoPThumbprint: jktA})
			if err != nil {
				t.Fatal(err)
			}
			boundTo(t, db, next, jktA)
		})
	}
}

// A bound refresh token presented again after its rotation is a replay,
// proof or none: the family is revoked, as better-auth checks revocation
// before it looks at DPoP.
func TestReplayOfDPoPBoundTokenWithoutProof(t *testing.T) {
	db, clk := world(t)
	first := issue(t, db, withProof(jktA))
	next := refresh(t, db, first.RefreshToken, jktA)
	clk.Advance(time.Second)
	if _, err := db.RotateRefreshToken(first.RefreshToken, "cid-1", nil); !errors.Is(err, oauthdb.ErrTokenReplayed) {
		t.Fatalf("a replay without a proof: %v, want ErrTokenReplayed", err)
	}
	if _, err := db.ValidateRefreshToken(next.RefreshToken); !errors.Is(err, oauthdb.ErrTokenRevoked) {
		t.Errorf("the family's live refresh token after the replay: %v, want ErrTokenRevoked", err)
	}
}

// A client with dpopBoundAccessTokens — the column, or the flag in its
// metadata, as better-auth reads either — gets tokens only with a proof.
func TestDPoPBoundClient(t *testing.T) {
	for name, set := range map[string]func(c *oauthdb.OAuthClient){
		"dpopBoundAccessTokens": func(c *oauthdb.OAuthClient) { c.DPoPBoundAccessTokens = true },
		"metadata":              func(c *oauthdb.OAuthClient) { c.Metadata = json.RawMessage(`{"dpop_bound_access_tokens":true}`) },
	} {
		t.Run(name, func(t *testing.T) {
			db, _ := world(t)
			// A refresh token issued before the client required DPoP.
			old := issue(t, db, userGrant)
			update(t, db, func(tx *oauthdb.Tx) error {
				c, err := tx.ClientByClientID("cid-1")
				if err != nil {
					return err
				}
				set(&c)
				return tx.UpdateClient(c)
			})

			before := db.Snapshot()
			_, err := db.IssueTokens(userGrant)
			refusedDPoP(t, db, before, err, oauthdb.ErrDPoPRequired, oauthdb.TableOAuthClient)
			_, err = db.RotateRefreshToken(old.RefreshToken, "cid-1", nil)
			refusedDPoP(t, db, before, err, oauthdb.ErrDPoPRequired, oauthdb.TableOAuthClient)

			boundTo(t, db, issue(t, db, withProof(jktA)), jktA)
			boundTo(t, db, refresh(t, db, old.RefreshToken, jktB), jktB)
		})
	}
	// Metadata that says false, or says it in another case, binds nothing.
	db, _ := world(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		c, _ := tx.ClientByClientID("cid-1")
		c.Metadata = json.RawMessage(`{"dpop_bound_access_tokens":false,"DPOP_BOUND_ACCESS_TOKENS":true}`)
		return tx.UpdateClient(c)
	})
	boundTo(t, db, issue(t, db, userGrant), "")
}

// A proof binds the tokens of a client that does not require DPoP, and a
// refresh token's successors when it was bound to nothing; a client
// credentials grant's access token too.
func TestDPoPProofBindsOrdinaryClient(t *testing.T) {
	db, _ := world(t)
	plain := issue(t, db, userGrant)
	boundTo(t, db, plain, "")
	boundTo(t, db, issue(t, db, withProof(jktA)), jktA)

	next := refresh(t, db, plain.RefreshToken, jktB)
	boundTo(t, db, next, jktB)
	// Bound now: the next refresh needs that key.
	if _, err := db.RotateRefreshToken(next.RefreshToken, "cid-1", nil); !errors.Is(err, oauthdb.ErrDPoPRequired) {
		t.Errorf("refreshing the newly bound token without a proof: %v, want ErrDPoPRequired", err)
	}

	cc := issue(t, db, oauthdb.IssueRequest{ClientID: "cid-2", Scopes: []string{"read"}, DPoPThumbprint: jktA})
	boundTo(t, db, cc, jktA)
}

// A thumbprint that is not one — not 43 characters of base64url — is bad
// input, named by its field and cut to its bound.
func TestDPoPThumbprintMalformed(t *testing.T) {
	db, _ := world(t)
	first := issue(t, db, userGrant)
	before := db.Snapshot()
	for _, jkt := range []string{"short", jktA + "A", strings.Repeat("+", 43), strings.Repeat("x", 100_000)} {
		_, err := db.IssueTokens(withProof(jkt))
		refusedDPoP(t, db, before, err, oauthdb.ErrInvalid, oauthdb.TableOAuthAccessToken)
		_, err = db.Refresh(oauthdb.RefreshRequest{Token: first.RefreshToken, ClientID: "cid-1", DPoPThumbprint: jkt})
		refusedDPoP(t, db, before, err, oauthdb.ErrInvalid, oauthdb.TableOAuthRefreshToken)
		if len(err.Error()) > 200 {
			t.Errorf("the error of a %d-byte thumbprint is %d bytes long", len(jkt), len(err.Error()))
		}
	}
}

package betterauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"golang.org/x/oauth2"
)

// TestFakeServerRedeemsBetterAuthCodes: the codes better-auth left pending
// at moment now — their verification rows written by better-auth, one with
// resource and ba_param arrays in its query — are redeemed by the fake
// server over the loaded rows, with their PKCE verifiers, by a real OAuth
// client; presented again, they are refused and their tokens revoked.
func TestFakeServerRedeemsBetterAuthCodes(t *testing.T) {
	for _, adapter := range adapters {
		t.Run(adapter, func(t *testing.T) {
			e := readExport(t, samplePath(adapter))
			m := e.Moments[0]
			if m.Name != "now" {
				t.Fatalf("first moment %s", m.Name)
			}
			db, _ := loadMoment(t, m)
			srv := oauthdbtest.NewServer(t, db)
			ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client())
			secrets := map[string]string{}
			for _, c := range e.Clients {
				secrets[c.ClientID] = c.ClientSecret
			}
			pending := 0
			for _, code := range e.Codes {
				if code.Redeemed {
					continue
				}
				pending++
				var row oauthdb.Verification
				err := db.View(func(tx *oauthdb.Tx) (err error) { row, err = tx.VerificationByIdentifier(code.Hash); return err })
				if err != nil {
					t.Fatalf("%s: its verification row: %v", code.Name, err)
				}
				value, err := oauthdbtest.ParseCodeValue(row)
				if err != nil {
					t.Fatalf("%s: %v", code.Name, err)
				}
				cfg := oauth2.Config{ClientID: code.ClientID, ClientSecret: secrets[code.ClientID], Endpoint: srv.Endpoint(),
					RedirectURL: code.RedirectURI}
				tok, err := cfg.Exchange(ctx, code.Code, oauth2.VerifierOption(code.Verifier))
				if err != nil {
					t.Fatalf("%s: %v", code.Name, err)
				}
				scopes := strings.Fields(code.Scope)
				if tok.Extra("scope") != code.Scope || (tok.RefreshToken != "") != slices.Contains(scopes, "offline_access") {
					t.Errorf("%s: scope %v, refresh token %v; want %q", code.Name, tok.Extra("scope"), tok.RefreshToken != "", code.Scope)
				}
				info, err := db.ValidateAccessToken(tok.AccessToken)
				if err != nil {
					t.Fatalf("%s: the issued access token: %v", code.Name, err)
				}
				if info.Token.AuthorizationCodeID != code.Hash || info.User.ID != value.UserID || info.Session.ID != value.SessionID {
					t.Errorf("%s: issued %+v, want the code's user %s, session %s and hash", code.Name, info.Token, value.UserID, value.SessionID)
				}
				if tok.RefreshToken != "" {
					r, err := db.ValidateRefreshToken(tok.RefreshToken)
					if err != nil || r.Token.AuthTime.UnixMilli() != value.AuthTime {
						t.Errorf("%s: refresh token %v, authTime %v, want %d", code.Name, err, r.Token.AuthTime, value.AuthTime)
					}
				}
				err = db.View(func(tx *oauthdb.Tx) error { _, err := tx.Verification(row.ID); return err })
				if !errors.Is(err, oauthdb.ErrNotFound) {
					t.Errorf("%s: the verification row is still there", code.Name)
				}
				_, err = cfg.Exchange(ctx, code.Code, oauth2.VerifierOption(code.Verifier))
				if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "invalid_grant" {
					t.Errorf("%s: presented again: %v", code.Name, err)
				}
				if _, err := db.ValidateAccessToken(tok.AccessToken); !errors.Is(err, oauthdb.ErrTokenNotFound) && !errors.Is(err, oauthdb.ErrTokenRevoked) {
					t.Errorf("%s: after the replay the access token is %v", code.Name, err)
				}
			}
			if pending != 2 {
				t.Errorf("%d pending codes, want 2", pending)
			}
		})
	}
}

// TestParseBetterAuthCodeValues: every verification.value better-auth
// wrote, in every sample, parses; the parts better-auth's own parser reads
// are interpreted (type, query, userId, sessionId, authTime, resource), and
// JSON gives back the same document, member for member.
func TestParseBetterAuthCodeValues(t *testing.T) {
	withArrays := 0
	for _, adapter := range adapters {
		for _, m := range readExport(t, samplePath(adapter)).Moments {
			db, _ := loadMoment(t, m)
			for _, v := range db.Snapshot().Verifications {
				cv, err := oauthdbtest.ParseCodeValue(v)
				if err != nil {
					t.Fatalf("%s/%s %s: %v", adapter, m.Name, v.ID, err)
				}
				if cv.Type != "authorization_code" || cv.UserID == "" || cv.SessionID == "" || cv.AuthTime == 0 ||
					cv.Resource == nil || cv.Query["client_id"] == "" || cv.Query["code_challenge"] == "" {
					t.Errorf("%s/%s: %+v", adapter, m.Name, cv)
				}
				if _, ok := cv.QueryValues["ba_param"]; ok {
					withArrays++
					if got := cv.Params("resource"); len(got) != 2 || !slices.Equal(got, cv.Resource) {
						t.Errorf("%s/%s: query resource %v, top-level %v", adapter, m.Name, got, cv.Resource)
					}
				}
				var want, got any
				if err := json.Unmarshal([]byte(v.Value), &want); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal([]byte(cv.JSON()), &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s/%s: JSON changed the value (-better-auth +JSON):\n%s", adapter, m.Name, diff)
				}
			}
		}
	}
	if withArrays == 0 {
		t.Error("no code value with a ba_param array")
	}
}

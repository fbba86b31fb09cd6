package oauthdb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

func TestConsent(t *testing.T) {
	db, clk := world(t)
	if err := db.CheckConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"openid"}); !errors.Is(err, oauthdb.ErrConsentRequired) {
		t.Errorf("CheckConsent before any grant = %v", err)
	}
	first, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"openid", "profile"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"profile"}); err != nil {
		t.Errorf("CheckConsent of a granted scope = %v", err)
	}
	if err := db.CheckConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"openid", "email"}); !errors.Is(err, oauthdb.ErrConsentRequired) {
		t.Errorf("CheckConsent of an ungranted scope = %v", err)
	}
	clk.Advance(time.Minute)
	second, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}, []string{"email"})
	if err != nil {
		t.Fatal(err)
	}
	want := first
	want.Scopes = []string{"email"}
	want.UpdatedAt = clk.Now()
	if diff := cmp.Diff(want, second); diff != "" {
		t.Errorf("granting again (-want +got):\n%s", diff)
	}
	if _, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "cid-2", UserID: "u1", ReferenceID: "org-9"}, []string{"openid"}); err != nil {
		t.Fatal(err)
	}
	list, err := db.UserConsents("u1")
	if err != nil || len(list) != 2 {
		t.Fatalf("Consents(u1) = %v, %v", list, err)
	}
	if n, err := db.RevokeConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}); n != 1 || err != nil {
		t.Errorf("RevokeConsent = %d, %v", n, err)
	}
	if n, err := db.RevokeConsent(oauthdb.ConsentKey{ClientID: "cid-1", UserID: "u1"}); n != 0 || err != nil {
		t.Errorf("RevokeConsent again = %d, %v", n, err)
	}
	if _, err := db.GrantConsent(oauthdb.ConsentKey{ClientID: "nobody", UserID: "u1"}, nil); !errors.Is(err, oauthdb.ErrNotFound) {
		t.Errorf("GrantConsent to an unknown client = %v", err)
	}
}

func TestSkipConsent(t *testing.T) {
	db, _ := world(t)
	update(t, db, func(tx *oauthdb.Tx) error {
		c, _ := tx.Client("c2")
		c.SkipConsent = true
		return tx.UpdateClient(c)
	})
	if err := db.CheckConsent(oauthdb.ConsentKey{ClientID: "cid-2", UserID: "u1"}, []string{"anything"}); err != nil {
		t.Errorf("CheckConsent for a skip-consent client = %v", err)
	}
}

package resourceserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"github.com/oauthdb/oauthdb/resourceserver"
)

// TestDPoPReplayAtTheWindowsEnd: a proof dated as far ahead as the skew
// allows is accepted until its iat + DPoPMaxAge; a replay at that very
// instant, on the DB's clock, is still refused, because the replay cache
// keeps it past the last instant it can be accepted.
func TestDPoPReplayAtTheWindowsEnd(t *testing.T) {
	w := newFixtureWorld(t, resourceserver.Config{})
	tok := w.bound(oauthdbtest.Scopes("read"), oauthdbtest.Edit(func(a *oauthdb.OAuthAccessToken) {
		a.ExpiresAt = w.fx.Clock.Now().Add(time.Hour)
	}))
	start := w.fx.Clock.Now()
	iat := start.Add(5 * time.Second) // the default skew
	p := w.sign(t, tok, proof{iat: iat})
	w.call(t, http.MethodGet, "/api", nil, "Authorization", "DPoP "+tok, "DPoP", p).want(t, "first use", 200)

	w.fx.Clock.Set(iat.Add(5 * time.Minute)) // the default max age: the last instant iat is accepted
	w.call(t, http.MethodGet, "/api", nil, "Authorization", "DPoP "+tok, "DPoP", p).
		want(t, "a replay at the last instant its iat is accepted", 401, `DPoP error="invalid_dpop_proof", error_description="the DPoP proof was used already"`)
	w.fx.Clock.Advance(time.Second)
	w.call(t, http.MethodGet, "/api", nil, "Authorization", "DPoP "+tok, "DPoP", p).
		want(t, "a replay once its iat is too old", 401, `DPoP error="invalid_dpop_proof", error_description="the DPoP proof's iat is outside the accepted window"`)
}

// TestDPoPReplayShareOfAKey: one key's flood of fresh jtis fills only its
// share of the replay cache: that key's next proofs are answered 503 with
// Retry-After, while another key's go through.
func TestDPoPReplayShareOfAKey(t *testing.T) {
	w := newFixtureWorld(t, resourceserver.Config{DPoPReplayEntries: 16, DPoPReplayEntriesPerKey: 4})
	flood := w.bound(oauthdbtest.Scopes("read"))
	for range 4 {
		w.call(t, http.MethodGet, "/api", nil, "Authorization", "DPoP "+flood, "DPoP", w.sign(t, flood, proof{})).
			want(t, "a proof within the key's share", 200)
	}
	got := w.call(t, http.MethodGet, "/api", nil, "Authorization", "DPoP "+flood, "DPoP", w.sign(t, flood, proof{}))
	got.want(t, "a proof past the key's share", 503)
	if got.body["error"] != resourceserver.ErrorUnavailable || got.header.Get("Retry-After") == "" {
		t.Errorf("past the key's share: %v, Retry-After %q", got.body, got.header.Get("Retry-After"))
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt := thumbprint(t, &key.PublicKey)
	other, _ := w.fx.AccessToken(w.client, w.sess, oauthdbtest.Scopes("read"), oauthdbtest.Edit(func(a *oauthdb.OAuthAccessToken) {
		a.Confirmation = json.RawMessage(`{"jkt":"` + jkt + `"}`)
	}))
	w.call(t, http.MethodGet, "/api", nil, "Authorization", "DPoP "+other, "DPoP", w.sign(t, other, proof{key: key})).
		want(t, "another key's proof", 200)

	// Once the flood's entries expire, the key has its share again.
	w.fx.Clock.Advance(5*time.Minute + 6*time.Second)
	w.call(t, http.MethodGet, "/api", nil, "Authorization", "DPoP "+flood, "DPoP", w.sign(t, flood, proof{})).
		want(t, "the key after its entries expired", 200)
}

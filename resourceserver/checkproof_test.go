package resourceserver_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/oauthdb/oauthdb/resourceserver"
)

// TestCheckProof: a proof sent with no access token — to a token endpoint
// — is checked as any other but for ath and the token's key, and gives the
// thumbprint of the key that signed it; its jti is remembered as any
// other's.
func TestCheckProof(t *testing.T) {
	w := newFixtureWorld(t, resourceserver.Config{})
	endpoint := w.srv.URL + "/token"
	request := func(proofs ...string) *http.Request {
		r, err := http.NewRequest(http.MethodPost, endpoint+"?x=1", strings.NewReader("grant_type=refresh_token"))
		if err != nil {
			t.Fatal(err)
		}
		r.Host = strings.TrimPrefix(w.srv.URL, "http://")
		for _, p := range proofs {
			r.Header.Add("DPoP", p)
		}
		return r
	}
	good := w.sign(t, "", proof{htm: http.MethodPost, htu: endpoint, noATH: true})
	if jkt, err := w.rs.CheckProof(request(good)); err != nil || jkt != w.jkt {
		t.Fatalf("a good proof: %q, %v; want %q", jkt, err, w.jkt)
	}
	for _, tt := range []struct {
		name string
		r    *http.Request
		desc string
	}{
		{"the same proof again", request(good), "the DPoP proof was used already"},
		{"no proof", request(), "the request has no DPoP proof"},
		{"another htm", request(w.sign(t, "", proof{htu: endpoint, noATH: true})), "the DPoP proof's htm is not the request's method"},
		{"another htu", request(w.sign(t, "", proof{htm: http.MethodPost, noATH: true})), "the DPoP proof's htu is not the request's URL"},
		{"two proofs", request(good, good), "the DPoP header is repeated"},
	} {
		jkt, err := w.rs.CheckProof(tt.r)
		e, ok := errors.AsType[*resourceserver.Error](err)
		if jkt != "" || !ok || e.Code != resourceserver.ErrorInvalidDPoPProof || e.Description != tt.desc {
			t.Errorf("%s: %q, %v; want %q", tt.name, jkt, err, tt.desc)
		}
	}
}

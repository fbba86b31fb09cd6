package resourceserver_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
	"github.com/oauthdb/oauthdb/resourceserver"
)

// FuzzAuthenticate sends whatever Authorization and DPoP headers the fuzzer
// makes up, for a bearer and a DPoP-bound token: every answer is a refusal
// of 400, 401 or 403 with a challenge, or the token itself — never a
// panic, a 500, or a token other than the two. CI runs the seeds; a long
// run: go test ./resourceserver -run XXX -fuzz FuzzAuthenticate -fuzztime 5m.
func FuzzAuthenticate(f *testing.F) {
	fx := oauthdbtest.New(f)
	u := fx.User()
	s := fx.Session(u)
	c := fx.Client()
	bearer, _ := fx.AccessToken(c, s)
	bound, _ := fx.AccessToken(c, s, oauthdbtest.Edit(func(a *oauthdb.OAuthAccessToken) {
		a.Confirmation = []byte(`{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}`)
	}))
	rs, err := resourceserver.New(fx.DB, resourceserver.Config{})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][2]string{
		{"Bearer " + bearer, ""}, {"DPoP " + bound, "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2In0.e30.AA"},
		{"Bearer", ""}, {"Basic YTpi", ""}, {"DPoP " + bound, "a.b.c"}, {"bearer " + bearer + "==", "\xff"},
		{"DPoP " + bound, `eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0.`}, {"", "x"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, auth, proof string) {
		r := httptest.NewRequest(http.MethodGet, "http://api.example/x", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
		tok, err := rs.Authenticate(r)
		if err == nil {
			if tok.Scheme != "Bearer" || tok.Client.ClientID != c.ClientID {
				t.Fatalf("accepted %q with %+v", auth, tok)
			}
			return
		}
		e, ok := err.(*resourceserver.Error)
		if !ok || (e.Status != 400 && e.Status != 401) {
			t.Fatalf("Authorization %q, DPoP %q: %v", auth, proof, err)
		}
		w := httptest.NewRecorder()
		rs.WriteError(w, err)
		if w.Code != e.Status || len(w.Result().Header.Values("WWW-Authenticate")) == 0 {
			t.Fatalf("%v written as %d %v", err, w.Code, w.Result().Header)
		}
	})
}

package oauthdbtest_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

// A value as better-auth 1.7 writes it after a consent screen, with an
// OpenID claims request and a member of a later version.
const betterAuthValue = `{"type":"authorization_code","query":{"response_type":"code",` +
	`"redirect_uri":"https://confidential.example/callback","scope":"openid profile","state":"state-R",` +
	`"client_id":"hDopCGRJCCwfbkEsgMpOXFAUyYfQlBEx","code_challenge":"r9FL806acP24nQgqVsz_VdTkq7rZyGIFbDKGhNcXom0",` +
	`"code_challenge_method":"S256","resource":["https://api.example/a","https://api.example/b"],` +
	`"claims":{"id_token":{"email":{"essential":true}}},` +
	`"ba_param":["ba_iat","ba_param","client_id","code_challenge","code_challenge_method","exp","redirect_uri","resource","response_type","scope","state"]},` +
	`"userId":"qMe84xKF183AgYLvygokLnvJCmhWNrPV","sessionId":"TAQZCq3sA58ffcWu4BzE03YO0aDDOu5w",` +
	`"authTime":1767225600000,"resource":["https://api.example/a","https://api.example/b"],"future":{"x":[1, 2]}}`

func TestParseCodeValueOfBetterAuth(t *testing.T) {
	cv, err := oauthdbtest.ParseCodeValue(oauthdb.Verification{Value: betterAuthValue})
	if err != nil {
		t.Fatal(err)
	}
	want := oauthdbtest.CodeValue{
		Type: "authorization_code",
		Query: map[string]string{"response_type": "code", "redirect_uri": "https://confidential.example/callback",
			"scope": "openid profile", "state": "state-R", "client_id": "hDopCGRJCCwfbkEsgMpOXFAUyYfQlBEx",
			"code_challenge": "r9FL806acP24nQgqVsz_VdTkq7rZyGIFbDKGhNcXom0", "code_challenge_method": "S256"},
		QueryValues: map[string]json.RawMessage{
			"resource": json.RawMessage(`["https://api.example/a","https://api.example/b"]`),
			"claims":   json.RawMessage(`{"id_token":{"email":{"essential":true}}}`),
			"ba_param": json.RawMessage(`["ba_iat","ba_param","client_id","code_challenge","code_challenge_method","exp","redirect_uri","resource","response_type","scope","state"]`),
		},
		UserID: "qMe84xKF183AgYLvygokLnvJCmhWNrPV", SessionID: "TAQZCq3sA58ffcWu4BzE03YO0aDDOu5w", AuthTime: 1767225600000,
		Resource: []string{"https://api.example/a", "https://api.example/b"},
		Extra:    map[string]json.RawMessage{"future": json.RawMessage(`{"x":[1,2]}`)},
	}
	if diff := cmp.Diff(want, cv); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := cv.Params("resource"); !cmp.Equal(got, want.Resource) {
		t.Errorf("Params(resource) = %v", got)
	}
	if got := cv.Params("scope"); !cmp.Equal(got, []string{"openid profile"}) {
		t.Errorf("Params(scope) = %v", got)
	}
	if got := cv.Params("claims"); got != nil {
		t.Errorf("Params(claims) = %v, want none: not a list of strings", got)
	}
	// JSON gives back the same document, and parses to the same value.
	var orig, back any
	_ = json.Unmarshal([]byte(betterAuthValue), &orig)
	if err := json.Unmarshal([]byte(cv.JSON()), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(orig, back); diff != "" {
		t.Errorf("JSON changed the document (-better-auth +JSON):\n%s", diff)
	}
	again, err := oauthdbtest.ParseCodeValue(oauthdb.Verification{Value: cv.JSON()})
	if err != nil || !cmp.Equal(again, cv) {
		t.Errorf("parse(JSON(cv)) = %+v, %v", again, err)
	}
}

func TestParseCodeValueOfOlderBetterAuth(t *testing.T) {
	// 1.4: no authTime, no resource; 1.5–1.6: authTime. Nulls are unset.
	cv, err := oauthdbtest.ParseCodeValue(oauthdb.Verification{Value: `{"type":"authorization_code",` +
		`"query":{"client_id":"c","scope":"openid"},"userId":"u","sessionId":null,"referenceId":"org-1"}`})
	if err != nil {
		t.Fatal(err)
	}
	want := oauthdbtest.CodeValue{Type: "authorization_code", Query: map[string]string{"client_id": "c", "scope": "openid"},
		UserID: "u", ReferenceID: "org-1"}
	if diff := cmp.Diff(want, cv); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := cv.JSON(); got != `{"query":{"client_id":"c","scope":"openid"},"referenceId":"org-1","type":"authorization_code","userId":"u"}` {
		t.Errorf("JSON() = %s", got)
	}
	// resource written as [] stays [], nil is left out.
	cv.Resource = []string{}
	if got := cv.JSON(); got != `{"query":{"client_id":"c","scope":"openid"},"referenceId":"org-1","resource":[],"type":"authorization_code","userId":"u"}` {
		t.Errorf("JSON() with an empty resource = %s", got)
	}
}

func TestParseCodeValueRefuses(t *testing.T) {
	for _, v := range []string{``, `null`, `[]`, `{"type":1}`, `{"query":[]}`, `{"query":{"a":"\ud800"}, "userId": 2}`,
		`{"authTime":1.5}`, `{"authTime":"2026-01-01"}`, `{"resource":"https://a.example"}`, `{"resource":[1]}`, `{"userId":"u"`} {
		if cv, err := oauthdbtest.ParseCodeValue(oauthdb.Verification{Value: v}); err == nil {
			t.Errorf("%s: %+v, want an error", v, cv)
		}
	}
}

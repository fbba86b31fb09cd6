package authserver

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
)

// TestAppendEscaped: what the hand-written encoder writes, encoding/json
// reads back as the same string, for strings of every kind of character.
func TestAppendEscaped(t *testing.T) {
	cases := []string{"", "plain", `q"uo\te`, "tab\tnl\ncr\r", "\x00\x01\x1f\x7f", "<>&", "é€😀",
		"\u2028\u2029", "bad \xff utf-8 \xc3", "中文 scope:read"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		enc := appendString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Errorf("%q encodes as %s, which is not JSON: %v", s, enc, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if !utf8.ValidString(s) {
			// encoding/json replaces each invalid byte; so does the encoder.
			var std string
			m, _ := json.Marshal(s)
			_ = json.Unmarshal(m, &std)
			want = std
		}
		if got != want {
			t.Errorf("%q encodes as %s, which decodes as %q, want %q", s, enc, got, want)
		}
		if strings.ContainsAny(string(enc), "\u2028\u2029") {
			t.Errorf("%q: U+2028 or U+2029 left raw in %s", s, enc)
		}
	}
}

// TestAnswerFields: the answers for tokens with resources and with a
// DPoP key's confirmation, as better-auth 1.7 writes them.
func TestAnswerFields(t *testing.T) {
	const iss = "https://auth.example.com/api/auth"
	exp, iat := time.Unix(2000, 0), time.Unix(1000, 0)
	info := func(scopes, resources []string, cnf string) *oauthdb.AccessTokenInfo {
		return &oauthdb.AccessTokenInfo{Token: oauthdb.OAuthAccessToken{ClientID: "c", Scopes: scopes,
			Resources: resources, Confirmation: json.RawMessage(cnf), ExpiresAt: exp, CreatedAt: iat}}
	}
	tests := []struct {
		name string
		info *oauthdb.AccessTokenInfo
		want map[string]any
	}{
		{"one resource", info([]string{"read"}, []string{"https://api.example"}, ""),
			map[string]any{"aud": "https://api.example"}},
		{"two resources", info([]string{"read"}, []string{"https://a.example", "https://b.example"}, ""),
			map[string]any{"aud": []any{"https://a.example", "https://b.example"}}},
		{"a resource and openid", info([]string{"openid"}, []string{"https://api.example"}, ""),
			map[string]any{"aud": []any{"https://api.example", iss + "/oauth2/userinfo"}}},
		{"openid alone: no aud", info([]string{"openid"}, nil, ""), map[string]any{}},
		{"DPoP-bound", info([]string{"read"}, nil, `{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}`),
			map[string]any{"token_type": "DPoP", "cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}},
		{"other confirmation", info([]string{"read"}, nil, `{"x5t#S256":"abc"}`),
			map[string]any{"cnf": map[string]any{"x5t#S256": "abc"}}},
	}
	for _, tt := range tests {
		var got map[string]any
		if err := json.Unmarshal(appendAccessAnswer(nil, tt.info, iss), &got); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		want := map[string]any{"active": true, "iss": iss, "client_id": "c", "azp": "c", "exp": 2000.0, "iat": 1000.0,
			"scope": strings.Join(tt.info.Token.Scopes, " "), "token_type": "Bearer"}
		for k, v := range tt.want {
			want[k] = v
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}

// TestParseIntrospectForm: the hand-written parser reads what
// url.ParseQuery would, for the parameters it knows, and refuses repeats.
func TestParseIntrospectForm(t *testing.T) {
	tests := []struct {
		body string
		want introspectForm
		err  error
	}{
		{"", introspectForm{}, nil},
		{"token=abc", introspectForm{token: "abc", hasToken: true}, nil},
		{"token=a%2Bb+c&token_type_hint=refresh_token&client_id=x%20y&client_secret=",
			introspectForm{token: "a+b c", hint: "refresh_token", clientID: "x y", hasToken: true, hasHint: true,
				hasClientID: true, hasSecret: true}, nil},
		{"&&token&x=1&x=2&=v", introspectForm{hasToken: true}, nil},
		{"tok%65n=escaped-name", introspectForm{token: "escaped-name", hasToken: true}, nil},
		{"token=a&token=b", introspectForm{}, errFormRepeated},
		{"client_secret=a&client_secret=a", introspectForm{}, errFormRepeated},
		{"token=%4", introspectForm{}, errFormEscape},
		{"%zz=1", introspectForm{}, errFormEscape},
	}
	for _, tt := range tests {
		var f introspectForm
		err := parseIntrospectForm([]byte(tt.body), &f)
		if !errors.Is(err, tt.err) {
			t.Errorf("%q: error %v, want %v", tt.body, err, tt.err)
			continue
		}
		if err == nil && f != tt.want {
			t.Errorf("%q: %+v, want %+v", tt.body, f, tt.want)
		}
	}
	for ct, want := range map[string]bool{"application/x-www-form-urlencoded": true,
		"Application/X-WWW-Form-Urlencoded; charset=utf-8": true, "application/json": false, "": false,
		"application/x-www-form-urlencoded-not": false} {
		if got := formContentType(ct); got != want {
			t.Errorf("formContentType(%q) = %v", ct, got)
		}
	}
}

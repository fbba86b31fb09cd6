package resourceserver

import (
	"mime"
	"net/http"
	"strings"

	"github.com/oauthdb/oauthdb"
)

// The authentication schemes of an access token.
const (
	schemeBearer = "Bearer"
	schemeDPoP   = "DPoP"
)

// maxAuthorization bounds the Authorization header read: a scheme, a space
// and the longest token the DB takes. A longer one is refused unread.
const maxAuthorization = len(schemeBearer) + 1 + oauthdb.MaxTokenLength

// credential is the access token a request carries, and how.
type credential struct {
	scheme    string // schemeBearer or schemeDPoP
	token     string
	fromQuery bool
}

// credentials takes the access token of r from where Config allows: the
// Authorization header (RFC 6750 §2.1, RFC 9449 §7.1), the form body
// (§2.2), the query (§2.3) — from one of them only.
func (v *Verifier) credentials(r *http.Request) (credential, *Error) {
	var found []credential
	switch auth := r.Header["Authorization"]; len(auth) {
	case 0:
	case 1:
		c, e := parseAuthorization(auth[0])
		if e != nil {
			return credential{}, e
		}
		found = append(found, c)
	default:
		// As a parameter repeated in a body is refused (RFC 6749 §3.2),
		// rather than letting the first header win silently.
		return credential{}, invalidRequest("the Authorization header is repeated", false)
	}
	if v.cfg.FormBody && r.Method != http.MethodGet && r.Body != nil && formBody(r) {
		if err := r.ParseForm(); err != nil {
			return credential{}, invalidRequest("the form body is malformed", false)
		}
		if c, ok, e := tokenParam(r.PostForm["access_token"]); e != nil {
			return credential{}, e
		} else if ok {
			found = append(found, c)
		}
	}
	if v.cfg.Query {
		if c, ok, e := tokenParam(r.URL.Query()["access_token"]); e != nil {
			return credential{}, e
		} else if ok {
			c.fromQuery = true
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return credential{}, &Error{Status: http.StatusUnauthorized, Description: "no access token in the request"}
	case 1:
		return found[0], nil
	}
	// RFC 6750 §2: clients MUST NOT use more than one method.
	return credential{}, invalidRequest("the access token was sent in more than one way", false)
}

// parseAuthorization reads an Authorization header of the Bearer or DPoP
// scheme (in any case) and its token, a b64token (RFC 6750 §2.1). Another
// scheme carries no access token: the request has no credentials for a
// resource server (RFC 6750 §3.1).
func parseAuthorization(v string) (credential, *Error) {
	scheme, token, _ := strings.Cut(v, " ")
	var c credential
	switch {
	case strings.EqualFold(scheme, schemeBearer):
		c.scheme = schemeBearer
	case strings.EqualFold(scheme, schemeDPoP):
		c.scheme = schemeDPoP
	default:
		return credential{}, &Error{Status: http.StatusUnauthorized,
			Description: "the Authorization header holds no Bearer or DPoP access token"}
	}
	dpop := c.scheme == schemeDPoP
	if len(v) > maxAuthorization {
		return credential{}, invalidToken("the access token is malformed: longer than any token", dpop, nil)
	}
	c.token = strings.Trim(token, " \t")
	if c.token == "" {
		// 401 rather than 400: better-auth takes the scheme alone for a
		// token, which is not active.
		return credential{}, invalidToken("no access token after the scheme", dpop, nil)
	}
	if !b64token(c.token) {
		return credential{}, invalidToken("the access token is malformed", dpop, nil)
	}
	return c, nil
}

// tokenParam reads the access_token parameter of a form or a query: at
// most once, and a b64token.
func tokenParam(vs []string) (credential, bool, *Error) {
	switch {
	case len(vs) == 0:
		return credential{}, false, nil
	case len(vs) > 1:
		return credential{}, false, invalidRequest("the access_token parameter is repeated", false)
	case vs[0] == "":
		return credential{}, false, invalidRequest("the access_token parameter is empty", false)
	case len(vs[0]) > oauthdb.MaxTokenLength || !b64token(vs[0]):
		return credential{}, false, invalidToken("the access token is malformed", false, nil)
	}
	return credential{scheme: schemeBearer, token: vs[0]}, true, nil
}

// formBody reports whether r's body is form-encoded.
func formBody(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// b64token reports whether s is a b64token (RFC 6750 §2.1):
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func b64token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

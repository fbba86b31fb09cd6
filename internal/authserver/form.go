package authserver

import (
	"bytes"
	"errors"
	"mime"
	"net/url"
	"strings"
)

// introspectForm is what an introspection request's body says: the
// parameters of RFC 7662 §2.1 and of client_secret_post (RFC 6749 §2.3.1).
// Other parameters are ignored.
type introspectForm struct {
	token, hint, clientID, clientSecret       string
	hasToken, hasHint, hasClientID, hasSecret bool
}

// errFormRepeated and errFormEscape are the two ways a form body is
// malformed; the messages name the parameter, never its value.
var (
	errFormRepeated = errors.New("is repeated")
	errFormEscape   = errors.New("has a malformed %-escape")
)

// formError is a malformed form: which parameter, and how.
type formError struct {
	param string
	err   error
}

func (e *formError) Error() string { return "parameter " + e.param + " " + e.err.Error() }
func (e *formError) Unwrap() error { return e.err }

// parseIntrospectForm parses an application/x-www-form-urlencoded body by
// hand, rather than through http.Request.ParseForm: ParseForm builds a map
// of slices of every parameter, and merges in the URL's query, where
// RFC 6749 §2.3.1 forbids credentials. A parameter given twice is refused
// (RFC 6749 §3.2: "MUST NOT be included more than once").
func parseIntrospectForm(body []byte, f *introspectForm) error {
	for len(body) > 0 {
		var pair []byte
		if i := bytes.IndexByte(body, '&'); i >= 0 {
			pair, body = body[:i], body[i+1:]
		} else {
			pair, body = body, nil
		}
		if len(pair) == 0 {
			continue
		}
		k, v := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			k, v = pair[:i], pair[i+1:]
		}
		if bytes.ContainsAny(k, "%+") {
			name, ok := unescape(string(k))
			if !ok {
				return &formError{"name", errFormEscape}
			}
			k = []byte(name)
		}
		var key string
		var dst *string
		var seen *bool
		switch string(k) { // compared without a copy
		case "token":
			key, dst, seen = "token", &f.token, &f.hasToken
		case "token_type_hint":
			key, dst, seen = "token_type_hint", &f.hint, &f.hasHint
		case "client_id":
			key, dst, seen = "client_id", &f.clientID, &f.hasClientID
		case "client_secret":
			key, dst, seen = "client_secret", &f.clientSecret, &f.hasSecret
		default:
			continue
		}
		if *seen {
			return &formError{key, errFormRepeated}
		}
		val, ok := unescape(string(v))
		if !ok {
			return &formError{key, errFormEscape}
		}
		*dst, *seen = val, true
	}
	return nil
}

// unescape decodes one form-encoded name or value ('+' is a space
// and %XX a byte), and returns it as it is when there is nothing to decode.
func unescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}

// formContentType reports whether a Content-Type is a form's,
// application/x-www-form-urlencoded, with or without parameters.
func formContentType(ct string) bool {
	const form = "application/x-www-form-urlencoded"
	if ct == form {
		return true // the usual header, decided without parsing
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == form // ParseMediaType lowercases
}

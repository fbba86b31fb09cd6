package resourceserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// The error codes of a refusal: RFC 6750 §3.1's and RFC 9449 §7.1's.
const (
	ErrorInvalidRequest    = "invalid_request"
	ErrorInvalidToken      = "invalid_token"
	ErrorInsufficientScope = "insufficient_scope"
	ErrorInvalidDPoPProof  = "invalid_dpop_proof"
	// ErrorUnavailable is the code of a 503: the DB cannot vouch for the
	// token now.
	ErrorUnavailable = "temporarily_unavailable"
	// ErrorServer is the code of a 500.
	ErrorServer = "server_error"
)

// Error is a refused request, and how to answer it: Verifier.Authenticate
// returns one, and Verifier.WriteError writes it.
type Error struct {
	// Status is the HTTP status: 400, 401, 403, 500 or 503.
	Status int
	// Code is the error code (ErrorInvalidToken, …); empty for a request
	// that carries no credentials at all, which RFC 6750 §3.1 answers with
	// a bare challenge.
	Code string
	// Description says what was wrong, for a developer. It never holds a
	// token, a proof or any other value the request sent.
	Description string
	// Scope is, for insufficient_scope, the scopes the resource needs,
	// space-separated.
	Scope string
	// DPoP says to challenge with the DPoP scheme (RFC 9449 §7.1) rather
	// than Bearer: the request used it, or its token is bound to a key.
	DPoP bool
	// Err is the cause, for errors.Is: an *oauthdb.TokenError (why the
	// token is inactive), oauthdb.ErrStale, or the store's failure.
	Err error
}

// Error formats the refusal as "status code: description".
func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = "no credentials"
	}
	return strconv.Itoa(e.Status) + " " + code + ": " + e.Description
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func invalidRequest(desc string, dpop bool) *Error {
	return &Error{Status: http.StatusBadRequest, Code: ErrorInvalidRequest, Description: desc, DPoP: dpop}
}

func invalidToken(desc string, dpop bool, cause error) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: ErrorInvalidToken, Description: desc, DPoP: dpop, Err: cause}
}

func invalidProof(desc string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: ErrorInvalidDPoPProof, Description: desc, DPoP: true}
}

func unavailable(desc string, cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: ErrorUnavailable, Description: desc, Err: cause}
}

// WriteError answers a refused request: err's status, its challenge in
// WWW-Authenticate (RFC 6750 §3, RFC 9449 §7.1), Retry-After on a 503, and
// a JSON body with the error and its description. An err that is not an
// *Error is answered 500 and logged.
func (v *Verifier) WriteError(w http.ResponseWriter, err error) {
	e, ok := errors.AsType[*Error](err)
	if !ok {
		v.log.Error("resourceserver: the request failed", "err", err)
		e = &Error{Status: http.StatusInternalServerError, Code: ErrorServer, Description: "the access token could not be checked"}
	}
	h := w.Header()
	switch {
	case e.Status == http.StatusServiceUnavailable:
		h.Set("Retry-After", v.retryAfter)
	case e.Status >= 500:
	case e.Code == "" && !e.DPoP:
		// No credentials: either scheme will do (RFC 9449 §7.2).
		h.Add("WWW-Authenticate", v.challenge("Bearer", e))
		h.Add("WWW-Authenticate", v.challenge("DPoP", e))
	case e.DPoP:
		h.Add("WWW-Authenticate", v.challenge("DPoP", e))
	default:
		h.Add("WWW-Authenticate", v.challenge("Bearer", e))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	body := struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{e.Code, e.Description}
	if body.Error == "" {
		// The challenge of a request without credentials has no error
		// code (RFC 6750 §3.1); its body says what is wrong, as
		// better-auth's does.
		body.Error = ErrorInvalidRequest
	}
	_ = json.NewEncoder(w).Encode(body)
}

// challenge is a WWW-Authenticate challenge of scheme for e: the realm,
// the error and its description and scope, and for DPoP the accepted
// algorithms.
func (v *Verifier) challenge(scheme string, e *Error) string {
	var b strings.Builder
	b.WriteString(scheme)
	sep := " "
	param := func(name, value string) {
		b.WriteString(sep + name + `="` + quotable(value) + `"`)
		sep = ", "
	}
	if v.cfg.Realm != "" {
		param("realm", v.cfg.Realm)
	}
	if e.Code != "" {
		param("error", e.Code)
		param("error_description", e.Description)
	}
	if e.Scope != "" {
		param("scope", e.Scope)
	}
	if scheme == "DPoP" {
		param("algs", v.algs)
	}
	return b.String()
}

// quotable keeps of s what RFC 6750 §3 allows in a quoted value of a
// challenge: printable ASCII but '"' and '\'.
func quotable(s string) string {
	ok := true
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := range len(s) {
		if c := s[i]; c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

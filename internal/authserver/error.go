package authserver

import (
	"net/http"
)

// Error is an error answer of RFC 6749 §5.2: a status, an error code and a
// description. A description names what was wrong, never a value a client
// sent: no token, secret or client ID.
type Error struct {
	Status      int
	Code        string
	Description string
	// Cause is the failure of the store behind a 500, for the log; like
	// every error of the root package, it names no token or secret.
	Cause error
}

// Error formats the error as "code: description".
func (e *Error) Error() string { return e.Code + ": " + e.Description }

func invalidRequest(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}

func invalidClient(desc string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_client", Description: desc}
}

func serverError(desc string, cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "server_error", Description: desc, Cause: cause}
}

// errUnavailable answers a request the DB cannot vouch for now: the data
// is not loaded, or a replica is stale (oauthdb.ErrStale). The caller
// should retry; it must not take the token for inactive, nor the client
// for unknown.
var errUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
	Description: "the token data is not loaded, or is not fresh"}

// Header values shared by every answer rather than built for each:
// net/http only reads them.
var (
	hdrJSON       = []string{"application/json"}
	hdrNoStore    = []string{"no-store"}
	hdrNoCache    = []string{"no-cache"}
	hdrAllowPost  = []string{http.MethodPost}
	hdrRetryAfter = []string{"1"}
)

// BasicChallenge is the WWW-Authenticate value of a 401 invalid_client
// (RFC 6749 §5.2, RFC 7617 §2) in realm.
func BasicChallenge(realm string) string {
	return `Basic realm="` + realm + `", charset="UTF-8"`
}

// writeError writes e as JSON, with the headers its status needs: a 401
// names the Basic scheme (challenge holds the value), a 503 says when to
// retry. It returns e's status.
func writeError(w http.ResponseWriter, e *Error, challenge []string) int {
	h := w.Header()
	switch e.Status {
	case http.StatusUnauthorized:
		h["Www-Authenticate"] = challenge
	case http.StatusServiceUnavailable:
		h["Retry-After"] = hdrRetryAfter
	}
	var buf [256]byte
	h["Content-Type"] = hdrJSON
	w.WriteHeader(e.Status)
	_, _ = w.Write(appendError(buf[:0], e.Code, e.Description))
	return e.Status
}

// appendError appends an OAuth error answer (RFC 6749 §5.2).
func appendError(b []byte, code, description string) []byte {
	b = append(b, `{"error":`...)
	b = appendString(b, code)
	b = append(b, `,"error_description":`...)
	b = appendString(b, description)
	return append(b, '}')
}

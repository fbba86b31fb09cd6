package oauthdbtest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// handleUserInfo serves the UserInfo endpoint (OpenID Connect Core §5.3)
// to a bearer access token in the Authorization header (RFC 6750 §2.1),
// with GET or POST. The token is validated by the DB
// (oauthdb.DB.ValidateAccessToken), so a revoked or expired token, or one
// whose session has ended, is refused as a resource server would refuse it.
// The answer is the user's claims that the token's scopes release, with
// the claims hooks' changes.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "the endpoint takes GET or POST"})
		return
	}
	token, ok := bearerToken(r)
	if !ok {
		// RFC 6750 §3.1: a request with no credentials gets the challenge
		// alone, without an error code.
		writeBearerError(w, &oauthError{http.StatusUnauthorized, "", "no bearer access token in the Authorization header"}, "")
		return
	}
	info, err := s.db.ValidateAccessToken(token)
	if err != nil {
		writeBearerError(w, &oauthError{http.StatusUnauthorized, "invalid_token", "the access token is not active: " + reason(err)}, "")
		return
	}
	if info.User.ID == "" {
		writeBearerError(w, &oauthError{http.StatusUnauthorized, "invalid_token", "the access token acts for no user"}, "")
		return
	}
	scopes := info.Token.Scopes
	if !slices.Contains(scopes, "openid") {
		writeBearerError(w, &oauthError{http.StatusForbidden, "insufficient_scope", "the access token was not granted openid"}, "openid")
		return
	}
	claims := s.applyClaims(userClaims(info.User, scopes), ClaimsRequest{
		For: ForUserInfo, User: info.User, Client: info.Client, Scopes: slices.Clone(scopes)})
	writeJSON(w, http.StatusOK, claims)
}

// bearerToken reads the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive (RFC 9110 §11.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// writeBearerError answers as a resource server does (RFC 6750 §3): the
// challenge, with the error and its description, in WWW-Authenticate, and
// the error in a JSON body too. scope, if given, is the scope the request
// needed.
func writeBearerError(w http.ResponseWriter, e *oauthError, scope string) {
	challenge := `Bearer realm="oauthdbtest"`
	if e.code != "" {
		challenge += `, error=` + strconv.Quote(e.code) + `, error_description=` + quoteChallenge(e.description)
	}
	if scope != "" {
		challenge += `, scope=` + strconv.Quote(scope)
	}
	w.Header().Set("WWW-Authenticate", challenge)
	body := map[string]string{"error_description": e.description}
	if e.code != "" {
		body["error"] = e.code
	} else {
		body["error"] = "invalid_request"
	}
	writeJSON(w, e.status, body)
}

// quoteChallenge quotes an error_description for WWW-Authenticate, whose
// values RFC 6750 §3 limits to printable ASCII without '"' and '\'.
func quoteChallenge(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		if c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

package oauthdbtest

import (
	"net/http"
	"slices"
	"strings"

	"github.com/oauthdb/oauthdb/resourceserver"
)

// handleUserInfo serves the UserInfo endpoint (OpenID Connect Core §5.3),
// with GET or POST, behind the resource server a Go service would use
// (package resourceserver): a bearer access token in the Authorization
// header (RFC 6750 §2.1), or a DPoP-bound one with its proof, validated by
// the DB, so that a revoked or expired token, or one whose session has
// ended, is refused as a resource server would refuse it; a token without
// openid is 403 insufficient_scope. The answer is the user's claims that
// the token's scopes release, with the claims hooks' changes.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeError(w, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "the endpoint takes GET or POST"})
		return
	}
	s.userInfo.ServeHTTP(w, r)
}

// userInfoClaims answers a request the resource server let through.
func (s *Server) userInfoClaims(w http.ResponseWriter, r *http.Request) {
	tok, _ := resourceserver.FromContext(r.Context())
	if tok.User.ID == "" {
		s.rs.WriteError(w, &resourceserver.Error{Status: http.StatusUnauthorized, Code: resourceserver.ErrorInvalidToken,
			Description: "the access token acts for no user", DPoP: tok.Scheme == "DPoP"})
		return
	}
	scopes := tok.Token.Scopes
	claims := s.applyClaims(userClaims(tok.User, scopes), ClaimsRequest{
		For: ForUserInfo, User: tok.User, Client: tok.Client, Scopes: slices.Clone(scopes)})
	writeJSON(w, http.StatusOK, claims)
}

// bearerToken reads the token of an "Authorization: Bearer" header, for
// the record of a request; the scheme is case-insensitive (RFC 9110
// §11.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

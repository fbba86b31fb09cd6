package oauthdbtest

import (
	"errors"
	"net/http"

	"github.com/oauthdb/oauthdb"
)

// handleRevoke serves RFC 7009 revocation (DB.RevokeToken). The client
// revokes only its own tokens; an unknown token, or another client's, is
// answered 200 and left alone, as RFC 7009 §2.2 says.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) *oauthError {
	form, e := parseForm(w, r)
	if e != nil {
		return e
	}
	c, e := s.authenticate(r, form)
	if e != nil {
		return e
	}
	token := form.Get("token")
	if token == "" {
		return errInvalidRequest("token is required")
	}
	// The DB applies better-auth's rules: the caller's own tokens only, and
	// its refresh token presented again once revoked takes the whole family
	// with it. That, an unknown token and a malformed one are answered 200,
	// as RFC 7009 §2.2 says (better-auth answers 400 to the first).
	_, err := s.db.RevokeToken(token, c.Record.ClientID, form.Get("token_type_hint"))
	if err != nil && !errors.Is(err, oauthdb.ErrTokenRevoked) && !errors.Is(err, oauthdb.ErrTokenMalformed) {
		return s.serverError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

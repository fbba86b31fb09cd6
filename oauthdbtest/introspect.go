package oauthdbtest

import (
	"net/http"
)

// handleIntrospect serves RFC 7662 introspection as oauthdb serve does,
// through the same endpoint (authserver.Introspection): a confidential
// client of the tokens issued to it, better-auth 1.7's fields (aud, azp,
// cnf, token_type DPoP for a DPoP-bound token), 500 for a token of a
// pairwise client, 503 while the DB is a replica that cannot vouch for its
// rows.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	s.introspection.ServeHTTP(w, r)
}

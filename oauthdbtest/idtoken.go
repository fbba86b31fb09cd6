package oauthdbtest

import (
	"slices"
	"time"

	"github.com/oauthdb/oauthdb"
)

// MaxNonceLength is the longest nonce an authorization request may carry.
// The nonce is echoed in the id_token, so an unbounded one would make the
// server sign whatever a caller sends; a longer one is refused with
// invalid_request.
const MaxNonceLength = 512

// idTokenGrant is what the id_token of a grant says.
type idTokenGrant struct {
	user        oauthdb.User
	client      oauthdb.OAuthClient
	scopes      []string
	nonce       string    // the authorization request's; none on a refresh
	sessionID   string    // sid; none if the grant has no session (any more)
	authTime    time.Time // when the user signed in; zero if unknown
	accessToken string    // the access token issued with it, for at_hash
}

// wantsIDToken reports whether a grant of scopes comes with an id_token:
// openid was granted (OpenID Connect Core §3.1.2.1, §12.1).
func wantsIDToken(scopes []string) bool { return slices.Contains(scopes, "openid") }

// idToken signs the id_token of a grant (OpenID Connect Core §2) with the
// key that signs now: iss, sub, aud (the client), iat and exp on the DB's
// clock, auth_time, nonce, sid, at_hash, and the user's claims that the
// scopes release (userClaims), then whatever the claims hooks change.
func (s *Server) idToken(g idTokenGrant) (string, error) {
	k := s.currentKey()
	now := s.db.Now()
	c := userClaims(g.user, g.scopes)
	c["iss"] = s.URL
	c["aud"] = g.client.ClientID
	c["iat"] = now.Unix()
	c["exp"] = now.Add(s.cfg.idTokenLifetime).Unix()
	c["at_hash"] = k.tokenHash(g.accessToken)
	if !g.authTime.IsZero() {
		c["auth_time"] = g.authTime.Unix()
	}
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}
	if g.sessionID != "" {
		c["sid"] = g.sessionID
	}
	c = s.applyClaims(c, ClaimsRequest{For: ForIDToken, User: g.user, Client: g.client, Scopes: slices.Clone(g.scopes)})
	return k.sign(c)
}

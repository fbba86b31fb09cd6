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
	exp := now.Add(s.cfg.idTokenLifetime)
	c["iat"] = now.Unix()
	c["exp"] = exp.Unix()
	s.clockHint(exp)
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

// clockHint says in the test's log, once per server, that an id_token it
// signs has expired by the wall clock already: a relying party that reads
// the wall clock refuses it, and its error says nothing of the fake clock.
func (s *Server) clockHint(exp time.Time) {
	wall := time.Now()
	if !exp.Before(wall) {
		return
	}
	s.mu.Lock()
	warned := s.warned
	s.warned = true
	s.mu.Unlock()
	if warned {
		return
	}
	s.t.Logf("oauthdbtest: this id_token expires at %s by the DB's clock, %s before the wall clock: "+
		"a relying party that checks exp against the wall clock refuses it as expired. Give the relying party the DB's clock "+
		"(go-oidc: oidc.Config{Now: fx.Clock.Now}; zitadel/oidc: rp.WithVerifierOpts(rp.WithIssuedAtOffset(fx.Clock.Now().Sub(time.Now()))); "+
		"openid-client: client.discovery(issuer, id, {client_secret, [client.clockSkew]: %d})), or start the DB's clock at the wall clock: "+
		"oauthdbtest.New(t, oauthdbtest.WithStart(time.Now()))",
		exp.UTC().Format(time.RFC3339), wall.Sub(exp).Round(time.Hour), int64(s.db.Now().Sub(wall).Seconds()))
}

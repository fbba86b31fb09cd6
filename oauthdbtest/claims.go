package oauthdbtest

import (
	"maps"
	"slices"
	"strings"

	"github.com/oauthdb/oauthdb"
)

// What a ClaimsRequest asks claims for.
const (
	ForIDToken  = "id_token"
	ForUserInfo = "userinfo"
)

// ClaimsRequest is what a ClaimsFunc is asked: the claims of an id_token or
// of a userinfo response, for a user and the client the token was issued
// to.
type ClaimsRequest struct {
	// For is ForIDToken or ForUserInfo.
	For string
	// User is the user's row, as the DB holds it when the claims are made.
	User oauthdb.User
	// Client is the client's row.
	Client oauthdb.OAuthClient
	// Scopes are the scopes of the grant.
	Scopes []string
	// Claims are the claims made so far, by the server and the hooks
	// before this one. Read them; return changes instead of writing them.
	Claims map[string]any
}

// A ClaimsFunc adds claims to an id_token or a userinfo response, or
// overrides them: every claim of the map it returns replaces the claim of
// that name, and a nil value removes it. It may override any claim —
// iss, aud, exp, nonce and at_hash included — which is how a test makes
// the server send a token its client must refuse. It is called on the
// server's goroutines, never inside a DB transaction, and must be safe for
// concurrent use.
type ClaimsFunc func(ClaimsRequest) map[string]any

// UserClaims is a ClaimsFunc that sets claims in every id_token and
// userinfo response of the user with the ID userID.
func UserClaims(userID string, claims map[string]any) ClaimsFunc {
	return claimsIf(func(r ClaimsRequest) bool { return r.User.ID == userID }, claims)
}

// ClientClaims is a ClaimsFunc that sets claims in every id_token and
// userinfo response of tokens issued to the client with the public client
// identifier clientID.
func ClientClaims(clientID string, claims map[string]any) ClaimsFunc {
	return claimsIf(func(r ClaimsRequest) bool { return r.Client.ClientID == clientID }, claims)
}

// claimsIf is a ClaimsFunc that sets claims, copied, for the requests of
// applies.
func claimsIf(applies func(ClaimsRequest) bool, claims map[string]any) ClaimsFunc {
	claims = maps.Clone(claims)
	return func(r ClaimsRequest) map[string]any {
		if !applies(r) {
			return nil
		}
		return claims
	}
}

// userClaims are the standard claims of a user (OpenID Connect Core §5.1,
// §5.4) that the granted scopes release, as better-auth makes them: sub
// always; name, given_name, family_name and picture for profile (the name
// split at its last space, as better-auth splits it); email and
// email_verified for email. A claim the user has no value for is left out.
func userClaims(u oauthdb.User, scopes []string) map[string]any {
	c := map[string]any{"sub": u.ID}
	if slices.Contains(scopes, "profile") {
		if u.Name != "" {
			c["name"] = u.Name
		}
		if words := strings.Fields(u.Name); len(words) > 1 {
			c["given_name"] = strings.Join(words[:len(words)-1], " ")
			c["family_name"] = words[len(words)-1]
		}
		if u.Image != "" {
			c["picture"] = u.Image
		}
	}
	if slices.Contains(scopes, "email") {
		if u.Email != "" {
			c["email"] = u.Email
		}
		c["email_verified"] = u.EmailVerified
	}
	return c
}

// applyClaims runs the claims hooks over claims, in order.
func (s *Server) applyClaims(claims map[string]any, req ClaimsRequest) map[string]any {
	for _, fn := range s.cfg.claims {
		req.Claims = maps.Clone(claims)
		for k, v := range fn(req) {
			if v == nil {
				delete(claims, k)
			} else {
				claims[k] = v
			}
		}
	}
	return claims
}

// claimsSupported is the metadata's claims_supported: every claim the
// server makes itself.
var claimsSupported = []string{
	"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
	"name", "given_name", "family_name", "picture", "email", "email_verified",
}

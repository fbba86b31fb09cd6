package oauthdbtest

import (
	"slices"

	"github.com/oauthdb/oauthdb"
)

// Fixture options for what OpenID Connect reads: a user's profile and a
// client's logout registration.

// EmailVerified marks a user's email address verified: the email_verified
// claim.
func EmailVerified() FixtureOption {
	return on("EmailVerified", func(rec *oauthdb.User, _ *building) {
		rec.EmailVerified = true
	})
}

// Image sets a user's image: the picture claim.
func Image(url string) FixtureOption {
	return on("Image", func(rec *oauthdb.User, _ *building) {
		rec.Image = url
	})
}

// EndSession lets a client end its users' sessions at PathEndSession
// (enableEndSession), and registers the URIs it may be sent back to after
// (postLogoutRedirectUris).
func EndSession(postLogoutRedirectURIs ...string) FixtureOption {
	return on("EndSession", func(rec *oauthdb.OAuthClient, _ *building) {
		rec.EnableEndSession = true
		rec.PostLogoutRedirectURIs = slices.Clone(postLogoutRedirectURIs)
	})
}

package oauthdbtest

import "slices"

// Fixture options for what OpenID Connect reads: a user's profile and a
// client's logout registration.

// EmailVerified marks a user's email address verified: the email_verified
// claim.
func EmailVerified() FixtureOption {
	return option("EmailVerified", func(b *building) bool {
		if b.user == nil {
			return false
		}
		b.user.EmailVerified = true
		return true
	})
}

// Image sets a user's image: the picture claim.
func Image(url string) FixtureOption {
	return option("Image", func(b *building) bool {
		if b.user == nil {
			return false
		}
		b.user.Image = url
		return true
	})
}

// EndSession lets a client end its users' sessions at PathEndSession
// (enableEndSession), and registers the URIs it may be sent back to after
// (postLogoutRedirectUris).
func EndSession(postLogoutRedirectURIs ...string) FixtureOption {
	return option("EndSession", func(b *building) bool {
		if b.client == nil {
			return false
		}
		b.client.EnableEndSession = true
		b.client.PostLogoutRedirectURIs = slices.Clone(postLogoutRedirectURIs)
		return true
	})
}

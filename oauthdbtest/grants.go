package oauthdbtest

// The grant types of RFC 6749 that the fixture clients are registered for
// and the fake server serves.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

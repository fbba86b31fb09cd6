package oauthdbtest

import "time"

// IDTokenLifetime is how long an id_token is valid by default:
// better-auth's default, 36000 seconds.
const IDTokenLifetime = 36000 * time.Second

// A ServerOption configures NewServer.
type ServerOption func(*serverConfig)

// serverConfig is what the ServerOptions of NewServer set.
type serverConfig struct {
	alg             string        // RS256 or EdDSA
	idTokenLifetime time.Duration // exp - iat of an id_token
	claims          []ClaimsFunc  // applied in order, after the standard claims
	badOption       string        // why an option was refused; NewServer fails the test with it
}

// defaultServerConfig signs with RS256, which every relying party accepts
// on its defaults, and makes better-auth's ten-hour id_tokens.
func defaultServerConfig() serverConfig {
	return serverConfig{alg: RS256, idTokenLifetime: IDTokenLifetime}
}

// WithSigningAlgorithm sets the algorithm of the server's signing keys:
// RS256 (RSA 2048, the default) or EdDSA (Ed25519), as better-auth's jwt
// plugin signs by default. RS256 is the default because it is the one
// algorithm OpenID Connect Core §15.1 requires a provider to support, and
// the one relying parties accept when nothing else is configured
// (zitadel/oidc's verifier takes RS256, ES256 and PS256 unless told;
// openid-client and go-oidc take what the discovery document lists): with
// EdDSA, a relying party must be told to accept it. Any other value fails
// the test.
func WithSigningAlgorithm(alg string) ServerOption {
	return func(c *serverConfig) {
		switch alg {
		case EdDSA, RS256:
			c.alg = alg
		default:
			c.badOption = "WithSigningAlgorithm: unsupported algorithm " + alg + " (EdDSA or RS256)"
		}
	}
}

// WithIDTokenLifetime sets how long an id_token is valid (exp - iat); the
// default is IDTokenLifetime. A lifetime that is not positive fails the
// test.
func WithIDTokenLifetime(d time.Duration) ServerOption {
	return func(c *serverConfig) {
		if d <= 0 {
			c.badOption = "WithIDTokenLifetime: the lifetime must be positive"
			return
		}
		c.idTokenLifetime = d
	}
}

// WithClaims adds fn to the claims hooks: after the server has made the
// claims of an id_token or a userinfo response, each hook, in the order
// given, may add claims or override them (see ClaimsFunc). UserClaims and
// ClientClaims make hooks for one user or one client.
func WithClaims(fn ClaimsFunc) ServerOption {
	return func(c *serverConfig) {
		if fn == nil {
			c.badOption = "WithClaims: nil ClaimsFunc"
			return
		}
		c.claims = append(c.claims, fn)
	}
}

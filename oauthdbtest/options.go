package oauthdbtest

import "time"

// IDTokenLifetime is how long an id_token is valid by default:
// better-auth's default, 36000 seconds.
const IDTokenLifetime = 36000 * time.Second

// A ServerOption configures NewServer.
type ServerOption func(*serverConfig)

// serverConfig is what the ServerOptions of NewServer set.
type serverConfig struct {
	alg             string        // EdDSA or RS256
	idTokenLifetime time.Duration // exp - iat of an id_token
	claims          []ClaimsFunc  // applied in order, after the standard claims
	badOption       string        // why an option was refused; NewServer fails the test with it
}

// defaultServerConfig is better-auth's: EdDSA keys (its jwt plugin's
// default) and ten-hour id_tokens.
func defaultServerConfig() serverConfig {
	return serverConfig{alg: EdDSA, idTokenLifetime: IDTokenLifetime}
}

// WithSigningAlgorithm sets the algorithm of the server's signing keys:
// EdDSA (Ed25519, the default, as better-auth's jwt plugin signs) or RS256
// (RSA 2048), the one algorithm every OpenID relying party must accept.
// Any other value fails the test.
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

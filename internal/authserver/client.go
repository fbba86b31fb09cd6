package authserver

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/oauthdb/oauthdb"
)

// The ways a client authenticates (RFC 7591 §2, token_endpoint_auth_method).
const (
	MethodBasic = "client_secret_basic"
	MethodPost  = "client_secret_post"
	MethodNone  = "none" // a public client: its client_id alone
)

// Credentials are what a request's body says of its client: client_id and,
// for client_secret_post, client_secret (RFC 6749 §2.3.1). An empty value
// is no value, as better-auth reads them.
type Credentials struct {
	ClientID, ClientSecret string
}

// Client is a client that authenticated, and how.
type Client struct {
	Record oauthdb.OAuthClient
	// Method is MethodBasic, MethodPost, or MethodNone for a public client
	// that presented no secret.
	Method string
}

// AuthResult is how a client authentication ended: oauthdb serve counts
// each (oauthdb_client_authentications_total{result}).
type AuthResult uint8

// The results of AuthenticateClient.
const (
	AuthOK          AuthResult = iota // the client authenticated
	AuthMissing                       // no credentials at all
	AuthMalformed                     // an Authorization header that is not Basic credentials, or two methods at once
	AuthUnknown                       // no such client
	AuthBadSecret                     // a wrong or missing secret, or a public client's secret
	AuthDisabled                      // the client is disabled
	AuthPublic                        // a public client where only a confidential one may call
	AuthWrongMethod                   // a method other than the one the client registered
	AuthStale                         // a replica that cannot vouch for its rows (oauthdb.ErrStale)
	AuthFailed                        // the store failed
)

// AuthenticateClient authenticates the client of a request to the token,
// introspection or revocation endpoint (RFC 6749 §2.3.1) by the request's
// Authorization header h and the credentials of its body:
// client_secret_basic, client_secret_post, or a public client's client_id
// alone — which confidential refuses, as the introspection endpoint must.
// The secret is checked by oauthdb.DB.AuthenticateClient.
//
// A client must use the method it registered (tokenEndpointAuthMethod:
// client_secret_basic when it registered none, none for a public client of
// better-auth 1.4–1.6), as better-auth 1.7.29's validateClientCredentials
// demands: a client registered for client_secret_basic that sends its secret
// in the body is refused, and one registered for private_key_jwt can never
// authenticate here.
//
// A refused request gets an *Error: 400 invalid_request for a malformed one
// (two Authorization headers, as a repeated body parameter is; Basic and
// client_secret at once; a client_id that is not the Basic one), 401
// invalid_client for credentials that do not authenticate, 503 when the DB
// is a replica that cannot vouch for its rows, 500 when the store fails.
func AuthenticateClient(db *oauthdb.DB, h http.Header, body Credentials, confidential bool) (Client, AuthResult, *Error) {
	id, secret, method := body.ClientID, body.ClientSecret, MethodPost
	switch auth := h["Authorization"]; {
	case len(auth) > 1:
		return Client{}, AuthMalformed, invalidRequest("the Authorization header is repeated")
	case len(auth) == 1:
		user, pass, e := parseBasic(auth[0])
		if e != nil {
			return Client{}, AuthMalformed, e
		}
		if secret != "" {
			return Client{}, AuthMalformed, invalidRequest("the client used two authentication methods: Basic and client_secret")
		}
		if id != "" && id != user {
			return Client{}, AuthMalformed, invalidRequest("client_id differs from the Basic credentials")
		}
		id, secret, method = user, pass, MethodBasic
	}
	if id == "" {
		return Client{}, AuthMissing, invalidClient("missing client credentials")
	}
	if secret == "" {
		method = MethodNone
	}
	c, err := db.AuthenticateClient(id, secret)
	switch {
	case err == nil && confidential && method == MethodNone:
		return Client{}, AuthPublic, invalidClient("a public client cannot introspect tokens")
	case err == nil && registeredMethod(&c) != method:
		return Client{}, AuthWrongMethod, invalidClient("the client is registered for " + registeredMethod(&c) + " and cannot use " + method)
	case err == nil:
		return Client{Record: c, Method: method}, AuthOK, nil
	case errors.Is(err, oauthdb.ErrStale):
		return Client{}, AuthStale, errUnavailable
	case errors.Is(err, oauthdb.ErrNotFound), errors.Is(err, oauthdb.ErrInvalid):
		// ErrInvalid: a client_id the store cannot hold as a key (a NUL in
		// it), which names no client.
		return Client{}, AuthUnknown, invalidClient("unknown client")
	case errors.Is(err, oauthdb.ErrClientDisabled):
		return Client{}, AuthDisabled, invalidClient("the client is disabled")
	case errors.Is(err, oauthdb.ErrBadSecret):
		desc := "the client did not authenticate"
		if e, ok := errors.AsType[*oauthdb.Error](err); ok {
			desc = e.Reason // why, never the secret
		}
		return Client{}, AuthBadSecret, invalidClient(desc)
	}
	return Client{}, AuthFailed, serverError("client authentication failed", err)
}

// registeredMethod is how a client must authenticate: the method it
// registered, or, when it registered none, none for a public client (as
// better-auth 1.4–1.6 marked one) and client_secret_basic for any other,
// better-auth's default.
func registeredMethod(c *oauthdb.OAuthClient) string {
	switch {
	case c.TokenEndpointAuthMethod != "":
		return c.TokenEndpointAuthMethod
	case c.Public:
		return MethodNone
	}
	return MethodBasic
}

// parseBasic reads client_secret_basic credentials: the Basic scheme (any
// case, then spaces), base64 of the client ID and secret, each
// form-encoded before they were joined by a colon (RFC 6749 §2.3.1).
func parseBasic(v string) (id, secret string, e *Error) {
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Basic") {
		if !isToken(scheme) {
			return "", "", invalidRequest("the Authorization header is malformed")
		}
		return "", "", invalidClient("unsupported authentication scheme: use Basic")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimLeft(rest, " "))
	if err != nil {
		return "", "", invalidClient("the Basic credentials are not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", invalidClient("the Basic credentials have no colon")
	}
	var ok1, ok2 bool
	id, ok1 = unescape(user)
	secret, ok2 = unescape(pass)
	if !ok1 || !ok2 {
		return "", "", invalidClient("the Basic credentials have a malformed %-escape")
	}
	return id, secret, nil
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), as an
// authentication scheme must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

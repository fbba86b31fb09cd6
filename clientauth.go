package oauthdb

// AuthenticateClient authenticates a client at the token, introspection or
// revocation endpoint (RFC 6749 §2.3) by its public clientId and the secret
// it presented, and returns its record:
//
//   - a confidential client must present the secret whose hash is stored
//     (compared in constant time); a wrong or missing one is ErrBadSecret;
//   - a public client (public set, or tokenEndpointAuthMethod "none") cannot
//     keep a secret and must present none; one that does is ErrBadSecret;
//   - a client that is neither public nor has a stored secret cannot
//     authenticate at all: ErrBadSecret;
//   - a disabled client is ErrClientDisabled, an unknown one ErrNotFound, an
//     empty clientId ErrInvalid.
//
// Errors are *Error values that name the client, never the secret. Client
// secrets are hashed with HashSecret — better-auth's default, whatever
// WithHasher says of tokens — since better-auth configures the two apart.
func (db *DB) AuthenticateClient(clientID, secret string) (OAuthClient, error) {
	if clientID == "" {
		return OAuthClient{}, errNoCaller("client authentication")
	}
	if db.stale(db.now()) {
		return OAuthClient{}, &Error{Table: TableOAuthClient, Reason: "cannot authenticate clients now", Err: ErrStale}
	}
	var out OAuthClient
	err := db.View(func(tx *Tx) error {
		c, err := tx.activeClient(clientID)
		if err != nil {
			return err
		}
		if reason := checkSecret(c, secret); reason != "" {
			return &Error{Table: TableOAuthClient, Field: "clientSecret", Reason: reason, Err: ErrBadSecret}
		}
		out = *c
		return nil
	})
	return out, err
}

// checkSecret says why secret does not authenticate c, or "" if it does.
func checkSecret(c *OAuthClient, secret string) string {
	switch {
	case c.Public || c.TokenEndpointAuthMethod == "none":
		if secret != "" {
			return "a public client has no secret to present"
		}
		return ""
	case c.ClientSecret == "":
		return "the client has no secret to authenticate with"
	case secret == "":
		return "the client must present its secret"
	}
	if !VerifySecret(c.ClientSecret, secret) {
		return "wrong client secret"
	}
	return ""
}

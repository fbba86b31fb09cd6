package oauthdb

import (
	"bytes"
	"encoding/json"
)

// DPoPThumbprint returns the key a token's confirmation binds it to under
// DPoP (RFC 9449 §6.1): the base64url SHA-256 JWK thumbprint in cnf.jkt,
// as better-auth 1.7 stores it in the confirmation column of a token issued
// to a client with dpopBoundAccessTokens. It returns "" for a token bound to
// no DPoP key: no confirmation, one of another method (mTLS's x5t#S256,
// which binds at the TLS layer), or a jkt that is not a non-empty string —
// better-auth's reading of the same column.
//
// A DPoP-bound token is presented with the DPoP scheme and a proof signed
// by that key; its introspection answer says token_type DPoP.
func DPoPThumbprint(confirmation json.RawMessage) string {
	if len(confirmation) == 0 || !bytes.Contains(confirmation, []byte(`"jkt"`)) {
		return "" // the usual token, decided without decoding
	}
	// A map, not a struct: encoding/json matches struct fields without
	// regard to case, and the member is "jkt" exactly.
	var c map[string]any
	if json.Unmarshal(confirmation, &c) != nil {
		return ""
	}
	s, _ := c["jkt"].(string)
	return s
}

package oauthdb

import (
	"bytes"
	"encoding/json"

	"github.com/oauthdb/oauthdb/store"
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
	if len(confirmation) == 0 ||
		!bytes.Contains(confirmation, []byte(`"jkt"`)) && bytes.IndexByte(confirmation, '\\') < 0 {
		// The usual token, decided without decoding. A backslash may
		// escape a letter of the member's name ("\u006akt" is "jkt" to
		// JSON.parse and to encoding/json alike): decode it.
		return ""
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

// dpopConfirmation is the confirmation of a token bound to the key whose
// thumbprint is jkt, as better-auth writes it; nil for no key. jkt is
// base64url (validThumbprint), which JSON needs not escape.
func dpopConfirmation(jkt string) json.RawMessage {
	if jkt == "" {
		return nil
	}
	return json.RawMessage(`{"jkt":"` + jkt + `"}`)
}

// validThumbprint reports whether s can be a JWK SHA-256 thumbprint
// (RFC 7638) in base64url without padding: 43 characters of its alphabet,
// better-auth's check of dpop_jkt.
func validThumbprint(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// requiresDPoP reports whether a client's tokens must be bound to a DPoP
// key: its dpopBoundAccessTokens, or the same flag in its metadata, as
// better-auth 1.7.29's clientRequiresDpopBoundAccessTokens reads either.
func requiresDPoP(c *OAuthClient) bool {
	if c.DPoPBoundAccessTokens {
		return true
	}
	m := c.Metadata
	if len(m) == 0 || !bytes.Contains(m, []byte("dpop_bound_access_tokens")) && bytes.IndexByte(m, '\\') < 0 {
		return false
	}
	var meta map[string]json.RawMessage
	if json.Unmarshal(m, &meta) != nil {
		return false
	}
	return string(meta["dpop_bound_access_tokens"]) == "true"
}

// checkThumbprint refuses a DPoP thumbprint given to an operation on table
// that cannot be one; "" (no proof) passes.
func checkThumbprint(table, jkt string) error {
	if jkt == "" || validThumbprint(jkt) {
		return nil
	}
	return &Error{Table: table, Field: "confirmation", Value: store.Bound(jkt),
		Reason: "a DPoP key's thumbprint is 43 characters of base64url", Err: ErrInvalid}
}

// errClientRequiresDPoP is the refusal of tokens without a proof for a
// client whose tokens must be bound to a DPoP key.
func errClientRequiresDPoP(c *OAuthClient) error {
	return &Error{Table: TableOAuthClient, ID: c.ID, Field: "dpopBoundAccessTokens",
		Reason: "the client's tokens must be bound to a DPoP key, and the request has no proof", Err: ErrDPoPRequired}
}

// checkRefreshProof checks the DPoP proof of a refresh of t, a token of
// client c, whose key's thumbprint is jkt ("" without a proof), as
// better-auth 1.7.29's resolveDpopTokenBinding does: a proof is required
// for a token bound to a key, or a client that requires DPoP, and a bound
// token's proof must be of its key.
func checkRefreshProof(c *OAuthClient, t *OAuthRefreshToken, jkt string) error {
	bound := DPoPThumbprint(t.Confirmation)
	switch {
	case jkt == "" && bound != "":
		return &Error{Table: TableOAuthRefreshToken, ID: t.ID, Field: "confirmation",
			Reason: "the refresh token is bound to a DPoP key, and the request has no proof", Err: ErrDPoPRequired}
	case jkt == "" && requiresDPoP(c):
		return errClientRequiresDPoP(c)
	case bound != "" && jkt != bound:
		return &Error{Table: TableOAuthRefreshToken, ID: t.ID, Field: "confirmation", Value: jkt,
			Reason: "the DPoP proof's key is not the one the refresh token is bound to", Err: ErrDPoPKeyMismatch}
	}
	return nil
}

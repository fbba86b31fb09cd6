package refmodel

import (
	"encoding/json"
	"regexp"

	"github.com/oauthdb/oauthdb"
)

// The model's own reading of DPoP at issuance (better-auth 1.7.29's
// resolveDpopTokenBinding, clientRequiresDpopBoundAccessTokens and
// getConfirmationJkt), written apart from oauthdb's.

// thumbprintSyntax is better-auth's dpop_jkt schema: a SHA-256 JWK
// thumbprint in base64url.
var thumbprintSyntax = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// thumbprint reports whether jkt is empty (no proof) or can be a key's
// thumbprint.
func thumbprint(jkt string) bool { return jkt == "" || thumbprintSyntax.MatchString(jkt) }

// dpopClient reports whether a client's tokens must be bound to a DPoP
// key: its column, or the flag in its metadata, is true.
func dpopClient(c oauthdb.OAuthClient) bool {
	var meta map[string]any
	_ = json.Unmarshal(c.Metadata, &meta)
	return c.DPoPBoundAccessTokens || meta["dpop_bound_access_tokens"] == true
}

// boundKey is the key a confirmation binds a token to: a non-empty string
// jkt of an object, or "".
func boundKey(confirmation json.RawMessage) string {
	var cnf map[string]any
	_ = json.Unmarshal(confirmation, &cnf)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}

// confirmation is the confirmation of a token bound to the key jkt, nil
// for none.
func confirmation(jkt string) json.RawMessage {
	if jkt == "" {
		return nil
	}
	b, _ := json.Marshal(map[string]string{"jkt": jkt})
	return b
}

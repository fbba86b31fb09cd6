package resourceserver

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The limits of what a proof may hold, so that a hostile one costs little:
// a proof with the largest RSA key is under 2 KiB; a jti is a random ID
// (better-auth caps it at 512 characters).
const (
	maxProofLength = 8 << 10
	maxJTILength   = 512
)

// proofType is the typ of a DPoP proof's header (RFC 9449 §4.2).
const proofType = "dpop+jwt"

// proofClaims are the claims of a DPoP proof (RFC 9449 §4.2).
type proofClaims struct {
	JTI string          `json:"jti"`
	HTM string          `json:"htm"`
	HTU string          `json:"htu"`
	IAT json.RawMessage `json:"iat"`
	ATH string          `json:"ath"`
}

// CheckProof checks the DPoP proof of r, a request that presents no access
// token — a token request at an authorization server (RFC 9449 §5) — and
// returns the thumbprint of the key that signed it (RFC 7638, base64url),
// to bind the tokens it is granted to (oauthdb.IssueRequest.DPoPThumbprint,
// oauthdb.RefreshRequest.DPoPThumbprint). The checks are those of a proof
// that comes with an access token (RFC 9449 §4.3), but for ath and the
// token's key: one DPoP header, a compact JWS of typ dpop+jwt signed with
// one of Config.DPoPAlgorithms by the public jwk of its header, htm the
// request's method, htu its URL (as for Authenticate: Config.PublicURL, or
// the request's own; without query and fragment), iat within
// Config.DPoPMaxAge and Config.DPoPClockSkew of the DB's clock, and a jti
// the Verifier has not seen with that key, which it then remembers.
//
// Which key a proof must be of, and whether one is needed at all, is the
// authorization server's to decide: oauthdb.DB.Refresh and IssueTokens do.
// A refusal is an *Error: invalid_dpop_proof, among them a request without
// a DPoP header; or 503 when the replay cache has no room (see
// Config.DPoPReplayEntries). An authorization server answers
// invalid_dpop_proof with 400 (RFC 9449 §5.1), not the 401 a resource
// server gives.
func (v *Verifier) CheckProof(r *http.Request) (string, error) {
	jkt, e := v.checkProof(r, "", "")
	if e != nil {
		return "", e
	}
	return jkt, nil
}

// checkProof checks the DPoP proof of a request, as RFC 9449 §4.3 and §7.1
// list the checks, and returns the thumbprint of its key. A request that
// presents the access token token, bound to the key whose thumbprint is
// jkt, must carry a proof of that key whose ath is the token's hash; a
// request with neither (token and jkt empty: CheckProof) may carry any
// key's, and its ath is not looked at. The jti is remembered last, once
// everything else passed, so that a refused proof does not take a place in
// the replay cache.
func (v *Verifier) checkProof(r *http.Request, token, jkt string) (string, *Error) {
	proofs := r.Header["Dpop"]
	switch {
	case len(proofs) == 0 && jkt == "":
		return "", invalidProof("the request has no DPoP proof")
	case len(proofs) == 0:
		return "", invalidProof("the access token is bound to a DPoP key, and the request has no DPoP proof")
	case len(proofs) > 1:
		return "", invalidProof("the DPoP header is repeated")
	case len(proofs[0]) > maxProofLength:
		return "", invalidProof("the DPoP proof is too long")
	}
	jws, err := jose.ParseSignedCompact(proofs[0], v.joseAlgs)
	if err != nil {
		// go-jose also refuses here a jwk header that holds a private key.
		return "", invalidProof("the DPoP proof is not a compact JWS with a public jwk, signed with an accepted algorithm")
	}
	if len(jws.Signatures) != 1 {
		return "", invalidProof("the DPoP proof must have one signature")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != proofType {
		return "", invalidProof("the DPoP proof's typ is not dpop+jwt")
	}
	key := h.JSONWebKey
	if key == nil || !key.Valid() || !key.IsPublic() {
		return "", invalidProof("the DPoP proof's header has no public jwk")
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return "", invalidProof("the DPoP proof's signature does not verify with its jwk")
	}
	thumb, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", invalidProof("the DPoP proof's jwk has no thumbprint")
	}
	var enc [43]byte
	base64.RawURLEncoding.Encode(enc[:], thumb)
	if jkt != "" && subtle.ConstantTimeCompare(enc[:], []byte(jkt)) != 1 {
		return "", invalidProof("the DPoP proof is signed by another key than the one the access token is bound to")
	}
	var c proofClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", invalidProof("the DPoP proof's claims are not a JSON object of jti, htm, htu, iat and ath")
	}
	switch {
	case c.JTI == "" || c.HTM == "" || c.HTU == "" || len(c.IAT) == 0:
		return "", invalidProof("the DPoP proof lacks one of jti, htm, htu and iat")
	case token != "" && c.ATH == "":
		return "", invalidProof("the DPoP proof has no ath, the access token's hash")
	case len(c.JTI) > maxJTILength:
		return "", invalidProof("the DPoP proof's jti is too long")
	case c.HTM != r.Method:
		return "", invalidProof("the DPoP proof's htm is not the request's method")
	}
	htu, ok := normalizeHTU(c.HTU)
	if want, _ := normalizeHTU(v.requestURL(r)); !ok || htu != want {
		return "", invalidProof("the DPoP proof's htu is not the request's URL")
	}
	now := v.db.Now()
	iat, ok := numericDate(c.IAT)
	if !ok {
		return "", invalidProof("the DPoP proof's iat is not a number")
	}
	if iat.After(now.Add(v.cfg.DPoPClockSkew)) || iat.Before(now.Add(-v.cfg.DPoPMaxAge)) {
		return "", invalidProof("the DPoP proof's iat is outside the accepted window")
	}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		var ath [43]byte
		base64.RawURLEncoding.Encode(ath[:], sum[:])
		if subtle.ConstantTimeCompare(ath[:], []byte(c.ATH)) != 1 {
			return "", invalidProof("the DPoP proof's ath is not the hash of the access token")
		}
	}
	thumbprint := string(enc[:])
	switch v.replay.reserve(thumbprint, c.JTI, now) {
	case replaySeen:
		return "", invalidProof("the DPoP proof was used already")
	case replayKeyFull:
		// The key's own flood: its holder waits until its proofs expire;
		// every other key's are still taken.
		return "", unavailable("too many DPoP proofs of this key to remember now to refuse a replay", nil)
	case replayFull:
		return "", unavailable("too many DPoP proofs to remember now to refuse a replay", nil)
	}
	return thumbprint, nil
}

// numericDate reads a JWT NumericDate (RFC 7519 §2): seconds since the
// epoch, possibly with a fraction.
func numericDate(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || bytes.ContainsAny(raw[:1], `"{[tfn`) {
		return time.Time{}, false
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

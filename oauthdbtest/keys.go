package oauthdbtest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
)

// The signing algorithms of the server's keys (see WithSigningAlgorithm).
const (
	// EdDSA is Ed25519, as better-auth's jwt plugin signs by default.
	EdDSA = "EdDSA"
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit key.
	RS256 = "RS256"
)

// signingKey is one of the server's key pairs. Its private half never leaves
// the server; its public half is published at PathJWKS until RemoveKey.
type signingKey struct {
	id     string
	alg    string
	public jose.JSONWebKey
	signer jose.Signer
}

// newSigningKey makes a fresh key pair for alg. The keys come from
// crypto/rand, not the DB's seeded randomness: drawing from that would shift
// every ID the DB generates after NewServer, and a signature has no need to
// be the same on every run.
//
// An RSA key takes tens of milliseconds to make, so a server's first RS256
// key (first) is one made once for the test binary and shared by its
// servers; a rotation makes a new one. Sharing is harmless: each server
// signs with its own issuer, which a relying party checks.
func newSigningKey(alg string, first bool) (*signingKey, error) {
	var private, public any
	switch alg {
	case EdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		private, public = priv, pub
	case RS256:
		priv, err := newRSAKey(first)
		if err != nil {
			return nil, err
		}
		private, public = priv, &priv.PublicKey
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	pub := jose.JSONWebKey{Key: public, Algorithm: alg, Use: "sig"}
	// The key ID is the key's RFC 7638 thumbprint: it names the key and
	// nothing else, so it cannot collide with another key's.
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: private, KeyID: pub.KeyID, Algorithm: alg}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return &signingKey{id: pub.KeyID, alg: alg, public: pub, signer: signer}, nil
}

// sharedRSAKey is the first RS256 key of every server of a test binary.
var sharedRSAKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// newRSAKey makes an RSA key, or returns the shared one.
func newRSAKey(shared bool) (*rsa.PrivateKey, error) {
	if shared {
		return sharedRSAKey()
	}
	return rsa.GenerateKey(rand.Reader, 2048)
}

// sign signs claims as a compact JWS (a JWT) with the key's ID in its header.
func (k *signingKey) sign(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding the claims: %w", err)
	}
	obj, err := k.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// tokenHash is at_hash (OpenID Connect Core §3.1.3.6): the left half of the
// token's hash under the hash of the key's algorithm — SHA-512 for EdDSA,
// as go-oidc and better-auth compute it.
func (k *signingKey) tokenHash(token string) string {
	var h hash.Hash
	if k.alg == EdDSA {
		h = sha512.New()
	} else {
		h = sha256.New()
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// currentKey returns the key that signs now.
func (s *Server) currentKey() *signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0]
}

// RotateKey makes a new key pair, of the server's algorithm, the one that
// signs from now on, and returns its key ID. The keys it replaces are still
// published at PathJWKS, so that tokens they signed still verify, until
// RemoveKey removes them. It fails the test if no key can be made.
func (s *Server) RotateKey() (kid string) {
	s.t.Helper()
	k, err := newSigningKey(s.cfg.alg, false)
	if err != nil {
		s.t.Fatalf("oauthdbtest: RotateKey: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = slices.Insert(s.keys, 0, k)
	return k.id
}

// RemoveKey stops publishing the key kid: a token it signed no longer
// verifies against PathJWKS. It fails the test if kid is not published, or
// is the key that signs now (RotateKey first).
func (s *Server) RemoveKey(kid string) {
	s.t.Helper()
	s.mu.Lock()
	i := slices.IndexFunc(s.keys, func(k *signingKey) bool { return k.id == kid })
	switch {
	case i < 0:
		s.mu.Unlock()
		s.t.Fatalf("oauthdbtest: RemoveKey: no published key has the ID %q", kid)
	case i == 0:
		s.mu.Unlock()
		s.t.Fatalf("oauthdbtest: RemoveKey: %q is the key that signs; RotateKey first", kid)
	}
	s.keys = slices.Delete(s.keys, i, i+1)
	s.mu.Unlock()
}

// KeyIDs returns the IDs of the published keys, the one that signs first.
func (s *Server) KeyIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(s.keys))
	for i, k := range s.keys {
		ids[i] = k.id
	}
	return ids
}

// publishedKeys returns the public halves of the published keys.
func (s *Server) publishedKeys() []jose.JSONWebKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]jose.JSONWebKey, len(s.keys))
	for i, k := range s.keys {
		keys[i] = k.public
	}
	return keys
}

// signingAlgorithms returns the algorithms of the published keys, for the
// metadata's id_token_signing_alg_values_supported.
func (s *Server) signingAlgorithms() []string {
	var algs []string
	for _, k := range s.publishedKeys() {
		if !slices.Contains(algs, k.Algorithm) {
			algs = append(algs, k.Algorithm)
		}
	}
	return algs
}

// handleJWKS serves the published keys as a JWK Set (RFC 7517 §5).
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "the endpoint takes GET"})
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: s.publishedKeys()})
}

// errBadIDToken is any id_token the server did not issue, or cannot read.
var errBadIDToken = errors.New("not an ID token this server issued")

// idTokenHint is what the server reads from an id_token it issued.
type idTokenHint struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"-"`
	SessionID string   `json:"sid"`
}

// parseOwnIDToken verifies that raw is an id_token signed by one of the
// published keys and issued by this server, and reads it. Its expiry is not
// checked: an expired id_token is still a good id_token_hint (OpenID
// RP-Initiated Logout 1.0 §2).
func (s *Server) parseOwnIDToken(raw string) (idTokenHint, error) {
	if len(raw) > maxIDTokenLength {
		return idTokenHint{}, errBadIDToken
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA, jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return idTokenHint{}, errBadIDToken
	}
	kid := jws.Signatures[0].Header.KeyID
	var payload []byte
	for _, k := range s.publishedKeys() {
		if k.KeyID != kid {
			continue
		}
		if payload, err = jws.Verify(&k); err != nil {
			return idTokenHint{}, errBadIDToken
		}
	}
	if payload == nil {
		return idTokenHint{}, errBadIDToken
	}
	var hint idTokenHint
	var aud struct {
		Audience json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &hint) != nil || json.Unmarshal(payload, &aud) != nil {
		return idTokenHint{}, errBadIDToken
	}
	// aud is one string or an array of them (RFC 7519 §4.1.3).
	var one string
	if json.Unmarshal(aud.Audience, &one) == nil {
		hint.Audience = []string{one}
	} else if json.Unmarshal(aud.Audience, &hint.Audience) != nil {
		return idTokenHint{}, errBadIDToken
	}
	if hint.Issuer != s.URL {
		return idTokenHint{}, errBadIDToken
	}
	return hint, nil
}

// maxIDTokenLength bounds an id_token_hint: the server's own id_tokens are
// far shorter, and a longer one is not worth parsing.
const maxIDTokenLength = 16 << 10

package oauthdb

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// A Hasher turns a plaintext token into the text stored in its place.
type Hasher interface {
	// AppendHash appends the stored form of token to dst and returns the
	// extended slice.
	AppendHash(dst []byte, token string) []byte
}

// SHA256Hasher hashes a token as better-auth does by default: SHA-256,
// encoded as base64url without padding (43 characters). A token issued by a
// better-auth server therefore validates here.
type SHA256Hasher struct{}

// AppendHash appends the base64url SHA-256 of token to dst.
func (SHA256Hasher) AppendHash(dst []byte, token string) []byte {
	return appendSHA256(dst, token)
}

// appendSHA256 appends the base64url SHA-256 of token.
func appendSHA256(dst []byte, token string) []byte {
	sum := sum256(token)
	return base64.RawURLEncoding.AppendEncode(dst, sum[:])
}

// sum256 hashes without allocating for strings of ordinary length: s is
// copied to the stack rather than converted to a heap []byte.
func sum256(s string) [sha256.Size]byte {
	var in [256]byte
	if len(s) <= len(in) {
		n := copy(in[:], s)
		return sha256.Sum256(in[:n])
	}
	return sha256.Sum256([]byte(s))
}

// HashToken returns the stored form of token under better-auth's default
// hashing: base64url(SHA-256(token)), without padding. It is SHA256Hasher
// as a function, and knows nothing of a DB: for what a DB configured with
// WithHasher stores, use DB.Hash.
func HashToken(token string) string {
	var buf [64]byte
	return string(appendSHA256(buf[:0], token))
}

// HashSecret returns the stored form of a client secret (oauthClient's
// clientSecret): base64url(SHA-256), better-auth's default. Client secrets
// are always hashed this way, whatever WithHasher says of tokens: better-auth
// configures the two apart (storeClientSecret, storeTokens).
func HashSecret(secret string) string { return HashToken(secret) }

// VerifySecret reports, in constant time, whether secret hashes to stored
// under HashSecret. AuthenticateClient uses it; so may a caller that keeps
// its client records elsewhere.
func VerifySecret(stored, secret string) bool {
	var buf [64]byte
	h := appendSHA256(buf[:0], secret)
	return subtle.ConstantTimeCompare(h, []byte(stored)) == 1
}

// Hash returns the stored form of token under the DB's hasher (see
// WithHasher): what a token, refresh token or authorization code is stored
// and looked up as in this DB. Use it, not HashToken, wherever the DB may
// have been opened with another hasher.
func (db *DB) Hash(token string) string { return db.hashString(token) }

// hashString is Hash, for the DB's own use.
func (db *DB) hashString(token string) string {
	var buf [64]byte
	return string(db.hash(buf[:0], token))
}

// hash appends the stored form of token with the DB's hasher.
func (db *DB) hash(dst []byte, token string) []byte {
	if db.cfg.sha256 {
		return appendSHA256(dst, token)
	}
	return db.cfg.hasher.AppendHash(nil, token)
}

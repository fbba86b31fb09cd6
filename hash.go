package oauthdb

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
)

// MaxTokenLength is the longest token accepted; a longer one is malformed
// and is refused before it is hashed.
const MaxTokenLength = 4096

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

// appendSHA256 hashes without allocating for tokens of ordinary length: the
// token is copied to the stack rather than converted to a heap []byte.
func appendSHA256(dst []byte, token string) []byte {
	var sum [sha256.Size]byte
	var in [256]byte
	if len(token) <= len(in) {
		n := copy(in[:], token)
		sum = sha256.Sum256(in[:n])
	} else {
		sum = sha256.Sum256([]byte(token))
	}
	return base64.RawURLEncoding.AppendEncode(dst, sum[:])
}

// HashToken returns the stored form of token under better-auth's default
// hashing: base64url(SHA-256(token)), without padding.
func HashToken(token string) string {
	var buf [64]byte
	return string(appendSHA256(buf[:0], token))
}

// HashSecret returns the stored form of a client secret: the same hashing as
// HashToken.
func HashSecret(secret string) string { return HashToken(secret) }

// VerifySecret reports, in constant time, whether secret hashes to stored.
func VerifySecret(stored, secret string) bool {
	var buf [64]byte
	h := appendSHA256(buf[:0], secret)
	return subtle.ConstantTimeCompare(h, []byte(stored)) == 1
}

// Hash returns the stored form of token under the DB's hasher (see
// WithHasher): what a token, refresh token or authorization code is stored
// and looked up as.
func (db *DB) Hash(token string) string { return db.hashString(token) }

// hash appends the stored form of token with the DB's hasher.
func (db *DB) hash(dst []byte, token string) []byte {
	if _, ok := db.cfg.hasher.(SHA256Hasher); ok {
		return appendSHA256(dst, token)
	}
	return db.cfg.hasher.AppendHash(nil, token)
}

// checkToken refuses, before any hashing or lookup, a token that cannot be
// one: empty, too long, or with bytes outside printable ASCII.
func checkToken(kind, token string) error {
	if token == "" || len(token) > MaxTokenLength {
		return &TokenError{Kind: kind, Err: ErrTokenMalformed}
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c <= ' ' || c > '~' {
			return &TokenError{Kind: kind, Err: ErrTokenMalformed}
		}
	}
	return nil
}

// newToken returns a fresh opaque token: 32 random bytes, base64url.
func (db *DB) newToken() (string, error) {
	var b [32]byte
	if err := db.read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewID returns a fresh record ID: 32 characters of [A-Za-z0-9], as
// better-auth generates them, drawn from the DB's source of randomness.
func (db *DB) NewID() (string, error) {
	var out [32]byte
	var b [48]byte
	n := 0
	for n < len(out) {
		if err := db.read(b[:]); err != nil {
			return "", err
		}
		for _, c := range b {
			// 248 = 4*62: reject the rest so every character is equally likely.
			if c < 248 && n < len(out) {
				out[n] = idAlphabet[c%62]
				n++
			}
		}
	}
	return string(out[:]), nil
}

func (db *DB) read(b []byte) error {
	db.cfg.randomMu.Lock()
	defer db.cfg.randomMu.Unlock()
	if _, err := io.ReadFull(db.cfg.random, b); err != nil {
		return fmt.Errorf("oauthdb: reading randomness: %w", err)
	}
	return nil
}

// IssuedTokens are the plaintext tokens of one issue or rotation, returned
// once and never stored, with the records stored for them. Printing it with
// fmt or slog shows the records' IDs, never the tokens.
type IssuedTokens struct {
	// AccessToken is the plaintext access token, for the client.
	AccessToken string
	// RefreshToken is the plaintext refresh token, or empty if none was
	// issued.
	RefreshToken string
	// Access is the stored access token record.
	Access OAuthAccessToken
	// Refresh is the stored refresh token record, if any.
	Refresh OAuthRefreshToken
	// Previous is, after a rotation, the refresh token that was redeemed,
	// as it now stands: revoked.
	Previous OAuthRefreshToken
}

// String describes the tokens by their record IDs.
func (t IssuedTokens) String() string {
	s := "access token " + t.Access.ID
	if t.Refresh.ID != "" {
		s += ", refresh token " + t.Refresh.ID
	}
	return s
}

// Format prints t as String does, for every verb, so that %v, %+v and %#v
// cannot print a token.
func (t IssuedTokens) Format(f fmt.State, verb rune) { io.WriteString(f, t.String()) }

// LogValue logs t by its record IDs.
func (t IssuedTokens) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessTokenId", t.Access.ID), slog.String("refreshTokenId", t.Refresh.ID))
}

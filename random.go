package oauthdb

import (
	"encoding/base64"
	"fmt"
	"io"
)

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

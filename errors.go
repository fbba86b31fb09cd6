package oauthdb

import (
	"errors"

	"github.com/oauthdb/oauthdb/store"
)

// Errors of the data model. Every error for bad input wraps one of these in
// an *Error that names the table, the field and the value (never a secret,
// and a long value only by its first bytes and its length): test the kind
// with errors.Is and read the details with errors.As.
//
// One mistake is one kind, whatever the call: an unknown client, user or
// session given to an operation (IssueTokens, GrantConsent, CheckConsent,
// AuthenticateClient, a read by key) is ErrNotFound; a record written with a
// foreign key that names nothing is ErrForeignKey. Revocations are
// idempotent and find nothing to refuse: revoking an unknown token, session,
// user or client changes nothing and returns 0, not an error.
var (
	// ErrNotFound: no record has the key that was looked up, or that an
	// operation was given.
	ErrNotFound = store.ErrNotFound
	// ErrConflict: the primary key or a unique value is taken.
	ErrConflict = store.ErrConflict
	// ErrForeignKey: a foreign key of a record being written names no
	// record, or a change would leave other records' foreign keys dangling.
	ErrForeignKey = store.ErrForeignKey
	// ErrInvalid: a required field is missing, a value is malformed or is
	// one a snapshot could not carry exactly, or an operation that needs its
	// calling client was given none.
	ErrInvalid = store.ErrInvalid
)

// Error is the error returned for bad input: which table, field and value,
// and which of the sentinel errors it is.
type Error = store.Error

// Why a token is inactive. Validation, introspection and rotation return
// these wrapped in a *TokenError.
var (
	// ErrTokenMalformed: the token is empty, longer than MaxTokenLength or not
	// printable ASCII. It is also an ErrInvalid.
	ErrTokenMalformed = &kindError{"malformed token", ErrInvalid}
	// ErrTokenNotFound: no token has this hash.
	ErrTokenNotFound = errors.New("token not found")
	// ErrTokenExpired: the token's expiresAt has passed.
	ErrTokenExpired = errors.New("token expired")
	// ErrTokenRevoked: the token was revoked. From RotateRefreshToken: a
	// refresh token revoked otherwise than by its rotation was presented;
	// its whole family has been revoked, as for a replay.
	ErrTokenRevoked = errors.New("token revoked")
	// ErrTokenReplayed: a refresh token was presented again after its
	// rotation; its whole family has been revoked.
	ErrTokenReplayed = errors.New("refresh token replayed: its family is revoked")
	// ErrWrongClient: the token was issued to another client.
	ErrWrongClient = errors.New("token issued to another client")
	// ErrClientNotFound: the token's client does not exist.
	ErrClientNotFound = errors.New("client not found")
	// ErrClientDisabled: the token's client is disabled.
	ErrClientDisabled = errors.New("client disabled")
	// ErrUserNotFound: the token's user does not exist.
	ErrUserNotFound = errors.New("user not found")
	// ErrSessionNotFound: the token's session does not exist.
	ErrSessionNotFound = errors.New("session not found")
	// ErrSessionExpired: the token's session has expired.
	ErrSessionExpired = errors.New("session expired")
	// ErrScopeNotGranted: a requested scope is outside the granted set.
	ErrScopeNotGranted = errors.New("scope not granted")
	// ErrConsentRequired: the user has not granted the requested scopes.
	ErrConsentRequired = errors.New("consent required")
	// ErrBadSecret: the client did not authenticate: its secret is wrong or
	// missing, or it is a public client that presented one (see
	// AuthenticateClient).
	ErrBadSecret = errors.New("client authentication failed")
	// ErrStale: the DB is a replica whose rows are not known to be its
	// source's as they are now (see DB.SetFreshUntil), so it calls no token
	// active and authenticates no client: it fails closed.
	ErrStale = errors.New("replica may be stale")
)

// kindError is a sentinel that is also another sentinel.
type kindError struct {
	msg string
	is  error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.is }

// TokenError says why a token is not active. It names the kind of token and,
// when the token was found, the record's ID; never the token or its hash.
type TokenError struct {
	// Kind is "access token" or "refresh token".
	Kind string
	// ID is the token record's ID, when the token was found and belongs to
	// the caller: it is left out for ErrWrongClient, which must not tell
	// another client which record a token is.
	ID string
	// Err is the reason: ErrTokenNotFound, ErrTokenExpired, ...
	Err error
}

// Error formats the error without the token.
func (e *TokenError) Error() string {
	s := e.Kind
	if e.ID != "" {
		s += " " + e.ID
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the reason, for errors.Is.
func (e *TokenError) Unwrap() error { return e.Err }

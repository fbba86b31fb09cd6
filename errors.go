package oauthdb

import (
	"errors"
	"strconv"

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
	// ErrDPoPRequired: the tokens must be bound to a DPoP key (RFC 9449),
	// and the request has no proof: the client has dpopBoundAccessTokens, or
	// the refresh token presented is bound to a key. IssueTokens and Refresh
	// return it in an *Error naming the client or the refresh token.
	ErrDPoPRequired = errors.New("a DPoP proof is required")
	// ErrDPoPKeyMismatch: the refresh token presented is bound to a DPoP key,
	// and the proof is signed by another (Refresh).
	ErrDPoPKeyMismatch = errors.New("the DPoP proof's key is not the one the token is bound to")
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

// Why a snapshot cannot be read. ReadSnapshot and WriteSnapshot return them
// wrapped in a *SnapshotError, which says where.
var (
	// ErrSnapshotTruncated: the stream ends before the snapshot does.
	ErrSnapshotTruncated = errors.New("snapshot truncated")
	// ErrSnapshotCorrupt: a checksum does not match: the bytes are not
	// those that were written.
	ErrSnapshotCorrupt = errors.New("snapshot corrupt: checksum mismatch")
	// ErrSnapshotVersion: the snapshot is of a format version this reader
	// does not know.
	ErrSnapshotVersion = errors.New("snapshot format version not supported")
	// ErrSnapshotMalformed: the bytes are not a snapshot of this format,
	// although their checksums match (or there are none yet to check):
	// not an oauthdb snapshot, a record that does not decode, rows out of
	// order or not as many as the header says, sizes past the format's
	// limits.
	ErrSnapshotMalformed = errors.New("snapshot malformed")
)

// SnapshotError is the error of a snapshot that cannot be read or written:
// where it went wrong and why. It names no value of a record: a record the
// DB refuses is reported by its *Error (Err), which hides secrets and cuts
// long values.
type SnapshotError struct {
	// Offset is the byte offset, from the start of the stream, of the part
	// at fault: the record's frame, or the header's field.
	Offset int64
	// Table is the table of the record at fault; empty for the header and
	// the end of the stream.
	Table string
	// Row is the record's row number in its table, from 1; 0 when the
	// fault is not in a record.
	Row int
	// ID is the record's id, once its record decoded far enough to have
	// one; for a duplicate, the id of the row refused, not of the one
	// read before it.
	ID string
	// Field is the record's field at fault, when it is known.
	Field string
	// Reason says what was wrong, in a few words and bounded numbers.
	Reason string
	// Err is ErrSnapshotTruncated, ErrSnapshotCorrupt, ErrSnapshotVersion
	// or ErrSnapshotMalformed; the *Error of a record the DB refused (so
	// errors.Is finds ErrConflict, ErrForeignKey or ErrInvalid); or the
	// error of the underlying reader or writer.
	Err error
}

// Error formats the error as `snapshot byte N, table row R (id "x"): what`.
func (e *SnapshotError) Error() string {
	s := "oauthdb: snapshot byte " + strconv.FormatInt(e.Offset, 10)
	if e.Table != "" {
		s += ", " + e.Table
		if e.Row > 0 {
			s += " row " + strconv.Itoa(e.Row)
		}
	}
	var de *Error
	if errors.As(e.Err, &de) {
		return s + ": " + e.Err.Error() // names its table, row and field itself
	}
	if e.ID != "" {
		s += " (id " + strconv.Quote(e.ID) + ")"
	}
	s += ": "
	if e.Field != "" {
		s += e.Field + ": "
	}
	if e.Reason != "" {
		return s + e.Reason + " (" + e.Err.Error() + ")"
	}
	return s + e.Err.Error()
}

// Unwrap returns the reason, for errors.Is and errors.As.
func (e *SnapshotError) Unwrap() error { return e.Err }

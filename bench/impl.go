package bench

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Impl is a store of the OAuth provider's rows. Every implementation has the
// same semantics, so that a benchmark compares the same work; the smoke test
// checks that they all give the same answers.
//
// An implementation gets its clock at construction ([Factory]); Validate,
// Issue, Rotate and RevokeSession read it, Sweep takes its time explicitly.
// Tokens are passed and returned in plaintext and stored only as
// [HashToken]; hashing is part of every operation's work.
type Impl interface {
	// Name is the implementation's name in benchmark names and tables.
	Name() string

	// Load inserts every row of ds (users, clients, sessions, refresh
	// tokens, access tokens, consents, in that order) in batched write
	// transactions. It may be called again with a dataset of new rows that
	// reference rows already loaded.
	Load(ds *Dataset) error

	// Validate reports whether an access token is active: found by hash,
	// now < expiresAt, not revoked, its client exists and is not disabled,
	// its user exists (if it has one), its session exists and now < session
	// expiresAt (if it has one). It reads one consistent snapshot. An
	// inactive or unknown token is ok=false with a nil error.
	Validate(token string) (ok bool, err error)

	// Issue creates an access token and, when userID is set, a refresh
	// token that the access token points to (refreshId), in one write
	// transaction. The client must exist and be enabled
	// ([ErrInvalidClient]); when the client lists scopes, the requested
	// ones must be among them ([ErrInvalidScope]); the user, when set, must
	// exist ([ErrNotFound]); the session, when set, must exist
	// ([ErrNotFound]), be unexpired and belong to the user
	// ([ErrInvalidSession]). It returns the two plaintexts (refresh empty
	// without a user).
	Issue(clientID, userID, sessionID string, scopes []string) (access, refresh string, err error)

	// Rotate exchanges a refresh token, in one write transaction: found by
	// hash, of clientID, now < expiresAt (else [ErrInvalidGrant]). If it
	// was already revoked, the family is revoked — every refresh token of
	// that client and user gets revoked (if not yet) and every access
	// token whose refreshId is one of them is deleted — and it fails with
	// [ErrReplay]. Otherwise its client must exist and be enabled and its
	// user exist (else [ErrInvalidGrant]); it is revoked (compare-and-swap:
	// one of two concurrent rotations wins), and a new refresh token (same
	// client, user, session, referenceId and scopes) and a new access token
	// whose refreshId is the new refresh token are inserted. A refresh token
	// outlives its session: when the session is gone or expired, the new
	// tokens have none.
	Rotate(refresh, clientID string) (access, newRefresh string, err error)

	// RevokeSession revokes every token of a session: it deletes the
	// access tokens of the session and those of the session's refresh
	// tokens, and sets revoked on the session's refresh tokens that are not
	// yet revoked. The session row is kept. It returns the rows changed:
	// access tokens deleted plus refresh tokens newly revoked.
	RevokeSession(sessionID string) (n int, err error)

	// Sweep deletes up to limit rows that have expired at now
	// (expiresAt <= now), oldest first, using an expiresAt index: access
	// tokens, then refresh tokens (cascading to their access tokens), then
	// sessions (setting sessionId to null on their tokens, and revoked on
	// their access tokens, which do not outlive them). It returns the number
	// of expired rows deleted; cascaded rows are not counted.
	Sweep(now time.Time, limit int) (n int, err error)

	// Close releases the store.
	Close() error
}

// Factory makes an empty implementation that reads the time from now.
type Factory struct {
	Name string
	New  func(now func() time.Time) (Impl, error)
}

var (
	registryMu sync.Mutex
	registry   []Factory
)

// Register adds an implementation to [Factories]. It is called from the
// init functions of the implementations' files.
func Register(f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry = append(registry, f)
	sort.SliceStable(registry, func(i, j int) bool { return implOrder(registry[i].Name) < implOrder(registry[j].Name) })
}

func implOrder(name string) int {
	switch name {
	case "map":
		return 0
	case "memdb-reflect":
		return 1
	case "sqlite":
		return 2
	case "oauthdb-cold":
		return 3
	case "oauthdb":
		return 4
	}
	return 5
}

// Factories returns the registered implementations: map, memdb-reflect,
// sqlite and, when built, oauthdb.
func Factories() []Factory {
	registryMu.Lock()
	defer registryMu.Unlock()
	return append([]Factory(nil), registry...)
}

// Select returns the factories named in a comma-separated list ("" or "all":
// every one). An unknown name is an error.
func Select(list string) ([]Factory, error) {
	all := Factories()
	if list == "" || list == "all" {
		return all, nil
	}
	var out []Factory
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, f := range all {
			if f.Name == name {
				out = append(out, f)
				found = true
			}
		}
		if !found {
			var names []string
			for _, f := range all {
				names = append(names, f.Name)
			}
			return nil, fmt.Errorf("unknown implementation %q (have %s)", name, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// Errors of the write operations, shared by all implementations.
var (
	// ErrInvalidGrant: the refresh token is unknown, of another client or
	// expired.
	ErrInvalidGrant = errors.New("invalid grant")
	// ErrReplay: the refresh token was already revoked; its family has been
	// revoked.
	ErrReplay = errors.New("refresh token replayed: family revoked")
	// ErrInvalidClient: the client does not exist or is disabled.
	ErrInvalidClient = errors.New("invalid client")
	// ErrNotFound: a referenced user or session does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidScope: a requested scope is not allowed for the client.
	ErrInvalidScope = errors.New("invalid scope")
	// ErrInvalidSession: the session has expired or belongs to another
	// user.
	ErrInvalidSession = errors.New("invalid session")
)

// Clock is a settable clock for implementations: its Now method is what
// they get as their now function. It is safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Set sets the clock's time.
func (c *Clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// NewToken returns a new random token: 32 bytes from crypto/rand, base64url
// without padding.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns a new random 32-character alphanumeric row ID.
func NewID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}

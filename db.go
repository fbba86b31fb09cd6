package oauthdb

import (
	"crypto/rand"
	"io"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

// DB is an in-memory store of OAuth provider data. It is safe for
// concurrent use: reads never block, and writes are serialised.
type DB struct {
	st    *store.DB
	cfg   config
	txs   sync.Pool
	cache atomic.Pointer[tokenCache] // nil without a validation cache
	// cacheStats counts the cache's hits and misses (cache.go).
	cacheStats cacheCounter
	// feed guards subs, the change feed's subscriptions (feed.go).
	feed sync.Mutex
	subs []*Subscription
	// expiries are the sweep's queues, one for each of expiringTables;
	// nil on a replica, which never sweeps (expiry.go).
	expiries []expiryQueue
	// freshUntil is, on a replica, the moment (Unix nanoseconds by the
	// DB's clock) from which it answers stale (see SetFreshUntil).
	freshUntil atomic.Int64
}

type config struct {
	now             func() time.Time
	hasher          Hasher
	sha256          bool // hasher is better-auth's own: SHA256Hasher
	random          io.Reader
	randomMu        sync.Mutex
	lenientSessions bool
	accessTTL       time.Duration
	refreshTTL      time.Duration
	cacheEntries    int
	reuseInterval   time.Duration
	replica         bool
}

// An Option configures a DB.
type Option func(*config)

// WithClock sets the clock the DB reads for expiry and timestamps; the
// default is time.Now. Tests pass a fake clock to make expiry deterministic.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithHasher sets how tokens are hashed before they are stored or looked
// up; the default is SHA256Hasher, better-auth's default. A service that
// configured better-auth with another hasher passes the same one here.
func WithHasher(h Hasher) Option { return func(c *config) { c.hasher = h } }

// WithRandom sets the source of randomness for generated IDs and tokens;
// the default is crypto/rand. Tests pass a seeded source to get the same
// values on every run. Never use a predictable source in production.
func WithRandom(r io.Reader) Option { return func(c *config) { c.random = r } }

// WithLenientSessions makes validation keep a token active when its session
// has expired or is gone, dropping the session from the result, as
// better-auth 1.4 to 1.6 did. By default validation is strict, as in
// better-auth 1.7: such a token is inactive.
func WithLenientSessions() Option { return func(c *config) { c.lenientSessions = true } }

// WithTokenLifetimes sets how long issued access and refresh tokens live;
// the defaults are better-auth's, one hour and thirty days.
func WithTokenLifetimes(access, refresh time.Duration) Option {
	return func(c *config) { c.accessTTL, c.refreshTTL = access, refresh }
}

// WithRefreshReuseInterval sets a grace window after each rotation, as
// better-auth's refreshTokenReuseInterval does: for d after a refresh token
// is rotated, presenting it again is not a replay — clients that refresh
// the same token concurrently (two tabs, a retried request) each get tokens
// and the family survives. After d, it is a replay again. The default, 0, is
// no window. Inside it better-auth answers with the first rotation's tokens
// again, which it keeps encrypted; oauthdb keeps no token it could give
// back, so each such rotation issues a new pair. The window is written on
// the rotated token (rotationReplayExpiresAt), as better-auth writes it.
func WithRefreshReuseInterval(d time.Duration) Option {
	return func(c *config) { c.reuseInterval = max(d, 0) }
}

// WithValidationCache bounds the validation cache to entries tokens; 0
// turns it off. The cache is on by default, bounded at DefaultCacheEntries;
// it changes no answer, only how fast one comes (see ValidateAccessToken).
func WithValidationCache(entries int) Option {
	return func(c *config) { c.cacheEntries = max(entries, 0) }
}

// Open opens an empty DB.
func Open(opts ...Option) (*DB, error) {
	db := &DB{cacheStats: newCacheCounter(), cfg: config{
		now:          time.Now,
		hasher:       SHA256Hasher{},
		random:       rand.Reader,
		accessTTL:    time.Hour,
		refreshTTL:   30 * 24 * time.Hour,
		cacheEntries: DefaultCacheEntries,
	}}
	for _, o := range opts {
		o(&db.cfg)
	}
	_, db.cfg.sha256 = db.cfg.hasher.(SHA256Hasher)
	if !db.cfg.replica {
		db.expiries = make([]expiryQueue, len(expiringTables))
	}
	st, err := store.Open(schema, store.Config{Env: db, OnCommit: db.committed})
	if err != nil {
		return nil, err
	}
	db.st = st
	if db.cfg.cacheEntries > 0 {
		db.cache.Store(newTokenCache(db.cfg.cacheEntries, 0))
	}
	db.txs.New = func() any { return &Tx{db: db} }
	return db, nil
}

// Tx is a transaction: a consistent snapshot of the DB and, in Update, the
// writes made on it. It is valid only inside the function it was passed to.
type Tx struct {
	db *DB
	st *store.Txn
}

// View runs fn in a read transaction: everything it reads comes from one
// snapshot, whatever writes commit meanwhile.
func (db *DB) View(fn func(tx *Tx) error) error {
	return db.st.View(func(st *store.Txn) error {
		tx := db.txs.Get().(*Tx)
		tx.st = st
		err := fn(tx)
		tx.st = nil
		db.txs.Put(tx)
		return err
	})
}

// Update runs fn in a write transaction. If fn returns nil, all its writes
// commit at once; if it returns an error, none of them do. A write method
// that fails (bad input, a conflict) has changed nothing, so fn may handle
// the error and go on.
func (db *DB) Update(fn func(tx *Tx) error) error {
	if db.cfg.replica {
		return ErrReadOnly
	}
	return db.st.Update(func(st *store.Txn) error {
		return fn(&Tx{db: db, st: st})
	})
}

// TokenLifetimes returns how long issued access and refresh tokens live
// (see WithTokenLifetimes).
func (db *DB) TokenLifetimes() (access, refresh time.Duration) {
	return db.cfg.accessTTL, db.cfg.refreshTTL
}

// Now returns the DB clock's current time, in UTC: the time every
// timestamp the DB writes is taken from.
func (db *DB) Now() time.Time { return db.now() }

// now reads the clock in UTC, without its monotonic reading: as a stored
// time must be (see recordcheck.go).
func (db *DB) now() time.Time { return db.cfg.now().UTC() }

// Verify audits the whole DB: every index holds exactly the live records,
// unique indexes are unique, every foreign key names an existing record. It
// reads everything; it is meant for tests.
func (db *DB) Verify() error {
	return db.st.View(func(st *store.Txn) error { return st.Verify() })
}

// Reads by key. Each returns a copy of the record, or an *Error wrapping
// ErrNotFound.

// User returns the user with the given ID.
func (tx *Tx) User(id string) (User, error) { return get(tx, users.ID(), id) }

// UserByEmail returns the user with the given email address.
func (tx *Tx) UserByEmail(email string) (User, error) { return get(tx, usersByEmail, email) }

// Session returns the session with the given ID.
func (tx *Tx) Session(id string) (Session, error) { return get(tx, sessions.ID(), id) }

// SessionByToken returns the session whose cookie value is token.
func (tx *Tx) SessionByToken(token string) (Session, error) { return get(tx, sessionsByToken, token) }

// Client returns the client with the given record ID.
func (tx *Tx) Client(id string) (OAuthClient, error) { return get(tx, clients.ID(), id) }

// ClientByClientID returns the client with the given public client ID.
func (tx *Tx) ClientByClientID(clientID string) (OAuthClient, error) {
	return get(tx, clientsByClientID, clientID)
}

// AccessToken returns the access token with the given record ID.
func (tx *Tx) AccessToken(id string) (OAuthAccessToken, error) { return get(tx, accessTokens.ID(), id) }

// AccessTokenByHash returns the access token whose stored hash is hash.
func (tx *Tx) AccessTokenByHash(hash string) (OAuthAccessToken, error) {
	return get(tx, accessTokensByHash, hash)
}

// RefreshToken returns the refresh token with the given record ID.
func (tx *Tx) RefreshToken(id string) (OAuthRefreshToken, error) {
	return get(tx, refreshTokens.ID(), id)
}

// RefreshTokenByHash returns the refresh token whose stored hash is hash.
func (tx *Tx) RefreshTokenByHash(hash string) (OAuthRefreshToken, error) {
	return get(tx, refreshTokensByHash, hash)
}

// Consent returns the consent with the given ID.
func (tx *Tx) Consent(id string) (OAuthConsent, error) { return get(tx, consents.ID(), id) }

// ConsentFor returns the consent of key.
func (tx *Tx) ConsentFor(key ConsentKey) (OAuthConsent, error) {
	c, ok := consentFor(tx, key)
	if !ok {
		return OAuthConsent{}, errNotFound(TableOAuthConsent, consentKeyField, key.String())
	}
	return *c, nil
}

// Verification returns the verification with the given ID.
func (tx *Tx) Verification(id string) (Verification, error) { return get(tx, verifications.ID(), id) }

// VerificationByIdentifier returns the verification with the given
// identifier.
func (tx *Tx) VerificationByIdentifier(identifier string) (Verification, error) {
	return get(tx, verificationsByIdentifier, identifier)
}

func get[T any](tx *Tx, ix *store.Index[T, string], key string) (T, error) {
	rec, ok := ix.First(tx.st, key)
	if !ok {
		var zero T
		e := &Error{Table: ix.Table(), Field: ix.Field(), Err: ErrNotFound}
		if !ix.IsSecret() {
			e.Value = store.Bound(key)
		}
		return zero, e
	}
	return *rec, nil
}

// Whole tables, in ID order, for dumps and audits.

// Users iterates over every user.
func (tx *Tx) Users() iter.Seq[User] { return values(users.All(tx.st)) }

// Sessions iterates over every session.
func (tx *Tx) Sessions() iter.Seq[Session] { return values(sessions.All(tx.st)) }

// Clients iterates over every client.
func (tx *Tx) Clients() iter.Seq[OAuthClient] { return values(clients.All(tx.st)) }

// AccessTokens iterates over every access token.
func (tx *Tx) AccessTokens() iter.Seq[OAuthAccessToken] { return values(accessTokens.All(tx.st)) }

// RefreshTokens iterates over every refresh token.
func (tx *Tx) RefreshTokens() iter.Seq[OAuthRefreshToken] { return values(refreshTokens.All(tx.st)) }

// Consents iterates over every consent.
func (tx *Tx) Consents() iter.Seq[OAuthConsent] { return values(consents.All(tx.st)) }

// Verifications iterates over every verification.
func (tx *Tx) Verifications() iter.Seq[Verification] { return values(verifications.All(tx.st)) }

// Get returns the record of the named table with the primary key id, as a
// value — a User for TableUser, a Session for TableSession, ... — for code
// that reads every table alike; the typed reads (User, Session, ...) are
// the same read. A table that is not the data model's is ErrInvalid, no
// such record an *Error wrapping ErrNotFound.
func (tx *Tx) Get(table, id string) (any, error) {
	t := tableNamed(table)
	if t == nil {
		return nil, errNoTable(table)
	}
	if rec := t.get(tx.st, id); rec != nil {
		return t.value(rec), nil
	}
	return nil, errNotFound(table, "id", id)
}

// Insert stores a new record of any table — a User, Session, OAuthClient,
// ... value, or a pointer to one — as its table's insert method does
// (InsertUser, ...): for code that writes every table alike, such as a
// loader of another format's rows. Anything else is ErrInvalid.
func (tx *Tx) Insert(rec any) error {
	for _, t := range tables {
		if ok, err := t.insertRecord(tx, rec); ok {
			return err
		}
	}
	return errNoRecord("Insert", rec)
}

// Writes. Insert stores a new record and fails with ErrConflict if its ID or
// a unique value is taken; Update replaces the record with the same ID and
// fails with ErrNotFound if there is none; both fail with ErrForeignKey for a
// foreign key that names no record and with ErrInvalid for a missing
// required field or a value the DB cannot keep as it is (see Snapshot).
// Insert fills a zero CreatedAt and UpdatedAt from the DB's clock; Update
// sets UpdatedAt to it and keeps the stored CreatedAt when given a zero one.
// Times are stored in UTC. Delete removes a record and carries out the
// delete actions: deleting a user or a client deletes what belongs to it,
// deleting a refresh token deletes its access tokens, and deleting a session
// clears sessionId on its tokens (and, in strict mode, revokes its access
// tokens: see DeleteSession). A failed write changes nothing. Records are
// copied in: the caller may reuse what it passed.

// InsertUser stores a new user.
func (tx *Tx) InsertUser(u User) error { return users.insert(tx, &u) }

// UpdateUser replaces the user with u.ID.
func (tx *Tx) UpdateUser(u User) error { return users.update(tx, &u, nil, tx.db.now()) }

// DeleteUser deletes a user with their sessions, clients, tokens and
// consents.
func (tx *Tx) DeleteUser(id string) error { return users.Delete(tx.st, id) }

// InsertSession stores a new session.
func (tx *Tx) InsertSession(s Session) error { return sessions.insert(tx, &s) }

// UpdateSession replaces the session with s.ID. In strict mode, extending a
// session that has expired does not bring back the tokens bound to it, which
// were inactive while it was expired: its access tokens, and its refresh
// tokens granted without offline_access, are revoked in the same write. (A
// refresh token with offline_access outlives its session, and is left as it
// is.)
func (tx *Tx) UpdateSession(s Session) error {
	return sessions.updateThen(tx, &s, func(old *Session, now time.Time) error {
		if tx.db.cfg.lenientSessions || now.Before(old.ExpiresAt) || !now.Before(s.ExpiresAt) {
			return nil
		}
		// The update passed every check with UpdatedAt = now, so setting
		// revoked to now cannot fail: the write is still all or nothing.
		if err := revokeAccessTokens(tx, sessionAccessTokens.Get(tx.st, &s), now); err != nil {
			return err
		}
		return endRefreshTokens(tx, sessionRefreshTokens.Get(tx.st, &s), now)
	})
}

// DeleteSession deletes a session, as a sign-out does; its tokens stay,
// with sessionId cleared. In strict mode its access tokens are revoked too,
// in the same write, as better-auth 1.7 revokes them on sign-out: an access
// token does not outlive its session; so are its refresh tokens granted
// without offline_access. Those with offline_access stay active (offline
// access outlives a sign-out); revoke them with RevokeSession first if the
// sign-out must end them too.
func (tx *Tx) DeleteSession(id string) error { return sessions.Delete(tx.st, id) }

// InsertClient stores a new client. Its ClientSecret must already be hashed
// (see HashSecret).
func (tx *Tx) InsertClient(c OAuthClient) error { return clients.insert(tx, &c) }

// UpdateClient replaces the client with c.ID. Its clientId cannot change
// while tokens or consents refer to it. Enabling a disabled client does not
// bring back its tokens, which were inactive while it was disabled: they are
// revoked in the same write, as RevokeClient revokes them.
func (tx *Tx) UpdateClient(c OAuthClient) error {
	return clients.updateThen(tx, &c, func(old *OAuthClient, now time.Time) error {
		if !old.Disabled || c.Disabled {
			return nil
		}
		// As in UpdateSession, what follows cannot fail once the update
		// passed.
		_, err := revokeAll(tx, now, clientAccessTokens.Get(tx.st, &c), clientRefreshTokens.Get(tx.st, &c), nil)
		return err
	})
}

// DeleteClient deletes a client with its tokens and consents.
func (tx *Tx) DeleteClient(id string) error { return clients.Delete(tx.st, id) }

// InsertAccessToken stores a new access token. Its Token must be the
// token's hash (see DB.Hash).
func (tx *Tx) InsertAccessToken(t OAuthAccessToken) error { return accessTokens.insert(tx, &t) }

// UpdateAccessToken replaces the access token with t.ID.
func (tx *Tx) UpdateAccessToken(t OAuthAccessToken) error {
	return accessTokens.update(tx, &t, nil, tx.db.now())
}

// DeleteAccessToken deletes an access token.
func (tx *Tx) DeleteAccessToken(id string) error { return accessTokens.Delete(tx.st, id) }

// InsertRefreshToken stores a new refresh token. Its Token must be the
// token's hash (see DB.Hash).
func (tx *Tx) InsertRefreshToken(t OAuthRefreshToken) error { return refreshTokens.insert(tx, &t) }

// UpdateRefreshToken replaces the refresh token with t.ID.
func (tx *Tx) UpdateRefreshToken(t OAuthRefreshToken) error {
	return refreshTokens.update(tx, &t, nil, tx.db.now())
}

// DeleteRefreshToken deletes a refresh token with the access tokens issued
// with it.
func (tx *Tx) DeleteRefreshToken(id string) error { return refreshTokens.Delete(tx.st, id) }

// InsertConsent stores a new consent.
func (tx *Tx) InsertConsent(c OAuthConsent) error { return consents.insert(tx, &c) }

// UpdateConsent replaces the consent with c.ID.
func (tx *Tx) UpdateConsent(c OAuthConsent) error { return consents.update(tx, &c, nil, tx.db.now()) }

// DeleteConsent deletes a consent.
func (tx *Tx) DeleteConsent(id string) error { return consents.Delete(tx.st, id) }

// InsertVerification stores a new verification.
func (tx *Tx) InsertVerification(v Verification) error { return verifications.insert(tx, &v) }

// UpdateVerification replaces the verification with v.ID.
func (tx *Tx) UpdateVerification(v Verification) error {
	return verifications.update(tx, &v, nil, tx.db.now())
}

// DeleteVerification deletes a verification.
func (tx *Tx) DeleteVerification(id string) error { return verifications.Delete(tx.st, id) }

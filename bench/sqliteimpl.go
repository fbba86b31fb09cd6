package bench

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The sqlite implementation: modernc.org/sqlite (SQLite in pure Go) in memory
// through database/sql, with better-auth's tables, unique and foreign-key
// indexes, foreign keys ON with docs/DESIGN.md's delete actions, prepared
// statements, and write transactions that take the write lock at BEGIN
// (BEGIN IMMEDIATE), so that two writers never deadlock on a lock upgrade.
//
// Times are INTEGER Unix nanoseconds, booleans INTEGER 0/1, string arrays
// JSON text, absent optional values NULL.

func init() {
	Register(Factory{Name: "sqlite", New: func(now func() time.Time) (Impl, error) { return NewSQLite(now, SQLiteMemdbVFS) }})
}

// SQLiteMode is how the in-memory database is reached from database/sql.
type SQLiteMode int

const (
	// SQLiteMemdbVFS opens "file:/name?vfs=memdb": one in-memory database
	// shared by every connection of the pool, with SQLite's normal locking
	// (readers in parallel, one writer). The default.
	SQLiteMemdbVFS SQLiteMode = iota
	// SQLiteSingleConn opens ":memory:" on a pool of exactly one connection.
	SQLiteSingleConn
	// SQLiteSharedCache opens "file:name?mode=memory&cache=shared" on a pool
	// of several connections (shared-cache table locks).
	SQLiteSharedCache
)

// String names the mode.
func (m SQLiteMode) String() string {
	switch m {
	case SQLiteMemdbVFS:
		return "memdb-vfs"
	case SQLiteSingleConn:
		return "single-conn"
	case SQLiteSharedCache:
		return "shared-cache"
	}
	return fmt.Sprintf("SQLiteMode(%d)", int(m))
}

const sqliteSchema = `
CREATE TABLE "user" (
	id TEXT PRIMARY KEY NOT NULL,
	name TEXT NOT NULL,
	email TEXT NOT NULL UNIQUE,
	emailVerified INTEGER NOT NULL,
	image TEXT,
	createdAt INTEGER NOT NULL,
	updatedAt INTEGER NOT NULL
);
CREATE TABLE session (
	id TEXT PRIMARY KEY NOT NULL,
	token TEXT NOT NULL UNIQUE,
	expiresAt INTEGER NOT NULL,
	ipAddress TEXT,
	userAgent TEXT,
	userId TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
	createdAt INTEGER NOT NULL,
	updatedAt INTEGER NOT NULL
);
CREATE INDEX session_userId ON session(userId);
CREATE INDEX session_expiresAt ON session(expiresAt);
CREATE TABLE oauthClient (
	id TEXT PRIMARY KEY NOT NULL,
	clientId TEXT NOT NULL UNIQUE,
	clientSecret TEXT,
	disabled INTEGER NOT NULL DEFAULT 0,
	skipConsent INTEGER,
	enableEndSession INTEGER,
	public INTEGER,
	scopes TEXT,
	redirectUris TEXT NOT NULL,
	postLogoutRedirectUris TEXT,
	grantTypes TEXT,
	responseTypes TEXT,
	contacts TEXT,
	tokenEndpointAuthMethod TEXT,
	name TEXT,
	uri TEXT,
	icon TEXT,
	tos TEXT,
	policy TEXT,
	softwareId TEXT,
	softwareVersion TEXT,
	softwareStatement TEXT,
	type TEXT,
	referenceId TEXT,
	metadata TEXT,
	userId TEXT REFERENCES "user"(id) ON DELETE CASCADE,
	createdAt INTEGER NOT NULL,
	updatedAt INTEGER NOT NULL
);
CREATE INDEX oauthClient_userId ON oauthClient(userId);
CREATE TABLE oauthRefreshToken (
	id TEXT PRIMARY KEY NOT NULL,
	token TEXT NOT NULL UNIQUE,
	clientId TEXT NOT NULL REFERENCES oauthClient(clientId) ON DELETE CASCADE,
	sessionId TEXT REFERENCES session(id) ON DELETE SET NULL,
	userId TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
	referenceId TEXT,
	scopes TEXT NOT NULL,
	expiresAt INTEGER NOT NULL,
	createdAt INTEGER NOT NULL,
	revoked INTEGER
);
CREATE INDEX oauthRefreshToken_clientId ON oauthRefreshToken(clientId);
CREATE INDEX oauthRefreshToken_sessionId ON oauthRefreshToken(sessionId);
CREATE INDEX oauthRefreshToken_userId ON oauthRefreshToken(userId);
CREATE INDEX oauthRefreshToken_expiresAt ON oauthRefreshToken(expiresAt);
CREATE TABLE oauthAccessToken (
	id TEXT PRIMARY KEY NOT NULL,
	token TEXT NOT NULL UNIQUE,
	clientId TEXT NOT NULL REFERENCES oauthClient(clientId) ON DELETE CASCADE,
	sessionId TEXT REFERENCES session(id) ON DELETE SET NULL,
	userId TEXT REFERENCES "user"(id) ON DELETE CASCADE,
	referenceId TEXT,
	refreshId TEXT REFERENCES oauthRefreshToken(id) ON DELETE CASCADE,
	scopes TEXT NOT NULL,
	expiresAt INTEGER NOT NULL,
	createdAt INTEGER NOT NULL,
	revoked INTEGER
);
CREATE INDEX oauthAccessToken_clientId ON oauthAccessToken(clientId);
CREATE INDEX oauthAccessToken_sessionId ON oauthAccessToken(sessionId);
CREATE INDEX oauthAccessToken_userId ON oauthAccessToken(userId);
CREATE INDEX oauthAccessToken_refreshId ON oauthAccessToken(refreshId);
CREATE INDEX oauthAccessToken_expiresAt ON oauthAccessToken(expiresAt);
CREATE TABLE oauthConsent (
	id TEXT PRIMARY KEY NOT NULL,
	clientId TEXT NOT NULL REFERENCES oauthClient(clientId) ON DELETE CASCADE,
	userId TEXT REFERENCES "user"(id) ON DELETE CASCADE,
	referenceId TEXT,
	scopes TEXT NOT NULL,
	createdAt INTEGER NOT NULL,
	updatedAt INTEGER NOT NULL,
	UNIQUE (clientId, userId, referenceId)
);
CREATE INDEX oauthConsent_userId ON oauthConsent(userId);
`

// The statements, prepared once.
const (
	sqlValidate = `SELECT 1 FROM oauthAccessToken t
	JOIN oauthClient c ON c.clientId = t.clientId
	LEFT JOIN "user" u ON u.id = t.userId
	LEFT JOIN session s ON s.id = t.sessionId
	WHERE t.token = ?1 AND t.expiresAt > ?2 AND t.revoked IS NULL AND c.disabled = 0
	  AND (t.userId IS NULL OR u.id IS NOT NULL)
	  AND (t.sessionId IS NULL OR s.expiresAt > ?2)`
	sqlClientDisabled = `SELECT disabled, scopes FROM oauthClient WHERE clientId = ?`
	sqlSessionOwner   = `SELECT userId, expiresAt FROM session WHERE id = ?`
	sqlInsertAccess   = `INSERT INTO oauthAccessToken
	(id, token, clientId, sessionId, userId, referenceId, refreshId, scopes, expiresAt, createdAt)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlInsertRefresh = `INSERT INTO oauthRefreshToken
	(id, token, clientId, sessionId, userId, referenceId, scopes, expiresAt, createdAt, revoked)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlRefreshByToken = `SELECT r.id, r.clientId, r.sessionId, r.userId, r.referenceId, r.scopes, r.expiresAt, r.revoked,
	  c.disabled, u.id IS NOT NULL, s.expiresAt
	FROM oauthRefreshToken r
	LEFT JOIN oauthClient c ON c.clientId = r.clientId
	LEFT JOIN "user" u ON u.id = r.userId
	LEFT JOIN session s ON s.id = r.sessionId
	WHERE r.token = ?`
	sqlRevokeRefresh = `UPDATE oauthRefreshToken SET revoked = ? WHERE id = ? AND revoked IS NULL`
	sqlFamilyRevoke  = `UPDATE oauthRefreshToken SET revoked = ?
	WHERE clientId = ? AND userId = ? AND revoked IS NULL`
	sqlFamilyAccess = `DELETE FROM oauthAccessToken WHERE refreshId IN
	(SELECT id FROM oauthRefreshToken WHERE clientId = ? AND userId = ?)`
	sqlSessionRefreshAccess = `DELETE FROM oauthAccessToken WHERE refreshId IN
	(SELECT id FROM oauthRefreshToken WHERE sessionId = ?)`
	sqlSessionAccess  = `DELETE FROM oauthAccessToken WHERE sessionId = ?`
	sqlSessionRefresh = `UPDATE oauthRefreshToken SET revoked = ? WHERE sessionId = ? AND revoked IS NULL`
	sqlSweepAccess    = `DELETE FROM oauthAccessToken WHERE rowid IN
	(SELECT rowid FROM oauthAccessToken WHERE expiresAt <= ? ORDER BY expiresAt LIMIT ?)`
	sqlSweepRefresh = `DELETE FROM oauthRefreshToken WHERE rowid IN
	(SELECT rowid FROM oauthRefreshToken WHERE expiresAt <= ? ORDER BY expiresAt LIMIT ?)`
	sqlSweepSession = `DELETE FROM session WHERE rowid IN
	(SELECT rowid FROM session WHERE expiresAt <= ? ORDER BY expiresAt LIMIT ?)`
	// Before the sessions go, their access tokens are revoked: an access
	// token does not outlive its session (the foreign key then sets
	// sessionId to null).
	sqlSweepSessionAccess = `UPDATE oauthAccessToken SET revoked = ?1
	WHERE revoked IS NULL AND sessionId IN
	(SELECT id FROM session WHERE expiresAt <= ?2 ORDER BY expiresAt LIMIT ?3)`
)

var sqliteSeq atomic.Int64

// SQLite is the sqlite implementation of [Impl].
type SQLite struct {
	db   *sql.DB
	now  func() time.Time
	mode SQLiteMode

	validate, clientDisabled, sessionOwner                      *sql.Stmt
	insertAccess, insertRefresh                                 *sql.Stmt
	refreshByToken, revokeRefresh, familyRevoke, familyAcc      *sql.Stmt
	sessionRefreshAccess, sessionAccess, sessionRefresh         *sql.Stmt
	sweepAccess, sweepRefresh, sweepSession, sweepSessionAccess *sql.Stmt
	insertUser, insertClient, insertSession, insertConsent      *sql.Stmt
}

// NewSQLite opens an empty in-memory database in the given mode, reading the
// time from now.
func NewSQLite(now func() time.Time, mode SQLiteMode) (*SQLite, error) {
	name := fmt.Sprintf("oauthdb-bench-%d", sqliteSeq.Add(1))
	const params = "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate"
	var dsn string
	switch mode {
	case SQLiteMemdbVFS:
		dsn = "file:/" + name + "?vfs=memdb&" + params
	case SQLiteSingleConn:
		dsn = "file::memory:?" + params
	case SQLiteSharedCache:
		dsn = "file:" + name + "?mode=memory&cache=shared&" + params
	default:
		return nil, fmt.Errorf("sqlite: unknown mode %d", mode)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// The database lives as long as one connection to it is open: never let
	// the pool close its last connection.
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if mode == SQLiteSingleConn {
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
	} else {
		db.SetMaxIdleConns(8)
	}
	s := &SQLite{db: db, now: now, mode: mode}
	if _, err := db.Exec(sqliteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: schema: %w", err)
	}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.validate, sqlValidate},
		{&s.clientDisabled, sqlClientDisabled},
		{&s.sessionOwner, sqlSessionOwner},
		{&s.insertAccess, sqlInsertAccess},
		{&s.insertRefresh, sqlInsertRefresh},
		{&s.refreshByToken, sqlRefreshByToken},
		{&s.revokeRefresh, sqlRevokeRefresh},
		{&s.familyRevoke, sqlFamilyRevoke},
		{&s.familyAcc, sqlFamilyAccess},
		{&s.sessionRefreshAccess, sqlSessionRefreshAccess},
		{&s.sessionAccess, sqlSessionAccess},
		{&s.sessionRefresh, sqlSessionRefresh},
		{&s.sweepAccess, sqlSweepAccess},
		{&s.sweepRefresh, sqlSweepRefresh},
		{&s.sweepSession, sqlSweepSession},
		{&s.sweepSessionAccess, sqlSweepSessionAccess},
		{&s.insertUser, `INSERT INTO "user" (id, name, email, emailVerified, image, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{&s.insertClient, `INSERT INTO oauthClient (id, clientId, clientSecret, disabled, skipConsent, public, scopes,
			redirectUris, grantTypes, responseTypes, tokenEndpointAuthMethod, name, userId, createdAt, updatedAt)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.insertSession, `INSERT INTO session (id, token, expiresAt, ipAddress, userAgent, userId, createdAt, updatedAt)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`},
		{&s.insertConsent, `INSERT INTO oauthConsent (id, clientId, userId, referenceId, scopes, createdAt, updatedAt)
			VALUES (?, ?, ?, ?, ?, ?, ?)`},
	} {
		if *p.dst, err = db.Prepare(p.sql); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite: prepare %q: %w", p.sql, err)
		}
	}
	return s, nil
}

// Name returns "sqlite".
func (s *SQLite) Name() string { return "sqlite" }

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// ExternalMemory returns the bytes of the database pages, which SQLite keeps
// outside the Go heap.
func (s *SQLite) ExternalMemory() (int64, error) {
	var pages, size int64
	if err := s.db.QueryRow(`SELECT page_count, page_size FROM pragma_page_count, pragma_page_size`).Scan(&pages, &size); err != nil {
		return 0, err
	}
	return pages * size, nil
}

// null maps the empty string to NULL.
func null(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// nullTime maps a time to Unix nanoseconds, the zero time to NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func jsonList(v []string) string {
	if v == nil {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sqliteLoadBatch is the number of rows per transaction in Load.
const sqliteLoadBatch = 1 << 30

// Load inserts the rows of ds in transactions of sqliteLoadBatch rows.
func (s *SQLite) Load(ds *Dataset) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	pending := 0
	exec := func(stmt *sql.Stmt, args ...any) error {
		if _, err := tx.Stmt(stmt).Exec(args...); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: load: %w", err)
		}
		if pending++; pending == sqliteLoadBatch {
			if err := tx.Commit(); err != nil {
				return err
			}
			if tx, err = s.db.Begin(); err != nil {
				return err
			}
			pending = 0
		}
		return nil
	}
	for i := range ds.Users {
		u := &ds.Users[i]
		if err := exec(s.insertUser, u.ID, u.Name, u.Email, boolInt(u.EmailVerified), null(u.Image),
			u.CreatedAt.UnixNano(), u.UpdatedAt.UnixNano()); err != nil {
			return err
		}
	}
	for i := range ds.Clients {
		c := &ds.Clients[i]
		if err := exec(s.insertClient, c.ID, c.ClientID, null(c.ClientSecret), boolInt(c.Disabled), boolInt(c.SkipConsent),
			boolInt(c.Public), jsonList(c.Scopes), jsonList(c.RedirectURIs), jsonList(c.GrantTypes), jsonList(c.ResponseTypes),
			c.TokenEndpointAuthMethod, c.Name, null(c.UserID), c.CreatedAt.UnixNano(), c.UpdatedAt.UnixNano()); err != nil {
			return err
		}
	}
	for i := range ds.Sessions {
		x := &ds.Sessions[i]
		if err := exec(s.insertSession, x.ID, x.Token, x.ExpiresAt.UnixNano(), null(x.IPAddress), null(x.UserAgent),
			x.UserID, x.CreatedAt.UnixNano(), x.UpdatedAt.UnixNano()); err != nil {
			return err
		}
	}
	for i := range ds.RefreshTokens {
		t := &ds.RefreshTokens[i]
		if err := exec(s.insertRefresh, t.ID, HashToken(t.Token), t.ClientID, null(t.SessionID), t.UserID,
			null(t.ReferenceID), jsonList(t.Scopes), t.ExpiresAt.UnixNano(), t.CreatedAt.UnixNano(), nullTime(t.Revoked)); err != nil {
			return err
		}
	}
	for i := range ds.AccessTokens {
		t := &ds.AccessTokens[i]
		if err := exec(s.insertAccess, t.ID, HashToken(t.Token), t.ClientID, null(t.SessionID), null(t.UserID),
			null(t.ReferenceID), null(t.RefreshID), jsonList(t.Scopes), t.ExpiresAt.UnixNano(), t.CreatedAt.UnixNano()); err != nil {
			return err
		}
	}
	for i := range ds.Consents {
		c := &ds.Consents[i]
		if err := exec(s.insertConsent, c.ID, c.ClientID, null(c.UserID), null(c.ReferenceID), jsonList(c.Scopes),
			c.CreatedAt.UnixNano(), c.UpdatedAt.UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Validate reports whether an access token is active: one query, so one
// consistent snapshot.
func (s *SQLite) Validate(token string) (bool, error) {
	var one int
	err := s.validate.QueryRow(HashToken(token), s.now().UnixNano()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// isForeignKey reports whether err is a foreign-key constraint failure.
func isForeignKey(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// Issue creates an access token and, with a user, a refresh token.
func (s *SQLite) Issue(clientID, userID, sessionID string, scopes []string) (string, string, error) {
	now := s.now()
	access := NewToken()
	accessHash := HashToken(access)
	scopesJSON := jsonList(scopes)
	var refresh, refreshHash, refreshID string
	if userID != "" {
		refresh = NewToken()
		refreshHash = HashToken(refresh)
		refreshID = NewID()
	}
	tx, err := s.db.Begin()
	if err != nil {
		return "", "", err
	}
	defer tx.Rollback()
	var disabled bool
	var clientScopes sql.NullString
	if err := tx.Stmt(s.clientDisabled).QueryRow(clientID).Scan(&disabled, &clientScopes); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", "", ErrInvalidClient
		}
		return "", "", err
	}
	if disabled {
		return "", "", ErrInvalidClient
	}
	if clientScopes.Valid {
		var allowed []string
		if err := json.Unmarshal([]byte(clientScopes.String), &allowed); err != nil {
			return "", "", fmt.Errorf("sqlite: client scopes: %w", err)
		}
		if !allowedScopes(scopes, allowed) {
			return "", "", ErrInvalidScope
		}
	}
	if sessionID != "" {
		var owner string
		var expiresAt int64
		if err := tx.Stmt(s.sessionOwner).QueryRow(sessionID).Scan(&owner, &expiresAt); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return "", "", ErrNotFound
			}
			return "", "", err
		}
		if now.UnixNano() >= expiresAt || owner != userID {
			return "", "", ErrInvalidSession
		}
	}
	if userID != "" {
		if _, err := tx.Stmt(s.insertRefresh).Exec(refreshID, refreshHash, clientID, null(sessionID), userID, nil,
			scopesJSON, now.Add(RefreshTokenTTL).UnixNano(), now.UnixNano(), nil); err != nil {
			if isForeignKey(err) {
				return "", "", ErrNotFound
			}
			return "", "", err
		}
	}
	if _, err := tx.Stmt(s.insertAccess).Exec(NewID(), accessHash, clientID, null(sessionID), null(userID), nil,
		null(refreshID), scopesJSON, now.Add(AccessTokenTTL).UnixNano(), now.UnixNano()); err != nil {
		if isForeignKey(err) {
			return "", "", ErrNotFound
		}
		return "", "", err
	}
	if err := tx.Commit(); err != nil {
		return "", "", err
	}
	return access, refresh, nil
}

// Rotate exchanges a refresh token for a new access and refresh token.
func (s *SQLite) Rotate(refresh, clientID string) (string, string, error) {
	now := s.now()
	oldHash := HashToken(refresh)
	access, newRefresh := NewToken(), NewToken()
	accessHash, newHash := HashToken(access), HashToken(newRefresh)
	newID := NewID()

	tx, err := s.db.Begin()
	if err != nil {
		return "", "", err
	}
	defer tx.Rollback()
	var (
		id, client, user, scopes string
		session, reference       sql.NullString
		expiresAt                int64
		revoked                  sql.NullInt64
		clientDisabled           sql.NullBool
		userExists               bool
		sessionExpiresAt         sql.NullInt64
	)
	err = tx.Stmt(s.refreshByToken).QueryRow(oldHash).Scan(&id, &client, &session, &user, &reference, &scopes, &expiresAt, &revoked,
		&clientDisabled, &userExists, &sessionExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrInvalidGrant
	}
	if err != nil {
		return "", "", err
	}
	if client != clientID || now.UnixNano() >= expiresAt {
		return "", "", ErrInvalidGrant
	}
	if revoked.Valid {
		if _, err := tx.Stmt(s.familyRevoke).Exec(now.UnixNano(), client, user); err != nil {
			return "", "", err
		}
		if _, err := tx.Stmt(s.familyAcc).Exec(client, user); err != nil {
			return "", "", err
		}
		if err := tx.Commit(); err != nil {
			return "", "", err
		}
		return "", "", ErrReplay
	}
	if !clientDisabled.Valid || clientDisabled.Bool || !userExists {
		return "", "", ErrInvalidGrant
	}
	if session.Valid && (!sessionExpiresAt.Valid || now.UnixNano() >= sessionExpiresAt.Int64) {
		session = sql.NullString{} // the refresh token outlives its session; the new tokens have none
	}
	res, err := tx.Stmt(s.revokeRefresh).Exec(now.UnixNano(), id)
	if err != nil {
		return "", "", err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return "", "", ErrReplay
	}
	if _, err := tx.Stmt(s.insertRefresh).Exec(newID, newHash, client, session, user, reference, scopes,
		now.Add(RefreshTokenTTL).UnixNano(), now.UnixNano(), nil); err != nil {
		return "", "", err
	}
	if _, err := tx.Stmt(s.insertAccess).Exec(NewID(), accessHash, client, session, user, reference, newID, scopes,
		now.Add(AccessTokenTTL).UnixNano(), now.UnixNano()); err != nil {
		return "", "", err
	}
	if err := tx.Commit(); err != nil {
		return "", "", err
	}
	return access, newRefresh, nil
}

func affected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// RevokeSession revokes every token of the session.
func (s *SQLite) RevokeSession(sessionID string) (int, error) {
	now := s.now().UnixNano()
	tx, err := s.db.Begin()
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n1, err := affected(tx.Stmt(s.sessionAccess).Exec(sessionID))
	if err != nil {
		return 0, err
	}
	n2, err := affected(tx.Stmt(s.sessionRefreshAccess).Exec(sessionID))
	if err != nil {
		return 0, err
	}
	n3, err := affected(tx.Stmt(s.sessionRefresh).Exec(now, sessionID))
	if err != nil {
		return 0, err
	}
	return n1 + n2 + n3, tx.Commit()
}

// Sweep deletes up to limit expired rows, oldest first; the foreign keys
// cascade (refresh → access tokens) and set null (session → tokens).
func (s *SQLite) Sweep(now time.Time, limit int) (int, error) {
	t := now.UnixNano()
	tx, err := s.db.Begin()
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n := 0
	for _, stmt := range []*sql.Stmt{s.sweepAccess, s.sweepRefresh, s.sweepSession} {
		if n >= limit {
			break
		}
		if stmt == s.sweepSession {
			if _, err := tx.Stmt(s.sweepSessionAccess).Exec(t, t, limit-n); err != nil {
				return 0, err
			}
		}
		k, err := affected(tx.Stmt(stmt).Exec(t, limit-n))
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, tx.Commit()
}

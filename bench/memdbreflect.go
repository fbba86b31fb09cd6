package bench

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/hashicorp/go-memdb"
)

// The memdb-reflect implementation: hashicorp/go-memdb used the way its
// README shows — one schema mirroring the tables, go-memdb's reflection
// indexers (StringFieldIndex, CompoundIndex), interface{} rows and string
// arguments to txn.First and txn.Get. It shows what a typed engine buys.

func init() {
	Register(Factory{Name: "memdb-reflect", New: func(now func() time.Time) (Impl, error) { return NewMemdbReflect(now) }})
}

// Row types stored in go-memdb (pointers, never modified once inserted):
// the dataset's own, a token's Token holding its hash; an access token has
// the revoked field of better-auth's table besides, which the dataset does
// not set.
type (
	mdbUser         = User
	mdbSession      = Session
	mdbClient       = Client
	mdbRefreshToken = RefreshToken
	mdbConsent      = Consent
)

type mdbAccessToken struct {
	AccessToken
	Revoked time.Time
}

// timeFieldIndex indexes a time.Time field, found by reflection like
// go-memdb's own indexers, as 8 big-endian bytes that sort in time order.
// A zero time is not indexed.
type timeFieldIndex struct {
	Field string
}

func encodeTime(t time.Time) []byte {
	buf := make([]byte, 8)
	binary.BigEndian.PutUint64(buf, uint64(t.UnixNano())^(1<<63))
	return buf
}

// FromObject returns the index key of obj's time field.
func (x *timeFieldIndex) FromObject(obj interface{}) (bool, []byte, error) {
	v := reflect.Indirect(reflect.ValueOf(obj)).FieldByName(x.Field)
	if !v.IsValid() {
		return false, nil, fmt.Errorf("field %q for %#v is invalid", x.Field, obj)
	}
	t, ok := v.Interface().(time.Time)
	if !ok {
		return false, nil, fmt.Errorf("field %q is not a time.Time", x.Field)
	}
	if t.IsZero() {
		return false, nil, nil
	}
	return true, encodeTime(t), nil
}

// FromArgs returns the index key of a time.Time argument.
func (x *timeFieldIndex) FromArgs(args ...interface{}) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("must provide only a single argument")
	}
	t, ok := args[0].(time.Time)
	if !ok {
		return nil, fmt.Errorf("argument must be a time.Time: %#v", args[0])
	}
	return encodeTime(t), nil
}

func mdbIndex(name, field string, unique, allowMissing bool) *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: name, Unique: unique, AllowMissing: allowMissing,
		Indexer: &memdb.StringFieldIndex{Field: field}}
}

func mdbTable(name string, indexes ...*memdb.IndexSchema) *memdb.TableSchema {
	t := &memdb.TableSchema{Name: name, Indexes: map[string]*memdb.IndexSchema{}}
	for _, ix := range indexes {
		t.Indexes[ix.Name] = ix
	}
	return t
}

func mdbExpiry() *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: "expiresAt", Indexer: &timeFieldIndex{Field: "ExpiresAt"}}
}

func mdbSchema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		"user": mdbTable("user",
			mdbIndex("id", "ID", true, false),
			mdbIndex("email", "Email", true, false)),
		"session": mdbTable("session",
			mdbIndex("id", "ID", true, false),
			mdbIndex("token", "Token", true, false),
			mdbIndex("userId", "UserID", false, false),
			mdbExpiry()),
		"oauthClient": mdbTable("oauthClient",
			mdbIndex("id", "ID", true, false),
			mdbIndex("clientId", "ClientID", true, false),
			mdbIndex("userId", "UserID", false, true)),
		"oauthAccessToken": mdbTable("oauthAccessToken",
			mdbIndex("id", "ID", true, false),
			mdbIndex("token", "Token", true, false),
			mdbIndex("clientId", "ClientID", false, false),
			mdbIndex("sessionId", "SessionID", false, true),
			mdbIndex("userId", "UserID", false, true),
			mdbIndex("refreshId", "RefreshID", false, true),
			mdbExpiry()),
		"oauthRefreshToken": mdbTable("oauthRefreshToken",
			mdbIndex("id", "ID", true, false),
			mdbIndex("token", "Token", true, false),
			mdbIndex("clientId", "ClientID", false, false),
			mdbIndex("sessionId", "SessionID", false, true),
			mdbIndex("userId", "UserID", false, false),
			mdbExpiry()),
		"oauthConsent": mdbTable("oauthConsent",
			mdbIndex("id", "ID", true, false),
			&memdb.IndexSchema{Name: "clientUserReference", Unique: true, AllowMissing: true,
				Indexer: &memdb.CompoundIndex{AllowMissing: true, Indexes: []memdb.Indexer{
					&memdb.StringFieldIndex{Field: "ClientID"},
					&memdb.StringFieldIndex{Field: "UserID"},
					&memdb.StringFieldIndex{Field: "ReferenceID"},
				}}},
			mdbIndex("clientId", "ClientID", false, false),
			mdbIndex("userId", "UserID", false, true)),
	}}
}

// MemdbReflect is the memdb-reflect implementation of [Impl].
type MemdbReflect struct {
	db  *memdb.MemDB
	now func() time.Time
}

// NewMemdbReflect returns an empty memdb-reflect implementation reading the
// time from now.
func NewMemdbReflect(now func() time.Time) (*MemdbReflect, error) {
	db, err := memdb.NewMemDB(mdbSchema())
	if err != nil {
		return nil, err
	}
	return &MemdbReflect{db: db, now: now}, nil
}

// Name returns "memdb-reflect".
func (m *MemdbReflect) Name() string { return "memdb-reflect" }

// Close does nothing.
func (m *MemdbReflect) Close() error { return nil }

// loadBatch is the number of rows per write transaction in Load (measured
// at 100k tokens: 500 rows 5.1 s, 2000 rows 3.9 s, 8000 rows 4.2 s): go-memdb
// tracks every node a transaction changes, so one huge transaction grows
// without bound.
const loadBatch = 2000

// Load inserts the rows of ds in transactions of loadBatch rows.
func (m *MemdbReflect) Load(ds *Dataset) error {
	txn := m.db.Txn(true)
	pending := 0
	insert := func(table string, obj interface{}) error {
		if err := txn.Insert(table, obj); err != nil {
			txn.Abort()
			return fmt.Errorf("memdb-reflect: load %s: %w", table, err)
		}
		if pending++; pending == loadBatch {
			txn.Commit()
			txn = m.db.Txn(true)
			pending = 0
		}
		return nil
	}
	for _, load := range []func() error{
		func() error { return loadRows(insert, "user", ds.Users, func(u User) any { return &u }) },
		func() error { return loadRows(insert, "oauthClient", ds.Clients, func(c Client) any { return &c }) },
		func() error { return loadRows(insert, "session", ds.Sessions, func(s Session) any { return &s }) },
		func() error {
			return loadRows(insert, "oauthRefreshToken", ds.RefreshTokens, func(t RefreshToken) any {
				t.Token = HashToken(t.Token)
				return &t
			})
		},
		func() error {
			return loadRows(insert, "oauthAccessToken", ds.AccessTokens, func(t AccessToken) any {
				t.Token = HashToken(t.Token)
				return &mdbAccessToken{AccessToken: t}
			})
		},
		func() error { return loadRows(insert, "oauthConsent", ds.Consents, func(c Consent) any { return &c }) },
	} {
		if err := load(); err != nil {
			return err // insert aborted the transaction
		}
	}
	txn.Commit()
	return nil
}

// loadRows inserts each row as stored makes it.
func loadRows[T any](insert func(table string, obj any) error, table string, rows []T, stored func(T) any) error {
	for _, r := range rows {
		if err := insert(table, stored(r)); err != nil {
			return err
		}
	}
	return nil
}

// Validate reports whether an access token is active.
func (m *MemdbReflect) Validate(token string) (bool, error) {
	now := m.now()
	txn := m.db.Txn(false)
	defer txn.Abort()
	raw, err := txn.First("oauthAccessToken", "token", HashToken(token))
	if err != nil || raw == nil {
		return false, err
	}
	at := raw.(*mdbAccessToken)
	if !now.Before(at.ExpiresAt) || !at.Revoked.IsZero() {
		return false, nil
	}
	raw, err = txn.First("oauthClient", "clientId", at.ClientID)
	if err != nil || raw == nil || raw.(*mdbClient).Disabled {
		return false, err
	}
	if at.UserID != "" {
		raw, err = txn.First("user", "id", at.UserID)
		if err != nil || raw == nil {
			return false, err
		}
	}
	if at.SessionID != "" {
		raw, err = txn.First("session", "id", at.SessionID)
		if err != nil || raw == nil || !now.Before(raw.(*mdbSession).ExpiresAt) {
			return false, err
		}
	}
	return true, nil
}

// Issue creates an access token and, with a user, a refresh token.
func (m *MemdbReflect) Issue(clientID, userID, sessionID string, scopes []string) (string, string, error) {
	now := m.now()
	scopes = slices.Clone(scopes)
	txn := m.db.Txn(true)
	defer txn.Abort()
	raw, err := txn.First("oauthClient", "clientId", clientID)
	if err != nil {
		return "", "", err
	}
	if raw == nil || raw.(*mdbClient).Disabled {
		return "", "", ErrInvalidClient
	}
	if !allowedScopes(scopes, raw.(*mdbClient).Scopes) {
		return "", "", ErrInvalidScope
	}
	if userID != "" {
		if raw, err = txn.First("user", "id", userID); err != nil || raw == nil {
			return "", "", notFound(err)
		}
	}
	if sessionID != "" {
		if raw, err = txn.First("session", "id", sessionID); err != nil || raw == nil {
			return "", "", notFound(err)
		}
		if s := raw.(*mdbSession); !now.Before(s.ExpiresAt) || s.UserID != userID {
			return "", "", ErrInvalidSession
		}
	}
	access := NewToken()
	at := &mdbAccessToken{AccessToken: AccessToken{ID: NewID(), Token: HashToken(access), ClientID: clientID,
		SessionID: sessionID, UserID: userID, Scopes: scopes, ExpiresAt: now.Add(AccessTokenTTL), CreatedAt: now}}
	var refresh string
	if userID != "" {
		refresh = NewToken()
		rt := &mdbRefreshToken{ID: NewID(), Token: HashToken(refresh), ClientID: clientID, SessionID: sessionID,
			UserID: userID, Scopes: scopes, ExpiresAt: now.Add(RefreshTokenTTL), CreatedAt: now}
		if err := txn.Insert("oauthRefreshToken", rt); err != nil {
			return "", "", err
		}
		at.RefreshID = rt.ID
	}
	if err := txn.Insert("oauthAccessToken", at); err != nil {
		return "", "", err
	}
	txn.Commit()
	return access, refresh, nil
}

func invalidGrant(err error) error {
	if err != nil {
		return err
	}
	return ErrInvalidGrant
}

func notFound(err error) error {
	if err != nil {
		return err
	}
	return ErrNotFound
}

// Rotate exchanges a refresh token for a new access and refresh token.
func (m *MemdbReflect) Rotate(refresh, clientID string) (string, string, error) {
	now := m.now()
	txn := m.db.Txn(true)
	defer txn.Abort()
	raw, err := txn.First("oauthRefreshToken", "token", HashToken(refresh))
	if err != nil {
		return "", "", err
	}
	if raw == nil {
		return "", "", ErrInvalidGrant
	}
	old := raw.(*mdbRefreshToken)
	if old.ClientID != clientID || !now.Before(old.ExpiresAt) {
		return "", "", ErrInvalidGrant
	}
	if !old.Revoked.IsZero() {
		if err := m.revokeFamily(txn, old.ClientID, old.UserID, now); err != nil {
			return "", "", err
		}
		txn.Commit()
		return "", "", ErrReplay
	}
	raw, err = txn.First("oauthClient", "clientId", old.ClientID)
	if err != nil || raw == nil || raw.(*mdbClient).Disabled {
		return "", "", invalidGrant(err)
	}
	if raw, err = txn.First("user", "id", old.UserID); err != nil || raw == nil {
		return "", "", invalidGrant(err)
	}
	sessionID := old.SessionID
	if sessionID != "" {
		raw, err = txn.First("session", "id", sessionID)
		if err != nil {
			return "", "", err
		}
		if raw == nil || !now.Before(raw.(*mdbSession).ExpiresAt) {
			sessionID = "" // the refresh token outlives its session; the new tokens have none
		}
	}
	revoked := *old
	revoked.Revoked = now
	if err := txn.Insert("oauthRefreshToken", &revoked); err != nil {
		return "", "", err
	}
	newRefresh, access := NewToken(), NewToken()
	rt := &mdbRefreshToken{ID: NewID(), Token: HashToken(newRefresh), ClientID: old.ClientID, SessionID: sessionID,
		UserID: old.UserID, ReferenceID: old.ReferenceID, Scopes: old.Scopes,
		ExpiresAt: now.Add(RefreshTokenTTL), CreatedAt: now}
	if err := txn.Insert("oauthRefreshToken", rt); err != nil {
		return "", "", err
	}
	at := &mdbAccessToken{AccessToken: AccessToken{ID: NewID(), Token: HashToken(access), ClientID: rt.ClientID,
		SessionID: rt.SessionID, UserID: rt.UserID, ReferenceID: rt.ReferenceID, RefreshID: rt.ID, Scopes: rt.Scopes,
		ExpiresAt: now.Add(AccessTokenTTL), CreatedAt: now}}
	if err := txn.Insert("oauthAccessToken", at); err != nil {
		return "", "", err
	}
	txn.Commit()
	return access, newRefresh, nil
}

// collect reads every row of an iterator (so the transaction can be written
// to afterwards).
func collect(it memdb.ResultIterator, err error) ([]interface{}, error) {
	if err != nil {
		return nil, err
	}
	var out []interface{}
	for obj := it.Next(); obj != nil; obj = it.Next() {
		out = append(out, obj)
	}
	return out, nil
}

// deleteAccessOf deletes the access tokens of a refresh token.
func deleteAccessOf(txn *memdb.Txn, refreshID string) (int, error) {
	ats, err := collect(txn.Get("oauthAccessToken", "refreshId", refreshID))
	if err != nil {
		return 0, err
	}
	for _, at := range ats {
		if err := txn.Delete("oauthAccessToken", at); err != nil {
			return 0, err
		}
	}
	return len(ats), nil
}

func (m *MemdbReflect) revokeFamily(txn *memdb.Txn, clientID, userID string, now time.Time) error {
	rts, err := collect(txn.Get("oauthRefreshToken", "userId", userID))
	if err != nil {
		return err
	}
	for _, raw := range rts {
		rt := raw.(*mdbRefreshToken)
		if rt.ClientID != clientID {
			continue
		}
		if rt.Revoked.IsZero() {
			revoked := *rt
			revoked.Revoked = now
			if err := txn.Insert("oauthRefreshToken", &revoked); err != nil {
				return err
			}
		}
		if _, err := deleteAccessOf(txn, rt.ID); err != nil {
			return err
		}
	}
	return nil
}

// RevokeSession revokes every token of the session.
func (m *MemdbReflect) RevokeSession(sessionID string) (int, error) {
	now := m.now()
	txn := m.db.Txn(true)
	defer txn.Abort()
	ats, err := collect(txn.Get("oauthAccessToken", "sessionId", sessionID))
	if err != nil {
		return 0, err
	}
	for _, at := range ats {
		if err := txn.Delete("oauthAccessToken", at); err != nil {
			return 0, err
		}
	}
	n := len(ats)
	rts, err := collect(txn.Get("oauthRefreshToken", "sessionId", sessionID))
	if err != nil {
		return 0, err
	}
	for _, raw := range rts {
		rt := raw.(*mdbRefreshToken)
		deleted, err := deleteAccessOf(txn, rt.ID)
		if err != nil {
			return 0, err
		}
		n += deleted
		if rt.Revoked.IsZero() {
			revoked := *rt
			revoked.Revoked = now
			if err := txn.Insert("oauthRefreshToken", &revoked); err != nil {
				return 0, err
			}
			n++
		}
	}
	txn.Commit()
	return n, nil
}

// expired returns up to limit rows of table whose ExpiresAt is <= now, in
// expiry order.
func expired(txn *memdb.Txn, table string, now time.Time, limit int, exp func(interface{}) time.Time) ([]interface{}, error) {
	if limit <= 0 {
		return nil, nil
	}
	it, err := txn.LowerBound(table, "expiresAt", time.Unix(0, 0))
	if err != nil {
		return nil, err
	}
	var out []interface{}
	for obj := it.Next(); obj != nil && len(out) < limit; obj = it.Next() {
		if exp(obj).After(now) {
			break
		}
		out = append(out, obj)
	}
	return out, nil
}

// Sweep deletes up to limit expired rows, oldest first.
func (m *MemdbReflect) Sweep(now time.Time, limit int) (int, error) {
	txn := m.db.Txn(true)
	defer txn.Abort()
	n := 0
	ats, err := expired(txn, "oauthAccessToken", now, limit, func(o interface{}) time.Time { return o.(*mdbAccessToken).ExpiresAt })
	if err != nil {
		return 0, err
	}
	for _, at := range ats {
		if err := txn.Delete("oauthAccessToken", at); err != nil {
			return 0, err
		}
	}
	n += len(ats)
	rts, err := expired(txn, "oauthRefreshToken", now, limit-n, func(o interface{}) time.Time { return o.(*mdbRefreshToken).ExpiresAt })
	if err != nil {
		return 0, err
	}
	for _, rt := range rts {
		if _, err := deleteAccessOf(txn, rt.(*mdbRefreshToken).ID); err != nil {
			return 0, err
		}
		if err := txn.Delete("oauthRefreshToken", rt); err != nil {
			return 0, err
		}
	}
	n += len(rts)
	ss, err := expired(txn, "session", now, limit-n, func(o interface{}) time.Time { return o.(*mdbSession).ExpiresAt })
	if err != nil {
		return 0, err
	}
	for _, raw := range ss {
		s := raw.(*mdbSession)
		ats, err := collect(txn.Get("oauthAccessToken", "sessionId", s.ID))
		if err != nil {
			return 0, err
		}
		for _, raw := range ats {
			at := *raw.(*mdbAccessToken)
			at.SessionID = ""
			if at.Revoked.IsZero() {
				at.Revoked = now // an access token does not outlive its session
			}
			if err := txn.Insert("oauthAccessToken", &at); err != nil {
				return 0, err
			}
		}
		rts, err := collect(txn.Get("oauthRefreshToken", "sessionId", s.ID))
		if err != nil {
			return 0, err
		}
		for _, raw := range rts {
			rt := *raw.(*mdbRefreshToken)
			rt.SessionID = ""
			if err := txn.Insert("oauthRefreshToken", &rt); err != nil {
				return 0, err
			}
		}
		if err := txn.Delete("session", s); err != nil {
			return 0, err
		}
	}
	n += len(ss)
	txn.Commit()
	return n, nil
}

package oauthdb

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

// A replica is a DB that follows another database's rows — better-auth's
// Postgres, through pgreplica — instead of making its own. Its rows are the
// source's, as they are: Mirror applies them with none of oauthdb's delete
// actions, since the source's cascades and set-nulls come as rows of their
// own. Its verdicts are oauthdb's: where the source's rows alone would let
// a token that was inactive become active again, the replica keeps a mark of
// its own (the tokenDeath table, which is in no snapshot), so that
//
//   - an access token whose session goes from the stream (better-auth's
//     sign-out clears sessionId in one transaction and sets revoked in a
//     later one) is inactive from that transaction on, and so is a refresh
//     token granted without offline_access;
//   - a session extended after it expired does not bring its access tokens
//     back, nor a client enabled again its tokens, nor a token's own row
//     its revocation undone or its expiry moved past after it passed.
//
// A replica refuses every write of its own (ErrReadOnly): one could only make
// it differ from its source, silently. And it fails closed: it calls no
// token active, with ErrStale, unless what keeps it in step has vouched,
// with SetFreshUntil, that its rows are current.

// ErrReadOnly: a write was made to a replica (see WithReplica), whose rows
// are its source's.
var ErrReadOnly = errors.New("read-only replica: its rows are its source's")

// WithReplica opens a replica: its rows come from Mirror and Reload only,
// every other write is refused with ErrReadOnly, and it is stale (ErrStale)
// until SetFreshUntil says otherwise. A replica never sweeps (its source
// deletes), so it keeps no expiry index: about 15% less memory per token,
// and faster loads.
func WithReplica() Option { return func(c *config) { c.replica = true } }

// IsReplica reports whether the DB was opened WithReplica.
func (db *DB) IsReplica() bool { return db.cfg.replica }

// SetFreshUntil says, on a replica, that its rows are its source's as they
// are now and may be taken as current until t, by the DB's clock: from t on,
// validation, introspection and client authentication fail closed, with
// ErrStale, until a later call moves t on. A replica opens stale; the zero
// time makes it stale at once. What keeps the replica in step (pgreplica's
// Follower) calls it as its source vouches for what it has applied. On a DB
// that is not a replica it does nothing: such a DB is its own source.
func (db *DB) SetFreshUntil(t time.Time) {
	switch {
	case t.IsZero() || t.Before(time.Unix(0, 0)):
		db.freshUntil.Store(0)
	case t.After(maxUnixNano):
		db.freshUntil.Store(math.MaxInt64) // past what UnixNano can say
	default:
		db.freshUntil.Store(t.UnixNano())
	}
}

// maxUnixNano is the last instant UnixNano represents (in 2262).
var maxUnixNano = time.Unix(0, math.MaxInt64)

// FreshUntil returns the moment from which a replica answers stale (see
// SetFreshUntil); zero when it is stale now or was never vouched for, and
// zero on a DB that is not a replica.
func (db *DB) FreshUntil() time.Time {
	n := db.freshUntil.Load()
	if n == 0 || !db.cfg.replica {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// stale reports whether a replica is stale at now. It is on the hot path:
// one atomic load.
func (db *DB) stale(now time.Time) bool {
	return db.cfg.replica && now.UnixNano() >= db.freshUntil.Load()
}

// tokenDeath marks a token that a replica holds inactive although its row
// does not say so (see above). ID is the token's kind ("a" or "r") and its
// record ID; At is when the replica marked it.
type tokenDeath struct {
	ID string
	At time.Time
}

// tableTokenDeath is the replica's table of marks: in no snapshot, since it
// is derived from the stream, not the source's.
const tableTokenDeath = "tokenDeath"

var tokenDeaths = store.NewTable(schema, tableTokenDeath, func(d *tokenDeath) string { return d.ID })

func deathID(kind string, id string) string {
	if kind == kindAccess {
		return "a" + id
	}
	return "r" + id
}

// dead reports whether a replica holds a token inactive.
func (db *DB) dead(tx *store.Txn, kind, id string) bool {
	if !db.cfg.replica {
		return false
	}
	_, ok := tokenDeaths.Get(tx, deathID(kind, id))
	return ok
}

// deathAt returns when a replica marked a token it holds inactive (see
// WithReplica), and whether it did.
func (tx *Tx) deathAt(kind, id string) (time.Time, bool) {
	if !tx.db.cfg.replica {
		return time.Time{}, false
	}
	d, ok := tokenDeaths.Get(tx.st, deathID(kind, id))
	if !ok {
		return time.Time{}, false
	}
	return d.At, true
}

// foldAccess and foldRefresh return a stored token as a replica's snapshot
// shows it (see Tx.Snapshot): a copy, revoked when it was marked, if the
// replica holds it inactive and its row does not say so.
func foldAccess(tx *Tx, t *OAuthAccessToken) *OAuthAccessToken {
	if at, ok := tx.deathAt(kindAccess, t.ID); ok && t.Revoked.IsZero() {
		c := *t
		c.Revoked = at
		return &c
	}
	return t
}

func foldRefresh(tx *Tx, t *OAuthRefreshToken) *OAuthRefreshToken {
	if at, ok := tx.deathAt(kindRefresh, t.ID); ok && t.Revoked.IsZero() {
		c := *t
		c.Revoked = at
		return &c
	}
	return t
}

// foldDeaths shows in s each token the replica holds inactive as revoked
// when it was marked, so that a DB restored from s holds it inactive too.
func (tx *Tx) foldDeaths(s *Snapshot) {
	if !tx.db.cfg.replica {
		return
	}
	for i := range s.AccessTokens {
		s.AccessTokens[i] = *foldAccess(tx, &s.AccessTokens[i])
	}
	for i := range s.RefreshTokens {
		s.RefreshTokens[i] = *foldRefresh(tx, &s.RefreshTokens[i])
	}
}

// Refusal is a source row a replica could not keep: one the door refuses
// (see validate.go), or one that names a record the replica does not have.
type Refusal struct {
	// Table and ID name the row.
	Table, ID string
	// Err says why: an *Error wrapping ErrInvalid, ErrConflict or
	// ErrForeignKey.
	Err error
}

// MirrorTx is a transaction of Mirror.
type MirrorTx struct {
	tx      *Tx
	refused []Refusal
	// sessions and clients the transaction changed, for the marks.
	before map[string]any
}

// Mirror applies, in one transaction, rows of the database a replica
// follows, as that database wrote them: Put stores a row whether it is new
// or not, Delete removes one whether or not it is still there, and nothing
// cascades. A row the replica cannot keep — one the door refuses, or one
// that at the end still names a record the replica does not have — is
// refused and listed in the result, while the rest applies. A refused row
// is not kept in any form: the replica's own row with its key goes too,
// since keeping that could keep active what the source has just revoked,
// and so do the rows that name it. Rows must come in the order the source
// wrote them: unique values are checked as each row is stored, as Postgres
// checks a unique constraint that is not deferrable (better-auth's are
// not), and foreign keys at the end. An error from fn aborts it all. Mirror
// works on a replica only.
func (db *DB) Mirror(fn func(mt *MirrorTx) error) ([]Refusal, error) {
	if !db.cfg.replica {
		return nil, fmt.Errorf("oauthdb: Mirror on a DB that is not a replica (WithReplica): %w", ErrInvalid)
	}
	var refused []Refusal
	err := db.st.Mirror(func(st *store.Txn) error {
		var err error
		refused, err = db.mirrorIn(st, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return refused, nil
}

// Reload replaces everything a replica holds with the rows fn puts, as
// Mirror would apply them to an empty replica: the initial load of a
// replica, or a resync. The new state is built off to the side, while
// readers go on reading the old one, and swapped in whole; the validation
// cache starts empty, and what watched the old state is woken. A mark the
// replica kept (see WithReplica) carries over to the token's row if the
// row is still there: the new grant that clears a mark is a new row, not
// the same one read again. An error from fn leaves the replica as it was.
func (db *DB) Reload(fn func(mt *MirrorTx) error) ([]Refusal, error) {
	if !db.cfg.replica {
		return nil, fmt.Errorf("oauthdb: Reload on a DB that is not a replica (WithReplica): %w", ErrInvalid)
	}
	side, err := db.st.Fresh()
	if err != nil {
		return nil, err
	}
	var marks []*tokenDeath
	_ = db.st.View(func(st *store.Txn) error {
		marks = slices.Collect(tokenDeaths.All(st))
		return nil
	})
	var refused []Refusal
	err = side.Mirror(func(st *store.Txn) error {
		var err error
		if refused, err = db.mirrorIn(st, fn); err != nil {
			return err
		}
		for _, m := range marks {
			var ok bool
			if kind, id := m.ID[:1], m.ID[1:]; kind == "a" {
				_, ok = accessTokens.Get(st, id)
			} else {
				_, ok = refreshTokens.Get(st, id)
			}
			if ok {
				if err := tokenDeaths.Insert(st, m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := db.st.Replace(side); err != nil {
		return nil, err
	}
	return refused, nil
}

// mirrorIn runs fn in st, a Mirror transaction, drops what dangles at its
// end and sets the marks it calls for.
func (db *DB) mirrorIn(st *store.Txn, fn func(mt *MirrorTx) error) ([]Refusal, error) {
	mt := &MirrorTx{tx: &Tx{db: db, st: st}, before: map[string]any{}}
	if err := fn(mt); err != nil {
		return nil, err
	}
	if err := mt.settle(); err != nil {
		return nil, err
	}
	if err := mt.mark(); err != nil {
		return nil, err
	}
	return mt.refused, nil
}

// settle drops what names a record that is not here, and then what named
// that, until nothing dangles.
func (mt *MirrorTx) settle() error {
	st := mt.tx.st
	for d := st.Dangling(); len(d) > 0; d = st.Dangling() {
		for _, x := range d {
			if err := st.Drop(x.Table, x.ID); err != nil {
				return err
			}
			mt.refused = append(mt.refused, Refusal{Table: x.Table, ID: store.Bound(x.ID),
				Err: &Error{Table: x.Table, Field: x.Field, Reason: "names a record the replica does not have", Err: ErrForeignKey}})
		}
	}
	return nil
}

// Put stores a row of the source: a *User, *Session, *OAuthClient,
// *OAuthAccessToken, *OAuthRefreshToken, *OAuthConsent or *Verification,
// or the same as a value. Its timestamps are kept as they are; what the door
// refuses is refused, not an error.
func (mt *MirrorTx) Put(rec any) error {
	tx := mt.tx
	var err error
	var table, id string
	switch r := deref(rec).(type) {
	case User:
		r.normalize()
		table, id, err = TableUser, r.ID, users.Insert(tx.st, &r)
	case Session:
		r.normalize()
		mt.remember(TableSession, r.ID)
		table, id, err = TableSession, r.ID, sessions.Insert(tx.st, &r)
	case OAuthClient:
		r.normalize()
		mt.remember(TableOAuthClient, r.ID)
		table, id, err = TableOAuthClient, r.ID, clients.Insert(tx.st, &r)
	case OAuthAccessToken:
		r.normalize()
		old, _ := accessTokens.Get(tx.st, r.ID)
		table, id, err = TableOAuthAccessToken, r.ID, accessTokens.Insert(tx.st, &r)
		if err == nil && old != nil && old.Token == r.Token {
			err = mt.tokenWritten(kindAccess, r.ID, accessView(old), accessView(&r), true)
		} else if err == nil {
			err = mt.tokenInserted(kindAccess, r.ID)
		}
	case OAuthRefreshToken:
		r.normalize()
		old, _ := refreshTokens.Get(tx.st, r.ID)
		table, id, err = TableOAuthRefreshToken, r.ID, refreshTokens.Insert(tx.st, &r)
		if err == nil && old != nil && old.Token == r.Token {
			err = mt.tokenWritten(kindRefresh, r.ID, refreshView(old), refreshView(&r), !slices.Contains(r.Scopes, ScopeOfflineAccess))
		} else if err == nil {
			err = mt.tokenInserted(kindRefresh, r.ID)
		}
	case OAuthConsent:
		r.normalize()
		table, id, err = TableOAuthConsent, r.ID, consents.Insert(tx.st, &r)
	case Verification:
		r.normalize()
		table, id, err = TableVerification, r.ID, verifications.Insert(tx.st, &r)
	default:
		return fmt.Errorf("oauthdb: Mirror: a %T is no record: %w", rec, ErrInvalid)
	}
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	// The row as the replica holds it is no longer the source's: keeping
	// it could keep active what the source has just revoked or disabled,
	// so it goes, and with it what names it (see Mirror).
	if id != "" {
		if err := mt.Delete(table, id); err != nil {
			return err
		}
	}
	mt.refused = append(mt.refused, Refusal{Table: table, ID: store.Bound(id), Err: err})
	return nil
}

// Get returns the replica's row of table with the primary key id, as the
// transaction leaves it so far: a User, Session, OAuthClient, ... value, as
// Put takes them. A source that sends only the columns a change touched
// (Postgres leaves out a TOASTed value an UPDATE did not change) completes
// its row from it.
func (mt *MirrorTx) Get(table, id string) (any, bool) {
	if table == tableTokenDeath {
		return nil, false
	}
	rec, ok := mt.tx.st.Record(table, id)
	if !ok {
		return nil, false
	}
	return recordValue(rec), true
}

// Truncate removes every row of table, as the source's TRUNCATE does.
func (mt *MirrorTx) Truncate(table string) error {
	ids, err := mt.tx.st.IDs(table)
	if err != nil || table == tableTokenDeath {
		return fmt.Errorf("oauthdb: Mirror: no table %q: %w", store.Bound(table), ErrInvalid)
	}
	for _, id := range ids {
		if err := mt.Delete(table, id); err != nil {
			return err
		}
	}
	return nil
}

// PutAll puts every row of s, as Put does: a replica loaded (with Reload) or
// brought up to date from a snapshot of its source's rows. It stops at the
// first error; a refused row is none.
func (mt *MirrorTx) PutAll(s Snapshot) error {
	return errors.Join(putRows(mt, s.Users), putRows(mt, s.Sessions), putRows(mt, s.Clients),
		putRows(mt, s.RefreshTokens), putRows(mt, s.AccessTokens), putRows(mt, s.Consents), putRows(mt, s.Verifications))
}

func putRows[T any](mt *MirrorTx, recs []T) error {
	for _, r := range recs {
		if err := mt.Put(r); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the source's row of table with the primary key id; one not
// here (refused before, or gone with a cascade) is no error.
func (mt *MirrorTx) Delete(table, id string) error {
	switch table {
	case TableUser, TableOAuthConsent, TableVerification:
	case TableSession, TableOAuthClient:
		mt.remember(table, id)
	case TableOAuthAccessToken, TableOAuthRefreshToken:
		kind := kindAccess
		if table == TableOAuthRefreshToken {
			kind = kindRefresh
		}
		if err := mt.tx.st.Drop(tableTokenDeath, deathID(kind, id)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("oauthdb: Mirror: no table %q: %w", store.Bound(table), ErrInvalid)
	}
	return mt.tx.st.Drop(table, id)
}

// deref returns a record given by pointer as its value, and anything else
// as it is.
func deref(rec any) any {
	if v := recordValue(rec); v != nil {
		return v
	}
	return rec
}

// remember keeps a session or client as it was before the transaction
// first changed it.
func (mt *MirrorTx) remember(table, id string) {
	key := table + "\x00" + id
	if _, ok := mt.before[key]; ok {
		return
	}
	var old any
	switch table {
	case TableSession:
		if s, ok := sessions.Get(mt.tx.st, id); ok {
			old = s
		}
	case TableOAuthClient:
		if c, ok := clients.Get(mt.tx.st, id); ok {
			old = c
		}
	}
	mt.before[key] = old
}

// tokenInserted clears a token's mark: a new row, or a row that holds
// another token now, is a new grant.
func (mt *MirrorTx) tokenInserted(kind, id string) error {
	return mt.tx.st.Drop(tableTokenDeath, deathID(kind, id))
}

// tokenWritten marks a token whose row, rewritten from old to row, would
// make it active again although it was not: its revocation undone, its
// expiry moved past after it had passed, or, in strict mode, its session
// cleared while it was unrevoked (a token that dies with its session:
// sessionBound).
func (mt *MirrorTx) tokenWritten(kind, id string, old, row tokenView, sessionBound bool) error {
	now := mt.tx.db.now()
	unrevoked := !old.revoked.IsZero() && row.revoked.IsZero()
	unexpired := !now.Before(old.expiresAt) && now.Before(row.expiresAt)
	lost := sessionBound && !mt.tx.db.cfg.lenientSessions &&
		old.sessionID != "" && row.sessionID == "" && row.revoked.IsZero()
	if !unrevoked && !unexpired && !lost {
		return nil
	}
	st := mt.tx.st
	if _, ok := tokenDeaths.Get(st, deathID(kind, id)); ok {
		return nil // the first mark's moment stands
	}
	at := now
	if unrevoked {
		at = old.revoked
	}
	return tokenDeaths.Insert(st, &tokenDeath{ID: deathID(kind, id), At: at})
}

// mark gives the marks that the transaction's sessions and clients call
// for, as the commit leaves them: an expired session extended marks its
// access tokens (strict mode), a disabled client enabled marks its tokens.
func (mt *MirrorTx) mark() error {
	tx := mt.tx
	now := tx.db.now()
	var marks []string
	for _, old := range mt.before {
		switch o := old.(type) {
		case *Session:
			s, ok := sessions.Get(tx.st, o.ID)
			if ok && !tx.db.cfg.lenientSessions && !now.Before(o.ExpiresAt) && now.Before(s.ExpiresAt) {
				for t := range sessionAccessTokens.Get(tx.st, s) {
					marks = append(marks, deathID(kindAccess, t.ID))
				}
			}
		case *OAuthClient:
			c, ok := clients.Get(tx.st, o.ID)
			if ok && o.Disabled && !c.Disabled {
				for t := range clientAccessTokens.Get(tx.st, c) {
					marks = append(marks, deathID(kindAccess, t.ID))
				}
				for t := range clientRefreshTokens.Get(tx.st, c) {
					marks = append(marks, deathID(kindRefresh, t.ID))
				}
			}
		}
	}
	for _, m := range marks {
		if _, ok := tokenDeaths.Get(tx.st, m); ok {
			continue // the first mark's moment stands
		}
		if err := tokenDeaths.Insert(tx.st, &tokenDeath{ID: m, At: now}); err != nil {
			return err
		}
	}
	return nil
}

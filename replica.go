package oauthdb

import (
	"errors"
	"fmt"
	"math"
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
//   - a session extended after it expired does not bring back the tokens
//     bound to it (its access tokens, its refresh tokens without
//     offline_access), nor a client enabled again its tokens, nor a token's
//     own row its revocation undone, its expiry moved past after it passed,
//     or its session's end escaped (a live session named instead, or
//     offline_access added).
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
// deletes), so it keeps no sweep queue.
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

// fields is a mark's field list, for a replica's snapshot.
func (d *tokenDeath) fields(c fieldCodec) {
	c.text("id", &d.ID)
	c.time("at", &d.At)
}

// tableTokenDeath is the replica's table of marks: none of its source's
// rows, no event of its feed, and in its snapshot a section of its own (see
// WriteSnapshot), since it is derived from the stream, not the source's.
const tableTokenDeath = "tokenDeath"

var tokenDeaths = store.NewTable(schema, tableTokenDeath, func(d *tokenDeath) string { return d.ID })

// sourcePosition is, on a replica, the position in its source's log that
// its rows are as of (see MirrorTx.SetPosition): one row, written in the
// transaction that applies what it describes, so that a snapshot, which
// reads one transaction, carries the rows and their position as of the
// same moment.
type sourcePosition struct {
	ID       string // always positionID
	Position string
}

const (
	tableSourcePosition = "sourcePosition"
	positionID          = "source"
)

var sourcePositions = store.NewTable(schema, tableSourcePosition, func(p *sourcePosition) string { return p.ID })

// MaxPositionLen is the longest position a replica keeps (SetPosition).
const MaxPositionLen = 1024

// SetPosition records, with the rows this transaction applies, the
// position in the source's log that the replica's rows are as of: what
// keeps the replica in step says where it would resume from (pgreplica
// writes the source's identity and an LSN); the DB only keeps it, and
// WriteSnapshot and ReadSnapshot carry it with the rows. A Reload starts
// with none. A position longer than MaxPositionLen is ErrInvalid.
func (mt *MirrorTx) SetPosition(pos string) error {
	if len(pos) > MaxPositionLen {
		return fmt.Errorf("oauthdb: Mirror: a position of %d bytes, more than MaxPositionLen: %w", len(pos), ErrInvalid)
	}
	return sourcePositions.Insert(mt.tx.st, &sourcePosition{ID: positionID, Position: pos})
}

// Position returns the position a replica's rows are as of, as the last
// SetPosition (or a snapshot read) left it; "" if none did.
func (db *DB) Position() string {
	var pos string
	_ = db.st.View(func(st *store.Txn) error {
		pos = positionIn(st)
		return nil
	})
	return pos
}

func positionIn(st *store.Txn) string {
	if p, ok := sourcePositions.Get(st, positionID); ok {
		return p.Position
	}
	return ""
}

// deathID is the id of a mark: the mark of its kind of token (tokenKind)
// and the token's id.
func deathID(mark byte, id string) string { return string(mark) + id }

// dead reports whether a replica holds a token inactive.
func (db *DB) dead(tx *store.Txn, mark byte, id string) bool {
	if !db.cfg.replica {
		return false
	}
	_, ok := tokenDeaths.Get(tx, deathID(mark, id))
	return ok
}

// deathAt returns when a replica marked a token it holds inactive (see
// WithReplica), and whether it did.
func (tx *Tx) deathAt(mark byte, id string) (time.Time, bool) {
	if !tx.db.cfg.replica {
		return time.Time{}, false
	}
	d, ok := tokenDeaths.Get(tx.st, deathID(mark, id))
	if !ok {
		return time.Time{}, false
	}
	return d.At, true
}

// Mark is a token a replica holds inactive although its row does not say so
// (see WithReplica): what a replica shares with the others of its fleet,
// which may not have seen what made it (pgreplica's shared marks).
type Mark struct {
	// Table is TableOAuthAccessToken or TableOAuthRefreshToken, and ID the
	// token's record ID.
	Table, ID string
	// Token is the token's stored hash: a mark is of that row only, not of
	// a new grant that came to use the same ID.
	Token string
	// At is the moment of the mark.
	At time.Time
}

// Marks returns the marks of a replica, in ID order; none on another DB.
func (db *DB) Marks() []Mark {
	var out []Mark
	_ = db.st.View(func(st *store.Txn) error {
		for d := range tokenDeaths.All(st) {
			k := kindOfMark(d.ID)
			m := Mark{ID: d.ID[1:], At: d.At}
			if _, hash, ok := k.stored(st, m.ID); ok {
				m.Table, m.Token = k.tableName(), hash
				out = append(out, m)
			}
		}
		return nil
	})
	return out
}

// Mark marks a token inactive as m says, as though the replica had made
// the mark itself: a mark shared by another replica. A mark whose token is
// not here, or is here with another token (a new grant), is of no row of
// this replica and changes nothing; the first mark's moment stands.
func (mt *MirrorTx) Mark(m Mark) error {
	st := mt.tx.st
	k := kindOfTable(m.Table)
	if k == nil {
		return fmt.Errorf("oauthdb: Mirror: a mark of table %q: %w", store.Bound(m.Table), ErrInvalid)
	}
	_, token, _ := k.stored(st, m.ID)
	if token == "" || token != m.Token || m.At.IsZero() {
		return nil
	}
	return mt.markAt(k.markID(m.ID), m.At.UTC())
}

// insertMark writes a mark the transaction's state does not hold yet.
func (mt *MirrorTx) insertMark(d *tokenDeath) error {
	mt.unmarked = false
	return tokenDeaths.Insert(mt.tx.st, d)
}

// foldDeaths shows in s each token the replica holds inactive as revoked
// when it was marked, so that a DB restored from s holds it inactive too.
func (tx *Tx) foldDeaths(s *Snapshot) {
	if !tx.db.cfg.replica {
		return
	}
	for _, k := range tokenKinds {
		k.fold(tx, s)
	}
}

// fold shows the tokens of k in s as foldDeaths says: revoked when they
// were marked, unless their rows say they were revoked.
func (k *tokenKind[T]) fold(tx *Tx, s *Snapshot) {
	rows := *k.table.rows(s)
	for i := range rows {
		t := &rows[i]
		if at, ok := tx.deathAt(k.mark, k.table.Key(t)); ok && k.revoked(t).IsZero() {
			*k.revoked(t) = at
		}
	}
}

// Refusal is a source row a replica could not keep: one the door refuses
// (see recordcheck.go), or one that names a record the replica does not have.
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
	// prior is, in a Reload, the state being replaced: the rows as they
	// were before, which the marks compare the new ones with. In a Mirror,
	// tx's own state before each write is.
	prior *store.Txn
	// markTime is what the marks that depend on the time are decided as
	// of (SetMarkTime); zero for the DB's clock now.
	markTime time.Time
	// rewritten are the token rows it wrote over rows of the same token,
	// as they were: whether the new row escapes the end of a session is
	// judged at the end, when every row of the transaction is in.
	rewritten []rewrite
	// lastRewrite is, for each token in rewritten, the index of its last
	// entry there: a new row of the token drops its entries without a
	// walk of them all (a resync writes every token it holds again).
	lastRewrite map[rewriteKey]int
	// unmarked is true while the transaction's state holds no mark at
	// all, as a Reload's starts: a new row then has no mark to clear.
	unmarked bool
}

// rewrite is a token row as it was before a Mirror transaction wrote it
// again.
type rewrite struct {
	kind tokenTable // nil once a new row of the token dropped it
	old  tokenView
	// prev is the index in rewritten of the same token's entry before
	// this one, or -1.
	prev int
}

// rewriteKey names a token in MirrorTx.lastRewrite.
type rewriteKey struct {
	kind tokenTable
	id   string
}

// SetMarkTime sets the moment as of which the transaction's marks that
// depend on the time are decided, and which they record: an expired session
// extended, a token's expiry moved on after it passed, a token row that
// escapes the end of its session. The default is the DB's clock now, when
// the transaction is mirrored.
//
// A replica that may mirror a transaction again later (after a crash, from
// a saved state) needs the same marks both times, so they must not depend
// on when it runs: pgreplica's Follower sets the source's commit time plus
// its MaxLag, the last moment at which a replica that was fresh can have
// answered from the rows the transaction replaces. A row that was expired
// as of that moment and is extended is marked; one extended before is not,
// however late it is mirrored.
func (mt *MirrorTx) SetMarkTime(t time.Time) { mt.markTime = t }

// decidedAt returns the moment the transaction's marks are decided as of.
func (mt *MirrorTx) decidedAt() time.Time {
	if mt.markTime.IsZero() {
		return mt.tx.db.now()
	}
	return mt.markTime
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
		refused, err = db.mirrorWith(db.mirrorTx(st, nil, false), fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return refused, nil
}

// Reload replaces everything a replica holds with the rows fn puts: the
// initial load of a replica, or a resync. The new state is built off to the
// side, while readers go on reading the old one, and swapped in whole; the
// validation cache starts empty, and what watched the old state is woken.
//
// Whatever happened at the source between the rows the replica held and
// the rows fn puts is judged as one transaction of Mirror from the first to
// the second: a token the replica held inactive stays so (its revocation
// undone, its session gone while it was unrevoked, its client enabled
// again, its expired session extended, its expiry moved on after it
// passed), and a mark the replica kept (see WithReplica) carries over to
// the token's row if the row is still there. The new grant that clears a
// mark is a new row, not the same one read again. An error from fn leaves
// the replica as it was.
func (db *DB) Reload(fn func(mt *MirrorTx) error) ([]Refusal, error) {
	if !db.cfg.replica {
		return nil, fmt.Errorf("oauthdb: Reload on a DB that is not a replica (WithReplica): %w", ErrInvalid)
	}
	side, err := db.st.Fresh()
	if err != nil {
		return nil, err
	}
	var refused []Refusal
	err = db.st.View(func(prior *store.Txn) error {
		return side.Mirror(func(st *store.Txn) error {
			mt := db.mirrorTx(st, prior, true)
			var err error
			if refused, err = db.mirrorWith(mt, fn); err != nil {
				return err
			}
			// The marks kept carry over, with their first moment.
			for m := range tokenDeaths.All(prior) {
				if _, _, ok := kindOfMark(m.ID).stored(st, m.ID[1:]); !ok {
					continue
				}
				// A mirror transaction's insert replaces a mark the
				// transaction made again, keeping the first moment.
				if err := mt.insertMark(m); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if err := db.st.Replace(side); err != nil {
		return nil, err
	}
	return refused, nil
}

// mirrorTx returns a MirrorTx over st, a store's Mirror transaction: in a
// Reload prior is the state being replaced (nil otherwise), and empty says
// that st started from an empty state, one built off to the side.
func (db *DB) mirrorTx(st, prior *store.Txn, empty bool) *MirrorTx {
	return &MirrorTx{tx: &Tx{db: db, st: st}, before: map[string]any{}, prior: prior, unmarked: empty}
}

// mirrorWith runs fn in mt, drops what dangles at its end and sets the
// marks it calls for.
func (db *DB) mirrorWith(mt *MirrorTx, fn func(mt *MirrorTx) error) ([]Refusal, error) {
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
	for _, t := range tables {
		if ok, err := t.mirrorRecord(mt, rec); ok {
			return err
		}
	}
	return errNoRecord("Mirror", rec)
}

func (t *tableOf[T]) mirrorRecord(mt *MirrorTx, rec any) (bool, error) {
	r, ok := t.of(rec)
	if !ok {
		return false, nil
	}
	return true, t.mirror(mt, r)
}

// mirror stores r, a row of the source, as Put says. It changes r.
func (t *tableOf[T]) mirror(mt *MirrorTx, r *T) error {
	t.normalize(r)
	id := t.Key(r)
	mt.remember(t, id)
	var old *T
	if t.tokens != nil {
		old, _ = t.Get(mt.was(), id)
	}
	err := t.Insert(mt.tx.st, r)
	if err == nil && t.tokens != nil {
		err = t.tokens.mirrored(mt, old, r)
	}
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	// The row as the replica holds it is no longer the source's: keeping
	// it could keep active what the source has just revoked or disabled,
	// so it goes, and with it what names it (see Mirror).
	if id != "" {
		if err := t.mirrorDelete(mt, id); err != nil {
			return err
		}
	}
	mt.refused = append(mt.refused, Refusal{Table: t.name, ID: store.Bound(id), Err: err})
	return nil
}

// mirrored sets or clears the mark of a token whose row a Mirror has just
// stored over old (nil if there was none): a row of the same token is
// judged (tokenWritten), a new one is a new grant (tokenInserted).
func (k *tokenKind[T]) mirrored(mt *MirrorTx, old, row *T) error {
	if old != nil && k.hash(old) == k.hash(row) {
		return mt.tokenWritten(k, k.view(old), k.view(row))
	}
	return mt.tokenInserted(k, k.table.Key(row))
}

// Get returns the replica's row of table with the primary key id, as the
// transaction leaves it so far: a User, Session, OAuthClient, ... value, as
// Put takes them. A source that sends only the columns a change touched
// (Postgres leaves out a TOASTed value an UPDATE did not change) completes
// its row from it.
func (mt *MirrorTx) Get(table, id string) (any, bool) {
	t := tableNamed(table)
	if t == nil {
		return nil, false
	}
	rec := t.value(t.get(mt.tx.st, id))
	return rec, rec != nil
}

// Truncate removes every row of table, as the source's TRUNCATE does.
func (mt *MirrorTx) Truncate(table string) error {
	ids, err := mt.tx.st.IDs(table)
	if err != nil || tableNamed(table) == nil {
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
	for _, t := range tables {
		if err := t.mirrorAll(mt, s); err != nil {
			return err
		}
	}
	return nil
}

func (t *tableOf[T]) mirrorAll(mt *MirrorTx, s Snapshot) error {
	return t.eachRow(s, func(r *T) error { return t.mirror(mt, r) })
}

// Delete removes the source's row of table with the primary key id; one not
// here (refused before, or gone with a cascade) is no error.
func (mt *MirrorTx) Delete(table, id string) error {
	t := tableNamed(table)
	if t == nil {
		return fmt.Errorf("oauthdb: Mirror: no table %q: %w", store.Bound(table), ErrInvalid)
	}
	return t.mirrorDelete(mt, id)
}

func (t *tableOf[T]) mirrorDelete(mt *MirrorTx, id string) error {
	mt.remember(t, id)
	if t.tokens != nil {
		if err := mt.tx.st.Drop(tableTokenDeath, t.tokens.markID(id)); err != nil {
			return err
		}
	}
	return mt.tx.st.Drop(t.name, id)
}

// was returns the state that holds a row as it was before the
// transaction: the one being replaced in a Reload, the transaction's own in
// a Mirror (read before the row is written).
func (mt *MirrorTx) was() *store.Txn {
	if mt.prior != nil {
		return mt.prior
	}
	return mt.tx.st
}

// remember keeps a session or client as it was before the transaction
// first changed it: the rows whose changes mark tokens (see mark).
func (mt *MirrorTx) remember(t table, id string) {
	name := t.tableName()
	if name != TableSession && name != TableOAuthClient {
		return
	}
	key := name + "\x00" + id
	if _, ok := mt.before[key]; !ok {
		mt.before[key] = t.get(mt.was(), id)
	}
}

// tokenInserted clears a token's mark: a new row, or a row that holds
// another token now, is a new grant, whatever its row was earlier in the
// transaction.
func (mt *MirrorTx) tokenInserted(kind tokenTable, id string) error {
	key := rewriteKey{kind, id}
	if i, ok := mt.lastRewrite[key]; ok {
		for ; i >= 0; i = mt.rewritten[i].prev {
			mt.rewritten[i].kind = nil
		}
		delete(mt.lastRewrite, key)
	}
	if mt.unmarked {
		return nil // a load's token rows: the lookup would cost a tenth of their insert
	}
	return mt.tx.st.Drop(tableTokenDeath, kind.markID(id))
}

// tokenWritten marks a token whose row, rewritten from old to row, would
// make it active again although it was not: its revocation undone, its
// expiry moved later after it had passed (as of decidedAt), or, in strict
// mode, its session cleared while it was unrevoked (a token bound to its
// session). Whether the row escapes a session that had ended is judged at
// the end (mark).
func (mt *MirrorTx) tokenWritten(kind tokenTable, old, row tokenView) error {
	key, prev := rewriteKey{kind, old.id}, -1
	if i, ok := mt.lastRewrite[key]; ok {
		prev = i
	}
	if mt.lastRewrite == nil {
		mt.lastRewrite = make(map[rewriteKey]int)
	}
	mt.lastRewrite[key] = len(mt.rewritten)
	mt.rewritten = append(mt.rewritten, rewrite{kind: kind, old: old, prev: prev})
	now := mt.decidedAt()
	unrevoked := !old.revoked.IsZero() && row.revoked.IsZero()
	unexpired := !now.Before(old.expiresAt) && old.expiresAt.Before(row.expiresAt)
	lost := mt.tx.db.boundToSession(old) && old.sessionID != "" && row.sessionID == "" && row.revoked.IsZero()
	if !unrevoked && !unexpired && !lost {
		return nil
	}
	at := now
	if unrevoked {
		at = old.revoked
	}
	return mt.markAt(kind.markID(row.id), at)
}

// markAt marks a token inactive from at, unless it is marked already: the
// first mark's moment stands.
func (mt *MirrorTx) markAt(death string, at time.Time) error {
	st := mt.tx.st
	if _, ok := tokenDeaths.Get(st, death); ok {
		return nil
	}
	return mt.insertMark(&tokenDeath{ID: death, At: at})
}

// sessionEnded reports whether a token of view v is bound to a session that
// has ended at now: by the sessions as they were before the transaction
// changed them (before), or as they are.
func (mt *MirrorTx) sessionEnded(v tokenView, now time.Time, before bool) bool {
	if !mt.tx.db.boundToSession(v) {
		return false
	}
	if v.sessionID == "" {
		return true // a refresh token of a code whose session was deleted
	}
	s, ok := sessions.Get(mt.tx.st, v.sessionID)
	if was, changed := mt.before[TableSession+"\x00"+v.sessionID]; before && changed {
		s, ok = was.(*Session)
	}
	return !ok || s == nil || !now.Before(s.ExpiresAt)
}

// mark gives the marks that the transaction's sessions, clients and token
// rows call for, as the commit leaves them, as of decidedAt: a session
// expired and extended marks the tokens bound to it (strict mode), a
// disabled client enabled marks its tokens, and a token row rewritten so
// that it escapes the end of its session — a live session named, or
// offline_access added — is marked.
func (mt *MirrorTx) mark() error {
	tx := mt.tx
	now := mt.decidedAt()
	var marks []string
	for _, w := range mt.rewritten {
		if w.kind == nil {
			continue // the token has a new row since
		}
		row, _, ok := w.kind.stored(tx.st, w.old.id)
		if ok && row.revoked.IsZero() && mt.sessionEnded(w.old, now, true) && !mt.sessionEnded(row, now, false) {
			marks = append(marks, w.kind.markID(row.id))
		}
	}
	for _, old := range mt.before {
		switch o := old.(type) {
		case *Session:
			s, ok := sessions.Get(tx.st, o.ID)
			if ok && !tx.db.cfg.lenientSessions && !now.Before(o.ExpiresAt) && o.ExpiresAt.Before(s.ExpiresAt) {
				for t := range sessionAccessTokens.Get(tx.st, s) {
					marks = append(marks, accessKind.markID(t.ID))
				}
				for t := range sessionRefreshTokens.Get(tx.st, s) {
					if tx.db.boundToSession(refreshView(t)) {
						marks = append(marks, refreshKind.markID(t.ID))
					}
				}
			}
		case *OAuthClient:
			c, ok := clients.Get(tx.st, o.ID)
			if ok && o.Disabled && !c.Disabled {
				for t := range clientAccessTokens.Get(tx.st, c) {
					marks = append(marks, accessKind.markID(t.ID))
				}
				for t := range clientRefreshTokens.Get(tx.st, c) {
					marks = append(marks, refreshKind.markID(t.ID))
				}
			}
		}
	}
	for _, m := range marks {
		if err := mt.markAt(m, now); err != nil {
			return err
		}
	}
	return nil
}

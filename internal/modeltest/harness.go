// Package modeltest runs oauthdb and the reference model (internal/refmodel)
// side by side: the same operations go to both, and after every one they
// must agree on its result, its error kind and every table, oauthdb must
// pass its own audit (DB.Verify), and no record may hold a plaintext token.
//
// Its tests drive it in four ways:
//
//	go test ./internal/modeltest                       # CI: 5,000 random steps, fuzz seeds, regressions, concurrency
//	go test ./internal/modeltest -run TestModel -model.steps=1000000   # a long run (about 2 minutes per million)
//	go test ./internal/modeltest -run TestModel -model.seed=N -model.len=150   # replay the run a failure names
//	go test ./internal/modeltest -run XXX -fuzz FuzzOps -parallel 1    # also FuzzTokenValidation, FuzzInsertRecord
//	go test -race ./internal/modeltest -run Concurrent                 # readers and writers at once
//
// A failure prints its seed and the run shrunk to the steps that still
// fail. Known bugs not fixed yet are listed in knownBugs: the generator
// steers around them, and -model.bugs=name (or all) generates them anyway.
package modeltest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/refmodel"
)

// Clock is a fake clock, safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// Epoch is where every test's clock starts.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// NewClock returns a clock at Epoch.
func NewClock() *Clock {
	c := &Clock{}
	c.ns.Store(Epoch.UnixNano())
	return c
}

// Now returns the clock's time, in UTC.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Token lifetimes of every test DB: short, so that a few clock steps expire
// tokens.
const (
	AccessTTL  = 10 * time.Minute
	RefreshTTL = time.Hour
)

// Harness holds a DB, the model and what the test has seen: the plaintext
// tokens it can present again.
type Harness struct {
	Clock   *Clock
	DB      *oauthdb.DB
	Model   *refmodel.Model
	Lenient bool

	// hash is how the DB stores a token.
	hash func(string) string
	// opts open another DB like this one, with the same clock and the
	// same stream of randomness.
	opts []oauthdb.Option

	access, refresh []string
	// secrets must never appear in a stored field or an error: every
	// plaintext token and, for errors, every secret value and hash.
	plaintexts []string
	secrets    []string
	// arbitraryInput is set when operations are not the generator's, so
	// that secretMark may stand in fields that are not secret.
	arbitraryInput bool
	// stats, if not nil, counts outcomes by operation.
	stats map[string]int
	op    string
	// step counts the operations applied; dead holds, by kind and
	// plaintext, the tokens seen inactive and since when (liveness.go).
	step int
	dead map[string]string
	// replica follows DB's rows (replica.go).
	replica *replica
}

func (h *Harness) outcomeOf(err error) string {
	k := KindOf(err)
	if k.Type == "" {
		return h.op + ": ok"
	}
	return h.op + ": " + strings.Join(k.Is, ", ")
}

// Secret values the generator writes into secret fields (token hashes,
// session tokens, identifiers) all hold this, so that errors can be checked
// for leaks.
const secretMark = "secret-"

// prefixHasher stores a token as "h:" and its default hash: a hasher other
// than the default, for the runs that configure one.
type prefixHasher struct{}

func (prefixHasher) AppendHash(dst []byte, token string) []byte {
	return append(append(dst, "h:"...), refmodel.Hash(token)...)
}

func prefixHash(token string) string { return "h:" + refmodel.Hash(token) }

// NewHarness opens a DB and a model with the same clock and options; seed
// seeds the DB's randomness. One seed in three configures a hasher other
// than the default; every other pair of seeds turns the validation cache
// off, so that the cached and the cold paths are both held to the model.
func NewHarness(seed uint64, lenient bool) *Harness {
	clock := NewClock()
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	opts := []oauthdb.Option{
		oauthdb.WithClock(clock.Now),
		oauthdb.WithRandom(rand.NewChaCha8(key)),
		oauthdb.WithTokenLifetimes(AccessTTL, RefreshTTL),
	}
	if lenient {
		opts = append(opts, oauthdb.WithLenientSessions())
	}
	if seed/2%2 == 1 {
		opts = append(opts, oauthdb.WithValidationCache(0))
	}
	// One seed in three (not the hasher's third) gives rotations a grace
	// window.
	var reuse time.Duration
	if seed%3 == 1 {
		reuse = 5 * time.Minute
		opts = append(opts, oauthdb.WithRefreshReuseInterval(reuse))
	}
	hash := refmodel.Hash
	if seed%3 == 2 {
		opts = append(opts, oauthdb.WithHasher(prefixHasher{}))
		hash = prefixHash
	}
	db, err := oauthdb.Open(opts...)
	if err != nil {
		panic(err)
	}
	h := &Harness{
		Clock:   clock,
		DB:      db,
		opts:    opts,
		Lenient: lenient,
		hash:    hash,
		Model: refmodel.New(refmodel.Config{Now: clock.Now, Lenient: lenient,
			AccessTTL: AccessTTL, RefreshTTL: RefreshTTL, Hash: hash, ReuseInterval: reuse}),
	}
	h.dead = map[string]string{}
	h.replica = newReplica(opts)
	for _, p := range knownPlaintexts {
		h.sawAccess(p)
	}
	for _, s := range clientSecrets {
		h.plaintexts = append(h.plaintexts, s)
		h.secrets = append(h.secrets, s)
	}
	return h
}

// knownPlaintexts are tokens whose hashes the generator stores directly, so
// that rows inserted by hand can be presented too.
var knownPlaintexts = []string{"plain-0", "plain-1", "plain-2"}

func (h *Harness) sawAccess(p string) {
	h.access = append(h.access, p)
	h.plaintexts = append(h.plaintexts, p)
	h.secrets = append(h.secrets, p, h.hash(p))
}

func (h *Harness) sawRefresh(p string) {
	h.refresh = append(h.refresh, p)
	h.plaintexts = append(h.plaintexts, p)
	h.secrets = append(h.secrets, p, h.hash(p))
}

func (h *Harness) token(r TokenRef) string {
	list := h.access
	switch r.List {
	case refRefresh:
		list = h.refresh
	case refLiteral:
		return r.Lit
	}
	if len(list) == 0 {
		return r.Lit
	}
	// Idx counts from the newest token.
	return list[len(list)-1-r.Idx%len(list)]
}

// rowID resolves a row reference: the ref-th ID of a table, or id.
func rowID(ids []string, ref int, id string) string {
	if ref < 0 || len(ids) == 0 {
		return id
	}
	return ids[ref%len(ids)]
}

// Apply runs op on the DB and the model and compares what they return, then
// checks the invariants. A non-nil error is a divergence or a broken
// invariant.
func (h *Harness) Apply(op Op) error {
	h.step++
	h.rewrites(op)
	if err := h.apply(op); err != nil {
		return err
	}
	return h.Check()
}

func (h *Harness) apply(op Op) error {
	if h.stats != nil {
		h.op = strings.ReplaceAll(reflect.TypeOf(op).Name(), "github.com/oauthdb/oauthdb.", "")
		switch op := op.(type) {
		case Delete:
			h.op += " " + op.Table
		case RevokeBy:
			h.op += " " + op.By
		case Consent:
			h.op += " " + op.Do
		}
	}
	db, m := h.DB, h.Model
	if _, ok := resolve(m, op); ok {
		// Committed even when the write fails: a failed write must leave
		// no trace.
		return h.batch([]Op{op}, false)
	}
	switch op := op.(type) {
	case Advance:
		h.Clock.Advance(op.D)
		return nil
	case Batch:
		return h.batch(op.Ops, op.Abort)
	case Issue:
		var got oauthdb.IssuedTokens
		var err error
		if op.InTx {
			db.Update(func(tx *oauthdb.Tx) error {
				got, err = tx.IssueTokens(op.Req)
				return nil
			})
		} else {
			got, err = db.IssueTokens(op.Req)
		}
		want, merr := m.IssueTokens(op.Req, fresh(got, err))
		return h.issued(got, err, want, merr)
	case Validate:
		return sameOn(h, h.token(op.Tok), db.ValidateAccessToken, m.ValidateAccessToken)
	case Introspect:
		tok := h.token(op.Tok)
		client := op.Client
		if op.Own {
			if t, ok := h.accessRecord(tok); ok {
				client = t.ClientID
			}
		}
		got, err := db.IntrospectAccessToken(tok, client)
		want, merr := m.IntrospectAccessToken(tok, client)
		return same(got, err, want, merr, h)
	case ValidateRefresh:
		tok := h.token(op.Tok)
		if !op.Introspect {
			return sameOn(h, tok, db.ValidateRefreshToken, m.ValidateRefreshToken)
		}
		client := h.caller(tok, op.Client, op.Own, false)
		got, err := db.IntrospectRefreshToken(tok, client)
		want, merr := m.IntrospectRefreshToken(tok, client)
		return same(got, err, want, merr, h)
	case Rotate:
		tok := h.token(op.Tok)
		client := h.caller(tok, op.Client, op.Own, false)
		req := oauthdb.RefreshRequest{Token: tok, ClientID: client, Scopes: op.Scopes, DPoPThumbprint: op.DPoP}
		var got oauthdb.IssuedTokens
		var err error
		if op.DPoP == "" {
			got, err = db.RotateRefreshToken(tok, client, op.Scopes) // the door without a proof
		} else {
			got, err = db.Refresh(req)
		}
		want, merr := m.Refresh(req, fresh(got, err))
		return h.issued(got, err, want, merr)
	case RevokeAccess:
		return sameOn(h, h.token(op.Tok), db.RevokeAccessToken, m.RevokeAccessToken)
	case RevokeRefresh:
		return sameOn(h, h.token(op.Tok), db.RevokeRefreshToken, m.RevokeRefreshToken)
	case RevokeToken:
		tok := h.token(op.Tok)
		client := h.caller(tok, op.Client, op.Own, true)
		got, err := db.RevokeToken(tok, client, op.Hint)
		want, merr := m.RevokeToken(tok, client, op.Hint)
		return same(got, err, want, merr, h)
	case RevokeRefreshByID:
		id := rowID(ids(m.RefreshTokens), op.Ref, op.ID)
		var got int
		var err error
		db.Update(func(tx *oauthdb.Tx) error {
			got, err = tx.RevokeRefreshTokenByID(id)
			return nil
		})
		want, merr := m.RevokeRefreshTokenByID(id)
		return same(got, err, want, merr, h)
	case RevokeBy:
		by := map[string][2]func(string) (int, error){
			"session": {db.RevokeSession, m.RevokeSession},
			"user":    {db.RevokeUser, m.RevokeUser},
			"client":  {db.RevokeClient, m.RevokeClient},
			"code":    {db.RevokeAuthorizationCode, m.RevokeAuthorizationCode},
		}
		key := op.ID
		if op.By == "client" {
			key = op.ClientID
		}
		if f, ok := by[op.By]; ok {
			return sameOn(h, key, f[0], f[1])
		}
		got, err := db.RevokeClientUser(op.ClientID, op.ID)
		want, merr := m.RevokeClientUser(op.ClientID, op.ID)
		return same(got, err, want, merr, h)
	case Consent:
		return h.consent(op)
	case Sweep:
		return sameOn(h, op.Limit, db.SweepExpired, m.SweepExpired)
	case Authenticate:
		got, err := db.AuthenticateClient(op.ClientID, op.Secret)
		want, merr := m.AuthenticateClient(op.ClientID, op.Secret)
		return same(got, err, want, merr, h)
	case Read:
		return h.read(op)
	case Restore:
		return h.restore(op)
	}
	return fmt.Errorf("unknown op %T", op)
}

// restore moves the harness to a new DB restored from a snapshot of the
// old one, through JSON if asked. Check then compares it with the model.
func (h *Harness) restore(op Restore) error {
	snap := h.DB.Snapshot()
	if op.JSON {
		b, err := json.Marshal(snap)
		if err != nil {
			return fmt.Errorf("the snapshot does not encode: %v", err)
		}
		snap = oauthdb.Snapshot{}
		if err := json.Unmarshal(b, &snap); err != nil {
			return fmt.Errorf("the snapshot does not decode: %v", err)
		}
	}
	db, err := oauthdb.Open(h.opts...)
	if err != nil {
		return err
	}
	if err := db.Restore(snap); err != nil {
		return fmt.Errorf("Restore refuses the DB's own snapshot: %v", err)
	}
	h.DB = db
	return nil
}

// caller is the client an operation on a refresh token tok calls as: the
// token's own when own is set and the model has the token (a refresh token,
// or with access an access token too), client otherwise.
func (h *Harness) caller(tok, client string, own, access bool) string {
	if !own {
		return client
	}
	if t, err := h.Model.RefreshTokenByHash(h.hash(tok)); err == nil {
		return t.ClientID
	}
	if t, ok := h.accessRecord(tok); ok && access {
		return t.ClientID
	}
	return client
}

func (h *Harness) accessRecord(tok string) (oauthdb.OAuthAccessToken, bool) {
	t, err := h.Model.AccessTokenByHash(h.hash(tok))
	return t, err == nil
}

// fresh hands the model what oauthdb generated; after a failure there is
// nothing, and the model must fail too.
func fresh(t oauthdb.IssuedTokens, err error) refmodel.Fresh {
	if err != nil {
		return refmodel.Fresh{AccessToken: "none", AccessID: "none-a", RefreshToken: "none", RefreshID: "none-r"}
	}
	return refmodel.Fresh{AccessToken: t.AccessToken, AccessID: t.Access.ID,
		RefreshToken: t.RefreshToken, RefreshID: t.Refresh.ID}
}

func (h *Harness) issued(got oauthdb.IssuedTokens, err error, want oauthdb.IssuedTokens, merr error) error {
	if err := same(got, err, want, merr, h); err != nil {
		return err
	}
	if err == nil {
		h.sawAccess(got.AccessToken)
		if got.RefreshToken != "" {
			h.sawRefresh(got.RefreshToken)
		}
	}
	return nil
}

func (h *Harness) consent(op Consent) error {
	db, m := h.DB, h.Model
	key := oauthdb.ConsentKey{ClientID: op.ClientID, UserID: op.UserID, ReferenceID: op.ReferenceID}
	switch op.Do {
	case "grant":
		got, err := db.GrantConsent(key, op.Scopes)
		id := "none-k"
		if err == nil {
			id = got.ID
		}
		want, merr := m.GrantConsent(op.ClientID, op.UserID, op.ReferenceID, op.Scopes, id)
		return same(got, err, want, merr, h)
	case "check":
		return sameErr(db.CheckConsent(key, op.Scopes),
			m.CheckConsent(op.ClientID, op.UserID, op.ReferenceID, op.Scopes), h)
	case "revoke":
		got, err := db.RevokeConsent(key)
		want, merr := m.RevokeConsent(op.ClientID, op.UserID, op.ReferenceID)
		return same(got, err, want, merr, h)
	default:
		got, err := db.UserConsents(op.UserID)
		return same(got, err, m.ConsentsOf(op.UserID), nil, h)
	}
}

// ---- comparing ----

// cmpOpts compare instants, not clock readings or locations.
var cmpOpts = cmp.Options{cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })}

func diff(got, want any) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	return cmp.Diff(want, got, cmpOpts)
}

// secretFields are the fields whose values an error must not name.
var secretFields = map[string]bool{"token": true, "identifier": true, "clientSecret": true}

// sentinels are every error kind a caller can test for with errors.Is.
var sentinels = []error{
	oauthdb.ErrNotFound, oauthdb.ErrConflict, oauthdb.ErrForeignKey, oauthdb.ErrInvalid,
	oauthdb.ErrTokenMalformed, oauthdb.ErrTokenNotFound, oauthdb.ErrTokenExpired, oauthdb.ErrTokenRevoked,
	oauthdb.ErrTokenReplayed, oauthdb.ErrWrongClient, oauthdb.ErrClientNotFound, oauthdb.ErrClientDisabled,
	oauthdb.ErrUserNotFound, oauthdb.ErrSessionNotFound, oauthdb.ErrSessionExpired, oauthdb.ErrScopeNotGranted,
	oauthdb.ErrConsentRequired, oauthdb.ErrBadSecret, oauthdb.ErrDPoPRequired, oauthdb.ErrDPoPKeyMismatch,
}

// ErrKind describes an error as far as the two sides must agree: its type,
// the sentinels it is, and the table or token it names.
type ErrKind struct {
	Type  string   // "", "*Error", "*TokenError" or "other"
	Is    []string // the sentinels errors.Is matches
	Table string   // of an *Error
	Token string   // of a *TokenError: its kind and ID
}

// KindOf returns err's ErrKind.
func KindOf(err error) ErrKind {
	if err == nil {
		return ErrKind{}
	}
	var k ErrKind
	var e *oauthdb.Error
	var te *oauthdb.TokenError
	switch {
	case errors.As(err, &te):
		k.Type = "*TokenError"
		k.Token = te.Kind + " " + te.ID
	case errors.As(err, &e):
		k.Type = "*Error"
		k.Table = e.Table
	default:
		k.Type = "other"
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			k.Is = append(k.Is, s.Error())
		}
	}
	return k
}

func sameErr(err, merr error, h *Harness) error {
	return same(0, err, 0, merr, h)
}

// sameOn compares what the DB and the model answer to an operation on one
// argument: a token, an id, a limit.
func sameOn[A, T any](h *Harness, arg A, db, model func(A) (T, error)) error {
	got, err := db(arg)
	want, merr := model(arg)
	return same(got, err, want, merr, h)
}

// same compares a result and an error of the DB with the model's.
func same[T any](got T, err error, want T, merr error, h *Harness) error {
	if err != nil {
		if KindOf(err).Type == "other" {
			return fmt.Errorf("oauthdb returned an error of no known kind: %v", err)
		}
		msg := err.Error()
		if strings.Contains(msg, secretMark) && !h.arbitraryInput {
			return fmt.Errorf("error leaks a secret value: %q", msg)
		}
		var e *oauthdb.Error
		if errors.As(err, &e) && secretFields[e.Field] && e.Value != "" {
			return fmt.Errorf("error names the value of secret field %s: %q", e.Field, msg)
		}
		for _, s := range h.secrets {
			if strings.Contains(msg, s) {
				return fmt.Errorf("error leaks a token or its hash: %q", msg)
			}
		}
	}
	if h.stats != nil {
		h.stats[h.outcomeOf(err)]++
	}
	if d := cmp.Diff(KindOf(merr), KindOf(err)); d != "" {
		return fmt.Errorf("errors differ (-model +oauthdb):\n%s\noauthdb: %v\nmodel:   %v", d, err, merr)
	}
	if err != nil {
		return nil
	}
	if d := diff(got, want); d != "" {
		return fmt.Errorf("results differ (-model +oauthdb):\n%s", d)
	}
	return nil
}

// ---- invariants ----

// DumpDB reads every table of db in one snapshot.
func DumpDB(db *oauthdb.DB) refmodel.Dump { return db.Snapshot() }

// Check compares every table of the DB with the model's, audits the DB
// and looks for plaintext tokens in its records.
func (h *Harness) Check() error {
	got := DumpDB(h.DB)
	if d := diff(got, h.Model.Dump()); d != "" {
		return fmt.Errorf("tables differ (-model +oauthdb):\n%s", d)
	}
	if err := h.DB.Verify(); err != nil {
		return fmt.Errorf("Verify: %v", err)
	}
	if err := h.checkLiveness(); err != nil {
		return err
	}
	if err := h.checkReplica(got); err != nil {
		return err
	}
	return NoPlaintext(got, h.plaintexts)
}

// NoPlaintext checks that no field of any record holds one of plaintexts.
func NoPlaintext(d refmodel.Dump, plaintexts []string) error {
	var b strings.Builder
	appendStrings(&b, reflect.ValueOf(d))
	all := b.String()
	for _, p := range plaintexts {
		if strings.Contains(all, p) {
			return fmt.Errorf("a stored record holds the plaintext token %q", p)
		}
	}
	return nil
}

// appendStrings writes every string (and []byte) held in v, each followed
// by a separator no generated token holds.
func appendStrings(b *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		b.WriteString(v.String())
		b.WriteByte(0)
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		for i := range v.NumField() {
			appendStrings(b, v.Field(i))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b.Write(v.Bytes())
			b.WriteByte(0)
			return
		}
		for i := range v.Len() {
			appendStrings(b, v.Index(i))
		}
	}
}

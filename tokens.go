package oauthdb

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

const (
	kindAccess  = "access token"
	kindRefresh = "refresh token"
)

// MaxTokenLength is the longest token accepted; a longer one is malformed
// and is refused before it is hashed.
const MaxTokenLength = 4096

// checkToken refuses, before any hashing or lookup, a token that cannot be
// one: empty, too long, or with bytes outside printable ASCII.
func checkToken(kind, token string) error {
	if token == "" || len(token) > MaxTokenLength || !printable(token) {
		return &TokenError{Kind: kind, Err: ErrTokenMalformed}
	}
	return nil
}

// printable reports whether every byte of s is printable ASCII but space
// (0x21 to 0x7e), eight bytes at a time: it is on the validation hot path.
func printable(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte is bad if its high bit is set, if it is below 0x21, or if it
		// is 0x7f; the subtractions flag a byte below their constant's in its
		// high bit (for bytes below 0x80, which the first test has vetted).
		below := (w - 0x21*ones) & ^w
		del := w ^ 0x7f*ones
		if (w|below|((del-ones)&^del))&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// AccessTokenInfo is an active access token joined with its client and,
// when it has them, its user and session: all four read from one snapshot.
type AccessTokenInfo struct {
	// Token is the token's record.
	Token OAuthAccessToken
	// Client is the client the token was issued to.
	Client OAuthClient
	// User is the token's user; zero (empty ID) for a client-credentials
	// token.
	User User
	// Session is the token's session; zero when it has none or, in lenient
	// mode, when its session has expired or is gone.
	Session Session
}

// ValidateAccessToken checks an opaque access token as a resource server
// must: it looks the token up by its hash, checks that it has not expired
// and is not revoked, that its client exists and is not disabled, that its
// user exists (if it has one) and that its session exists and has not
// expired (if it has one; see WithLenientSessions). All of it reads one
// snapshot.
//
// An inactive token returns a *TokenError whose reason is ErrTokenMalformed,
// ErrTokenNotFound, ErrTokenExpired, ErrTokenRevoked, ErrClientNotFound,
// ErrClientDisabled, ErrUserNotFound, ErrSessionNotFound or
// ErrSessionExpired. This is the hot path: it allocates only what go-memdb's
// lookups do.
func (db *DB) ValidateAccessToken(token string) (AccessTokenInfo, error) {
	return db.validateAccess(token, "")
}

// IntrospectAccessToken is ValidateAccessToken for a calling client, as
// RFC 7662 introspection needs: a token issued to another client is
// inactive to it, with ErrWrongClient. The caller is required (an empty
// clientID is ErrInvalid, never "no check"); it is not looked up, so
// authenticate it first (AuthenticateClient).
func (db *DB) IntrospectAccessToken(token, clientID string) (AccessTokenInfo, error) {
	if clientID == "" {
		return AccessTokenInfo{}, errNoCaller("introspection")
	}
	return db.validateAccess(token, clientID)
}

func (db *DB) validateAccess(token, caller string) (AccessTokenInfo, error) {
	t, o, err := validate(db, accessKind, token, caller)
	if err != nil {
		return AccessTokenInfo{}, err
	}
	return AccessTokenInfo{Token: *t, Client: *o.client, User: o.userRecord(), Session: o.sessionRecord()}, nil
}

// errNoCaller is the error for an operation that needs the client that
// calls it and was given none.
func errNoCaller(what string) error {
	return &Error{Table: TableOAuthClient, Field: "clientId", Reason: what + " needs the calling client", Err: ErrInvalid}
}

// tokenView is what validation reads of a token record, of either kind.
type tokenView struct {
	id, clientID, userID, sessionID string
	expiresAt, revoked              time.Time
	// sessionBound says whether the token ends with its session, by its
	// own fields: an access token that has one; a refresh token as
	// sessionBoundRefresh says. WithLenientSessions unbinds them all (see
	// DB.boundToSession).
	sessionBound bool
}

func accessView(t *OAuthAccessToken) tokenView {
	return tokenView{t.ID, t.ClientID, t.UserID, t.SessionID, t.ExpiresAt, t.Revoked, t.SessionID != ""}
}

func refreshView(t *OAuthRefreshToken) tokenView {
	return tokenView{t.ID, t.ClientID, t.UserID, t.SessionID, t.ExpiresAt, t.Revoked,
		sessionBoundRefresh(t.Scopes, t.SessionID, t.AuthorizationCodeID)}
}

// sessionBoundRefresh reports whether a refresh token with these scopes,
// session and authorization code ends with its session, as better-auth
// 1.7.29's isSessionBoundRefreshToken decides: granted without
// offline_access, in a session or from a code. A code is redeemed only in a
// live session, so a code's token with no session lost it when the session
// was deleted; a token of neither (better-auth's device grant) never had
// one. With offline_access it outlives its session (OpenID Connect Core
// §11), and only its sid is dropped.
func sessionBoundRefresh(scopes []string, sessionID, codeID string) bool {
	return !slices.Contains(scopes, ScopeOfflineAccess) && (sessionID != "" || codeID != "")
}

// boundToSession reports whether a token dies with its session in this DB:
// in lenient mode (better-auth 1.4–1.6) none does.
func (db *DB) boundToSession(v tokenView) bool {
	return v.sessionBound && !db.cfg.lenientSessions
}

// owners are the stored records a token depends on; user and session are
// nil when the token has none (or its session is dropped).
type owners struct {
	client  *OAuthClient
	user    *User
	session *Session
}

func (o owners) userRecord() User {
	if o.user == nil {
		return User{}
	}
	return *o.user
}

func (o owners) sessionRecord() Session {
	if o.session == nil {
		return Session{}
	}
	return *o.session
}

// tokenKind is what validation needs to know of a kind of token, and a
// replica's marks (replica.go) of its table.
type tokenKind[T any] struct {
	name   string // "access token", for errors
	byHash *store.Index[T, string]
	view   func(*T) tokenView
	cache  func(*tokenCache) *kindCache[T]
	// table is the table of the tokens (tokensIn sets it); a mark of a
	// token has the id mark and the token's id.
	table *tableOf[T]
	mark  byte
	// hash and revoked are the token's stored hash and its revoked field.
	hash    func(*T) string
	revoked func(*T) *time.Time
}

// tokensIn makes k the kind of the tokens of t, and returns it.
func tokensIn[T any](t *tableOf[T], k *tokenKind[T]) *tokenKind[T] {
	k.table, t.tokens = t, k
	return k
}

var (
	accessKind = tokensIn(accessTokens, &tokenKind[OAuthAccessToken]{name: kindAccess, mark: 'a',
		byHash: accessTokensByHash, view: accessView,
		cache:   func(c *tokenCache) *kindCache[OAuthAccessToken] { return &c.access },
		hash:    func(t *OAuthAccessToken) string { return t.Token },
		revoked: func(t *OAuthAccessToken) *time.Time { return &t.Revoked }})
	refreshKind = tokensIn(refreshTokens, &tokenKind[OAuthRefreshToken]{name: kindRefresh, mark: 'r',
		byHash: refreshTokensByHash, view: refreshView,
		cache:   func(c *tokenCache) *kindCache[OAuthRefreshToken] { return &c.refresh },
		hash:    func(t *OAuthRefreshToken) string { return t.Token },
		revoked: func(t *OAuthRefreshToken) *time.Time { return &t.Revoked }})
)

// tokenTable is a kind of token seen without its record type: what a
// replica's marks and the validation cache's invalidation need of it.
type tokenTable interface {
	tableName() string
	// markID is the id of the mark of the token with this id, and
	// ownsMark whether a mark's id is of a token of this kind.
	markID(id string) string
	ownsMark(markID string) bool
	// stored returns what validation reads of the stored token with this
	// id, and its stored hash.
	stored(st *store.Txn, id string) (v tokenView, hash string, ok bool)
	// fold shows in s each token a replica holds inactive as revoked when
	// it was marked (see Tx.Snapshot).
	fold(tx *Tx, s *Snapshot)
	// foldMark revokes the stored token with this id at a mark's time, as
	// ReadSnapshot shows a mark to a DB that is not a replica (snapio.go).
	foldMark(tx *Tx, id string, at time.Time) error
	// forget deletes the validation cache's entry of a stored token, given
	// as its pointer, and forgetID of the stored token with this id
	// (cache.go).
	forget(db *DB, c *tokenCache, stored any)
	forgetID(db *DB, c *tokenCache, st *store.Txn, id string)
}

// tokenKinds are the kinds of token, as a replica's marks and the cache
// walk them.
var tokenKinds = []tokenTable{accessKind, refreshKind}

// kindOfMark returns the kind of the token a mark's id names, or nil.
func kindOfMark(markID string) tokenTable {
	for _, k := range tokenKinds {
		if k.ownsMark(markID) {
			return k
		}
	}
	return nil
}

// kindOfTable returns the kind of token a table holds, or nil.
func kindOfTable(table string) tokenTable {
	for _, k := range tokenKinds {
		if k.tableName() == table {
			return k
		}
	}
	return nil
}

func (k *tokenKind[T]) tableName() string       { return k.table.name }
func (k *tokenKind[T]) markID(id string) string { return deathID(k.mark, id) }
func (k *tokenKind[T]) ownsMark(id string) bool { return id != "" && id[0] == k.mark }

func (k *tokenKind[T]) stored(st *store.Txn, id string) (tokenView, string, bool) {
	t, ok := k.table.Get(st, id)
	if !ok {
		return tokenView{}, "", false
	}
	return k.view(t), k.hash(t), true
}

// validate checks a token of either kind: found by its hash, the caller's
// (if a caller is given), unexpired and unrevoked, and its owners active,
// its session too if it is bound to it (DB.boundToSession), all read from
// one snapshot. It returns the stored token and its owners, which must not
// be modified.
//
// The validation cache answers first (cache.go); what it cannot answer is
// read from the store and, if active, kept in the cache.
func validate[T any](db *DB, k *tokenKind[T], token, caller string) (*T, owners, error) {
	if err := checkToken(k.name, token); err != nil {
		return nil, owners{}, err
	}
	now := db.now()
	if db.stale(now) {
		return nil, owners{}, &TokenError{Kind: k.name, Err: ErrStale}
	}
	key := db.cacheKey(token)
	cache := db.cache.Load()
	if cache != nil {
		if e := k.cache(cache).get(key, now); e == nil {
			db.cacheStats.misses.Add(1)
		} else {
			db.cacheStats.hits.Add(1)
			if caller != "" && k.view(&e.token).clientID != caller {
				return nil, owners{}, &TokenError{Kind: k.name, Err: ErrWrongClient}
			}
			o := owners{client: e.client}
			if e.user.ID != "" {
				o.user = &e.user
			}
			if e.session.ID != "" {
				o.session = &e.session
			}
			return &e.token, o, nil
		}
	}
	index := db.st.Index() // before the snapshot: see tokenCache.keep
	var buf [64]byte
	h := db.storedForm(buf[:0], key, token)
	var t *T
	var v tokenView
	var o owners
	// The hot path reads the engine's snapshot directly rather than through
	// DB.View: it needs no *Tx, so it need not take one from DB.View's pool
	// and give it back. Everything else reads through DB.View.
	err := db.st.View(func(tx *store.Txn) error {
		var err error
		if t, v, err = lookup(tx, k.name, k.byHash, k.view, h, caller, now); err != nil {
			return err
		}
		if !v.revoked.IsZero() || db.dead(tx, k.mark, v.id) {
			return &TokenError{Kind: k.name, ID: v.id, Err: ErrTokenRevoked}
		}
		o, err = joinOwners(tx, k.name, v, now, db.boundToSession(v))
		return err
	})
	if err != nil {
		return nil, owners{}, err
	}
	if cache != nil {
		k.cache(cache).keep(cache, db.st, key, t, o, v.expiresAt, index)
	}
	return t, o, nil
}

// lookup finds a token by its hash and checks what the token alone says: it
// exists, it is the caller's (if a caller is given) and it has not expired.
// Whether it is revoked is the caller's to judge: validation refuses it,
// rotation treats it as a replay.
func lookup[T any](tx *store.Txn, kind string, byHash *store.Index[T, string], view func(*T) tokenView,
	hash []byte, caller string, now time.Time) (*T, tokenView, error) {
	t, ok := store.FirstBytes(tx, byHash, hash)
	if !ok {
		return nil, tokenView{}, &TokenError{Kind: kind, Err: ErrTokenNotFound}
	}
	v := view(t)
	if caller != "" && v.clientID != caller {
		// The caller may not learn which record another client's token is.
		return nil, tokenView{}, &TokenError{Kind: kind, Err: ErrWrongClient}
	}
	if !now.Before(v.expiresAt) {
		return nil, tokenView{}, &TokenError{Kind: kind, ID: v.id, Err: ErrTokenExpired}
	}
	return t, v, nil
}

// joinOwners reads a token's client, user and session and checks that they
// let the token be active. A token that is not sessionBound outlives its
// session: a session that is gone or expired is dropped, not refused.
func joinOwners(tx *store.Txn, kind string, v tokenView, now time.Time, sessionBound bool) (owners, error) {
	o, err := clientAndUser(tx, kind, v)
	if err != nil {
		return o, err
	}
	o.session, err = liveSession(tx, kind, v, now, sessionBound)
	return o, err
}

// clientAndUser reads a token's client, which must exist and be enabled,
// and its user, which must exist if it has one.
func clientAndUser(tx *store.Txn, kind string, v tokenView) (owners, error) {
	var o owners
	c, ok := clientsByClientID.First(tx, v.clientID)
	if !ok {
		return o, &TokenError{Kind: kind, ID: v.id, Err: ErrClientNotFound}
	}
	if c.Disabled {
		return o, &TokenError{Kind: kind, ID: v.id, Err: ErrClientDisabled}
	}
	o.client = c
	if v.userID != "" {
		if o.user, ok = users.Get(tx, v.userID); !ok {
			return o, &TokenError{Kind: kind, ID: v.id, Err: ErrUserNotFound}
		}
	}
	return o, nil
}

// liveSession returns a token's session while it lives: nil when the token
// has none, or when it has ended and the token outlives it (not
// sessionBound: offline access, or 1.4–1.6). A sessionBound token whose
// session has ended — expired (from the instant of its expiresAt, as
// tokens expire), gone, or cleared by its delete — is inactive.
func liveSession(tx *store.Txn, kind string, v tokenView, now time.Time, sessionBound bool) (*Session, error) {
	var s *Session
	ok := false
	if v.sessionID != "" {
		if s, ok = sessions.Get(tx, v.sessionID); ok && now.Before(s.ExpiresAt) {
			return s, nil
		}
	}
	switch {
	case !sessionBound:
		return nil, nil
	case ok:
		return nil, &TokenError{Kind: kind, ID: v.id, Err: ErrSessionExpired}
	default:
		return nil, &TokenError{Kind: kind, ID: v.id, Err: ErrSessionNotFound}
	}
}

// RefreshTokenInfo is an active refresh token joined with its client, user
// and session, read from one snapshot.
type RefreshTokenInfo struct {
	// Token is the token's record.
	Token OAuthRefreshToken
	// Client is the client the token was issued to.
	Client OAuthClient
	// User is the token's user.
	User User
	// Session is the token's session; zero when it has none or when its
	// session has expired or is gone and the token outlives it (offline
	// access): only its session is dropped.
	Session Session
}

// ValidateRefreshToken checks a refresh token as ValidateAccessToken checks
// an access token. Its session decides as better-auth 1.7.29 decides: a
// refresh token granted without offline_access, in a session or from an
// authorization code, ends with its session (ErrSessionExpired,
// ErrSessionNotFound); one granted offline_access outlives it, active
// without it, so that offline access survives a sign-out. (better-auth
// 1.7.5 let every refresh token outlive its session; so does
// WithLenientSessions, the rule of 1.4–1.6.) A revoked refresh token is
// inactive (ErrTokenRevoked). It changes nothing: use RotateRefreshToken to
// redeem one.
func (db *DB) ValidateRefreshToken(token string) (RefreshTokenInfo, error) {
	return db.validateRefresh(token, "")
}

// IntrospectRefreshToken is ValidateRefreshToken for a calling client: a
// token issued to another client is inactive to it, with ErrWrongClient. An
// empty clientID is ErrInvalid.
func (db *DB) IntrospectRefreshToken(token, clientID string) (RefreshTokenInfo, error) {
	if clientID == "" {
		return RefreshTokenInfo{}, errNoCaller("introspection")
	}
	return db.validateRefresh(token, clientID)
}

func (db *DB) validateRefresh(token, caller string) (RefreshTokenInfo, error) {
	t, o, err := validate(db, refreshKind, token, caller)
	if err != nil {
		return RefreshTokenInfo{}, err
	}
	return RefreshTokenInfo{Token: *t, Client: *o.client, User: o.userRecord(), Session: o.sessionRecord()}, nil
}

// IssueRequest asks for tokens for a client, and for a user and session
// unless it is a client-credentials grant.
type IssueRequest struct {
	// ClientID is the public client identifier (oauthClient.clientId).
	ClientID string
	// UserID is the user the tokens act for; empty for client credentials.
	UserID string
	// SessionID is the user's session, if the grant came from one.
	SessionID string
	// ReferenceID is better-auth's optional reference (an organisation, say).
	ReferenceID string
	// Scopes are the granted scopes. When the client has a list of allowed
	// scopes, they must all be in it; for a client-credentials grant (no
	// UserID), the client's clientCredentialsScopes, if it has them.
	Scopes []string
	// Refresh asks for a refresh token too; it needs a UserID. Without
	// offline_access in Scopes the refresh token ends with the session, so
	// one from an AuthorizationCodeID needs the SessionID too (see
	// ValidateRefreshToken).
	Refresh bool
	// AuthorizationCodeID is the hash of the authorization code the grant
	// redeems (DB.Hash of the code), kept on its tokens and their
	// descendants, so that the code presented again can revoke them all
	// (RevokeAuthorizationCode).
	AuthorizationCodeID string
	// AuthTime is when the user signed in, kept on the refresh token.
	AuthTime time.Time
	// Resources and RequestedUserInfoClaims are kept on the tokens, as
	// better-auth 1.7 keeps them.
	Resources               []string
	RequestedUserInfoClaims []string
	// DPoPThumbprint is the thumbprint of the key of the request's DPoP
	// proof (RFC 9449 §4.3, verified by the caller, resourceserver's
	// Verifier.CheckProof for one): both tokens are bound to it. Required
	// when the client has dpopBoundAccessTokens.
	DPoPThumbprint string
}

// IssueTokens issues an access token and, when asked, a refresh token that
// the access token is linked to by refreshId, in one transaction. The client
// must exist and not be disabled; the user and session, when given, must
// exist, and the session must be the user's and not have expired. An unknown
// client, user or session is ErrNotFound, as everywhere an operation is
// given one. It returns the plaintext tokens, which are not stored and
// cannot be read again.
func (db *DB) IssueTokens(req IssueRequest) (IssuedTokens, error) {
	var out IssuedTokens
	err := db.Update(func(tx *Tx) error {
		var err error
		out, err = tx.IssueTokens(req)
		return err
	})
	if err != nil {
		return IssuedTokens{}, err
	}
	return out, nil
}

// IssueTokens is DB.IssueTokens inside a write transaction, for a grant that
// must change other records in the same commit (consuming an authorization
// code, say). A refused request changes nothing.
func (tx *Tx) IssueTokens(req IssueRequest) (IssuedTokens, error) {
	now := tx.db.now()
	if err := checkScopes(TableOAuthAccessToken, req.Scopes); err != nil {
		return IssuedTokens{}, err
	}
	if err := checkThumbprint(TableOAuthAccessToken, req.DPoPThumbprint); err != nil {
		return IssuedTokens{}, err
	}
	c, err := tx.activeClient(req.ClientID)
	if err != nil {
		return IssuedTokens{}, err
	}
	allowed, field := c.Scopes, "scopes"
	if req.UserID == "" && c.ClientCredentialsScopes != nil {
		allowed, field = c.ClientCredentialsScopes, "clientCredentialsScopes"
	}
	if len(allowed) > 0 || field == "clientCredentialsScopes" {
		if s, ok := missingScope(req.Scopes, allowed); !ok {
			return IssuedTokens{}, &Error{Table: TableOAuthClient, Field: field, Value: store.Bound(s), Reason: "scope not allowed for the client", Err: ErrScopeNotGranted}
		}
	}
	if req.UserID != "" {
		if _, err := tx.knownUser(req.UserID); err != nil {
			return IssuedTokens{}, err
		}
	}
	if req.SessionID != "" {
		s, ok := sessions.Get(tx.st, req.SessionID)
		if !ok {
			return IssuedTokens{}, errNotFound(TableSession, "id", req.SessionID)
		}
		if !now.Before(s.ExpiresAt) {
			return IssuedTokens{}, &Error{Table: TableSession, Field: "id", Value: store.Bound(req.SessionID), Reason: "session expired", Err: ErrSessionExpired}
		}
		if s.UserID != req.UserID {
			return IssuedTokens{}, &Error{Table: TableSession, Field: "userId", Value: store.Bound(req.UserID), Reason: "session belongs to another user", Err: ErrInvalid}
		}
	}
	if req.Refresh && req.UserID == "" {
		return IssuedTokens{}, &Error{Table: TableOAuthRefreshToken, Field: "userId", Reason: "a refresh token needs a user", Err: ErrInvalid}
	}
	if req.Refresh && req.SessionID == "" && !tx.db.cfg.lenientSessions &&
		sessionBoundRefresh(req.Scopes, req.SessionID, req.AuthorizationCodeID) {
		return IssuedTokens{}, &Error{Table: TableOAuthRefreshToken, Field: "sessionId",
			Reason: "a code's refresh token without offline_access ends with the code's session: give the session", Err: ErrInvalid}
	}
	if req.DPoPThumbprint == "" && requiresDPoP(c) {
		return IssuedTokens{}, errClientRequiresDPoP(c)
	}
	return tx.db.issue(tx, now, grant{client: req.ClientID, user: req.UserID, session: req.SessionID,
		refreshSession: req.SessionID, reference: req.ReferenceID, scopes: req.Scopes, code: req.AuthorizationCodeID,
		authTime: req.AuthTime, resources: req.Resources, claims: req.RequestedUserInfoClaims, jkt: req.DPoPThumbprint}, req.Refresh)
}

// grant is what the tokens of one issue or rotation share.
type grant struct {
	client, user string
	// session is the access token's: the grant's, or on a refresh the
	// refresh token's while it lives. refreshSession is the new refresh
	// token's: the grant's, or on a rotation the one the refresh token was
	// issued in, which it keeps after that session has ended.
	session, refreshSession string
	reference               string
	scopes                  []string
	code                    string
	authTime                time.Time
	resources, claims       []string
	// jkt is the thumbprint of the DPoP key the tokens are bound to, if
	// any.
	jkt string
}

// errNotFound is the error of an operation given a key that names no
// record: the one kind for an unknown client, user or session, whatever the
// operation.
func errNotFound(table, field, value string) *Error {
	return &Error{Table: table, Field: field, Value: store.Bound(value), Err: ErrNotFound}
}

// activeClient returns the client with the public clientId, which must
// exist (ErrNotFound) and not be disabled (ErrClientDisabled).
func (tx *Tx) activeClient(clientID string) (*OAuthClient, error) {
	c, ok := clientsByClientID.First(tx.st, clientID)
	if !ok {
		return nil, errNotFound(TableOAuthClient, "clientId", clientID)
	}
	if c.Disabled {
		return nil, &Error{Table: TableOAuthClient, Field: "clientId", Value: store.Bound(clientID), Reason: "client disabled", Err: ErrClientDisabled}
	}
	return c, nil
}

// knownUser returns the user with the ID, which must exist (ErrNotFound).
func (tx *Tx) knownUser(id string) (*User, error) {
	u, ok := users.Get(tx.st, id)
	if !ok {
		return nil, errNotFound(TableUser, "id", id)
	}
	return u, nil
}

// issue stores a new access token of g and, if refresh, a refresh token it
// is linked to.
func (db *DB) issue(tx *Tx, now time.Time, g grant, refresh bool) (IssuedTokens, error) {
	var out IssuedTokens
	var err error
	if refresh {
		if out.RefreshToken, err = db.newToken(); err != nil {
			return out, err
		}
		id, err := db.NewID()
		if err != nil {
			return out, err
		}
		out.Refresh = OAuthRefreshToken{
			ID: id, Token: db.hashString(out.RefreshToken), ClientID: g.client, SessionID: g.refreshSession,
			UserID: g.user, ReferenceID: g.reference, Scopes: slices.Clone(g.scopes),
			ExpiresAt: now.Add(db.cfg.refreshTTL), CreatedAt: now,
			AuthorizationCodeID: g.code, AuthTime: g.authTime.UTC(),
			Resources: slices.Clone(g.resources), RequestedUserInfoClaims: slices.Clone(g.claims),
			Confirmation: dpopConfirmation(g.jkt),
		}
		if err := refreshTokens.Insert(tx.st, &out.Refresh); err != nil {
			return out, err
		}
	}
	if out.AccessToken, err = db.newToken(); err != nil {
		return out, err
	}
	id, err := db.NewID()
	if err != nil {
		return out, err
	}
	out.Access = OAuthAccessToken{
		ID: id, Token: db.hashString(out.AccessToken), ClientID: g.client, SessionID: g.session,
		UserID: g.user, ReferenceID: g.reference, RefreshID: out.Refresh.ID, Scopes: slices.Clone(g.scopes),
		ExpiresAt: now.Add(db.cfg.accessTTL), CreatedAt: now,
		AuthorizationCodeID: g.code, Resources: slices.Clone(g.resources), RequestedUserInfoClaims: slices.Clone(g.claims),
		Confirmation: dpopConfirmation(g.jkt),
	}
	if err := accessTokens.Insert(tx.st, &out.Access); err != nil {
		return out, err
	}
	return out, nil
}

// RotateRefreshToken redeems a refresh token for new tokens, as
// better-auth 1.7.29's refresh_token grant does, in one write transaction.
// scopes may narrow the token's scopes, never widen them; nil keeps them.
// The checks come in better-auth's order, so that a request refused for one
// of them changes nothing: the token is clientID's (required: an empty one
// is ErrInvalid) and unexpired; its client exists and is enabled; the
// scopes are the token's and, when the client lists its scopes, the
// client's (ErrScopeNotGranted); a token bound to its session (see
// ValidateRefreshToken) has it still (ErrSessionExpired,
// ErrSessionNotFound); and only then, the token is not revoked.
//
// A refresh token granted offline_access is rotated: it is revoked, and a
// new refresh token (same client, user, reference and session — the one it
// was issued in, even after that session ended) and a new access token
// linked to it are issued; the access token is in the session only while
// it lives. Narrowing away offline_access after the session ended is
// refused with the session's reason: the new token would be born inactive.
// A refresh token without offline_access is not rotated, as better-auth
// rotates none: an access token is issued in its session, linked to no
// refresh token, and the refresh token stays as it was — so presenting it
// again is no replay.
//
// A refresh token that was already revoked is a replay — someone holds a
// stolen copy, or two rotations raced and this one lost. Then the whole
// family, every refresh token of that client and user, is revoked with the
// access tokens issued with them, and the error is ErrTokenReplayed — or
// ErrTokenRevoked, for a token revoked otherwise than by its rotation (by
// RevokeRefreshToken, say). Of two concurrent rotations of one token exactly
// one succeeds.
//
// It is Refresh for a request without a DPoP proof: a refresh token bound
// to a DPoP key, or one of a client that requires DPoP, is refused with
// ErrDPoPRequired.
func (db *DB) RotateRefreshToken(token, clientID string, scopes []string) (IssuedTokens, error) {
	return db.Refresh(RefreshRequest{Token: token, ClientID: clientID, Scopes: scopes})
}

// Refresh is the refresh_token grant: RotateRefreshToken, with the DPoP
// proof the request carried, as better-auth 1.7.29's resolveDpopTokenBinding
// takes it. After every check RotateRefreshToken lists (so that a replay
// revokes its family with or without a proof), a proof is required when
// the client has dpopBoundAccessTokens (ErrDPoPRequired, naming the client)
// or the refresh token is bound to a key (ErrDPoPRequired, naming the
// token), and the proof's key must be the token's (ErrDPoPKeyMismatch); a
// refused request changes nothing. With a proof, required or not, the new
// tokens are bound to its key.
func (db *DB) Refresh(req RefreshRequest) (IssuedTokens, error) {
	token, clientID, scopes := req.Token, req.ClientID, req.Scopes
	if err := checkToken(kindRefresh, token); err != nil {
		return IssuedTokens{}, err
	}
	if clientID == "" {
		return IssuedTokens{}, errNoCaller("a refresh")
	}
	if err := checkScopes(TableOAuthRefreshToken, scopes); err != nil {
		return IssuedTokens{}, err
	}
	if err := checkThumbprint(TableOAuthRefreshToken, req.DPoPThumbprint); err != nil {
		return IssuedTokens{}, err
	}
	var out IssuedTokens
	var replay error
	var buf [64]byte
	h := db.hash(buf[:0], token)
	err := db.Update(func(tx *Tx) error {
		now := db.now()
		t, v, err := lookup(tx.st, kindRefresh, refreshTokensByHash, refreshView, h, clientID, now)
		if err != nil {
			return err
		}
		o, err := clientAndUser(tx.st, kindRefresh, v)
		if err != nil {
			return err
		}
		if scopes == nil {
			scopes = t.Scopes
		} else if sc, ok := missingScope(scopes, t.Scopes); !ok {
			return &Error{Table: TableOAuthRefreshToken, Field: "scopes", Value: store.Bound(sc), Reason: "a refresh cannot widen the scopes", Err: ErrScopeNotGranted}
		}
		if len(o.client.Scopes) > 0 {
			if sc, ok := missingScope(scopes, o.client.Scopes); !ok {
				return &Error{Table: TableOAuthClient, Field: "scopes", Value: store.Bound(sc), Reason: "scope not allowed for the client", Err: ErrScopeNotGranted}
			}
		}
		if o.session, err = liveSession(tx.st, kindRefresh, v, now, db.boundToSession(v)); err != nil {
			return err
		}
		grace := inGrace(t, now)
		if !v.revoked.IsZero() && !grace {
			// Commit the family's revocation, then report the replay.
			if _, err := revokeFamily(tx, t.ClientID, t.UserID, now); err != nil {
				return err
			}
			why := ErrTokenReplayed
			if t.RotatedAt.IsZero() {
				why = ErrTokenRevoked
			}
			replay = &TokenError{Kind: kindRefresh, ID: t.ID, Err: why}
			return nil
		}
		offline := slices.Contains(t.Scopes, ScopeOfflineAccess)
		if offline && o.session == nil && !db.cfg.lenientSessions && sessionBoundRefresh(scopes, t.SessionID, t.AuthorizationCodeID) {
			// Narrowed away offline_access, the new token would be bound to
			// a session that has ended: refused with the session's reason.
			_, err := liveSession(tx.st, kindRefresh, v, now, true)
			return err
		}
		if err := checkRefreshProof(o.client, t, req.DPoPThumbprint); err != nil {
			return err
		}
		g := grant{client: t.ClientID, user: t.UserID, session: o.sessionRecord().ID, refreshSession: t.SessionID,
			reference: t.ReferenceID, scopes: scopes, code: t.AuthorizationCodeID, authTime: t.AuthTime,
			resources: t.Resources, claims: t.RequestedUserInfoClaims, jkt: req.DPoPThumbprint}
		if !offline {
			out, err = db.issue(tx, now, g, false)
			out.Previous = *t
			return err
		}
		revoked := *t
		if !grace {
			// The compare-and-swap: the only writer revokes what it read
			// unrevoked. Inside a grace window the token stays as its
			// first rotation left it.
			revoked.Revoked, revoked.RotatedAt = now, now
			if db.cfg.reuseInterval > 0 {
				revoked.RotationReplayExpiresAt = now.Add(db.cfg.reuseInterval)
			}
			if err := refreshTokens.Update(tx.st, &revoked); err != nil {
				return err
			}
		}
		out, err = db.issue(tx, now, g, true)
		out.Previous = revoked
		return err
	})
	if err == nil {
		err = replay
	}
	if err != nil {
		return IssuedTokens{}, err
	}
	return out, nil
}

// RefreshRequest is a refresh_token grant (RFC 6749 §6): a refresh token
// redeemed by its client, with the proof of a DPoP key if the request had
// one.
type RefreshRequest struct {
	// Token is the plaintext refresh token.
	Token string
	// ClientID is the authenticated client that presents it. Required.
	ClientID string
	// Scopes may narrow the token's scopes, never widen them; nil keeps
	// them.
	Scopes []string
	// DPoPThumbprint is the thumbprint of the key of the request's DPoP
	// proof, verified by the caller; empty without a proof.
	DPoPThumbprint string
}

// missingScope returns the first of want that is not in have.
func missingScope(want, have []string) (string, bool) {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return s, false
		}
	}
	return "", true
}

// IssuedTokens are the plaintext tokens of one issue or rotation, returned
// once and never stored, with the records stored for them. Printing it with
// fmt or slog shows the records' IDs, never the tokens.
type IssuedTokens struct {
	// AccessToken is the plaintext access token, for the client.
	AccessToken string
	// RefreshToken is the plaintext refresh token, or empty if none was
	// issued.
	RefreshToken string
	// Access is the stored access token record.
	Access OAuthAccessToken
	// Refresh is the stored refresh token record, if any.
	Refresh OAuthRefreshToken
	// Previous is, after a refresh, the refresh token that was redeemed, as
	// it now stands: revoked by its rotation, or, if it lacks
	// offline_access and so was not rotated, as it was.
	Previous OAuthRefreshToken
}

// String describes the tokens by their record IDs.
func (t IssuedTokens) String() string {
	s := "access token " + t.Access.ID
	if t.Refresh.ID != "" {
		s += ", refresh token " + t.Refresh.ID
	}
	return s
}

// Format prints t as String does, for every verb, so that %v, %+v and %#v
// cannot print a token.
func (t IssuedTokens) Format(f fmt.State, verb rune) { io.WriteString(f, t.String()) }

// LogValue logs t by its record IDs.
func (t IssuedTokens) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessTokenId", t.Access.ID), slog.String("refreshTokenId", t.Refresh.ID))
}

package bench

import (
	"slices"
	"sync"
	"time"
)

// The map implementation: plain Go maps and secondary indexes under one
// sync.RWMutex. It is the practical floor: no transactions beyond the lock,
// no generic engine, rows changed in place under the write lock.

func init() {
	Register(Factory{Name: "map", New: func(now func() time.Time) (Impl, error) { return NewMap(now), nil }})
}

// multi is a non-unique secondary index: key → rows. Each row remembers its
// position in its key's slice (slot), so insert and delete are O(1).
type multi[R any] struct {
	m    map[string][]*R
	slot func(*R) *int32
}

func newMulti[R any](slot func(*R) *int32) multi[R] {
	return multi[R]{m: make(map[string][]*R), slot: slot}
}

func (x *multi[R]) add(key string, r *R) {
	if key == "" {
		return
	}
	s := x.m[key]
	*x.slot(r) = int32(len(s))
	x.m[key] = append(s, r)
}

func (x *multi[R]) remove(key string, r *R) {
	if key == "" {
		return
	}
	s := x.m[key]
	i := *x.slot(r)
	last := len(s) - 1
	if int(i) != last {
		s[i] = s[last]
		*x.slot(s[i]) = i
	}
	s[last] = nil
	if last == 0 {
		delete(x.m, key)
		return
	}
	x.m[key] = s[:last]
}

// get returns a copy of the rows of key, safe to iterate while deleting.
func (x *multi[R]) get(key string) []*R {
	return slices.Clone(x.m[key])
}

// expHeap is a min-heap of rows by expiry; each row remembers its position
// (pos) so that any row can be removed in O(log n).
type expHeap[R any] struct {
	items []*R
	exp   func(*R) int64
	pos   func(*R) *int32
}

func (h *expHeap[R]) less(i, j int) bool { return h.exp(h.items[i]) < h.exp(h.items[j]) }

func (h *expHeap[R]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	*h.pos(h.items[i]) = int32(i)
	*h.pos(h.items[j]) = int32(j)
}

func (h *expHeap[R]) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h *expHeap[R]) down(i int) bool {
	i0, n := i, len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

func (h *expHeap[R]) push(r *R) {
	*h.pos(r) = int32(len(h.items))
	h.items = append(h.items, r)
	h.up(len(h.items) - 1)
}

func (h *expHeap[R]) remove(r *R) {
	i := int(*h.pos(r))
	n := len(h.items) - 1
	if i != n {
		h.swap(i, n)
	}
	h.items[n] = nil
	h.items = h.items[:n]
	if i != n && !h.down(i) {
		h.up(i)
	}
}

// min returns the row that expires first, or nil.
func (h *expHeap[R]) min() *R {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

type mUser struct {
	id, name, email, image string
	emailVerified          bool
	createdAt, updatedAt   int64
}

type mSession struct {
	id, token, userID    string
	ipAddress, userAgent string
	expiresAt            int64
	createdAt, updatedAt int64
	userSlot, heapPos    int32
}

type mClient struct {
	id, clientID, clientSecret, name string
	disabled, skipConsent, public    bool
	scopes, redirectURIs             []string
	grantTypes, responseTypes        []string
	tokenEndpointAuthMethod, userID  string
	createdAt, updatedAt             int64
	userSlot                         int32
}

type mAccess struct {
	id, hash, clientID, sessionID, userID string
	referenceID, refreshID                string
	scopes                                []string
	expiresAt, createdAt, revoked         int64
	// positions in the clientId, userId, sessionId, refreshId indexes and
	// in the expiry heap
	clientSlot, userSlot, sessionSlot, refreshSlot, heapPos int32
}

type mRefresh struct {
	id, hash, clientID, sessionID, userID, referenceID string
	scopes                                             []string
	expiresAt, createdAt, revoked                      int64
	clientSlot, userSlot, sessionSlot, heapPos         int32
}

type consentKey struct{ clientID, userID, referenceID string }

type mConsent struct {
	id                   string
	key                  consentKey
	scopes               []string
	createdAt, updatedAt int64
	clientSlot, userSlot int32
}

// Map is the map implementation of [Impl].
type Map struct {
	mu  sync.RWMutex
	now func() time.Time

	users        map[string]*mUser
	usersByEmail map[string]*mUser

	sessions        map[string]*mSession
	sessionsByToken map[string]*mSession
	sessionsByUser  multi[mSession]
	sessionExp      expHeap[mSession]

	clients       map[string]*mClient // by clientId
	clientsByID   map[string]*mClient
	clientsByUser multi[mClient]

	access          map[string]*mAccess
	accessByHash    map[string]*mAccess
	accessByClient  multi[mAccess]
	accessByUser    multi[mAccess]
	accessBySession multi[mAccess]
	accessByRefresh multi[mAccess]
	accessExp       expHeap[mAccess]

	refresh          map[string]*mRefresh
	refreshByHash    map[string]*mRefresh
	refreshByClient  multi[mRefresh]
	refreshByUser    multi[mRefresh]
	refreshBySession multi[mRefresh]
	refreshExp       expHeap[mRefresh]

	consents         map[string]*mConsent
	consentsByKey    map[consentKey]*mConsent
	consentsByClient multi[mConsent]
	consentsByUser   multi[mConsent]
}

// NewMap returns an empty map implementation reading the time from now.
func NewMap(now func() time.Time) *Map {
	return &Map{
		now:             now,
		users:           make(map[string]*mUser),
		usersByEmail:    make(map[string]*mUser),
		sessions:        make(map[string]*mSession),
		sessionsByToken: make(map[string]*mSession),
		sessionsByUser:  newMulti(func(r *mSession) *int32 { return &r.userSlot }),
		sessionExp: expHeap[mSession]{
			exp: func(r *mSession) int64 { return r.expiresAt },
			pos: func(r *mSession) *int32 { return &r.heapPos },
		},
		clients:          make(map[string]*mClient),
		clientsByID:      make(map[string]*mClient),
		clientsByUser:    newMulti(func(r *mClient) *int32 { return &r.userSlot }),
		access:           make(map[string]*mAccess),
		accessByHash:     make(map[string]*mAccess),
		accessByClient:   newMulti(func(r *mAccess) *int32 { return &r.clientSlot }),
		accessByUser:     newMulti(func(r *mAccess) *int32 { return &r.userSlot }),
		accessBySession:  newMulti(func(r *mAccess) *int32 { return &r.sessionSlot }),
		accessByRefresh:  newMulti(func(r *mAccess) *int32 { return &r.refreshSlot }),
		accessExp:        expHeap[mAccess]{exp: func(r *mAccess) int64 { return r.expiresAt }, pos: func(r *mAccess) *int32 { return &r.heapPos }},
		refresh:          make(map[string]*mRefresh),
		refreshByHash:    make(map[string]*mRefresh),
		refreshByClient:  newMulti(func(r *mRefresh) *int32 { return &r.clientSlot }),
		refreshByUser:    newMulti(func(r *mRefresh) *int32 { return &r.userSlot }),
		refreshBySession: newMulti(func(r *mRefresh) *int32 { return &r.sessionSlot }),
		refreshExp:       expHeap[mRefresh]{exp: func(r *mRefresh) int64 { return r.expiresAt }, pos: func(r *mRefresh) *int32 { return &r.heapPos }},
		consents:         make(map[string]*mConsent),
		consentsByKey:    make(map[consentKey]*mConsent),
		consentsByClient: newMulti(func(r *mConsent) *int32 { return &r.clientSlot }),
		consentsByUser:   newMulti(func(r *mConsent) *int32 { return &r.userSlot }),
	}
}

// Name returns "map".
func (m *Map) Name() string { return "map" }

// Close does nothing.
func (m *Map) Close() error { return nil }

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Load inserts the rows of ds.
func (m *Map) Load(ds *Dataset) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range ds.Users {
		u := &ds.Users[i]
		r := &mUser{id: u.ID, name: u.Name, email: u.Email, image: u.Image, emailVerified: u.EmailVerified,
			createdAt: nanos(u.CreatedAt), updatedAt: nanos(u.UpdatedAt)}
		m.users[r.id] = r
		m.usersByEmail[r.email] = r
	}
	for i := range ds.Clients {
		c := &ds.Clients[i]
		r := &mClient{id: c.ID, clientID: c.ClientID, clientSecret: c.ClientSecret, name: c.Name,
			disabled: c.Disabled, skipConsent: c.SkipConsent, public: c.Public,
			scopes: c.Scopes, redirectURIs: c.RedirectURIs, grantTypes: c.GrantTypes, responseTypes: c.ResponseTypes,
			tokenEndpointAuthMethod: c.TokenEndpointAuthMethod, userID: c.UserID,
			createdAt: nanos(c.CreatedAt), updatedAt: nanos(c.UpdatedAt)}
		m.clients[r.clientID] = r
		m.clientsByID[r.id] = r
		m.clientsByUser.add(r.userID, r)
	}
	for i := range ds.Sessions {
		s := &ds.Sessions[i]
		m.insertSession(&mSession{id: s.ID, token: s.Token, userID: s.UserID, ipAddress: s.IPAddress,
			userAgent: s.UserAgent, expiresAt: nanos(s.ExpiresAt), createdAt: nanos(s.CreatedAt), updatedAt: nanos(s.UpdatedAt)})
	}
	for i := range ds.RefreshTokens {
		t := &ds.RefreshTokens[i]
		m.insertRefresh(&mRefresh{id: t.ID, hash: HashToken(t.Token), clientID: t.ClientID, sessionID: t.SessionID,
			userID: t.UserID, referenceID: t.ReferenceID, scopes: t.Scopes,
			expiresAt: nanos(t.ExpiresAt), createdAt: nanos(t.CreatedAt), revoked: nanos(t.Revoked)})
	}
	for i := range ds.AccessTokens {
		t := &ds.AccessTokens[i]
		m.insertAccess(&mAccess{id: t.ID, hash: HashToken(t.Token), clientID: t.ClientID, sessionID: t.SessionID,
			userID: t.UserID, referenceID: t.ReferenceID, refreshID: t.RefreshID, scopes: t.Scopes,
			expiresAt: nanos(t.ExpiresAt), createdAt: nanos(t.CreatedAt)})
	}
	for i := range ds.Consents {
		c := &ds.Consents[i]
		r := &mConsent{id: c.ID, key: consentKey{c.ClientID, c.UserID, c.ReferenceID}, scopes: c.Scopes,
			createdAt: nanos(c.CreatedAt), updatedAt: nanos(c.UpdatedAt)}
		m.consents[r.id] = r
		m.consentsByKey[r.key] = r
		m.consentsByClient.add(r.key.clientID, r)
		m.consentsByUser.add(r.key.userID, r)
	}
	return nil
}

func (m *Map) insertSession(r *mSession) {
	m.sessions[r.id] = r
	m.sessionsByToken[r.token] = r
	m.sessionsByUser.add(r.userID, r)
	m.sessionExp.push(r)
}

func (m *Map) insertAccess(r *mAccess) {
	m.access[r.id] = r
	m.accessByHash[r.hash] = r
	m.accessByClient.add(r.clientID, r)
	m.accessByUser.add(r.userID, r)
	m.accessBySession.add(r.sessionID, r)
	m.accessByRefresh.add(r.refreshID, r)
	m.accessExp.push(r)
}

func (m *Map) deleteAccess(r *mAccess) {
	delete(m.access, r.id)
	delete(m.accessByHash, r.hash)
	m.accessByClient.remove(r.clientID, r)
	m.accessByUser.remove(r.userID, r)
	m.accessBySession.remove(r.sessionID, r)
	m.accessByRefresh.remove(r.refreshID, r)
	m.accessExp.remove(r)
}

func (m *Map) insertRefresh(r *mRefresh) {
	m.refresh[r.id] = r
	m.refreshByHash[r.hash] = r
	m.refreshByClient.add(r.clientID, r)
	m.refreshByUser.add(r.userID, r)
	m.refreshBySession.add(r.sessionID, r)
	m.refreshExp.push(r)
}

// deleteRefresh deletes a refresh token and, by cascade, its access tokens.
func (m *Map) deleteRefresh(r *mRefresh) {
	for _, at := range m.accessByRefresh.get(r.id) {
		m.deleteAccess(at)
	}
	delete(m.refresh, r.id)
	delete(m.refreshByHash, r.hash)
	m.refreshByClient.remove(r.clientID, r)
	m.refreshByUser.remove(r.userID, r)
	m.refreshBySession.remove(r.sessionID, r)
	m.refreshExp.remove(r)
}

// deleteSession deletes a session, sets sessionId to null on its tokens and
// revokes its access tokens, which do not outlive it.
func (m *Map) deleteSession(s *mSession, now int64) {
	for _, at := range m.accessBySession.get(s.id) {
		m.accessBySession.remove(s.id, at)
		at.sessionID = ""
		if at.revoked == 0 {
			at.revoked = now
		}
	}
	for _, rt := range m.refreshBySession.get(s.id) {
		m.refreshBySession.remove(s.id, rt)
		rt.sessionID = ""
	}
	delete(m.sessions, s.id)
	delete(m.sessionsByToken, s.token)
	m.sessionsByUser.remove(s.userID, s)
	m.sessionExp.remove(s)
}

// Validate reports whether an access token is active.
func (m *Map) Validate(token string) (bool, error) {
	var key [43]byte
	hashKey(token, &key)
	now := m.now().UnixNano()
	m.mu.RLock()
	defer m.mu.RUnlock()
	at := m.accessByHash[string(key[:])]
	if at == nil || now >= at.expiresAt || at.revoked != 0 {
		return false, nil
	}
	if c := m.clients[at.clientID]; c == nil || c.disabled {
		return false, nil
	}
	if at.userID != "" && m.users[at.userID] == nil {
		return false, nil
	}
	if at.sessionID != "" {
		if s := m.sessions[at.sessionID]; s == nil || now >= s.expiresAt {
			return false, nil
		}
	}
	return true, nil
}

// Issue creates an access token and, with a user, a refresh token.
func (m *Map) Issue(clientID, userID, sessionID string, scopes []string) (string, string, error) {
	now := m.now().UnixNano()
	scopes = slices.Clone(scopes)
	access := NewToken()
	at := &mAccess{id: NewID(), hash: HashToken(access), clientID: clientID, sessionID: sessionID, userID: userID,
		scopes: scopes, expiresAt: now + int64(AccessTokenTTL), createdAt: now}
	var refresh string
	var rt *mRefresh
	if userID != "" {
		refresh = NewToken()
		rt = &mRefresh{id: NewID(), hash: HashToken(refresh), clientID: clientID, sessionID: sessionID, userID: userID,
			scopes: scopes, expiresAt: now + int64(RefreshTokenTTL), createdAt: now}
		at.refreshID = rt.id
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.clients[clientID]
	if c == nil || c.disabled {
		return "", "", ErrInvalidClient
	}
	if !allowedScopes(scopes, c.scopes) {
		return "", "", ErrInvalidScope
	}
	if userID != "" && m.users[userID] == nil {
		return "", "", ErrNotFound
	}
	if sessionID != "" {
		s := m.sessions[sessionID]
		if s == nil {
			return "", "", ErrNotFound
		}
		if now >= s.expiresAt || s.userID != userID {
			return "", "", ErrInvalidSession
		}
	}
	if rt != nil {
		m.insertRefresh(rt)
	}
	m.insertAccess(at)
	return access, refresh, nil
}

// Rotate exchanges a refresh token for a new access and refresh token.
func (m *Map) Rotate(refresh, clientID string) (string, string, error) {
	var key [43]byte
	hashKey(refresh, &key)
	access, newRefresh := NewToken(), NewToken()
	accessHash, refreshHash := HashToken(access), HashToken(newRefresh)
	accessID, refreshID := NewID(), NewID()
	now := m.now().UnixNano()

	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.refreshByHash[string(key[:])]
	if old == nil || old.clientID != clientID || now >= old.expiresAt {
		return "", "", ErrInvalidGrant
	}
	if old.revoked != 0 {
		m.revokeFamily(old.clientID, old.userID, now)
		return "", "", ErrReplay
	}
	if c := m.clients[old.clientID]; c == nil || c.disabled || m.users[old.userID] == nil {
		return "", "", ErrInvalidGrant
	}
	sessionID := old.sessionID
	if s := m.sessions[sessionID]; sessionID != "" && (s == nil || now >= s.expiresAt) {
		sessionID = "" // the refresh token outlives its session; the new tokens have none
	}
	old.revoked = now
	rt := &mRefresh{id: refreshID, hash: refreshHash, clientID: old.clientID, sessionID: sessionID,
		userID: old.userID, referenceID: old.referenceID, scopes: old.scopes,
		expiresAt: now + int64(RefreshTokenTTL), createdAt: now}
	m.insertRefresh(rt)
	m.insertAccess(&mAccess{id: accessID, hash: accessHash, clientID: rt.clientID, sessionID: rt.sessionID,
		userID: rt.userID, referenceID: rt.referenceID, refreshID: rt.id, scopes: rt.scopes,
		expiresAt: now + int64(AccessTokenTTL), createdAt: now})
	return access, newRefresh, nil
}

func (m *Map) revokeFamily(clientID, userID string, now int64) {
	for _, rt := range m.refreshByUser.m[userID] {
		if rt.clientID != clientID {
			continue
		}
		if rt.revoked == 0 {
			rt.revoked = now
		}
		for _, at := range m.accessByRefresh.get(rt.id) {
			m.deleteAccess(at)
		}
	}
}

// RevokeSession revokes every token of the session.
func (m *Map) RevokeSession(sessionID string) (int, error) {
	now := m.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, at := range m.accessBySession.get(sessionID) {
		m.deleteAccess(at)
		n++
	}
	for _, rt := range m.refreshBySession.m[sessionID] {
		for _, at := range m.accessByRefresh.get(rt.id) {
			m.deleteAccess(at)
			n++
		}
		if rt.revoked == 0 {
			rt.revoked = now
			n++
		}
	}
	return n, nil
}

// Sweep deletes up to limit expired rows, oldest first.
func (m *Map) Sweep(now time.Time, limit int) (int, error) {
	t := now.UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for n < limit {
		at := m.accessExp.min()
		if at == nil || at.expiresAt > t {
			break
		}
		m.deleteAccess(at)
		n++
	}
	for n < limit {
		rt := m.refreshExp.min()
		if rt == nil || rt.expiresAt > t {
			break
		}
		m.deleteRefresh(rt)
		n++
	}
	for n < limit {
		s := m.sessionExp.min()
		if s == nil || s.expiresAt > t {
			break
		}
		m.deleteSession(s, t)
		n++
	}
	return n, nil
}

// allowedScopes reports whether every requested scope is allowed by a client
// that lists its scopes (a client without a list allows any).
func allowedScopes(requested, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, s := range requested {
		if !slices.Contains(allowed, s) {
			return false
		}
	}
	return true
}

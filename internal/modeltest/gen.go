package modeltest

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/refmodel"
)

// A Source is where the generator's choices come from: a seeded random
// source, or the bytes of a fuzz input.
type Source interface {
	// Intn returns a number in [0, n).
	Intn(n int) int
}

// RandSource is a seeded random source.
type RandSource struct{ R *rand.Rand }

// NewRandSource returns a source seeded with seed.
func NewRandSource(seed uint64) RandSource {
	return RandSource{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Intn returns a random number in [0, n).
func (s RandSource) Intn(n int) int { return s.R.IntN(n) }

// ByteSource draws choices from bytes, and zeros once they run out.
type ByteSource struct {
	B []byte
	i int
}

// Intn returns the next byte (two, for large n) modulo n.
func (s *ByteSource) Intn(n int) int {
	v := s.next()
	if n > 256 {
		v = v<<8 | s.next()
	}
	return v % n
}

func (s *ByteSource) next() int {
	if s.i >= len(s.B) {
		return 0
	}
	s.i++
	return int(s.B[s.i-1])
}

// Exhausted reports whether every byte has been used.
func (s *ByteSource) Exhausted() bool { return s.i >= len(s.B) }

// Gen generates operations from a Source, looking at the model to choose
// rows and tokens that exist — most of the time. Avoid lists the known bugs
// whose inputs it leaves out.
type Gen struct {
	Src   Source
	Avoid map[string]bool
}

func (g *Gen) n(k int) int         { return g.Src.Intn(k) }
func (g *Gen) chance(pct int) bool { return g.n(100) < pct }

func oneOf[T any](g *Gen, xs ...T) T { return xs[g.n(len(xs))] }

// The small universes that make keys collide.
var (
	userIDs     = []string{"u0", "u1", "u2", "u3", "u4", "u5"}
	emails      = []string{"e0@x", "e1@x", "e2@x", "e3@x", "e4@x", "e5@x"}
	sessionIDs  = []string{"s0", "s1", "s2", "s3", "s4", "s5"}
	sessionToks = []string{secretMark + "st0", secretMark + "st1", secretMark + "st2", secretMark + "st3", secretMark + "st4", secretMark + "st5"}
	clientRecs  = []string{"c0", "c1", "c2", "c3"}
	clientIDs   = []string{"cid0", "cid1", "cid2", "cid3"}
	scopeNames  = []string{"openid", "profile", "email", "offline_access"}
	// badScopes are not RFC 6749 scope-tokens.
	badScopes = []string{"", "a b", "nul\x00", "crlf\r\n", "é", `quo"te`, `back\slash`}
	// codeHashes are the authorization codes issues carry.
	codeHashes = []string{"code-hash-0", "code-hash-1", ""}
	// clientSecrets are the plaintext secrets of the generated clients:
	// some stored (hashed), some presented.
	clientSecrets = []string{secretMark + "cs0", secretMark + "cs1"}
	references    = []string{"", "", "org0", "org1"}
	durations     = []time.Duration{0, time.Second, time.Minute, time.Minute, 2 * time.Minute, AccessTTL / 2, AccessTTL, AccessTTL, RefreshTTL / 2, RefreshTTL}
	expiryDelta   = []time.Duration{-time.Hour, -AccessTTL, -time.Nanosecond, 0, time.Nanosecond, time.Minute, AccessTTL, time.Hour, 24 * time.Hour}
)

// weird returns a value that no good input holds: empty, or with a NUL
// byte, or a key joined to another key by NUL (which an index that matches
// prefixes confuses with the pair).
func (g *Gen) weird(m *refmodel.Model, query bool) string {
	switch g.n(5) {
	case 0:
		return ""
	case 1:
		return oneOf(g, "\x00", "u0\x00", "\x00u0", "a\x00b")
	case 4:
		return oneOf(g, "u0\xff", "\xc3", "cid0\x80")
	case 2:
		// fk \x00 id: the key of a row in a non-unique index.
		keys := ids(m.AccessTokens)
		if len(keys) == 0 {
			return "u0\x00a0"
		}
		t := m.AccessTokens[keys[g.n(len(keys))]]
		return oneOf(g, t.UserID, t.SessionID, t.ClientID) + "\x00" + t.ID
	default:
		return oneOf(g, "u0\x00r0", "cid0\x00u0", "cid0\x00u0\x00org0")
	}
}

// pick returns, most of the time, an existing key (from have), else one of
// the universe, else a weird one.
func (g *Gen) pick(m *refmodel.Model, have []string, universe []string, query bool) string {
	switch p := g.n(100); {
	case p < 60 && len(have) > 0:
		return have[g.n(len(have))]
	case p < 94:
		return universe[g.n(len(universe))]
	default:
		return g.weird(m, query)
	}
}

// unused returns a value of universe that no row holds (per taken), if
// there is one.
func (g *Gen) unused(universe []string, taken func(string) bool) string {
	var free []string
	for _, v := range universe {
		if !taken(v) {
			free = append(free, v)
		}
	}
	if len(free) == 0 {
		return universe[g.n(len(universe))]
	}
	return free[g.n(len(free))]
}

// existing returns the key of a random row of table, or "" if it is empty.
func existing[T any](g *Gen, table map[string]T, key func(T) string) string {
	keys := ids(table)
	if len(keys) == 0 {
		return ""
	}
	return key(table[keys[g.n(len(keys))]])
}

func (g *Gen) userID(m *refmodel.Model, query bool) string {
	return g.pick(m, ids(m.Users), userIDs, query)
}

func (g *Gen) sessionID(m *refmodel.Model, query bool) string {
	return g.pick(m, ids(m.Sessions), sessionIDs, query)
}

func (g *Gen) clientID(m *refmodel.Model, query bool) string {
	var have []string
	for _, id := range ids(m.Clients) {
		have = append(have, m.Clients[id].ClientID)
	}
	return g.pick(m, have, clientIDs, query)
}

func (g *Gen) refreshID(m *refmodel.Model) string {
	return g.pick(m, ids(m.RefreshTokens), []string{"r0", "r1"}, false)
}

func (g *Gen) optional(s func() string) string {
	if g.chance(40) {
		return ""
	}
	return s()
}

func (g *Gen) scopes() []string {
	switch g.n(6) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	var out []string
	for _, s := range scopeNames {
		if g.chance(50) {
			out = append(out, s)
		}
	}
	if g.chance(5) {
		out = append(out, "admin")
	}
	if g.chance(3) {
		out = append(out, oneOf(g, badScopes...))
	}
	return out
}

// at returns a time near now, or now itself, or zero (missing), or a time
// before year one, or one a snapshot cannot carry (past year 9999, before
// year 0), or one in a zone whose offset RFC 3339 cannot write.
func (g *Gen) at(now time.Time) time.Time {
	switch p := g.n(100); {
	case p < 4:
		return time.Time{}
	case p < 6:
		return time.Time{}.Add(-oneOf(g, time.Nanosecond, time.Hour))
	case p < 8:
		return time.Time{}.Add(time.Nanosecond)
	case p < 9:
		return oneOf(g, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC))
	case p < 11:
		return now.Add(oneOf(g, expiryDelta...)).In(time.FixedZone("LMT", 561))
	default:
		return now.Add(oneOf(g, expiryDelta...))
	}
}

func (g *Gen) secret(prefix string, n int) string {
	if g.chance(5) {
		return oneOf(g, "", "\x00", secretMark+"x\x00")
	}
	return secretMark + prefix + string(rune('0'+g.n(n)))
}

func (g *Gen) name() string {
	if g.chance(5) {
		return oneOf(g, "", "Ann\xff", "\xc3")
	}
	return oneOf(g, "Ann", "Bob", "Eve")
}

// Op generates the next operation.
func (g *Gen) Op(h *Harness) Op {
	m := h.Model
	now := h.Clock.Now()
	if (len(m.Users) == 0 || len(m.Clients) == 0 || len(m.Sessions) == 0) && g.chance(50) {
		return g.validRow(m, now)
	}
	switch p := g.n(100); {
	case p < 4:
		return Advance{D: oneOf(g, durations...)}
	case p < 10 && g.chance(60):
		return g.validRow(m, now)
	case p < 10:
		u := oauthdb.User{ID: g.pick(m, nil, userIDs, false), Name: g.name(), Email: g.pick(m, nil, emails, false),
			EmailVerified: g.chance(50), Image: g.optional(func() string { return "https://img/x.png" })}
		if g.chance(30) {
			u.CreatedAt = g.createdAt(now)
			return Update[oauthdb.User]{Ref: g.ref(), Rec: u}
		}
		return Insert[oauthdb.User]{Rec: u}
	case p < 16:
		s := oauthdb.Session{ID: g.pick(m, nil, sessionIDs, false), Token: g.secret("st", 4), ExpiresAt: g.at(now),
			UserID: g.userID(m, false), IPAddress: g.optional(func() string { return "10.0.0.1" })}
		if g.chance(25) {
			s.CreatedAt = g.createdAt(now)
			return Update[oauthdb.Session]{Ref: g.ref(), Rec: s}
		}
		return Insert[oauthdb.Session]{Rec: s}
	case p < 21:
		c := g.client(m)
		if g.chance(30) {
			c.CreatedAt = g.createdAt(now)
			return Update[oauthdb.OAuthClient]{Ref: g.ref(), Rec: c}
		}
		return Insert[oauthdb.OAuthClient]{Rec: c}
	case p < 25 && len(m.AccessTokens) > 0 && g.chance(25):
		// A token's own row rewritten as a source may: revoked, revoked no
		// more, its session cleared, its expiry moved on.
		t := m.AccessTokens[oneOf(g, slices.Sorted(maps.Keys(m.AccessTokens))...)]
		g.rewrite(&t.Revoked, &t.SessionID, &t.ExpiresAt, now)
		return Update[oauthdb.OAuthAccessToken]{Ref: g.ref(), Rec: t}
	case p < 25:
		t := oauthdb.OAuthAccessToken{ID: g.pick(m, nil, []string{"a0", "a1", "a2"}, false),
			Token:     g.tokenHash(h),
			ClientID:  g.clientID(m, false),
			SessionID: g.optional(func() string { return g.sessionID(m, false) }),
			UserID:    g.optional(func() string { return g.userID(m, false) }),
			RefreshID: g.optional(func() string { return g.refreshID(m) }),
			Scopes:    g.scopes(), ExpiresAt: g.at(now)}
		if g.chance(20) {
			t.Revoked = now
		}
		if g.chance(40) {
			t.CreatedAt = g.createdAt(now)
			return Update[oauthdb.OAuthAccessToken]{Ref: g.ref(), Rec: t}
		}
		return Insert[oauthdb.OAuthAccessToken]{Rec: t}
	case p < 29 && len(m.RefreshTokens) > 0 && g.chance(25):
		t := m.RefreshTokens[oneOf(g, slices.Sorted(maps.Keys(m.RefreshTokens))...)]
		g.rewrite(&t.Revoked, &t.SessionID, &t.ExpiresAt, now)
		return Update[oauthdb.OAuthRefreshToken]{Ref: g.ref(), Rec: t}
	case p < 29:
		t := oauthdb.OAuthRefreshToken{ID: g.pick(m, nil, []string{"r0", "r1", "r2"}, false),
			Token:     g.tokenHash(h),
			ClientID:  g.clientID(m, false),
			SessionID: g.optional(func() string { return g.sessionID(m, false) }),
			UserID:    g.userID(m, false),
			Scopes:    g.scopes(), ExpiresAt: g.at(now)}
		if g.chance(20) {
			t.Revoked = now
		}
		if g.chance(40) {
			t.CreatedAt = g.createdAt(now)
			return Update[oauthdb.OAuthRefreshToken]{Ref: g.ref(), Rec: t}
		}
		return Insert[oauthdb.OAuthRefreshToken]{Rec: t}
	case p < 32:
		c := oauthdb.OAuthConsent{ID: g.pick(m, nil, []string{"k0", "k1", "k2"}, false),
			ClientID: g.clientID(m, false), UserID: g.optional(func() string { return g.userID(m, false) }),
			ReferenceID: g.reference(m), Scopes: g.scopes()}
		if g.chance(40) {
			c.CreatedAt = g.createdAt(now)
			return Update[oauthdb.OAuthConsent]{Ref: g.ref(), Rec: c}
		}
		return Insert[oauthdb.OAuthConsent]{Rec: c}
	case p < 34:
		v := oauthdb.Verification{ID: g.pick(m, nil, []string{"v0", "v1", "v2"}, false),
			Identifier: g.secret("vi", 3), ExpiresAt: g.at(now)}
		if !g.chance(5) {
			v.Value = `{"type":"authorization_code"}`
		}
		if g.chance(30) {
			v.CreatedAt = g.createdAt(now)
			return Update[oauthdb.Verification]{Ref: g.ref(), Rec: v}
		}
		return Insert[oauthdb.Verification]{Rec: v}
	case p < 40:
		tables := []string{oauthdb.TableUser, oauthdb.TableSession, oauthdb.TableSession, oauthdb.TableOAuthClient,
			oauthdb.TableOAuthAccessToken, oauthdb.TableOAuthAccessToken, oauthdb.TableOAuthRefreshToken,
			oauthdb.TableOAuthRefreshToken, oauthdb.TableOAuthConsent, oauthdb.TableVerification}
		return Delete{Table: oneOf(g, tables...), Ref: g.ref(), ID: oneOf(g, "u0", "s0", "nope", "")}
	case p < 52:
		return Issue{Req: g.issueRequest(m, now), InTx: g.chance(25)}
	case p < 58:
		return Validate{Tok: g.tokenRef(refAccess)}
	case p < 61:
		return Introspect{Tok: g.tokenRef(refAccess), Own: g.chance(60), Client: g.clientID(m, true)}
	case p < 65:
		if g.chance(30) {
			return ValidateRefresh{Tok: g.tokenRef(refRefresh), Introspect: true, Own: g.chance(60), Client: g.clientID(m, true)}
		}
		return ValidateRefresh{Tok: g.tokenRef(refRefresh)}
	case p < 74:
		var scopes []string
		if g.chance(30) {
			scopes = g.scopes()
		}
		return Rotate{Tok: g.tokenRef(refRefresh), Own: g.chance(85), Client: g.clientID(m, true), Scopes: scopes, DPoP: g.dpopKey()}
	case p < 76:
		return RevokeAccess{Tok: g.tokenRef(refAccess)}
	case p < 78:
		switch {
		case g.chance(25):
			return RevokeRefreshByID{Ref: g.ref(), ID: oneOf(g, "r0", "nope", "")}
		case g.chance(40):
			return RevokeToken{Tok: g.tokenRef(oneOf(g, refAccess, refRefresh)), Own: g.chance(70),
				Client: g.clientID(m, true), Hint: oneOf(g, "", "access_token", "refresh_token", "other")}
		}
		return RevokeRefresh{Tok: g.tokenRef(refRefresh)}
	case p < 82:
		switch g.n(5) {
		case 4:
			return RevokeBy{By: "code", ID: oneOf(g, codeHashes...)}
		case 0:
			return RevokeBy{By: "session", ID: g.sessionID(m, true)}
		case 1:
			return RevokeBy{By: "user", ID: g.userID(m, true)}
		case 2:
			return RevokeBy{By: "client", ClientID: g.clientID(m, true)}
		default:
			return RevokeBy{By: "clientUser", ClientID: g.clientID(m, true), ID: g.userID(m, true)}
		}
	case p < 90:
		return Consent{Do: oneOf(g, "grant", "grant", "check", "check", "revoke", "list"),
			ClientID: g.clientID(m, true), UserID: g.optional(func() string { return g.userID(m, true) }),
			ReferenceID: g.reference(m), Scopes: g.scopes()}
	case p < 92:
		return Sweep{Limit: oneOf(g, -1, 0, 1, 2, 3, 100)}
	case p < 93 && g.chance(50):
		return Authenticate{ClientID: g.clientID(m, true), Secret: oneOf(g, "", clientSecrets[0], clientSecrets[1], "wrong")}
	case p < 93:
		return g.batch(h)
	case p < 94:
		return Restore{JSON: g.chance(50)}
	default:
		return Read{Ref: g.n(16), Key: g.pick(m, nil, []string{"u0", "s0", "cid0", "c0", "k0"}, true)}
	}
}

// validRow inserts a row that is good in every way: new keys, existing
// foreign keys. It keeps a run's tables filled.
func (g *Gen) validRow(m *refmodel.Model, now time.Time) Op {
	userID := existing(g, m.Users, func(u oauthdb.User) string { return u.ID })
	clientID := existing(g, m.Clients, func(c oauthdb.OAuthClient) string { return c.ClientID })
	switch p := g.n(10); {
	case p < 3 && len(m.Clients) > 0 && len(m.Sessions) > 0 || userID == "":
		return Insert[oauthdb.User]{Rec: oauthdb.User{
			ID:    g.unused(userIDs, func(v string) bool { _, ok := m.Users[v]; return ok }),
			Email: g.unused(emails, func(v string) bool { _, err := m.UserByEmail(v); return err == nil }),
			Name:  g.name() + "x"}}
	case p < 6 && len(m.Sessions) > 0 || clientID == "":
		c := g.client(m)
		c.ID = g.unused(clientRecs, func(v string) bool { _, ok := m.Clients[v]; return ok })
		c.ClientID = g.unused(clientIDs, func(v string) bool { _, err := m.ClientByClientID(v); return err == nil })
		c.RedirectURIs, c.Metadata = []string{"https://app.example/cb"}, nil
		c.UserID = g.optional(func() string { return userID })
		return Insert[oauthdb.OAuthClient]{Rec: c}
	default:
		return Insert[oauthdb.Session]{Rec: oauthdb.Session{
			ID:     g.unused(sessionIDs, func(v string) bool { _, ok := m.Sessions[v]; return ok }),
			Token:  g.unused(sessionToks, func(v string) bool { _, err := m.SessionByToken(v); return err == nil }),
			UserID: userID,
			// Some sessions end before the tokens issued in them do: what
			// becomes of those tokens is what liveness is about.
			ExpiresAt: now.Add(oneOf(g, 3*time.Minute, AccessTTL, time.Hour, 2*time.Hour, 24*time.Hour))}}
	}
}

// createdAt is the createdAt of an update: the update's own choice, which
// may be zero.
func (g *Gen) createdAt(now time.Time) time.Time {
	if g.chance(50) {
		return now.Add(-time.Hour)
	}
	return time.Time{}
}

// batch is a few writes in one transaction, which aborts sometimes.
func (g *Gen) batch(h *Harness) Batch {
	b := Batch{Abort: g.chance(30)}
	n := 2 + g.n(3)
	for try := 0; len(b.Ops) < n && try < 20; try++ {
		op := g.Op(h)
		if _, ok := resolve(h.Model, op); ok {
			b.Ops = append(b.Ops, op)
		}
	}
	return b
}

func (g *Gen) ref() int {
	if g.chance(10) {
		return -1
	}
	return g.n(16)
}

func (g *Gen) reference(m *refmodel.Model) string {
	if g.chance(3) {
		return oneOf(g, "org0\x00x", "\x00")
	}
	return oneOf(g, references...)
}

// tokenHash is the token field of a row stored by hand: the hash of a
// plaintext the test knows, an opaque secret, or a bad value.
// rewrite changes one of a token row's revoked, sessionId and expiresAt.
func (g *Gen) rewrite(revoked *time.Time, sessionID *string, expiresAt *time.Time, now time.Time) {
	switch g.n(4) {
	case 0:
		*revoked = time.Time{}
	case 1:
		*revoked = now
	case 2:
		*sessionID = ""
	default:
		*expiresAt = now.Add(oneOf(g, durations...))
	}
}

func (g *Gen) tokenHash(h *Harness) string {
	if g.chance(50) {
		return h.hash(oneOf(g, knownPlaintexts...))
	}
	return g.secret("th", 4)
}

// dpopKeys are the thumbprints of the DPoP keys proofs are signed with; the
// last is no thumbprint at all.
var dpopKeys = []string{"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "not+a/thumbprint"}

// dpopKey is the thumbprint of a request's DPoP proof: mostly none.
func (g *Gen) dpopKey() string {
	if !g.chance(25) {
		return ""
	}
	if g.chance(5) {
		return dpopKeys[2]
	}
	return oneOf(g, dpopKeys[:2]...)
}

func (g *Gen) client(m *refmodel.Model) oauthdb.OAuthClient {
	c := oauthdb.OAuthClient{ID: g.pick(m, nil, clientRecs, false), ClientID: g.pick(m, nil, clientIDs, false),
		Disabled: g.chance(10), SkipConsent: g.chance(30), Public: g.chance(30),
		RedirectURIs: []string{"https://app.example/cb"},
		UserID:       g.optional(func() string { return g.userID(m, false) }),
		Name:         "App", ReferenceID: g.optional(func() string { return "org0" }),
	}
	if g.chance(30) {
		c.Scopes = g.scopes()
	}
	if g.chance(15) {
		c.ClientCredentialsScopes = g.scopes()
	}
	if g.chance(10) {
		c.DPoPBoundAccessTokens = true
	} else if g.chance(5) {
		c.Metadata = json.RawMessage(`{"dpop_bound_access_tokens":true}`)
	}
	if g.chance(20) {
		c.ClientSecret = secretMark + "cs"
	} else if g.chance(40) {
		c.ClientSecret = oauthdb.HashSecret(oneOf(g, clientSecrets...))
	}
	if g.chance(10) {
		c.TokenEndpointAuthMethod = oneOf(g, "none", "client_secret_basic")
	}
	switch g.n(12) {
	case 0:
		c.RedirectURIs = nil
	case 1:
		c.RedirectURIs = []string{oneOf(g, "/relative", "::bad", "", "https://ok/cb")}
	case 2:
		c.Metadata = json.RawMessage(oneOf(g, `{"a":1}`, `{bad`, `null`, ``, ` {"a": [1, 2], "h": "<&>"} `, "{\"a\":\"\xff\"}"))
	case 3:
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
		c.Contacts = []string{}
	}
	return c
}

func (g *Gen) issueRequest(m *refmodel.Model, now time.Time) oauthdb.IssueRequest {
	clientID := existing(g, m.Clients, func(c oauthdb.OAuthClient) string { return c.ClientID })
	if clientID == "" || g.chance(8) {
		clientID = g.clientID(m, false)
	}
	req := oauthdb.IssueRequest{ClientID: clientID, Scopes: g.scopes(), Refresh: g.chance(60),
		ReferenceID: g.optional(func() string { return "org0" }), DPoPThumbprint: g.dpopKey()}
	if g.chance(40) {
		req.AuthorizationCodeID = oneOf(g, codeHashes[:2]...)
		req.AuthTime = now.Add(-time.Minute)
		req.Resources = []string{"https://api.example/a"}
	}
	switch g.n(10) {
	case 0, 1, 2, 3, 4, 5:
		// A user's session, as an authorization code grant has.
		if keys := ids(m.Sessions); len(keys) > 0 && !g.chance(10) {
			s := m.Sessions[keys[g.n(len(keys))]]
			req.SessionID, req.UserID = s.ID, s.UserID
		} else {
			req.SessionID, req.UserID = g.sessionID(m, false), g.userID(m, false)
		}
	case 6, 7:
		req.UserID = g.userID(m, false)
	default:
		// Client credentials.
	}
	if c, ok := clientByClientID(m, req.ClientID); ok && len(c.Scopes) > 0 && g.chance(80) {
		req.Scopes = nil
		for _, s := range c.Scopes {
			if g.chance(60) {
				req.Scopes = append(req.Scopes, s)
			}
		}
	}
	return req
}

func clientByClientID(m *refmodel.Model, clientID string) (oauthdb.OAuthClient, bool) {
	c, err := m.ClientByClientID(clientID)
	return c, err == nil
}

// tokenRef presents mostly a token of the list, sometimes one of the other
// list, an unknown one or a malformed one.
func (g *Gen) tokenRef(list int) TokenRef {
	switch p := g.n(100); {
	case p < 45:
		return TokenRef{List: list, Idx: g.n(3), Lit: "unissued"}
	case p < 75:
		return TokenRef{List: list, Idx: g.n(64), Lit: "unissued"}
	case p < 83:
		return TokenRef{List: 1 - list, Idx: g.n(64), Lit: "unissued"}
	case p < 90:
		return TokenRef{List: refLiteral, Lit: oneOf(g, "unissued", "plain-0", strings.Repeat("A", 43))}
	default:
		return TokenRef{List: refLiteral, Lit: oneOf(g, "", " ", "a b", "tok\x00en", "tök", "\x7f",
			strings.Repeat("x", oauthdb.MaxTokenLength), strings.Repeat("x", oauthdb.MaxTokenLength+1))}
	}
}

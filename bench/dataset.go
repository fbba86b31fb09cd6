// Package bench holds the comparative benchmarks of oauthdb: one dataset
// generator, one interface ([Impl]) that every store implements with the same
// semantics, the baselines (plain Go maps, go-memdb with its reflection
// indexers, SQLite) and the benchmark bodies ([Cases]) shared by the test
// binary and the `oauthdb bench` command.
package bench

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Time-to-live of the tokens issued by [Impl.Issue] and [Impl.Rotate]
// (better-auth's defaults).
const (
	// AccessTokenTTL is the lifetime of an issued access token.
	AccessTokenTTL = time.Hour
	// RefreshTokenTTL is the lifetime of an issued refresh token.
	RefreshTokenTTL = 30 * 24 * time.Hour
)

// Shares of the generated rows that have a given property. Counts are rounded
// up, so even a tiny dataset has at least one row of each kind.
const (
	// DisabledClientShare is the share of clients that are disabled.
	DisabledClientShare = 0.02
	// ExpiredSessionShare is the share of sessions that have expired.
	ExpiredSessionShare = 0.05
	// ExpiredTokenShare is the share of access and of refresh tokens that
	// have expired.
	ExpiredTokenShare = 0.10
	// RevokedRefreshShare is the share of refresh tokens already revoked.
	RevokedRefreshShare = 0.02
	// ClientCredentialsShare is the share of access tokens issued by the
	// client-credentials grant: no user, no session, no refresh token.
	ClientCredentialsShare = 0.10
	// RefreshParentShare is the share of the user access tokens issued
	// together with (or rotated from) a refresh token: their RefreshID is set.
	RefreshParentShare = 0.50
	// DetachedShare is the share of the other user access tokens whose
	// session was deleted (SessionID empty).
	DetachedShare = 0.05
	// ConsentShare is the share of the (user, client) pairs used by tokens
	// that have a consent row.
	ConsentShare = 0.10
)

// DefaultNow is the fixed "now" of generated datasets.
var DefaultNow = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

// Config sizes a dataset. The same Config always yields the same Dataset.
type Config struct {
	Seed          uint64
	Now           time.Time
	Clients       int
	Users         int
	Sessions      int
	AccessTokens  int
	RefreshTokens int
	// Missing is how many never-issued token plaintexts to generate for
	// miss benchmarks (0: min(AccessTokens, 10000)).
	Missing int
}

// DefaultConfig returns the default dataset size: 1,000 clients, 10,000
// users, 20,000 sessions, 200,000 access tokens and 100,000 refresh tokens.
func DefaultConfig() Config {
	return Config{
		Seed:          1,
		Now:           DefaultNow,
		Clients:       1000,
		Users:         10000,
		Sessions:      20000,
		AccessTokens:  200000,
		RefreshTokens: 100000,
	}
}

// TinyConfig returns a small dataset for smoke tests: 20 clients, 50 users,
// 100 sessions, 200 access tokens, 100 refresh tokens.
func TinyConfig() Config {
	return Config{
		Seed:          7,
		Now:           DefaultNow,
		Clients:       20,
		Users:         50,
		Sessions:      100,
		AccessTokens:  200,
		RefreshTokens: 100,
	}
}

// ScaledConfig returns the default proportions scaled to the given number of
// access tokens (at least one of everything).
func ScaledConfig(accessTokens int) Config {
	c := DefaultConfig()
	scale := func(n int) int { return max(1, n*accessTokens/c.AccessTokens) }
	c.Clients = scale(c.Clients)
	c.Users = scale(c.Users)
	c.Sessions = scale(c.Sessions)
	c.RefreshTokens = scale(c.RefreshTokens)
	c.AccessTokens = max(1, accessTokens)
	return c
}

// User is a row of better-auth's user table.
type User struct {
	ID            string
	Name          string
	Email         string
	EmailVerified bool
	Image         string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Session is a row of better-auth's session table.
type Session struct {
	ID        string
	Token     string
	UserID    string
	ExpiresAt time.Time
	IPAddress string
	UserAgent string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Client is a row of the oauthClient table. ClientSecret holds the hash of
// the secret (empty for public clients).
type Client struct {
	ID                      string
	ClientID                string
	ClientSecret            string
	Disabled                bool
	SkipConsent             bool
	Public                  bool
	Name                    string
	Scopes                  []string
	RedirectURIs            []string
	GrantTypes              []string
	ResponseTypes           []string
	TokenEndpointAuthMethod string
	UserID                  string
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// AccessToken is a row of the oauthAccessToken table, except that Token is
// the PLAINTEXT token: every implementation stores its hash ([HashToken]).
type AccessToken struct {
	ID          string
	Token       string
	ClientID    string
	SessionID   string
	UserID      string
	ReferenceID string
	RefreshID   string
	Scopes      []string
	ExpiresAt   time.Time
	CreatedAt   time.Time
}

// RefreshToken is a row of the oauthRefreshToken table; Token is the
// PLAINTEXT token. Revoked is zero unless the token was revoked.
type RefreshToken struct {
	ID          string
	Token       string
	ClientID    string
	SessionID   string
	UserID      string
	ReferenceID string
	Scopes      []string
	ExpiresAt   time.Time
	CreatedAt   time.Time
	Revoked     time.Time
}

// Consent is a row of the oauthConsent table.
type Consent struct {
	ID          string
	ClientID    string
	UserID      string
	ReferenceID string
	Scopes      []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TokenStatus is why an access token of a dataset does or does not validate
// at the dataset's Now.
type TokenStatus int

// The statuses of [Dataset.AccessStatus], in the order Validate checks them.
const (
	StatusValid TokenStatus = iota
	StatusExpired
	StatusClientDisabled
	StatusSessionExpired
)

// String names the status.
func (s TokenStatus) String() string {
	switch s {
	case StatusValid:
		return "valid"
	case StatusExpired:
		return "expired"
	case StatusClientDisabled:
		return "client-disabled"
	case StatusSessionExpired:
		return "session-expired"
	}
	return fmt.Sprintf("TokenStatus(%d)", int(s))
}

// ExpiredCounts counts the rows of a dataset that have expired at its Now.
type ExpiredCounts struct {
	AccessTokens  int
	RefreshTokens int
	Sessions      int
}

// Total is the number of expired rows.
func (e ExpiredCounts) Total() int { return e.AccessTokens + e.RefreshTokens + e.Sessions }

// Dataset is a generated store content plus the helper slices benchmarks draw
// from. It is never modified after [Generate] returns.
type Dataset struct {
	Config        Config
	Now           time.Time
	Users         []User
	Sessions      []Session
	Clients       []Client
	AccessTokens  []AccessToken
	RefreshTokens []RefreshToken
	Consents      []Consent

	// LiveTokens are the plaintexts of the access tokens that validate at
	// Now, in a shuffled order.
	LiveTokens []string
	// MissingTokens are plaintexts that were never issued.
	MissingTokens []string
	// LiveRefresh are the refresh tokens that can be rotated at Now:
	// unexpired, not revoked, of an enabled client and a live session.
	LiveRefresh []*RefreshToken
	// SessionsWithTokens are the IDs of the sessions that have at least one
	// access or refresh token.
	SessionsWithTokens []string
	// Expired counts the rows that have expired at Now.
	Expired ExpiredCounts

	clientByID  map[string]*Client
	sessionByID map[string]*Session
}

// HashToken is how every implementation stores a token: SHA-256, base64url
// without padding (43 characters).
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// hashKey is HashToken into a stack buffer, for allocation-free lookups.
func hashKey(token string, dst *[43]byte) {
	var sum [sha256.Size]byte
	if len(token) <= 64 {
		// Copy into a stack buffer: []byte(token) of more than 32 bytes
		// would be a heap allocation.
		var buf [64]byte
		sum = sha256.Sum256(append(buf[:0], token...))
	} else {
		sum = sha256.Sum256([]byte(token))
	}
	base64.RawURLEncoding.Encode(dst[:], sum[:])
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

type gen struct {
	r *rand.Rand
}

// id returns a 32-character alphanumeric ID, better-auth's shape.
func (g gen) id() string {
	var b [32]byte
	for i := range b {
		b[i] = idAlphabet[g.r.IntN(len(idAlphabet))]
	}
	return string(b[:])
}

// token returns a random 32-byte token, base64url without padding.
func (g gen) token() string {
	var b [32]byte
	for i := 0; i < len(b); i += 8 {
		v := g.r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// between returns a duration uniformly in [lo, hi).
func (g gen) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.r.Int64N(int64(hi-lo)))
}

// pick returns a set of exactly ceil(n*share) distinct indexes in [0, n).
func (g gen) pick(n int, share float64) []bool {
	set := make([]bool, n)
	if n == 0 {
		return set
	}
	k := min(n, int(math.Ceil(float64(n)*share)))
	for _, i := range g.r.Perm(n)[:k] {
		set[i] = true
	}
	return set
}

var (
	userScopes   = [][]string{{"openid", "profile", "email", "offline_access"}, {"openid", "profile", "offline_access"}, {"openid", "email"}}
	clientScopes = [][]string{{"read", "write"}, {"read"}}
)

// Generate builds the dataset of cfg. It is deterministic: the same Config
// gives the same rows, IDs and tokens.
func Generate(cfg Config) *Dataset {
	if cfg.Now.IsZero() {
		cfg.Now = DefaultNow
	}
	if cfg.Missing <= 0 {
		cfg.Missing = max(1, min(cfg.AccessTokens, 10000))
	}
	cfg.Clients = max(1, cfg.Clients)
	cfg.Users = max(1, cfg.Users)
	cfg.Sessions = max(1, cfg.Sessions)
	g := gen{r: rand.New(rand.NewPCG(cfg.Seed, 0x6f61757468646221))}
	now := cfg.Now
	ds := &Dataset{Config: cfg, Now: now}

	ds.Users = make([]User, cfg.Users)
	for i := range ds.Users {
		created := now.Add(-g.between(24*time.Hour, 365*24*time.Hour))
		ds.Users[i] = User{
			ID:            g.id(),
			Name:          fmt.Sprintf("User %d", i),
			Email:         fmt.Sprintf("user%d@example.com", i),
			EmailVerified: i%3 != 0,
			CreatedAt:     created,
			UpdatedAt:     created,
		}
	}

	disabled := g.pick(cfg.Clients, DisabledClientShare)
	ds.Clients = make([]Client, cfg.Clients)
	for i := range ds.Clients {
		created := now.Add(-g.between(24*time.Hour, 365*24*time.Hour))
		c := Client{
			ID:                      g.id(),
			ClientID:                g.id(),
			Disabled:                disabled[i],
			SkipConsent:             i%7 == 0,
			Public:                  i%5 == 0,
			Name:                    fmt.Sprintf("Client %d", i),
			Scopes:                  []string{"openid", "profile", "email", "offline_access", "read", "write"},
			RedirectURIs:            []string{fmt.Sprintf("https://app%d.example.com/callback", i)},
			GrantTypes:              []string{"authorization_code", "refresh_token", "client_credentials"},
			ResponseTypes:           []string{"code"},
			TokenEndpointAuthMethod: "client_secret_basic",
			CreatedAt:               created,
			UpdatedAt:               created,
		}
		if c.Public {
			c.TokenEndpointAuthMethod = "none"
			c.GrantTypes = []string{"authorization_code", "refresh_token"}
		} else {
			c.ClientSecret = HashToken(g.token())
		}
		ds.Clients[i] = c
	}

	expiredSession := g.pick(cfg.Sessions, ExpiredSessionShare)
	ds.Sessions = make([]Session, cfg.Sessions)
	for i := range ds.Sessions {
		created := now.Add(-g.between(time.Minute, 7*24*time.Hour))
		s := Session{
			ID:        g.id(),
			Token:     g.token(),
			UserID:    ds.Users[g.r.IntN(len(ds.Users))].ID,
			IPAddress: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			UserAgent: "Mozilla/5.0 (bench)",
			CreatedAt: created,
			UpdatedAt: created,
		}
		if expiredSession[i] {
			s.ExpiresAt = now.Add(-g.between(time.Second, 30*24*time.Hour))
		} else {
			s.ExpiresAt = now.Add(g.between(time.Hour, 7*24*time.Hour))
		}
		ds.Sessions[i] = s
	}

	expiredRefresh := g.pick(cfg.RefreshTokens, ExpiredTokenShare)
	revokedRefresh := g.pick(cfg.RefreshTokens, RevokedRefreshShare)
	ds.RefreshTokens = make([]RefreshToken, cfg.RefreshTokens)
	for i := range ds.RefreshTokens {
		s := &ds.Sessions[g.r.IntN(len(ds.Sessions))]
		rt := RefreshToken{
			ID:        g.id(),
			Token:     g.token(),
			ClientID:  ds.Clients[g.r.IntN(len(ds.Clients))].ClientID,
			SessionID: s.ID,
			UserID:    s.UserID,
			Scopes:    slices.Clone(userScopes[g.r.IntN(len(userScopes))]),
		}
		if expiredRefresh[i] {
			rt.ExpiresAt = now.Add(-g.between(time.Second, 30*24*time.Hour))
		} else {
			rt.ExpiresAt = now.Add(g.between(24*time.Hour, RefreshTokenTTL))
		}
		rt.CreatedAt = rt.ExpiresAt.Add(-RefreshTokenTTL)
		if revokedRefresh[i] {
			rt.Revoked = now.Add(-g.between(time.Second, 24*time.Hour))
		}
		ds.RefreshTokens[i] = rt
	}

	expiredAccess := g.pick(cfg.AccessTokens, ExpiredTokenShare)
	clientCreds := g.pick(cfg.AccessTokens, ClientCredentialsShare)
	ds.AccessTokens = make([]AccessToken, cfg.AccessTokens)
	for i := range ds.AccessTokens {
		at := AccessToken{ID: g.id(), Token: g.token()}
		switch {
		case clientCreds[i]:
			at.ClientID = ds.Clients[g.r.IntN(len(ds.Clients))].ClientID
			at.Scopes = slices.Clone(clientScopes[g.r.IntN(len(clientScopes))])
		case len(ds.RefreshTokens) > 0 && g.r.Float64() < RefreshParentShare:
			rt := &ds.RefreshTokens[g.r.IntN(len(ds.RefreshTokens))]
			at.ClientID, at.SessionID, at.UserID = rt.ClientID, rt.SessionID, rt.UserID
			at.RefreshID = rt.ID
			at.Scopes = slices.Clone(rt.Scopes)
		default:
			s := &ds.Sessions[g.r.IntN(len(ds.Sessions))]
			at.ClientID = ds.Clients[g.r.IntN(len(ds.Clients))].ClientID
			at.UserID = s.UserID
			if g.r.Float64() >= DetachedShare {
				at.SessionID = s.ID
			}
			at.Scopes = slices.Clone(userScopes[g.r.IntN(len(userScopes))])
		}
		if expiredAccess[i] {
			at.ExpiresAt = now.Add(-g.between(time.Second, 30*24*time.Hour))
		} else {
			at.ExpiresAt = now.Add(g.between(time.Minute, AccessTokenTTL))
		}
		at.CreatedAt = at.ExpiresAt.Add(-AccessTokenTTL)
		ds.AccessTokens[i] = at
	}

	// Consents: a share of the (client, user) pairs the tokens use.
	type pair struct{ client, user string }
	seen := make(map[pair]bool)
	var pairs []pair
	for i := range ds.AccessTokens {
		at := &ds.AccessTokens[i]
		if at.UserID == "" {
			continue
		}
		p := pair{at.ClientID, at.UserID}
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	if len(pairs) > 0 {
		withConsent := g.pick(len(pairs), ConsentShare)
		for i, p := range pairs {
			if !withConsent[i] {
				continue
			}
			created := now.Add(-g.between(time.Hour, 90*24*time.Hour))
			ds.Consents = append(ds.Consents, Consent{
				ID:        g.id(),
				ClientID:  p.client,
				UserID:    p.user,
				Scopes:    slices.Clone(userScopes[g.r.IntN(len(userScopes))]),
				CreatedAt: created,
				UpdatedAt: created,
			})
		}
	}

	ds.index()

	// Helper slices.
	for i := range ds.AccessTokens {
		if ds.AccessStatus(i) == StatusValid {
			ds.LiveTokens = append(ds.LiveTokens, ds.AccessTokens[i].Token)
		}
		if !now.Before(ds.AccessTokens[i].ExpiresAt) {
			ds.Expired.AccessTokens++
		}
	}
	g.r.Shuffle(len(ds.LiveTokens), func(i, j int) {
		ds.LiveTokens[i], ds.LiveTokens[j] = ds.LiveTokens[j], ds.LiveTokens[i]
	})
	ds.MissingTokens = make([]string, cfg.Missing)
	for i := range ds.MissingTokens {
		ds.MissingTokens[i] = "missing-" + g.token()
	}
	for i := range ds.RefreshTokens {
		rt := &ds.RefreshTokens[i]
		if !now.Before(rt.ExpiresAt) {
			ds.Expired.RefreshTokens++
			continue
		}
		if !rt.Revoked.IsZero() || ds.clientByID[rt.ClientID].Disabled {
			continue
		}
		if s := ds.sessionByID[rt.SessionID]; s != nil && now.Before(s.ExpiresAt) {
			ds.LiveRefresh = append(ds.LiveRefresh, rt)
		}
	}
	g.r.Shuffle(len(ds.LiveRefresh), func(i, j int) {
		ds.LiveRefresh[i], ds.LiveRefresh[j] = ds.LiveRefresh[j], ds.LiveRefresh[i]
	})
	withTokens := make(map[string]bool)
	for i := range ds.AccessTokens {
		if id := ds.AccessTokens[i].SessionID; id != "" {
			withTokens[id] = true
		}
	}
	for i := range ds.RefreshTokens {
		withTokens[ds.RefreshTokens[i].SessionID] = true
	}
	for i := range ds.Sessions {
		s := &ds.Sessions[i]
		if withTokens[s.ID] {
			ds.SessionsWithTokens = append(ds.SessionsWithTokens, s.ID)
		}
		if !now.Before(s.ExpiresAt) {
			ds.Expired.Sessions++
		}
	}
	return ds
}

func (ds *Dataset) index() {
	ds.clientByID = make(map[string]*Client, len(ds.Clients))
	for i := range ds.Clients {
		ds.clientByID[ds.Clients[i].ClientID] = &ds.Clients[i]
	}
	ds.sessionByID = make(map[string]*Session, len(ds.Sessions))
	for i := range ds.Sessions {
		ds.sessionByID[ds.Sessions[i].ID] = &ds.Sessions[i]
	}
}

// AccessStatus is what Validate must answer, at Now, for the i-th access
// token of the dataset as generated (before any write).
func (ds *Dataset) AccessStatus(i int) TokenStatus {
	at := &ds.AccessTokens[i]
	if !ds.Now.Before(at.ExpiresAt) {
		return StatusExpired
	}
	if c := ds.clientByID[at.ClientID]; c == nil || c.Disabled {
		return StatusClientDisabled
	}
	if at.SessionID != "" {
		if s := ds.sessionByID[at.SessionID]; s == nil || !ds.Now.Before(s.ExpiresAt) {
			return StatusSessionExpired
		}
	}
	return StatusValid
}

// Rows is the number of rows of the dataset, all tables together.
func (ds *Dataset) Rows() int {
	return len(ds.Users) + len(ds.Sessions) + len(ds.Clients) +
		len(ds.AccessTokens) + len(ds.RefreshTokens) + len(ds.Consents)
}

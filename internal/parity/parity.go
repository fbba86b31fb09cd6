// Package parity holds oauthdb's verdicts on tokens to better-auth's own:
// the fields of an RFC 7662 answer that are compared, oauthdb's answer
// computed as an introspection endpoint over a DB would give it, and the
// deliberate differences a test lists — each with its reason, what must
// hold instead of equality, and a check that it is still seen, so that a
// difference that disappears fails too.
//
// The interop and replay tests of package betterauth compare better-auth's
// exports with it, and the end-to-end test (internal/e2e) better-auth
// running live with a replica that follows its Postgres.
package parity

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthdb/oauthdb"
)

// Fields are the fields compared: better-auth also answers iss, azp (=
// client_id) and token_type, which oauthdb's records do not decide.
var Fields = []string{"active", "client_id", "sub", "sid", "scope", "exp", "iat"}

// Answer is an RFC 7662 introspection answer, restricted to Fields, as
// JSON decodes it (numbers are float64).
type Answer map[string]any

// Inactive is the answer about an inactive token.
func Inactive() Answer { return Answer{"active": false} }

// Restrict restricts an answer — better-auth's, or an endpoint's over
// oauthdb — to Fields.
func Restrict(resp map[string]any) Answer {
	a := Answer{}
	for _, k := range Fields {
		if v, ok := resp[k]; ok {
			a[k] = v
		}
	}
	return a
}

// AccessAnswer is oauthdb's introspection answer for an active access
// token: sub is its user and sid its session when it has them (a
// client-credentials token has neither; a token whose session is gone has
// no sid), exp and iat its expiresAt and createdAt in seconds, scope its
// scopes joined by spaces.
func AccessAnswer(info oauthdb.AccessTokenInfo) Answer {
	a := Answer{"active": true, "client_id": info.Token.ClientID, "scope": strings.Join(info.Token.Scopes, " "),
		"exp": float64(info.Token.ExpiresAt.Unix()), "iat": float64(info.Token.CreatedAt.Unix())}
	if info.User.ID != "" {
		a["sub"] = info.User.ID
	}
	if info.Session.ID != "" {
		a["sid"] = info.Session.ID
	}
	return a
}

// RefreshAnswer is the same for a refresh token, whose session, when gone
// or expired, is dropped (no sid) unless the token is bound to it.
func RefreshAnswer(info oauthdb.RefreshTokenInfo) Answer {
	a := Answer{"active": true, "client_id": info.Token.ClientID, "scope": strings.Join(info.Token.Scopes, " "),
		"exp": float64(info.Token.ExpiresAt.Unix()), "iat": float64(info.Token.CreatedAt.Unix()), "sub": info.User.ID}
	if info.Session.ID != "" {
		a["sid"] = info.Session.ID
	}
	return a
}

// Introspect answers as an introspection endpoint over db would, for the
// calling client: like better-auth without a token_type_hint, it tries the
// token as an access token, then as a refresh token. err is why it is
// inactive.
func Introspect(db *oauthdb.DB, token, caller string) (Answer, error) {
	info, err := db.IntrospectAccessToken(token, caller)
	if err == nil {
		return AccessAnswer(info), nil
	}
	if !errors.Is(err, oauthdb.ErrTokenNotFound) {
		return Inactive(), err
	}
	rinfo, err := db.IntrospectRefreshToken(token, caller)
	if err != nil {
		return Inactive(), err
	}
	return RefreshAnswer(rinfo), nil
}

// Introspection is one of better-auth's /oauth2/introspect answers as the
// harness records it (interop/betterauth: an export's moment, a live
// checkpoint): the token's name in the scenario, the calling client (its
// clientId and name), the HTTP status and the body.
type Introspection struct {
	Token      string         `json:"token"`
	Caller     string         `json:"caller"`
	CallerName string         `json:"callerName"`
	Status     int            `json:"status"`
	Response   map[string]any `json:"response"`
}

// Userinfo is better-auth's /oauth2/userinfo status for an access token, as
// the harness records it.
type Userinfo struct {
	Token  string `json:"token"`
	Status int    `json:"status"`
}

// UserinfoStatus returns the statuses by token name.
func UserinfoStatus(us []Userinfo) map[string]int {
	m := make(map[string]int, len(us))
	for _, u := range us {
		m[u.Token] = u.Status
	}
	return m
}

// Verdict is one introspection of one token at one moment, by better-auth
// and by oauthdb.
type Verdict struct {
	// Where names the moment for messages: an export's adapter and
	// moment, or a live run's checkpoint.
	Where string
	// Adapter and Moment name an export's moment.
	Adapter, Moment string
	// Now is better-auth's clock when it answered.
	Now time.Time
	// Token is the token's name in the scenario, Kind "access" or
	// "refresh"; Owner and Caller are client names, CallerID the caller's
	// clientId.
	Token, Kind, Owner, Caller, CallerID string
	// Status is better-auth's HTTP status, Theirs its answer, Userinfo
	// its /oauth2/userinfo status for an access token (else 0).
	Status   int
	Theirs   Answer
	Userinfo int
	// Ours is oauthdb's answer. OurStatus is its HTTP status when it was
	// asked over HTTP (oauthdb serve), 0 when it was asked in-process,
	// where Err says why it is inactive and DB is the DB asked.
	Ours      Answer
	OurStatus int
	Err       error
	DB        *oauthdb.DB
	// ExpiresAt is the token's expiry, as stored.
	ExpiresAt time.Time
	// Cleared is whether loading cleared its dangling sessionId.
	Cleared bool
}

// BetterAuthActive is better-auth's verdict: its introspection's, or, for a
// public client's access token asked by its owner (401), its userinfo's.
func BetterAuthActive(v *Verdict) (active, known bool) {
	switch {
	case v.Status == 200:
		return v.Theirs["active"] == true, true
	case v.Status == 401 && v.Kind == "access":
		return v.Userinfo != 401, true
	}
	return false, false
}

// ExpiryInstant: a token is expired from the instant of its expiresAt on,
// where better-auth still accepts it at that instant. It holds only for a
// verdict asked in-process (it checks Err).
var ExpiryInstant = Difference{
	Name: "expiry instant",
	Reason: "oauthdb treats a token as expired from the instant of its expiresAt on (expiresAt <= now); " +
		"better-auth only once expiresAt < now, so at exactly expiresAt it still answers active",
	Applies: func(v *Verdict) bool { return v.Now.Equal(v.ExpiresAt) },
	Holds: func(v *Verdict) error {
		if v.Theirs["active"] != true || v.Ours["active"] != false || !errors.Is(v.Err, oauthdb.ErrTokenExpired) {
			return fmt.Errorf("want better-auth active and oauthdb expired, got %v and %v (%v)", v.Theirs, v.Ours, v.Err)
		}
		return nil
	},
}

// PublicCaller: better-auth answers 401 to a public client's
// introspection, where the DB, asked in-process, gives the owner its
// verdict. (Over HTTP, oauthdb answers 401 too, and nothing differs.)
var PublicCaller = Difference{
	Name: "public caller",
	Reason: "better-auth answers 401 invalid_client to a public client, which has no secret to authenticate " +
		"with, even about its own tokens; oauthdb's IntrospectAccessToken does not authenticate its caller " +
		"(AuthenticateClient does, and lets a public client through without a secret; the fake server and " +
		"serve answer 401 like better-auth), so it gives the owner its verdict: for an access token, the one " +
		"better-auth's /oauth2/userinfo gives, which checks no client",
	Applies: func(v *Verdict) bool { return v.Status == 401 && v.OurStatus == 0 },
	Holds: func(v *Verdict) error {
		if v.Caller != "public" || v.Owner != "public" {
			return fmt.Errorf("a 401 for %s's token asked by %s", v.Owner, v.Caller)
		}
		if _, err := v.DB.AuthenticateClient(v.CallerID, ""); err != nil {
			return fmt.Errorf("AuthenticateClient(public, no secret): %v", err)
		}
		if active, known := BetterAuthActive(v); known && v.Ours["active"] != active {
			return fmt.Errorf("oauthdb says %v, better-auth's userinfo %d", v.Ours, v.Userinfo)
		}
		return nil
	},
}

// Difference is a way oauthdb deliberately answers otherwise than
// better-auth: which verdicts it covers, why, and what must hold instead
// of equality.
type Difference struct {
	Name, Reason string
	Applies      func(v *Verdict) bool
	Holds        func(v *Verdict) error
}

// Differences are a test's deliberate differences, the first that applies
// to a verdict covering it. A listed difference that no verdict shows
// fails the test (CheckSeen): the list says what is, not what might be.
type Differences []Difference

// Log logs each difference with its reason.
func (ds Differences) Log(t testing.TB) {
	t.Helper()
	for _, d := range ds {
		t.Logf("deliberate difference %q: %s", d.Name, d.Reason)
	}
}

// Compare holds oauthdb's answer to better-auth's, or to the listed
// difference that covers it, whose name it returns. Asked over HTTP,
// oauthdb must answer with better-auth's status, and, where that is 200,
// with its answer.
func (ds Differences) Compare(t testing.TB, v *Verdict) string {
	t.Helper()
	where := fmt.Sprintf("%s: %s asked by %s", v.Where, v.Token, v.Caller)
	if d := ds.For(v); d != nil {
		if err := d.Holds(v); err != nil {
			t.Errorf("%s: listed difference %q: %v", where, d.Name, err)
		}
		return d.Name
	}
	switch {
	case v.OurStatus != 0 && v.OurStatus != v.Status:
		t.Errorf("%s: oauthdb answered %d %v, better-auth %d %v", where, v.OurStatus, v.Ours, v.Status, v.Theirs)
	case v.Status != 200:
		if v.OurStatus == 0 {
			t.Errorf("%s: better-auth answered %d %v", where, v.Status, v.Theirs)
		}
	default:
		if diff := cmp.Diff(v.Theirs, v.Ours); diff != "" {
			t.Errorf("%s: oauthdb's answer differs from better-auth's (-better-auth +oauthdb; oauthdb: %v):\n%s", where, v.Err, diff)
		}
	}
	return ""
}

// For returns the difference that covers v, or nil.
func (ds Differences) For(v *Verdict) *Difference {
	for i := range ds {
		if ds[i].Applies(v) {
			return &ds[i]
		}
	}
	return nil
}

// CheckSeen fails for a listed difference that no verdict showed; used
// counts the verdicts each covered, by name.
func (ds Differences) CheckSeen(t testing.TB, used map[string]int) {
	t.Helper()
	for _, d := range ds {
		if used[d.Name] == 0 {
			t.Errorf("difference %q is listed but no verdict shows it", d.Name)
		}
	}
}

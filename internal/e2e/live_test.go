package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/parity"
	"github.com/oauthdb/oauthdb/internal/pgtest"
	"github.com/oauthdb/oauthdb/pgreplica"
)

// better-auth's whole scenario (interop/betterauth/README.md) on Postgres,
// followed by a Follower in this process whose DB's clock stands at
// better-auth's fake clock at every checkpoint: the hours and days the
// scenario jumps are the DB's too, while the Follower's proofs and MaxLag
// are the wall clock's (it vouches on the DB's clock for the time a proof
// has left).
func TestFollowerFollowsBetterAuthLive(t *testing.T) {
	t.Parallel()
	l := newLive(t, false)
	l.rep = startFollower(t, l.srv.DSN(l.db), l.cp.Now)
	// Asked in-process, the DB does not authenticate its caller (serve
	// does, and answers 401 where better-auth does).
	l.diffs = append(parity.Differences{l.disabledCaller(), parity.PublicCaller, parity.ExpiryInstant}, l.markDifferences()...)
	l.run()
}

// The same with oauthdb serve -postgres as a process of its own, asked over
// HTTP. A process follows the machine's clock, so better-auth does too, and
// the scenario ends where it would jump by hours (the Follower's run above
// takes the rest).
func TestServeFollowsBetterAuthLive(t *testing.T) {
	t.Parallel()
	l := newLive(t, true)
	l.rep = startServing(t, l.srv.DSN(l.db))
	l.diffs = l.markDifferences()
	l.run()
}

// live is one run: better-auth on a Postgres of the test's own, and a
// replica following it.
type live struct {
	t   *testing.T
	srv *pgtest.Server
	db  string
	ba  *betterAuth
	cp  checkpoint // the last
	rep replica

	clients map[string]client    // by name
	tokens  map[string]tokenFact // by name
	events  map[string]bool      // what the test did to the rows, by SQL
	// diffs are the run's deliberate differences; used counts the verdicts
	// each covered.
	diffs parity.Differences
	used  map[string]int
	// inactive says where each token was first answered inactive to its
	// owner: liveness is monotonic, so never active after.
	inactive map[string]string
	compared int
	faulted  bool // the faults were made
}

// tokenFact is what the test knows of a token.
type tokenFact struct {
	plaintext, kind, client, session string
	expiresAt                        time.Time
}

// The events the test makes by SQL, whose tokens the replica holds
// inactive where better-auth's rows say active.
const (
	clientEnabledAgain = "the client toggled, disabled and enabled again"
	sessionExtended    = "session S3, expired and extended"
	sessionDeleted     = "session S4, deleted by SQL"
)

func newLive(t *testing.T, wall bool) *live {
	srv := pgtest.Start(t)
	db := srv.CreateDatabase(t)
	l := &live{t: t, srv: srv, db: db, clients: map[string]client{}, tokens: map[string]tokenFact{},
		events: map[string]bool{}, used: map[string]int{}, inactive: map[string]string{}}
	l.ba, l.cp = startBetterAuth(t, srv.URL(db), wall)
	return l
}

// run takes the scenario from its first checkpoint to its end, comparing at
// each, with the test's own events at two of its moments.
func (l *live) run() {
	t := l.t
	l.diffs.Log(t)
	l.check(l.cp)
	for {
		cp := l.ba.next()
		if cp.Event == "end" {
			t.Logf("better-auth: %s", cp.Reason)
			break
		}
		l.check(cp)
		switch {
		case cp.Kind == "moment" && cp.Name == "now":
			l.rowEvents()
		case cp.Kind == "moment" && cp.Name == "after-sign-out-refresh":
			l.faults()
		}
	}
	if !l.events[sessionDeleted] || !l.faulted {
		t.Fatalf("the scenario ended early: %d verdicts compared, events %v, faults made %v", l.compared, l.events, l.faulted)
	}
	l.diffs.CheckSeen(t, l.used)
	t.Logf("%d verdicts compared; differences: %v", l.compared, l.used)
}

// rowEvents changes better-auth's rows by SQL, as an operator or another
// program might: a client disabled and enabled again, a session expired
// and extended, a session deleted without better-auth's hook. Each makes
// tokens that better-auth answers active again, or still, and the replica
// holds inactive (its marks).
func (l *live) rowEvents() {
	l.check(l.ba.extra("client-to-toggle"))
	toggled := l.clients["toggled"].id
	l.exec(`UPDATE "oauthClient" SET disabled = true WHERE "clientId" = $1`, toggled)
	l.check(l.ba.introspect())
	l.exec(`UPDATE "oauthClient" SET disabled = false WHERE "clientId" = $1`, toggled)
	l.events[clientEnabledAgain] = true
	l.check(l.ba.introspect())

	l.check(l.ba.extra("session-to-extend"))
	s3 := l.sessionID("S3")
	l.exec(`UPDATE "session" SET "expiresAt" = $1 WHERE id = $2`, l.cp.Now.Add(-time.Hour), s3)
	l.check(l.ba.introspect())
	l.exec(`UPDATE "session" SET "expiresAt" = $1 WHERE id = $2`, l.cp.Now.Add(24*time.Hour), s3)
	l.events[sessionExtended] = true
	l.check(l.ba.introspect())

	l.check(l.ba.extra("session-to-delete"))
	l.exec(`DELETE FROM "session" WHERE id = $1`, l.sessionID("S4"))
	l.events[sessionDeleted] = true
	l.check(l.ba.introspect())
}

// faults: Postgres restarted, Postgres stopped for longer than MaxLag, the
// replica restarted on its state, and its slot dropped. After each the
// replica must answer as before — its marks too — and while Postgres is
// down it must fail closed.
func (l *live) faults() {
	t := l.t
	l.srv.Restart(t)
	l.check(l.ba.introspect())

	l.stopPostgres()
	l.check(l.ba.introspect())

	l.rep.restart(t)
	l.check(l.ba.introspect())

	loads := l.rep.loads(t)
	l.dropSlot()
	deadline := time.Now().Add(caughtUpTimeout)
	for l.rep.loads(t) <= loads {
		if time.Now().After(deadline) {
			t.Fatalf("the slot was dropped %v ago and the replica has not loaded again", caughtUpTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.check(l.ba.introspect())
	l.faulted = true
}

// stopPostgres stops Postgres for twice MaxLag and asks the replica about
// every token its owner may ask about all along: once MaxLag (and, on a
// clock that stands still, lateBy) has passed since the stop, the replica
// must fail closed — never an answer, active or inactive, from rows it
// cannot prove fresh — and answer again once Postgres is back.
func (l *live) stopPostgres() {
	t := l.t
	type question struct {
		name, token string
		owner       client
	}
	var questions []question
	for name, f := range l.tokens {
		if c := l.clients[f.client]; c.secret != "" {
			questions = append(questions, question{name, f.plaintext, c})
		}
	}
	stopped := time.Now()
	l.srv.Stop(t)
	deadline := stopped.Add(maxLag + l.rep.lateBy())
	stale, late := 0, 0
	for time.Since(stopped) < 2*maxLag+l.rep.lateBy() {
		for _, q := range questions {
			asked := time.Now()
			a := l.rep.ask(t, q.token, q.owner)
			switch {
			case a.stale:
				stale++
			case asked.After(deadline):
				late++
				if late <= 5 {
					t.Errorf("Postgres down for %v (MaxLag %v): %s answered %v (%d %v), not stale",
						asked.Sub(stopped).Round(time.Millisecond), maxLag, q.name, a.ours, a.status, a.err)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if stale == 0 || late > 0 {
		t.Errorf("Postgres down for %v: %d stale answers, %d answers from stale rows", 2*maxLag, stale, late)
	} else {
		t.Logf("Postgres down for %v: %d answers stale, none from stale rows", time.Since(stopped).Round(time.Millisecond), stale)
	}
	l.srv.Start(t)
}

// check compares, at a checkpoint, the replica's answer about every token
// with better-auth's, once the replica holds everything better-auth
// committed and answers.
func (l *live) check(cp checkpoint) {
	t := l.t
	t.Helper()
	l.cp = cp
	l.learn(cp)
	lsn := l.walLSN()
	l.rep.at(cp.Now)
	l.rep.caughtUp(t, lsn)
	userinfo := parity.UserinfoStatus(cp.Userinfo)
	where := cp.where()
	for _, in := range cp.Introspections {
		f, ok := l.tokens[in.Token]
		if !ok {
			t.Fatalf("%s: better-auth introspected %s, which it did not list", where, in.Token)
		}
		v := &parity.Verdict{Where: where, Now: cp.Now, Token: in.Token, Kind: f.kind, Owner: f.client,
			Caller: in.CallerName, CallerID: in.Caller, Status: in.Status, Theirs: parity.Restrict(in.Response),
			Userinfo: userinfo[in.Token], ExpiresAt: f.expiresAt}
		if cp.Kind == "moment" {
			v.Moment = cp.Name
		}
		a := l.askFresh(lsn, f.plaintext, l.clients[in.CallerName])
		v.Ours, v.OurStatus, v.Err, v.DB = a.ours, a.status, a.err, a.db
		if d := l.diffs.Compare(t, v); d != "" {
			l.used[d]++
		}
		l.monotonic(v)
		l.compared++
	}
}

// askFresh asks the replica, which has caught up with lsn, and asks again
// should it be stale for a moment (a machine too busy to prove it fresh in
// time): a stale answer is no verdict.
func (l *live) askFresh(lsn pgreplica.LSN, token string, caller client) answer {
	t := l.t
	t.Helper()
	for range 5 {
		if a := l.rep.ask(t, token, caller); !a.stale {
			return a
		}
		l.rep.caughtUp(t, lsn)
	}
	t.Fatalf("%s: the replica has caught up and stays stale", l.cp.where())
	return answer{}
}

// monotonic holds the replica to liveness: a token it answered inactive to
// its owner it never answers active again.
func (l *live) monotonic(v *parity.Verdict) {
	if v.Caller != v.Owner || (v.OurStatus != 0 && v.OurStatus != 200) {
		return
	}
	if v.Ours["active"] != true {
		if _, ok := l.inactive[v.Token]; !ok {
			l.inactive[v.Token] = v.Where
		}
	} else if since, ok := l.inactive[v.Token]; ok {
		l.t.Errorf("%s: the replica answers %s active, inactive since %s", v.Where, v.Token, since)
	}
}

// learn records the clients and tokens a checkpoint names: a token's
// expiry as stored, read when it is first seen (a family's rows go later).
func (l *live) learn(cp checkpoint) {
	for _, c := range cp.Clients {
		l.clients[c.Name] = client{name: c.Name, id: c.ClientID, secret: c.ClientSecret}
	}
	for _, x := range cp.Tokens {
		if _, ok := l.tokens[x.Name]; ok {
			continue
		}
		f := tokenFact{plaintext: x.Token, kind: x.Kind, client: x.ClientName, session: x.Session}
		table := "oauthAccessToken"
		if x.Kind == "refresh" {
			table = "oauthRefreshToken"
		}
		l.query(func(c *pgx.Conn) error {
			return c.QueryRow(context.Background(), `SELECT "expiresAt" FROM "`+table+`" WHERE token = $1`,
				oauthdb.HashToken(x.Token)).Scan(&f.expiresAt)
		})
		l.tokens[x.Name] = f
	}
}

// markDifferences are the ways the replica answers otherwise than
// better-auth on purpose, by its marks (docs/DESIGN.md, "Liveness is
// monotonic"): where better-auth's rows alone would let a token that was
// inactive be active again, or keep active a token whose session went
// without better-auth's sign-out, the replica holds it inactive.
func (l *live) markDifferences() parity.Differences {
	// activeToOwner: an unexpired access token asked by its owner, a
	// confidential client (better-auth answers a public one 401).
	activeToOwner := func(v *parity.Verdict) bool {
		return v.Kind == "access" && v.Caller == v.Owner && l.clients[v.Owner].secret != "" && v.Now.Before(v.ExpiresAt)
	}
	heldInactive := func(v *parity.Verdict) error {
		if v.Status != 200 || v.Theirs["active"] != true || v.Ours["active"] != false {
			return fmt.Errorf("want better-auth active and the replica inactive, got %d %v and %v (%v)", v.Status, v.Theirs, v.Ours, v.Err)
		}
		if v.DB != nil && !errors.Is(v.Err, oauthdb.ErrTokenRevoked) {
			return fmt.Errorf("the replica says %v, want ErrTokenRevoked (a mark)", v.Err)
		}
		return nil
	}
	return parity.Differences{
		{
			Name: "sign-out, between better-auth's two transactions",
			Reason: "better-auth deletes the session in one transaction (its foreign key clears the tokens' sessionId) " +
				"and revokes the session's access tokens in the next; in between it answers them active, without sid. " +
				"The replica marks them inactive as the delete streams in",
			Applies: func(v *parity.Verdict) bool {
				return v.Moment == "sign-out-between" && l.tokens[v.Token].session == "S2" && activeToOwner(v)
			},
			Holds: heldInactive,
		},
		{
			Name: "a session deleted by SQL",
			Reason: "a session deleted without better-auth's sign-out hook leaves its access tokens unrevoked, with no " +
				"sessionId: better-auth answers them active, without sid, until they expire; the replica marks them " +
				"inactive as the delete streams in",
			Applies: func(v *parity.Verdict) bool {
				return l.events[sessionDeleted] && l.tokens[v.Token].session == "S4" && activeToOwner(v)
			},
			Holds: heldInactive,
		},
		{
			Name: "a client enabled again",
			Reason: "better-auth answers a disabled client's tokens inactive, and active again once the client is " +
				"enabled; the replica, whose answers never come back to life, marks them inactive",
			Applies: func(v *parity.Verdict) bool {
				return l.events[clientEnabledAgain] && v.Owner == "toggled" && activeToOwner(v)
			},
			Holds: heldInactive,
		},
		{
			Name: "a session extended after it expired",
			Reason: "better-auth answers an expired session's access tokens inactive, and active again once the " +
				"session's expiresAt is moved on; the replica marks them inactive",
			Applies: func(v *parity.Verdict) bool {
				return l.events[sessionExtended] && l.tokens[v.Token].session == "S3" && activeToOwner(v)
			},
			Holds: heldInactive,
		},
	}
}

// disabledCaller: better-auth answers 401 to a disabled client's
// introspection; the DB, asked in-process, does not authenticate its caller
// and gives it its verdict, which must be inactive (the client is
// disabled), and would not authenticate it either.
func (l *live) disabledCaller() parity.Difference {
	return parity.Difference{
		Name: "a disabled caller",
		Reason: "better-auth answers 401 invalid_client to a disabled client's introspection, even about its own " +
			"tokens; the DB's IntrospectAccessToken does not authenticate its caller (AuthenticateClient refuses it " +
			"with ErrClientDisabled; serve answers 401), and calls its tokens inactive",
		Applies: func(v *parity.Verdict) bool { return v.Status == 401 && v.OurStatus == 0 && v.Caller == "toggled" },
		Holds: func(v *parity.Verdict) error {
			c := l.clients[v.Caller]
			if _, err := v.DB.AuthenticateClient(c.id, c.secret); !errors.Is(err, oauthdb.ErrClientDisabled) {
				return fmt.Errorf("AuthenticateClient(%s): %v, want ErrClientDisabled", c.name, err)
			}
			if v.Ours["active"] != false || !errors.Is(v.Err, oauthdb.ErrClientDisabled) {
				return fmt.Errorf("the DB says %v (%v), want inactive: ErrClientDisabled", v.Ours, v.Err)
			}
			return nil
		},
	}
}

// exec runs SQL on better-auth's database.
func (l *live) exec(sql string, args ...any) {
	l.t.Helper()
	l.query(func(c *pgx.Conn) error {
		_, err := c.Exec(context.Background(), sql, args...)
		return err
	})
}

// query runs fn on a connection of its own to better-auth's database (one
// that outlives no restart of Postgres).
func (l *live) query(fn func(*pgx.Conn) error) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, l.srv.DSN(l.db))
	if err != nil {
		l.t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := fn(c); err != nil {
		l.t.Fatalf("%s: %v", l.cp.where(), err)
	}
}

// walLSN is Postgres' current WAL position: past every commit so far.
func (l *live) walLSN() pgreplica.LSN {
	var s string
	l.query(func(c *pgx.Conn) error {
		return c.QueryRow(context.Background(), `SELECT pg_current_wal_lsn()::text`).Scan(&s)
	})
	var lsn pgreplica.LSN
	if err := lsn.Scan(s); err != nil {
		l.t.Fatal(err)
	}
	return lsn
}

// sessionID is the id of a session better-auth made, by its cookie token.
func (l *live) sessionID(name string) string {
	l.t.Helper()
	var token, id string
	for _, s := range l.cp.Sessions {
		if s.Name == name {
			token = s.Token
		}
	}
	l.query(func(c *pgx.Conn) error {
		return c.QueryRow(context.Background(), `SELECT id FROM "session" WHERE token = $1`, token).Scan(&id)
	})
	return id
}

// dropSlot drops the replica's slot under it: its WAL sender is ended, and
// the slot dropped before the replica comes back (it tries again until it
// is).
func (l *live) dropSlot() {
	l.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := pgx.Connect(ctx, l.srv.DSN(l.db))
		if err == nil {
			_, err = c.Exec(ctx, `SELECT CASE WHEN active_pid IS NULL THEN true ELSE pg_terminate_backend(active_pid, 5000) END,
				pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, l.rep.slot())
			c.Close(ctx)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("drop slot %s: %v", l.rep.slot(), err)
		}
	}
}

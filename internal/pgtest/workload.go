package pgtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Workload writes better-auth-shaped rows with SQL, as better-auth's own
// endpoints would: sign-ups and sign-ins, client registrations, token
// issuance, rotation and revocation, consents, sign-outs, and deletions of
// users, clients and sessions that let the foreign keys cascade or set
// NULL. It is random but seeded: the same seed on an empty database makes
// the same operations, so a failure can be replayed.
type Workload struct {
	conn *pgx.Conn
	rng  *rand.Rand
	seq  int       // numbers ids and the synthetic clock
	base time.Time // the synthetic clock's start

	// Counts of each operation done, by name.
	Counts map[string]int
}

// NewWorkload returns a workload writing through conn (to a database made
// with BetterAuthSchema), seeded with seed.
func NewWorkload(conn *pgx.Conn, seed uint64) *Workload {
	return &Workload{
		conn:   conn,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		base:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Counts: make(map[string]int),
	}
}

// SetConn makes the workload write through conn from now on, as after a
// reconnect; its random state goes on where it was.
func (w *Workload) SetConn(conn *pgx.Conn) { w.conn = conn }

// op is one kind of operation and its weight.
type op struct {
	name   string
	weight int
	do     func(*Workload, context.Context) error
}

var ops = []op{
	{"signUp", 6, (*Workload).signUp},
	{"signIn", 8, (*Workload).signIn},
	{"registerClient", 4, (*Workload).registerClient},
	{"touchClient", 3, (*Workload).touchClient},
	{"issueTokens", 14, (*Workload).issueTokens},
	{"clientCredentials", 3, (*Workload).clientCredentials},
	{"rotate", 10, (*Workload).rotate},
	{"revokeRefresh", 3, (*Workload).revokeRefresh},
	{"revokeAccess", 3, (*Workload).revokeAccess},
	{"consent", 5, (*Workload).consent},
	{"authorizationCode", 4, (*Workload).authorizationCode},
	{"signOut", 4, (*Workload).signOut},
	{"deleteSession", 2, (*Workload).deleteSession},
	{"deleteUser", 2, (*Workload).deleteUser},
	{"deleteClient", 1, (*Workload).deleteClient},
}

// Run does n random operations.
func (w *Workload) Run(ctx context.Context, n int) error {
	for range n {
		if err := w.Step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Step does one random operation: one or two transactions.
func (w *Workload) Step(ctx context.Context) error {
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	pick := w.rng.IntN(total)
	for _, o := range ops {
		if pick < o.weight {
			w.seq++
			if err := o.do(w, ctx); err != nil {
				return fmt.Errorf("workload step %d (%s): %w", w.seq, o.name, err)
			}
			w.Counts[o.name]++
			return nil
		}
		pick -= o.weight
	}
	panic("unreachable")
}

// now is the synthetic clock: a second per step, with microseconds, so that
// timestamps exercise the full text form.
func (w *Workload) now() time.Time {
	return w.base.Add(time.Duration(w.seq)*time.Second + time.Duration(w.rng.IntN(1_000_000))*time.Microsecond)
}

func (w *Workload) id(prefix string) string { return fmt.Sprintf("%s%06d", prefix, w.seq) }

// secret returns a random 43-character base64url string, the form of a
// hashed token.
func (w *Workload) secret() string {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(w.rng.UintN(256))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (w *Workload) scopes() string {
	all := []string{"openid", "profile", "email", "offline_access", "read:things", "write:things"}
	var s []string
	for _, sc := range all {
		if w.rng.IntN(2) == 0 {
			s = append(s, sc)
		}
	}
	return jsonText(s)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only ever called on strings and slices of strings
	}
	return string(b)
}

// pick returns a random id from the rows query selects, or "" if none.
func (w *Workload) pick(ctx context.Context, query string, args ...any) (string, error) {
	rows, err := w.conn.Query(ctx, query, args...)
	if err != nil {
		return "", err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ids) == 0 {
		return "", err
	}
	return ids[w.rng.IntN(len(ids))], nil
}

func (w *Workload) exec(ctx context.Context, tx pgx.Tx, sql string, args ...any) error {
	_, err := tx.Exec(ctx, sql, args...)
	return err
}

func (w *Workload) signUp(ctx context.Context) error {
	id := w.id("u")
	now := w.now()
	var image any
	if w.rng.IntN(2) == 0 {
		image = "https://img.example/" + id + ".png"
	}
	_, err := w.conn.Exec(ctx, `INSERT INTO "user" (id, name, email, "emailVerified", image, "createdAt", "updatedAt")
		VALUES ($1, $2, $3, $4, $5, $6, $6)`,
		id, "User "+strings.ToUpper(id), id+"@example.com", w.rng.IntN(2) == 0, image, now)
	return err
}

func (w *Workload) signIn(ctx context.Context) error {
	user, err := w.pick(ctx, `SELECT id FROM "user" ORDER BY id`)
	if err != nil || user == "" {
		return err
	}
	now := w.now()
	_, err = w.conn.Exec(ctx, `INSERT INTO "session" (id, "expiresAt", token, "createdAt", "updatedAt", "ipAddress", "userAgent", "userId")
		VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`,
		w.id("s"), now.Add(7*24*time.Hour), w.secret(), now, "127.0.0.1", "Go-http-client/1.1", user)
	return err
}

func (w *Workload) registerClient(ctx context.Context) error {
	owner, err := w.pick(ctx, `SELECT id FROM "user" ORDER BY id`)
	if err != nil {
		return err
	}
	var ownerArg any
	if owner != "" && w.rng.IntN(2) == 0 {
		ownerArg = owner
	}
	id := w.id("c")
	now := w.now()
	metadata := jsonText(map[string]string{"software": "test", "seq": id})
	if w.rng.IntN(4) == 0 {
		// Big enough to be TOASTed out of line, so that updates that leave
		// it alone replicate it as unchanged.
		metadata = jsonText(map[string]string{"blob": w.blob(12 << 10)})
	}
	var secret any
	if w.rng.IntN(3) > 0 {
		secret = w.secret()
	}
	_, err = w.conn.Exec(ctx, `INSERT INTO "oauthClient" (id, "clientId", "clientSecret", disabled, "skipConsent",
		scopes, "userId", "createdAt", "updatedAt", name, "redirectUris", "grantTypes", "responseTypes",
		"tokenEndpointAuthMethod", metadata)
		VALUES ($1, $2, $3, false, $4, $5::jsonb, $6, $7, $7, $8, $9::jsonb, $10::jsonb, '["code"]'::jsonb, $11, $12::jsonb)`,
		id, "client-"+id, secret, w.rng.IntN(2) == 0, w.scopes(), ownerArg, now, "Client "+id,
		jsonText([]string{"https://app.example/" + id + "/callback"}),
		jsonText([]string{"authorization_code", "refresh_token"}),
		map[bool]string{true: "client_secret_basic", false: "none"}[secret != nil], metadata)
	return err
}

// blob returns n random, incompressible-enough characters.
func (w *Workload) blob(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[w.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// touchClient renames a client, or disables or enables it, leaving its
// (possibly TOASTed) metadata alone.
func (w *Workload) touchClient(ctx context.Context) error {
	client, err := w.pick(ctx, `SELECT id FROM "oauthClient" ORDER BY id`)
	if err != nil || client == "" {
		return err
	}
	_, err = w.conn.Exec(ctx, `UPDATE "oauthClient" SET name = $2, disabled = $3, "updatedAt" = $4 WHERE id = $1`,
		client, "Client "+w.id("n"), w.rng.IntN(5) == 0, w.now())
	return err
}

// issueTokens is the token endpoint's authorization_code grant: a refresh
// token and an access token bound to it, in one transaction.
func (w *Workload) issueTokens(ctx context.Context) error {
	client, err := w.pick(ctx, `SELECT "clientId" FROM "oauthClient" WHERE NOT disabled ORDER BY id`)
	if err != nil || client == "" {
		return err
	}
	session, err := w.pick(ctx, `SELECT id FROM "session" ORDER BY id`)
	if err != nil || session == "" {
		return err
	}
	return pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		var user string
		if err := tx.QueryRow(ctx, `SELECT "userId" FROM "session" WHERE id = $1`, session).Scan(&user); err != nil {
			return err
		}
		var sessionArg any = session
		if w.rng.IntN(4) == 0 {
			sessionArg = nil
		}
		return w.insertPair(ctx, tx, client, user, sessionArg, w.scopes())
	})
}

func (w *Workload) insertPair(ctx context.Context, tx pgx.Tx, client, user string, session any, scopes string) error {
	now := w.now()
	refresh := w.id("r")
	if err := w.exec(ctx, tx, `INSERT INTO "oauthRefreshToken" (id, token, "clientId", "sessionId", "userId", scopes, "expiresAt", "createdAt")
		VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)`,
		refresh, w.secret(), client, session, user, scopes, now.Add(30*24*time.Hour), now); err != nil {
		return err
	}
	return w.exec(ctx, tx, `INSERT INTO "oauthAccessToken" (id, token, "clientId", "sessionId", "userId", "refreshId", scopes, "expiresAt", "createdAt")
		VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)`,
		w.id("a"), w.secret(), client, session, user, refresh, scopes, now.Add(time.Hour), now)
}

// clientCredentials issues an access token with no user and no session.
func (w *Workload) clientCredentials(ctx context.Context) error {
	client, err := w.pick(ctx, `SELECT "clientId" FROM "oauthClient" WHERE NOT disabled ORDER BY id`)
	if err != nil || client == "" {
		return err
	}
	now := w.now()
	_, err = w.conn.Exec(ctx, `INSERT INTO "oauthAccessToken" (id, token, "clientId", scopes, "expiresAt", "createdAt")
		VALUES ($1, $2, $3, $4::jsonb, $5, $6)`, w.id("a"), w.secret(), client, w.scopes(), now.Add(time.Hour), now)
	return err
}

// rotate is the refresh_token grant: the old refresh token is marked
// revoked and a new pair issued, in one transaction.
func (w *Workload) rotate(ctx context.Context) error {
	old, err := w.pick(ctx, `SELECT id FROM "oauthRefreshToken" WHERE revoked IS NULL ORDER BY id`)
	if err != nil || old == "" {
		return err
	}
	return pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		var client, user, scopes string
		var session *string
		if err := tx.QueryRow(ctx, `UPDATE "oauthRefreshToken" SET revoked = $2, "rotatedAt" = $2 WHERE id = $1
			RETURNING "clientId", "userId", "sessionId", scopes::text`, old, w.now()).Scan(&client, &user, &session, &scopes); err != nil {
			return err
		}
		var sessionArg any
		if session != nil {
			sessionArg = *session
		}
		return w.insertPair(ctx, tx, client, user, sessionArg, scopes)
	})
}

// revokeRefresh is revocation of a refresh token: its access tokens go,
// and it is marked revoked.
func (w *Workload) revokeRefresh(ctx context.Context) error {
	id, err := w.pick(ctx, `SELECT id FROM "oauthRefreshToken" WHERE revoked IS NULL ORDER BY id`)
	if err != nil || id == "" {
		return err
	}
	return pgx.BeginFunc(ctx, w.conn, func(tx pgx.Tx) error {
		if err := w.exec(ctx, tx, `DELETE FROM "oauthAccessToken" WHERE "refreshId" = $1`, id); err != nil {
			return err
		}
		return w.exec(ctx, tx, `UPDATE "oauthRefreshToken" SET revoked = $2 WHERE id = $1`, id, w.now())
	})
}

func (w *Workload) revokeAccess(ctx context.Context) error {
	id, err := w.pick(ctx, `SELECT id FROM "oauthAccessToken" ORDER BY id`)
	if err != nil || id == "" {
		return err
	}
	_, err = w.conn.Exec(ctx, `DELETE FROM "oauthAccessToken" WHERE id = $1`, id)
	return err
}

// consent grants a user's consent to a client, replacing the scopes of an
// existing one.
func (w *Workload) consent(ctx context.Context) error {
	client, err := w.pick(ctx, `SELECT "clientId" FROM "oauthClient" ORDER BY id`)
	if err != nil || client == "" {
		return err
	}
	user, err := w.pick(ctx, `SELECT id FROM "user" ORDER BY id`)
	if err != nil || user == "" {
		return err
	}
	now := w.now()
	tag, err := w.conn.Exec(ctx, `UPDATE "oauthConsent" SET scopes = $3::jsonb, "updatedAt" = $4
		WHERE "clientId" = $1 AND "userId" = $2`, client, user, w.scopes(), now)
	if err != nil || tag.RowsAffected() > 0 {
		return err
	}
	_, err = w.conn.Exec(ctx, `INSERT INTO "oauthConsent" (id, "clientId", "userId", scopes, "createdAt", "updatedAt")
		VALUES ($1, $2, $3, $4::jsonb, $5, $5)`, w.id("k"), client, user, w.scopes(), now)
	return err
}

// authorizationCode stores a code as better-auth does (a verification
// row), or redeems one (deletes it).
func (w *Workload) authorizationCode(ctx context.Context) error {
	if w.rng.IntN(2) == 0 {
		code, err := w.pick(ctx, `SELECT id FROM "verification" ORDER BY id`)
		if err != nil || code != "" {
			if err == nil {
				_, err = w.conn.Exec(ctx, `DELETE FROM "verification" WHERE id = $1`, code)
			}
			return err
		}
	}
	now := w.now()
	value := jsonText(map[string]any{"type": "authorization_code", "query": map[string]string{"client_id": "c"}, "userId": "u"})
	_, err := w.conn.Exec(ctx, `INSERT INTO "verification" (id, identifier, value, "expiresAt", "createdAt", "updatedAt")
		VALUES ($1, $2, $3, $4, $5, $5)`, w.id("v"), w.secret(), value, now.Add(10*time.Minute), now)
	return err
}

// signOut is better-auth's sign-out: the session is deleted (its tokens'
// sessionId set to NULL by the foreign key), then, in a second transaction,
// the access tokens it had are marked revoked.
func (w *Workload) signOut(ctx context.Context) error {
	session, err := w.pick(ctx, `SELECT id FROM "session" ORDER BY id`)
	if err != nil || session == "" {
		return err
	}
	rows, err := w.conn.Query(ctx, `SELECT id FROM "oauthAccessToken" WHERE "sessionId" = $1`, session)
	if err != nil {
		return err
	}
	tokens, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if _, err := w.conn.Exec(ctx, `DELETE FROM "session" WHERE id = $1`, session); err != nil {
		return err
	}
	_, err = w.conn.Exec(ctx, `UPDATE "oauthAccessToken" SET revoked = $2 WHERE id = ANY($1) AND revoked IS NULL`, tokens, w.now())
	return err
}

func (w *Workload) deleteSession(ctx context.Context) error { return w.deleteOne(ctx, "session") }
func (w *Workload) deleteUser(ctx context.Context) error    { return w.deleteOne(ctx, "user") }
func (w *Workload) deleteClient(ctx context.Context) error  { return w.deleteOne(ctx, "oauthClient") }

// deleteOne deletes a row of table that pick chooses, as better-auth
// deletes one: the foreign keys' ON DELETE actions do the rest.
func (w *Workload) deleteOne(ctx context.Context, table string) error {
	id, err := w.pick(ctx, `SELECT id FROM "`+table+`" ORDER BY id`)
	if err != nil || id == "" {
		return err
	}
	_, err = w.conn.Exec(ctx, `DELETE FROM "`+table+`" WHERE id = $1`, id)
	return err
}

// MarkingEvents returns SQL statements, each to run as a transaction of its
// own, after which a replica holds inactive three tokens that Postgres' rows
// alone call active: better-auth's sign-out stopped after its first
// transaction (grant signedOut's session deleted, its access token's
// sessionId nulled by the foreign key), a revocation undone (grant
// unrevoked's access token), a disabled client enabled again (grant
// reenabled's). A grant's rows are named after it: its session id+"-s", its
// access token id+"-a", its client id+"-c". The names go into the SQL as
// they are: tests' own, never input.
func MarkingEvents(signedOut, unrevoked, reenabled string) []string {
	return []string{
		`DELETE FROM "session" WHERE id = '` + signedOut + `-s'`,
		`UPDATE "oauthAccessToken" SET revoked = now() WHERE id = '` + unrevoked + `-a'`,
		`UPDATE "oauthAccessToken" SET revoked = NULL WHERE id = '` + unrevoked + `-a'`,
		`UPDATE "oauthClient" SET disabled = true WHERE id = '` + reenabled + `-c'`,
		`UPDATE "oauthClient" SET disabled = false WHERE id = '` + reenabled + `-c'`,
	}
}

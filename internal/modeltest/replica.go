package modeltest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/oauthdb/oauthdb"
)

// Every harness also keeps a replica of its DB (oauthdb.WithReplica), fed
// after each step with what changed, as rows, in one Mirror transaction: a
// source that sends its rows as they are, the way better-auth's Postgres
// does. After each step the replica must hold exactly the DB's rows, and
// its verdicts must be the DB's, except where it is stricter by design: a
// token it saw inactive stays inactive on the replica until its row is
// inserted anew, even when the DB's own row write brought it back.

// replicaFresh vouches for the replica for as long as any run lasts.
var replicaFresh = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// replica is the harness's replica and what it has been sent.
type replica struct {
	db   *oauthdb.DB
	sent oauthdb.Snapshot
	// dead holds, by kind and plaintext, the tokens the replica answered
	// inactive since a row last held them anew; marked, by hash, those it
	// may hold revoked though the DB does not.
	dead   map[string]bool
	marked map[string]bool
}

func newReplica(opts []oauthdb.Option) *replica {
	db, err := oauthdb.Open(append(slices.Clone(opts), oauthdb.WithReplica())...)
	if err != nil {
		panic(err)
	}
	db.SetFreshUntil(replicaFresh)
	return &replica{db: db, dead: map[string]bool{}, marked: map[string]bool{}}
}

// follow sends the replica what changed in the DB's rows since the last
// step, and returns the hashes of the tokens a row holds anew.
func (r *replica) follow(now oauthdb.Snapshot, at time.Time, lenient bool) (map[string]bool, error) {
	var refused []oauthdb.Refusal
	var err error
	if movesUnique(r.sent, now) {
		// A unique value went from one row to another within the step: a
		// source sends such changes in an order its own unique checks pass
		// (Postgres checks them row by row), which a diff of two states
		// does not know. Resync instead, as a replica does when it cannot
		// go on; what the stream told it of revived tokens is gone with it.
		clear(r.dead)
		refused, err = r.db.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(now) })
	} else {
		refused, err = r.db.Mirror(func(mt *oauthdb.MirrorTx) error {
			return errors.Join(
				mirrorTable(mt, oauthdb.TableUser, r.sent.Users, now.Users, func(u oauthdb.User) string { return u.ID }),
				mirrorTable(mt, oauthdb.TableSession, r.sent.Sessions, now.Sessions, func(s oauthdb.Session) string { return s.ID }),
				mirrorTable(mt, oauthdb.TableOAuthClient, r.sent.Clients, now.Clients, func(c oauthdb.OAuthClient) string { return c.ID }),
				mirrorTable(mt, oauthdb.TableOAuthRefreshToken, r.sent.RefreshTokens, now.RefreshTokens, func(t oauthdb.OAuthRefreshToken) string { return t.ID }),
				mirrorTable(mt, oauthdb.TableOAuthAccessToken, r.sent.AccessTokens, now.AccessTokens, func(t oauthdb.OAuthAccessToken) string { return t.ID }),
				mirrorTable(mt, oauthdb.TableOAuthConsent, r.sent.Consents, now.Consents, func(c oauthdb.OAuthConsent) string { return c.ID }),
				mirrorTable(mt, oauthdb.TableVerification, r.sent.Verifications, now.Verifications, func(v oauthdb.Verification) string { return v.ID }),
			)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("replica: Mirror: %v", err)
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("replica refused rows the DB keeps: %v", refused)
	}
	renewed := map[string]bool{}
	type row struct {
		token, session   string
		expires, revoked time.Time
		bound            bool // ends with its session (strict mode)
	}
	rowsOf := func(s oauthdb.Snapshot) map[string]row {
		m := map[string]row{}
		for _, t := range s.AccessTokens {
			m["a"+t.ID] = row{t.Token, t.SessionID, t.ExpiresAt, t.Revoked, !lenient && t.SessionID != ""}
		}
		for _, t := range s.RefreshTokens {
			bound := !lenient && !slices.Contains(t.Scopes, oauthdb.ScopeOfflineAccess) && (t.SessionID != "" || t.AuthorizationCodeID != "")
			m["r"+t.ID] = row{t.Token, t.SessionID, t.ExpiresAt, t.Revoked, bound}
		}
		return m
	}
	// ended reports whether a token bound to its session has lost it, by
	// the sessions of s.
	ended := func(t row, s oauthdb.Snapshot) bool {
		if !t.bound {
			return false
		}
		for _, x := range s.Sessions {
			if x.ID == t.session {
				return !at.Before(x.ExpiresAt)
			}
		}
		return true
	}
	before := rowsOf(r.sent)
	for id, t := range rowsOf(now) {
		old, ok := before[id]
		switch {
		case !ok || old.token != t.token:
			renewed[t.token] = true
			delete(r.marked, t.token)
		case !old.revoked.IsZero() && t.revoked.IsZero(),
			!at.Before(old.expires) && at.Before(t.expires),
			old.bound && old.session != "" && t.session == "" && t.revoked.IsZero(),
			// The row escapes the end of its session: a live one named, or
			// offline_access added.
			t.revoked.IsZero() && ended(old, r.sent) && !ended(t, now):
			r.marked[t.token] = true
		}
	}
	r.sent = now
	return renewed, nil
}

// movesUnique reports whether a unique value is held by one row in sent and
// by another in now.
func movesUnique(sent, now oauthdb.Snapshot) bool {
	holders := func(s oauthdb.Snapshot) map[string]string {
		m := map[string]string{}
		for table, rec := range s.All() {
			u := uniqueValue{names: uniques[table]}
			_, _ = oauthdb.DecodeRecord(table, rec, &u)
			m[table+" "+strings.Join(u.values, "\x00")] = u.id
		}
		return m
	}
	before := holders(sent)
	for k, id := range holders(now) {
		if was, ok := before[k]; ok && was != id {
			return true
		}
	}
	return false
}

// uniques name, by table, the fields of each table's unique value: one
// field, or the consent's three together.
var uniques = map[string][]string{
	oauthdb.TableUser:              {"email"},
	oauthdb.TableSession:           {"token"},
	oauthdb.TableOAuthClient:       {"clientId"},
	oauthdb.TableOAuthAccessToken:  {"token"},
	oauthdb.TableOAuthRefreshToken: {"token"},
	oauthdb.TableOAuthConsent:      {"clientId", "userId", "referenceId"},
	oauthdb.TableVerification:      {"identifier"},
}

// uniqueValue is the oauthdb.FieldVisitor that reads a record's id and its
// unique value: the values of the fields names, in the order of the record.
type uniqueValue struct {
	names  []string
	id     string
	values []string
}

func (u *uniqueValue) String(name string, v *string) {
	if name == "id" {
		u.id = *v
	}
	if slices.Contains(u.names, name) {
		u.values = append(u.values, *v)
	}
}

func (*uniqueValue) Strings(string, *[]string)     {}
func (*uniqueValue) Bool(string, *bool)            {}
func (*uniqueValue) Time(string, *time.Time)       {}
func (*uniqueValue) JSON(string, *json.RawMessage) {}

// mirrorTable sends the difference between one table's rows as sent and as
// they are now: deletes for rows gone, puts for rows new or changed.
func mirrorTable[T any](mt *oauthdb.MirrorTx, table string, sent, now []T, id func(T) string) error {
	before := make(map[string]T, len(sent))
	for _, r := range sent {
		before[id(r)] = r
	}
	var errs []error
	for _, r := range now {
		old, ok := before[id(r)]
		delete(before, id(r))
		if ok && reflect.DeepEqual(old, r) {
			continue
		}
		errs = append(errs, mt.Put(r))
	}
	for gone := range before {
		errs = append(errs, mt.Delete(table, gone))
	}
	return errors.Join(errs...)
}

// checkReplica feeds the replica the step's rows and holds it to the DB:
// the same rows, the same verdicts, or stricter ones for tokens it saw
// inactive.
func (h *Harness) checkReplica(now oauthdb.Snapshot) error {
	r := h.replica
	renewed, err := r.follow(now, h.Clock.Now(), h.Lenient)
	if err != nil {
		return err
	}
	if d := diff(r.db.Rows(), now); d != "" {
		return fmt.Errorf("replica: rows differ from the DB's (-DB +replica):\n%s", d)
	}
	if err := r.db.Verify(); err != nil {
		return fmt.Errorf("replica: Verify: %v", err)
	}
	// A row that holds a token anew is a new grant to the replica too.
	for _, p := range h.access {
		if renewed[h.hash(p)] {
			delete(r.dead, "access token "+p)
		}
	}
	for _, p := range h.refresh {
		if renewed[h.hash(p)] {
			delete(r.dead, "refresh token "+p)
		}
	}
	verdicts := func(kind string, tokens []string, validate func(db *oauthdb.DB, p string) error) error {
		for _, p := range tokens {
			got, want := validate(r.db, p), validate(h.DB, p)
			key := kind + " " + p
			switch {
			case got == nil && want != nil:
				return fmt.Errorf("replica: the %s %.12s… is active, the DB says %v", kind, p, want)
			case got == nil && r.dead[key]:
				return fmt.Errorf("replica: liveness: the %s %.12s… was inactive and is active again at step %d", kind, p, h.step)
			case got != nil && want == nil && !((r.dead[key] || r.marked[h.hash(p)]) && errors.Is(got, oauthdb.ErrTokenRevoked)):
				return fmt.Errorf("replica: the %s %.12s… is inactive (%v), the DB says active", kind, p, got)
			case got != nil && want != nil && !reflect.DeepEqual(KindOf(got), KindOf(want)) && !errors.Is(got, oauthdb.ErrTokenRevoked):
				return fmt.Errorf("replica: the %s %.12s… is inactive for another reason: %v, the DB's %v", kind, p, got, want)
			}
			if got != nil {
				r.dead[key] = true
			}
		}
		return nil
	}
	if err := verdicts("access token", h.access, func(db *oauthdb.DB, p string) error { _, err := db.ValidateAccessToken(p); return err }); err != nil {
		return err
	}
	return verdicts("refresh token", h.refresh, func(db *oauthdb.DB, p string) error { _, err := db.ValidateRefreshToken(p); return err })
}

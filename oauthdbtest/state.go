package oauthdbtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/oauthdb/oauthdb"
)

// State is the content of a DB: every table as plain values, each sorted by
// ID — an oauthdb.Snapshot. Dump reads one; AssertState compares one with a
// DB. Its JSON form, an object with better-auth's model names as keys and
// arrays of rows in better-auth's field names as values, is the format of
// fixture files (see LoadFile): a dumped State, marshalled, loads back as it
// was. Clone copies one to edit into a wanted state.
type State = oauthdb.Snapshot

// Dump reads every table of db, from one snapshot, into a State.
func Dump(db *oauthdb.DB) State { return db.Snapshot() }

// Diff compares two states under opts and returns a report of how they
// differ, or "" if they do not. For each table that differs the report
// names the table by its better-auth model name and the rows by their IDs —
// missing from got, unexpected in got, or changed — and then gives
// cmp.Diff's account (-want +got) of the table.
//
// A table that is empty in both states is equal whether its slice is nil or
// not, and JSON values (a client's metadata) are equal when they encode the
// same document, whatever their spacing. Secrets — session cookies, token hashes, hashed client secrets,
// hashed authorization codes — are compared as they are but printed as a
// short fingerprint, "<secret 1a2B3c4D>": equal values have equal
// fingerprints.
func Diff(want, got State, opts ...cmp.Option) string {
	w, g := redact(want), redact(got)
	opts = append(slices.Clip(opts), equateJSON)
	var b strings.Builder
	diffTable(&b, oauthdb.TableUser, w.Users, g.Users, func(r *oauthdb.User) *string { return &r.ID }, opts)
	diffTable(&b, oauthdb.TableSession, w.Sessions, g.Sessions, func(r *oauthdb.Session) *string { return &r.ID }, opts)
	diffTable(&b, oauthdb.TableOAuthClient, w.Clients, g.Clients, func(r *oauthdb.OAuthClient) *string { return &r.ID }, opts)
	diffTable(&b, oauthdb.TableOAuthRefreshToken, w.RefreshTokens, g.RefreshTokens, func(r *oauthdb.OAuthRefreshToken) *string { return &r.ID }, opts)
	diffTable(&b, oauthdb.TableOAuthAccessToken, w.AccessTokens, g.AccessTokens, func(r *oauthdb.OAuthAccessToken) *string { return &r.ID }, opts)
	diffTable(&b, oauthdb.TableOAuthConsent, w.Consents, g.Consents, func(r *oauthdb.OAuthConsent) *string { return &r.ID }, opts)
	diffTable(&b, oauthdb.TableVerification, w.Verifications, g.Verifications, func(r *oauthdb.Verification) *string { return &r.ID }, opts)
	return b.String()
}

// diffTable reports how one table differs, if it does. id returns a pointer
// to a row's ID.
func diffTable[T any](b *strings.Builder, table string, want, got []T, id func(*T) *string, opts []cmp.Option) {
	if len(want) == 0 && len(got) == 0 {
		return
	}
	d := cmp.Diff(want, got, opts...)
	if d == "" {
		return
	}
	fmt.Fprintf(b, "table %s: %s\n", table, rowSummary(want, got, id, opts))
	for line := range strings.Lines(d) {
		b.WriteString("\t" + line)
	}
	if !strings.HasSuffix(d, "\n") {
		b.WriteString("\n")
	}
}

// rowSummary names the rows that differ by ID: missing from got, unexpected
// in got, or in both and changed. When opts ignore IDs, rows cannot be
// matched by them, and it counts rows instead.
func rowSummary[T any](want, got []T, id func(*T) *string, opts []cmp.Option) string {
	var a, c T
	*id(&a), *id(&c) = "a", "b"
	if cmp.Equal(a, c, opts...) {
		return fmt.Sprintf("want %d rows, got %d (rows are not matched by ID: the options ignore IDs)", len(want), len(got))
	}
	byID := make(map[string]*T, len(got))
	for i := range got {
		byID[*id(&got[i])] = &got[i]
	}
	var missing, changed, unexpected []string
	seen := map[string]bool{}
	for i := range want {
		k := *id(&want[i])
		seen[k] = true
		g, ok := byID[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case !cmp.Equal(want[i], *g, opts...):
			changed = append(changed, k)
		}
	}
	for i := range got {
		if k := *id(&got[i]); !seen[k] {
			unexpected = append(unexpected, k)
		}
	}
	var parts []string
	for _, p := range []struct {
		what string
		ids  []string
	}{{"missing", missing}, {"unexpected", unexpected}, {"changed", changed}} {
		switch len(p.ids) {
		case 0:
		case 1:
			parts = append(parts, fmt.Sprintf("%s row %s", p.what, quoteAll(p.ids)))
		default:
			parts = append(parts, fmt.Sprintf("%s rows %s", p.what, quoteAll(p.ids)))
		}
	}
	if len(parts) == 0 {
		return "rows in another order"
	}
	return strings.Join(parts, "; ")
}

// quoteAll quotes IDs for a report.
func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, ", ")
}

// redact returns a copy of s with every secret replaced by its fingerprint.
func redact(s State) State {
	s = s.Clone()
	for i := range s.Sessions {
		s.Sessions[i].Token = fingerprint(s.Sessions[i].Token)
	}
	for i := range s.Clients {
		s.Clients[i].ClientSecret = fingerprint(s.Clients[i].ClientSecret)
	}
	for i := range s.RefreshTokens {
		s.RefreshTokens[i].Token = fingerprint(s.RefreshTokens[i].Token)
	}
	for i := range s.AccessTokens {
		s.AccessTokens[i].Token = fingerprint(s.AccessTokens[i].Token)
	}
	for i := range s.Verifications {
		s.Verifications[i].Identifier = fingerprint(s.Verifications[i].Identifier)
	}
	return s
}

// fingerprint stands for a secret in a report: eight characters of its
// hash, enough to tell two secrets apart and too few to recover either.
func fingerprint(secret string) string {
	if secret == "" {
		return ""
	}
	return "<secret " + oauthdb.HashToken(secret)[:8] + ">"
}

// AssertState fails the test, with Diff's report, unless db holds exactly
// want under opts.
func AssertState(t testing.TB, db *oauthdb.DB, want State, opts ...cmp.Option) {
	t.Helper()
	if d := Diff(want, Dump(db), opts...); d != "" {
		t.Errorf("oauthdbtest: the DB's state is not the one wanted (-want +got):\n%s", d)
	}
}

// AssertUnchanged runs fn and fails the test, with Diff's report, if db is
// not the same afterwards: for code that must change nothing, such as a
// request that is refused.
func AssertUnchanged(t testing.TB, db *oauthdb.DB, fn func()) {
	t.Helper()
	before := Dump(db)
	fn()
	if d := Diff(before, Dump(db)); d != "" {
		t.Errorf("oauthdbtest: the DB changed (-before +after):\n%s", d)
	}
}

// Options for cmp.Diff, cmp.Equal, Diff and AssertState, in the manner of
// cmpopts. They apply to the record types of package oauthdb and leave other
// values alone.

// IgnoreTimestamps ignores the createdAt, updatedAt and expiresAt of every
// record, and compares revoked only as set or unset: for states whose
// times a test does not control, or does not care about.
func IgnoreTimestamps() cmp.Option {
	return cmp.Options{
		cmp.FilterPath(recordField("CreatedAt", "UpdatedAt", "ExpiresAt"), cmp.Ignore()),
		cmp.FilterPath(recordField("Revoked"), cmp.Comparer(func(a, b time.Time) bool { return a.IsZero() == b.IsZero() })),
	}
}

// IgnoreGeneratedIDs ignores the values the DB or the fake server draws at
// random and a test cannot know in advance: every record's id, the token
// hashes of access and refresh tokens, session cookies, the hashed code
// (identifier) of a verification, and an access token's refreshId. Public
// identifiers — clientId, userId, sessionId — are still compared.
//
// Since IDs no longer order the rows, it also sorts each table by the rest
// of its content, so that a wanted state can list rows in any order.
func IgnoreGeneratedIDs() cmp.Option {
	return cmp.Options{
		cmp.FilterPath(recordField(generatedFields...), cmp.Ignore()),
		sortByContent[oauthdb.User](),
		sortByContent[oauthdb.Session](),
		sortByContent[oauthdb.OAuthClient](),
		sortByContent[oauthdb.OAuthRefreshToken](),
		sortByContent[oauthdb.OAuthAccessToken](),
		sortByContent[oauthdb.OAuthConsent](),
		sortByContent[oauthdb.Verification](),
	}
}

// generatedFields are the fields IgnoreGeneratedIDs ignores.
var generatedFields = []string{"ID", "Token", "Identifier", "RefreshID"}

// EquateEmpty treats a nil slice and an empty one as equal — scopes,
// redirect URIs, metadata, and the tables of a State. It is
// cmpopts.EquateEmpty.
func EquateEmpty() cmp.Option { return cmpopts.EquateEmpty() }

// equateJSON compares two JSON values as documents. It leaves empty values
// to the other options, such as EquateEmpty.
var equateJSON = cmp.FilterValues(func(a, b json.RawMessage) bool { return len(a) > 0 && len(b) > 0 },
	cmp.Comparer(func(a, b json.RawMessage) bool {
		var x, y any
		if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
			return bytes.Equal(a, b)
		}
		return reflect.DeepEqual(x, y)
	}))

// recordPkg is the import path of the record types.
var recordPkg = reflect.TypeFor[oauthdb.User]().PkgPath()

// recordField matches the named fields of the records of package oauthdb.
func recordField(names ...string) func(cmp.Path) bool {
	return func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		if !ok || len(p) < 2 {
			return false
		}
		parent := p.Index(-2).Type()
		return parent.PkgPath() == recordPkg && slices.Contains(names, sf.Name())
	}
}

// sortByContent sorts slices of T by everything but their generated fields:
// first the other fields, then whether the record is revoked, then its
// times. Two rows equal under IgnoreGeneratedIDs and IgnoreTimestamps so
// differ at most in times, and their order no longer matters.
func sortByContent[T any]() cmp.Option {
	return cmpopts.SortSlices(func(a, b T) bool { return contentKey(a) < contentKey(b) })
}

// contentKey is the sort key of sortByContent.
func contentKey(rec any) string {
	v := reflect.ValueOf(rec)
	t := v.Type()
	var fields, times strings.Builder
	for i := range t.NumField() {
		f := t.Field(i)
		if slices.Contains(generatedFields, f.Name) {
			continue
		}
		if tm, ok := v.Field(i).Interface().(time.Time); ok {
			if f.Name == "Revoked" {
				fmt.Fprintf(&fields, "revoked:%t\x00", !tm.IsZero())
			}
			fmt.Fprintf(&times, "%s\x00", tm.UTC().Format(time.RFC3339Nano))
			continue
		}
		fmt.Fprintf(&fields, "%q\x00", fmt.Sprint(v.Field(i).Interface()))
	}
	return fields.String() + "\x01" + times.String()
}

package oauthdb

import (
	"encoding/json"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/oauthdb/oauthdb/store"
)

// The door: what a record must be to be stored. Beyond the data model's own
// rules (a user has a name, a client a redirect URI), a record must be
// something its snapshot can carry exactly, so that Snapshot → JSON →
// Restore gives back what was stored:
//
//   - every string is valid UTF-8 (JSON would replace the rest);
//   - every time is in years 0 to 9999 (JSON cannot write the others) and is
//     kept in UTC (RFC 3339 cannot write an offset with seconds); the write
//     methods convert, the check refuses the rest;
//   - every scope is an RFC 6749 §3.3 scope-token;
//   - metadata is valid JSON, kept in the compact form JSON writes.
//
// The door walks a record's field list (schema.go), which the snapshot
// codec and normalize walk too, and then the record's own rules (its check
// method, the table's checkedBy).

// door checks the fields of one record and keeps the first error: it is the
// fieldCodec that validates.
type door struct {
	table string
	err   error
}

func (f *door) fail(field, value, reason string) {
	if f.err == nil {
		f.err = store.Invalid(f.table, field, value, reason)
	}
}

// text checks a string field.
func (f *door) text(field string, v *string) {
	if !utf8.ValidString(*v) {
		f.fail(field, "", "not valid UTF-8")
	}
}

func (f *door) shared(field string, v *string) { f.text(field, v) }

// required checks a string field that must not be empty.
func (f *door) required(field, v string) {
	if v == "" {
		f.fail(field, "", "required")
	}
}

// list checks a string list field.
func (f *door) list(field string, vs *[]string) {
	for i := range *vs {
		f.text(field, &(*vs)[i])
	}
}

// scopes checks a list of scopes.
func (f *door) scopes(field string, vs *[]string) {
	for _, v := range *vs {
		if !validScope(v) {
			f.fail(field, v, "not a scope-token (RFC 6749 §3.3)")
		}
	}
}

func (f *door) flag(string, *bool) {} // any bool is one

// Times a snapshot can carry: RFC 3339 has four digits for the year.
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// time checks a time field; the zero time is absent and always valid.
func (f *door) time(field string, v *time.Time) {
	switch t := *v; {
	case t.IsZero():
	case t.Before(minTime) || !t.Before(maxTime):
		f.fail(field, "", "outside the years 0 to 9999")
	case t.Location() != time.UTC:
		f.fail(field, "", "not in UTC")
	}
}

// json checks a JSON field: valid JSON, valid UTF-8 (normalize made it
// compact).
func (f *door) json(field string, v *json.RawMessage) {
	if raw := *v; len(raw) > 0 && (!json.Valid(raw) || !utf8.Valid(raw)) {
		f.fail(field, "", "not valid JSON")
	}
}

// compactJSON returns raw as JSON writes it — compact, with <, > and &
// escaped — so that a snapshot gives back the same bytes; empty or null is
// absent (nil). Invalid JSON is returned as it is, for the check to refuse.
func compactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil // empty is absent: an empty RawMessage would not encode
	}
	if m, err := json.Marshal(raw); err == nil && utf8.Valid(raw) {
		if string(m) == "null" {
			return nil
		}
		return m
	}
	return append(json.RawMessage(nil), raw...)
}

// validScope reports whether s is a scope-token of RFC 6749 §3.3:
// 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII but for space, the
// double quote and the backslash.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validClientID reports whether s can be a clientId: printable ASCII,
// spaces allowed, as better-auth 1.7.29's getClient reads one
// (/^[\x20-\x7E]+$/); the empty one the store refuses as required.
func validClientID(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// checkScopes checks the scopes an operation is given, as the door checks a
// record's.
func checkScopes(table string, scopes []string) error {
	f := door{table: table}
	f.scopes("scopes", &scopes)
	return f.err
}

// utc converts a time to UTC, which also drops its monotonic clock reading:
// the instant is kept, and the stored value is the one its snapshot gives
// back.
func utc(t *time.Time) {
	if !t.IsZero() {
		*t = t.UTC()
	}
}

// normalizer is the fieldCodec that puts a record in the form it is stored
// in: slices of its own, so that the caller's cannot change it; times in
// UTC; JSON in the form JSON writes it, compact, with <, > and & escaped,
// and null as absent. For the write methods it stamps the record too: its
// createdAt and updatedAt (the fields of those names) as an insert or an
// update sets them; a replica's rows keep theirs (stampNone).
type normalizer struct {
	stamp stamp
	now   time.Time
	// created is, in an update, the stored record's createdAt.
	created time.Time
}

// stamp is how a write sets a record's createdAt and updatedAt.
type stamp int

const (
	// stampNone keeps them as they are.
	stampNone stamp = iota
	// stampInsert sets each that is zero to now.
	stampInsert
	// stampUpdate sets updatedAt to now, and a zero createdAt to the
	// stored record's.
	stampUpdate
)

func (*normalizer) text(string, *string)              {}
func (*normalizer) shared(string, *string)            {}
func (*normalizer) list(_ string, v *[]string)        { *v = slices.Clone(*v) }
func (*normalizer) scopes(_ string, v *[]string)      { *v = slices.Clone(*v) }
func (*normalizer) flag(string, *bool)                {}
func (*normalizer) json(_ string, v *json.RawMessage) { *v = compactJSON(*v) }

func (n *normalizer) time(name string, v *time.Time) {
	utc(v)
	switch {
	case n.stamp == stampNone:
	case name == "createdAt" && v.IsZero() && n.stamp == stampUpdate:
		*v = n.created
	case name == "createdAt" && v.IsZero(), name == "updatedAt" && (v.IsZero() || n.stamp == stampUpdate):
		*v = n.now
	}
}

// The records' own rules, beyond what each of their fields must be: the
// door checks them after the fields (see tableOf.validate).

func (u *User) check(f *door) { f.required("name", u.Name) }

func (c *OAuthClient) check(f *door) {
	if !validClientID(c.ClientID) {
		f.fail("clientId", c.ClientID, "not printable ASCII: better-auth 1.7.29 finds no client by it")
	}
	if len(c.RedirectURIs) == 0 {
		f.fail("redirectUris", "", "required")
	}
	for _, u := range c.RedirectURIs {
		if p, err := url.Parse(u); err != nil || p.Scheme == "" {
			f.fail("redirectUris", u, "not an absolute URI")
		}
	}
}

func (t *OAuthAccessToken) check(f *door) { f.required("clientId", t.ClientID) }

func (t *OAuthRefreshToken) check(f *door) { f.required("userId", t.UserID) }

func (c *OAuthConsent) check(f *door) {
	f.required("clientId", c.ClientID)
	if c.UserID == "" && c.ReferenceID == "" {
		f.fail("userId", "", "a consent needs a userId or a referenceId")
	}
}

func (v *Verification) check(f *door) { f.required("value", v.Value) }

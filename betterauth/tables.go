package betterauth

import (
	"encoding/json"
	"time"

	"github.com/oauthdb/oauthdb"
)

// Every column of the seven tables oauthdb keeps, declared once: its name
// (better-auth's field name, which is also its column name in the SQL
// schemas better-auth generates), its kind and the record field it fills.
// A test walks the record types so that a field added to the root package
// and not declared here fails it.

// column is one column of a table of records T.
type column[T any] struct {
	name   string
	decode func(*T, Value) error
}

func text[T any](name string, f func(*T) *string) column[T] {
	return column[T]{name, func(r *T, v Value) (err error) { *f(r), err = decodeText(v); return err }}
}

func flag[T any](name string, f func(*T) *bool) column[T] {
	return column[T]{name, func(r *T, v Value) (err error) { *f(r), err = decodeBool(v); return err }}
}

func date[T any](name string, f func(*T) *time.Time) column[T] {
	return column[T]{name, func(r *T, v Value) (err error) { *f(r), err = decodeDate(v); return err }}
}

func list[T any](name string, f func(*T) *[]string) column[T] {
	return column[T]{name, func(r *T, v Value) (err error) { *f(r), err = decodeList(v); return err }}
}

func jsonDoc[T any](name string, f func(*T) *json.RawMessage) column[T] {
	return column[T]{name, func(r *T, v Value) (err error) { *f(r), err = decodeJSON(v); return err }}
}

// table is one table oauthdb keeps: its columns, and how a record of it is
// named and inserted.
type table[T any] struct {
	name    string
	columns []column[T]
	insert  func(*oauthdb.Tx, T) error
}

// model is a table of any record type, for the registry.
type model interface {
	tableName() string
	decode(row map[string]Value) (rec any, id string, err error)
	insertRecord(tx *oauthdb.Tx, rec any) (bool, error)
	columnNames() []string
}

func (t *table[T]) tableName() string { return t.name }

func (t *table[T]) columnNames() []string {
	names := make([]string, len(t.columns))
	for i, c := range t.columns {
		names[i] = c.name
	}
	return names
}

// decode fills a record from the row's columns; columns the table does not
// declare are ignored. The id is read first, so that any error names the
// row.
func (t *table[T]) decode(row map[string]Value) (any, string, error) {
	var rec T
	id, err := decodeText(row["id"])
	if err != nil {
		return nil, "", rowErr(t.name, "", "id", err)
	}
	if id == "" {
		return nil, "", rowErr(t.name, "", "id", errKind("required"))
	}
	for i := range t.columns {
		c := &t.columns[i]
		v, ok := row[c.name]
		if !ok {
			continue
		}
		if err := c.decode(&rec, v); err != nil {
			return nil, id, rowErr(t.name, id, c.name, err)
		}
	}
	return rec, id, nil
}

// insertRecord inserts rec if it is a record of this table, and says
// whether it was.
func (t *table[T]) insertRecord(tx *oauthdb.Tx, rec any) (bool, error) {
	r, ok := rec.(T)
	if !ok {
		return false, nil
	}
	return true, t.insert(tx, r)
}

// rowErr is a decoding error: an ErrInvalid naming the table and field,
// in a *RowError naming the row.
func rowErr(tableName, id, field string, err error) *RowError {
	return &RowError{Table: tableName, Index: -1, ID: id, Field: field,
		Err: &oauthdb.Error{Table: tableName, Field: field, Reason: err.Error(), Err: oauthdb.ErrInvalid}}
}

var users = &table[oauthdb.User]{
	name: oauthdb.TableUser,
	columns: []column[oauthdb.User]{
		text("id", func(r *oauthdb.User) *string { return &r.ID }),
		text("name", func(r *oauthdb.User) *string { return &r.Name }),
		text("email", func(r *oauthdb.User) *string { return &r.Email }),
		flag("emailVerified", func(r *oauthdb.User) *bool { return &r.EmailVerified }),
		text("image", func(r *oauthdb.User) *string { return &r.Image }),
		date("createdAt", func(r *oauthdb.User) *time.Time { return &r.CreatedAt }),
		date("updatedAt", func(r *oauthdb.User) *time.Time { return &r.UpdatedAt }),
	},
	insert: (*oauthdb.Tx).InsertUser,
}

var sessions = &table[oauthdb.Session]{
	name: oauthdb.TableSession,
	columns: []column[oauthdb.Session]{
		text("id", func(r *oauthdb.Session) *string { return &r.ID }),
		text("token", func(r *oauthdb.Session) *string { return &r.Token }),
		date("expiresAt", func(r *oauthdb.Session) *time.Time { return &r.ExpiresAt }),
		text("ipAddress", func(r *oauthdb.Session) *string { return &r.IPAddress }),
		text("userAgent", func(r *oauthdb.Session) *string { return &r.UserAgent }),
		text("userId", func(r *oauthdb.Session) *string { return &r.UserID }),
		date("createdAt", func(r *oauthdb.Session) *time.Time { return &r.CreatedAt }),
		date("updatedAt", func(r *oauthdb.Session) *time.Time { return &r.UpdatedAt }),
	},
	insert: (*oauthdb.Tx).InsertSession,
}

// clients: better-auth 1.7 marks a public client with
// tokenEndpointAuthMethod "none" and has no public column; 1.4 to 1.6 also
// wrote public and type. Each is kept as it was written: nothing is
// derived, and oauthdb reads either mark as public.
var clients = &table[oauthdb.OAuthClient]{
	name: oauthdb.TableOAuthClient,
	columns: []column[oauthdb.OAuthClient]{
		text("id", func(r *oauthdb.OAuthClient) *string { return &r.ID }),
		text("clientId", func(r *oauthdb.OAuthClient) *string { return &r.ClientID }),
		text("clientSecret", func(r *oauthdb.OAuthClient) *string { return &r.ClientSecret }),
		flag("disabled", func(r *oauthdb.OAuthClient) *bool { return &r.Disabled }),
		flag("skipConsent", func(r *oauthdb.OAuthClient) *bool { return &r.SkipConsent }),
		flag("enableEndSession", func(r *oauthdb.OAuthClient) *bool { return &r.EnableEndSession }),
		flag("public", func(r *oauthdb.OAuthClient) *bool { return &r.Public }),
		list("scopes", func(r *oauthdb.OAuthClient) *[]string { return &r.Scopes }),
		list("redirectUris", func(r *oauthdb.OAuthClient) *[]string { return &r.RedirectURIs }),
		list("postLogoutRedirectUris", func(r *oauthdb.OAuthClient) *[]string { return &r.PostLogoutRedirectURIs }),
		list("grantTypes", func(r *oauthdb.OAuthClient) *[]string { return &r.GrantTypes }),
		list("responseTypes", func(r *oauthdb.OAuthClient) *[]string { return &r.ResponseTypes }),
		list("contacts", func(r *oauthdb.OAuthClient) *[]string { return &r.Contacts }),
		text("tokenEndpointAuthMethod", func(r *oauthdb.OAuthClient) *string { return &r.TokenEndpointAuthMethod }),
		text("name", func(r *oauthdb.OAuthClient) *string { return &r.Name }),
		text("uri", func(r *oauthdb.OAuthClient) *string { return &r.URI }),
		text("icon", func(r *oauthdb.OAuthClient) *string { return &r.Icon }),
		text("tos", func(r *oauthdb.OAuthClient) *string { return &r.TOS }),
		text("policy", func(r *oauthdb.OAuthClient) *string { return &r.Policy }),
		text("softwareId", func(r *oauthdb.OAuthClient) *string { return &r.SoftwareID }),
		text("softwareVersion", func(r *oauthdb.OAuthClient) *string { return &r.SoftwareVersion }),
		text("softwareStatement", func(r *oauthdb.OAuthClient) *string { return &r.SoftwareStatement }),
		text("type", func(r *oauthdb.OAuthClient) *string { return &r.Type }),
		text("referenceId", func(r *oauthdb.OAuthClient) *string { return &r.ReferenceID }),
		jsonDoc("metadata", func(r *oauthdb.OAuthClient) *json.RawMessage { return &r.Metadata }),
		text("userId", func(r *oauthdb.OAuthClient) *string { return &r.UserID }),
		date("createdAt", func(r *oauthdb.OAuthClient) *time.Time { return &r.CreatedAt }),
		date("updatedAt", func(r *oauthdb.OAuthClient) *time.Time { return &r.UpdatedAt }),
		list("clientCredentialsScopes", func(r *oauthdb.OAuthClient) *[]string { return &r.ClientCredentialsScopes }),
		text("clientDiscoveryId", func(r *oauthdb.OAuthClient) *string { return &r.ClientDiscoveryID }),
		text("subjectType", func(r *oauthdb.OAuthClient) *string { return &r.SubjectType }),
		text("applicationType", func(r *oauthdb.OAuthClient) *string { return &r.ApplicationType }),
		text("backchannelLogoutUri", func(r *oauthdb.OAuthClient) *string { return &r.BackchannelLogoutURI }),
		flag("backchannelLogoutSessionRequired", func(r *oauthdb.OAuthClient) *bool { return &r.BackchannelLogoutSessionRequired }),
		text("jwks", func(r *oauthdb.OAuthClient) *string { return &r.JWKS }),
		text("jwksUri", func(r *oauthdb.OAuthClient) *string { return &r.JWKSURI }),
		flag("requirePKCE", func(r *oauthdb.OAuthClient) *bool { return &r.RequirePKCE }),
		flag("dpopBoundAccessTokens", func(r *oauthdb.OAuthClient) *bool { return &r.DPoPBoundAccessTokens }),
	},
	insert: (*oauthdb.Tx).InsertClient,
}

var refreshTokens = &table[oauthdb.OAuthRefreshToken]{
	name: oauthdb.TableOAuthRefreshToken,
	columns: []column[oauthdb.OAuthRefreshToken]{
		text("id", func(r *oauthdb.OAuthRefreshToken) *string { return &r.ID }),
		text("token", func(r *oauthdb.OAuthRefreshToken) *string { return &r.Token }),
		text("clientId", func(r *oauthdb.OAuthRefreshToken) *string { return &r.ClientID }),
		text("sessionId", func(r *oauthdb.OAuthRefreshToken) *string { return &r.SessionID }),
		text("userId", func(r *oauthdb.OAuthRefreshToken) *string { return &r.UserID }),
		text("referenceId", func(r *oauthdb.OAuthRefreshToken) *string { return &r.ReferenceID }),
		list("scopes", func(r *oauthdb.OAuthRefreshToken) *[]string { return &r.Scopes }),
		date("expiresAt", func(r *oauthdb.OAuthRefreshToken) *time.Time { return &r.ExpiresAt }),
		date("createdAt", func(r *oauthdb.OAuthRefreshToken) *time.Time { return &r.CreatedAt }),
		date("revoked", func(r *oauthdb.OAuthRefreshToken) *time.Time { return &r.Revoked }),
		date("rotatedAt", func(r *oauthdb.OAuthRefreshToken) *time.Time { return &r.RotatedAt }),
		text("authorizationCodeId", func(r *oauthdb.OAuthRefreshToken) *string { return &r.AuthorizationCodeID }),
		date("authTime", func(r *oauthdb.OAuthRefreshToken) *time.Time { return &r.AuthTime }),
		list("resources", func(r *oauthdb.OAuthRefreshToken) *[]string { return &r.Resources }),
		list("requestedUserInfoClaims", func(r *oauthdb.OAuthRefreshToken) *[]string { return &r.RequestedUserInfoClaims }),
		jsonDoc("confirmation", func(r *oauthdb.OAuthRefreshToken) *json.RawMessage { return &r.Confirmation }),
		date("rotationReplayExpiresAt", func(r *oauthdb.OAuthRefreshToken) *time.Time { return &r.RotationReplayExpiresAt }),
		text("rotationReplayResponse", func(r *oauthdb.OAuthRefreshToken) *string { return &r.RotationReplayResponse }),
	},
	insert: (*oauthdb.Tx).InsertRefreshToken,
}

var accessTokens = &table[oauthdb.OAuthAccessToken]{
	name: oauthdb.TableOAuthAccessToken,
	columns: []column[oauthdb.OAuthAccessToken]{
		text("id", func(r *oauthdb.OAuthAccessToken) *string { return &r.ID }),
		text("token", func(r *oauthdb.OAuthAccessToken) *string { return &r.Token }),
		text("clientId", func(r *oauthdb.OAuthAccessToken) *string { return &r.ClientID }),
		text("sessionId", func(r *oauthdb.OAuthAccessToken) *string { return &r.SessionID }),
		text("userId", func(r *oauthdb.OAuthAccessToken) *string { return &r.UserID }),
		text("referenceId", func(r *oauthdb.OAuthAccessToken) *string { return &r.ReferenceID }),
		text("refreshId", func(r *oauthdb.OAuthAccessToken) *string { return &r.RefreshID }),
		list("scopes", func(r *oauthdb.OAuthAccessToken) *[]string { return &r.Scopes }),
		date("expiresAt", func(r *oauthdb.OAuthAccessToken) *time.Time { return &r.ExpiresAt }),
		date("createdAt", func(r *oauthdb.OAuthAccessToken) *time.Time { return &r.CreatedAt }),
		date("revoked", func(r *oauthdb.OAuthAccessToken) *time.Time { return &r.Revoked }),
		text("authorizationCodeId", func(r *oauthdb.OAuthAccessToken) *string { return &r.AuthorizationCodeID }),
		list("resources", func(r *oauthdb.OAuthAccessToken) *[]string { return &r.Resources }),
		list("requestedUserInfoClaims", func(r *oauthdb.OAuthAccessToken) *[]string { return &r.RequestedUserInfoClaims }),
		jsonDoc("confirmation", func(r *oauthdb.OAuthAccessToken) *json.RawMessage { return &r.Confirmation }),
	},
	insert: (*oauthdb.Tx).InsertAccessToken,
}

var consents = &table[oauthdb.OAuthConsent]{
	name: oauthdb.TableOAuthConsent,
	columns: []column[oauthdb.OAuthConsent]{
		text("id", func(r *oauthdb.OAuthConsent) *string { return &r.ID }),
		text("clientId", func(r *oauthdb.OAuthConsent) *string { return &r.ClientID }),
		text("userId", func(r *oauthdb.OAuthConsent) *string { return &r.UserID }),
		text("referenceId", func(r *oauthdb.OAuthConsent) *string { return &r.ReferenceID }),
		list("scopes", func(r *oauthdb.OAuthConsent) *[]string { return &r.Scopes }),
		date("createdAt", func(r *oauthdb.OAuthConsent) *time.Time { return &r.CreatedAt }),
		date("updatedAt", func(r *oauthdb.OAuthConsent) *time.Time { return &r.UpdatedAt }),
		list("resources", func(r *oauthdb.OAuthConsent) *[]string { return &r.Resources }),
		list("requestedUserInfoClaims", func(r *oauthdb.OAuthConsent) *[]string { return &r.RequestedUserInfoClaims }),
	},
	insert: (*oauthdb.Tx).InsertConsent,
}

var verifications = &table[oauthdb.Verification]{
	name: oauthdb.TableVerification,
	columns: []column[oauthdb.Verification]{
		text("id", func(r *oauthdb.Verification) *string { return &r.ID }),
		text("identifier", func(r *oauthdb.Verification) *string { return &r.Identifier }),
		text("value", func(r *oauthdb.Verification) *string { return &r.Value }),
		date("expiresAt", func(r *oauthdb.Verification) *time.Time { return &r.ExpiresAt }),
		date("createdAt", func(r *oauthdb.Verification) *time.Time { return &r.CreatedAt }),
		date("updatedAt", func(r *oauthdb.Verification) *time.Time { return &r.UpdatedAt }),
	},
	insert: (*oauthdb.Tx).InsertVerification,
}

// models are the tables oauthdb keeps, parents first: the order rows are
// inserted in, whatever their order in the input.
var models = []model{users, sessions, clients, refreshTokens, accessTokens, consents, verifications}

// notModeled are better-auth's models that oauthdb does not keep: core
// (account, rateLimit), the jwt plugin (jwks) and the oauth-provider's own
// (resources and their links to clients, consumed client assertions).
// Their rows are skipped and counted, never silently dropped.
var notModeled = []string{
	"account", "rateLimit", "jwks",
	"oauthResource", "oauthClientResource", "oauthClientAssertion",
}

func modelFor(name string) model {
	for _, m := range models {
		if m.tableName() == name {
			return m
		}
	}
	return nil
}

// Tables returns the names of the tables oauthdb keeps, parents first.
func Tables() []string {
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.tableName()
	}
	return names
}

// NotModeled returns the names of better-auth's tables that oauthdb does
// not keep, whose rows Load skips and reports.
func NotModeled() []string { return append([]string(nil), notModeled...) }

// DecodeRow decodes one row of a better-auth table into its oauthdb record:
// an oauthdb.User, Session, OAuthClient, OAuthAccessToken,
// OAuthRefreshToken, OAuthConsent or Verification (a value, not a
// pointer). row maps column names to values; a column the table does not
// have is ignored, an absent one is unset.
//
// Each kind of column reads every shape better-auth's adapters store it in:
//
//   - string: a JSON string or any text; NULL is empty;
//   - boolean: true/false, 0/1 (SQLite, MySQL), "t"/"f" (Postgres), or
//     their text; NULL is false;
//   - date: an ISO 8601 string ("2026-01-01T00:00:00.000Z"), SQL DATETIME
//     text ("2026-11-27 01:27:42.289", taken as UTC), Postgres timestamptz
//     text ("2026-03-04 03:06:07.089+00"), or milliseconds since the epoch;
//     NULL is the zero time;
//   - string[]: a JSON array of strings, its JSON text (SQLite, MySQL,
//     jsonb), or a Postgres text[] ({a,"b c"}); NULL or the text "null" is
//     nil, an empty array an empty list;
//   - json: a JSON value, or its text; NULL, null or "null" is absent.
//
// The row must have an id. Whether the record may be stored is the door's
// to say, when it is inserted (Insert). A table oauthdb does not keep is
// ErrNotModeled, an unknown one ErrUnknownTable. Errors are *RowError
// values, with Index -1.
func DecodeRow(table string, row map[string]Value) (any, error) {
	m := modelFor(table)
	if m == nil {
		id, _ := decodeText(row["id"])
		return nil, &RowError{Table: table, Index: -1, ID: id, Err: tableError(table, nil)}
	}
	rec, _, err := m.decode(row)
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// tableError says why a table's rows are not decoded: it is a better-auth
// table oauthdb does not keep, or a name that is no table at all (skip
// lists extra names the caller knows of).
func tableError(name string, skip []string) error {
	for _, n := range append(notModeled, skip...) {
		if n == name {
			return ErrNotModeled
		}
	}
	return ErrUnknownTable
}

// Insert inserts a record that DecodeRow returned, through the root
// package's door (tx.InsertUser, ...): what it refuses is an *oauthdb.Error.
func Insert(tx *oauthdb.Tx, rec any) error {
	for _, m := range models {
		if ok, err := m.insertRecord(tx, rec); ok {
			return err
		}
	}
	return &oauthdb.Error{Reason: "not a record of a better-auth table oauthdb keeps", Err: oauthdb.ErrInvalid}
}

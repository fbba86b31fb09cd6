package betterauth

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/oauthdb/oauthdb"
)

// The tables oauthdb keeps are the root package's (oauthdb.Tables), and a
// row is decoded through its record's own field list, each column by the
// name and kind of the field it fills (oauthdb.DecodeRecord): this package
// keeps no list of their columns. What it knows of better-auth's schema
// beyond them is which of its tables oauthdb does not keep.

// modeled are the tables oauthdb keeps, parents first.
var modeled = oauthdb.Tables()

// notModeled are better-auth's models that oauthdb does not keep: core
// (account, rateLimit), the jwt plugin (jwks) and the oauth-provider's own
// (resources and their links to clients, consumed client assertions).
// Their rows are skipped and counted, never silently dropped.
var notModeled = []string{
	"account", "rateLimit", "jwks",
	"oauthResource", "oauthClientResource", "oauthClientAssertion",
}

// Tables returns the names of the tables oauthdb keeps, parents first.
func Tables() []string { return slices.Clone(modeled) }

// NotModeled returns the names of better-auth's tables that oauthdb does
// not keep, whose rows Load skips and reports.
func NotModeled() []string { return slices.Clone(notModeled) }

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
	return DecodeRowOnto(table, nil, row)
}

// DecodeRowOnto is DecodeRow for a row that leaves columns out: the
// columns row has replace those of base, a record of the table as
// DecodeRow returns it (or a pointer to one), and those it leaves out keep
// base's values; base itself is not changed. A logical replica's UPDATE is
// such a row: Postgres leaves out a TOASTed column the update did not
// change, and the replica holds the rest of the row (oauthdb.MirrorTx.Get).
// A nil base is DecodeRow's zero record; a base of another table is
// ErrInvalid. The id is read first, so that any error names the row.
func DecodeRowOnto(table string, base any, row map[string]Value) (any, error) {
	rec, _, err := decodeOnto(table, base, row)
	return rec, err
}

// DecodeJSONRow decodes one row of a better-auth export — a JSON object of
// columns, as the memory adapter keeps a row, and as rows read from any
// other adapter are written as JSON — as DecodeRow does. Load decodes each
// row so.
func DecodeJSONRow(table string, row json.RawMessage) (any, error) {
	rec, _, err := decodeJSONRow(table, row)
	return rec, err
}

func decodeJSONRow(table string, raw json.RawMessage) (any, string, error) {
	var cols map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cols); err != nil {
		return nil, "", &RowError{Table: table, Index: -1, Err: fmt.Errorf("%w: a row is not a JSON object", ErrMalformed)}
	}
	row := make(map[string]Value, len(cols))
	for k, v := range cols {
		row[k] = Value{JSON: v}
	}
	return decodeOnto(table, nil, row)
}

// decodeOnto decodes row onto base, and returns the record and its id.
func decodeOnto(table string, base any, row map[string]Value) (any, string, error) {
	if !slices.Contains(modeled, table) {
		id, _ := decodeText(row["id"])
		return nil, id, &RowError{Table: table, Index: -1, ID: id, Err: tableError(table, nil)}
	}
	id, err := decodeText(row["id"])
	if err != nil {
		return nil, "", rowErr(table, "", "id", err)
	}
	if id == "" {
		return nil, "", rowErr(table, "", "id", errKind("required"))
	}
	d := &rowDecoder{table: table, id: id, row: row}
	rec, err := oauthdb.DecodeRecord(table, base, d)
	switch {
	case err != nil:
		return nil, id, &RowError{Table: table, Index: -1, ID: id, Err: err}
	case d.err != nil:
		return nil, id, d.err
	}
	return rec, id, nil
}

// rowDecoder is the oauthdb.FieldVisitor that fills a record from a row:
// each field from the column of its name, if the row has one, by the
// field's kind. The first error is kept, and the fields after it are left
// as they are.
type rowDecoder struct {
	table, id string
	row       map[string]Value
	err       *RowError
}

func (d *rowDecoder) String(name string, v *string)        { column(d, name, v, decodeText) }
func (d *rowDecoder) Strings(name string, v *[]string)     { column(d, name, v, decodeList) }
func (d *rowDecoder) Bool(name string, v *bool)            { column(d, name, v, decodeBool) }
func (d *rowDecoder) Time(name string, v *time.Time)       { column(d, name, v, decodeDate) }
func (d *rowDecoder) JSON(name string, v *json.RawMessage) { column(d, name, v, decodeJSON) }

// column decodes the row's column name, if it has one, into v.
func column[V any](d *rowDecoder, name string, v *V, decode func(Value) (V, error)) {
	x, ok := d.row[name]
	if !ok || d.err != nil {
		return
	}
	got, err := decode(x)
	if err != nil {
		d.err = rowErr(d.table, d.id, name, err)
		return
	}
	*v = got
}

// rowErr is a decoding error: an ErrInvalid naming the table and field,
// in a *RowError naming the row.
func rowErr(tableName, id, field string, err error) *RowError {
	return &RowError{Table: tableName, Index: -1, ID: id, Field: field,
		Err: &oauthdb.Error{Table: tableName, Field: field, Reason: err.Error(), Err: oauthdb.ErrInvalid}}
}

// tableError says why a table's rows are not decoded: it is a better-auth
// table oauthdb does not keep, or a name that is no table at all (skip
// lists extra names the caller knows of).
func tableError(name string, skip []string) error {
	if slices.Contains(notModeled, name) || slices.Contains(skip, name) {
		return ErrNotModeled
	}
	return ErrUnknownTable
}

// Insert inserts a record that DecodeRow returned, through the root
// package's door: it is tx.Insert, and what the door refuses is an
// *oauthdb.Error.
func Insert(tx *oauthdb.Tx, rec any) error { return tx.Insert(rec) }

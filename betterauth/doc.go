// Package betterauth loads the rows of a better-auth oauth-provider
// database (better-auth 1.4 to 1.7.29) into an oauthdb.DB, as better-auth's
// adapters store them: the memory adapter's JSON, SQLite and MySQL through
// Kysely (string[] and json as JSON text, booleans as 0/1, dates as text),
// and Postgres as better-auth's migrations create it (jsonb, boolean,
// timestamptz), exported as JSON or read in Postgres' own text forms.
//
// Load reads a whole export, a row at a time, and inserts it in one
// transaction. DecodeRow decodes one row, from JSON or from Postgres text
// (the shape a logical replica receives), DecodeJSONRow a row of an
// export, DecodeRowOnto a row that leaves columns out onto the record it
// updates, and Insert stores it: the same decoders serve all of them.
//
// The tables and their columns are the root package's: a row is decoded
// through its record's own field list (oauthdb.DecodeRecord), each column
// by the name and kind of the field it fills, so that a column better-auth
// adds is decoded once its record has the field.
//
// What oauthdb cannot keep exactly — invalid UTF-8, a time outside the
// years 0 to 9999, a scope that is not an RFC 6749 scope-token — is refused
// at its door, and the error names the row. better-auth tables that oauthdb
// does not model (account, jwks, oauthResource, ...) are skipped and
// reported, never dropped silently.
package betterauth

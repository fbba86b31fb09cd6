package oauthdbtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/betterauth"
)

// PlainPrefix marks a plaintext token or secret in a fixture file: the
// loader stores its hash.
const PlainPrefix = "plain:"

// LoadError says what in a fixture could not be loaded: the file, where in
// it, the record and its field, and why.
type LoadError struct {
	// File is the fixture file's name; empty for a State loaded with Load.
	File string
	// Line and Column locate the error in the file, from 1; 0 when unknown.
	Line, Column int
	// Table is the model name of the record's table, if the error is in one.
	Table string
	// Index is the record's position in its table's array, from 0; -1 when
	// the error is not in a record.
	Index int
	// ID is the record's id, when it has one.
	ID string
	// Field is the field that is wrong, in better-auth's name, if known.
	Field string
	// Err is what was wrong. For a record the DB refused it is an
	// *oauthdb.Error, so errors.Is(err, oauthdb.ErrForeignKey) and the like
	// work on a LoadError.
	Err error
}

// Error formats the error as "file:line:col: table[index] (id "x"): field
// f: reason".
func (e *LoadError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
		}
		b.WriteString(": ")
	}
	if e.Table != "" {
		b.WriteString(e.Table)
		if e.Index >= 0 {
			fmt.Fprintf(&b, "[%d]", e.Index)
		}
		if e.ID != "" {
			fmt.Fprintf(&b, " (id %q)", e.ID)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %s: ", e.Field)
	}
	var oe *oauthdb.Error
	if errors.As(e.Err, &oe) && oe.ID == e.ID && e.ID != "" {
		// The record's id is said above, once.
		once := *oe
		once.ID = ""
		b.WriteString(once.Error())
	} else {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *LoadError) Unwrap() error { return e.Err }

// plaintext names, by table, the field a fixture may write with
// PlainPrefix: the loader stores its hash, a client's secret as
// oauthdb.HashSecret hashes it, a token or a code with the DB's hasher.
var plaintext = map[string]struct {
	field  string
	secret bool
}{
	oauthdb.TableOAuthClient:       {"clientSecret", true},
	oauthdb.TableOAuthAccessToken:  {"token", false},
	oauthdb.TableOAuthRefreshToken: {"token", false},
	oauthdb.TableVerification:      {"identifier", false},
}

// unplain is the oauthdb.FieldVisitor that hashes a record's "plain:"
// value, and notes its id.
type unplain struct {
	field string
	hash  func(string) string
	id    string
}

func (u *unplain) String(name string, v *string) {
	switch name {
	case "id":
		u.id = *v
	case u.field:
		if p, ok := strings.CutPrefix(*v, PlainPrefix); ok {
			*v = u.hash(p)
		}
	}
}

func (*unplain) Strings(string, *[]string)     {}
func (*unplain) Bool(string, *bool)            {}
func (*unplain) Time(string, *time.Time)       {}
func (*unplain) JSON(string, *json.RawMessage) {}

// Load inserts every row of s into db, in one write transaction: the tables
// parents first (oauthdb.Tables), each table's rows in order. Values with the prefix
// "plain:" are hashed as in a fixture file. On an error it inserts nothing
// and returns a *LoadError that names the record and the field. It returns
// the rows as stored.
func Load(db *oauthdb.DB, s State) (State, error) {
	return load(db, s, "", nil, db.Hash)
}

// rowPos locates rows and their fields in a fixture file.
type rowPos struct {
	data []byte
	rows map[string][][2]int // by table: each row's [start, end) in data
}

// load inserts s into db in one transaction, parents first, and returns
// its rows as stored, with the timestamps the DB filled in. file and pos,
// when known, locate a failing record in its file; hash hashes "plain:"
// tokens.
func load(db *oauthdb.DB, s State, file string, pos *rowPos, hash func(string) string) (State, error) {
	var stored State
	err := db.Update(func(tx *oauthdb.Tx) error {
		stored = State{}
		index := map[string]int{}
		for table, rec := range s.All() {
			i := index[table]
			index[table]++
			got, id, err := loadRow(tx, table, rec, hash)
			if err != nil {
				le := &LoadError{File: file, Table: table, Index: i, ID: id, Err: err}
				var dbErr *oauthdb.Error
				if errors.As(err, &dbErr) {
					le.Field = dbErr.Field
				}
				if pos != nil {
					pos.locate(le)
				}
				return le
			}
			if err := stored.Add(got); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return State{}, err
	}
	return stored, nil
}

// loadRow inserts a record of table, its "plain:" value hashed, and returns
// it as stored, and its id.
func loadRow(tx *oauthdb.Tx, table string, rec any, hash func(string) string) (any, string, error) {
	u := unplain{hash: hash}
	if p, ok := plaintext[table]; ok {
		u.field = p.field
		if p.secret {
			u.hash = oauthdb.HashSecret
		}
	}
	rec, err := oauthdb.DecodeRecord(table, rec, &u)
	if err == nil {
		err = tx.Insert(rec)
	}
	if err != nil {
		return nil, u.id, err
	}
	stored, err := tx.Get(table, u.id)
	return stored, u.id, err
}

// locate sets the line and column of the record, or of its field when the
// field can be found in it.
func (p *rowPos) locate(e *LoadError) {
	rows := p.rows[e.Table]
	if e.Index < 0 || e.Index >= len(rows) {
		return
	}
	start, end := rows[e.Index][0], rows[e.Index][1]
	at := start
	if e.Field != "" {
		if off := fieldOffset(p.data[start:end], e.Field); off >= 0 {
			at = start + off
		}
	}
	e.Line, e.Column = lineCol(p.data, at)
}

// fieldOffset returns the offset of the key of field in the JSON object
// obj, or -1.
func fieldOffset(obj []byte, field string) int {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return -1
	}
	for dec.More() {
		off := skipSpace(obj, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return -1
		}
		if tok == field {
			return off
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return -1
		}
	}
	return -1
}

// skipSpace returns the offset of the first byte at or after off that is
// not JSON whitespace or a separator.
func skipSpace(data []byte, off int) int {
	for off < len(data) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
		off++
	}
	return off
}

// lineCol turns a byte offset in data into a line and a column, from 1;
// the column counts characters.
func lineCol(data []byte, off int) (line, col int) {
	off = min(off, len(data))
	line = 1 + bytes.Count(data[:off], []byte("\n"))
	lineStart := bytes.LastIndexByte(data[:off], '\n') + 1
	return line, 1 + utf8.RuneCount(data[lineStart:off])
}

// ParseState decodes a fixture file's content into a State without loading
// it. name is the file's name, for errors, which are *LoadError values that
// say where in the file the error is.
func ParseState(name string, data []byte) (State, error) {
	s, _, err := parse(name, data)
	return s, err
}

// parse decodes a fixture file and records where each row is in it.
func parse(name string, data []byte) (State, *rowPos, error) {
	var s State
	pos := &rowPos{data: data, rows: map[string][][2]int{}}
	fail := func(off int, table string, index int, id, field string, err error) (State, *rowPos, error) {
		le := &LoadError{File: name, Table: table, Index: index, ID: id, Field: field, Err: err}
		le.Line, le.Column = lineCol(data, off)
		return State{}, nil, le
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fail(syntaxOffset(err, dec, data), "", -1, "", "", jsonErr(err))
	}
	if tok != json.Delim('{') {
		return fail(0, "", -1, "", "", errors.New("a fixture file is a JSON object of tables, keyed by model name"))
	}
	seen := map[string]bool{}
	for dec.More() {
		keyOff := skipSpace(data, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return fail(syntaxOffset(err, dec, data), "", -1, "", "", jsonErr(err))
		}
		table := tok.(string)
		if !slices.Contains(oauthdb.Tables(), table) {
			return fail(keyOff, "", -1, "", "", fmt.Errorf("unknown table %q: the tables are %s", table, strings.Join(oauthdb.Tables(), ", ")))
		}
		if seen[table] {
			return fail(keyOff, table, -1, "", "", errors.New("the table appears twice"))
		}
		seen[table] = true
		arrOff := skipSpace(data, int(dec.InputOffset()))
		tok, err = dec.Token()
		if err != nil {
			return fail(syntaxOffset(err, dec, data), table, -1, "", "", jsonErr(err))
		}
		if tok == nil {
			continue // "table": null is an empty table
		}
		if tok != json.Delim('[') {
			return fail(arrOff, table, -1, "", "", errors.New("a table is an array of rows"))
		}
		for i := 0; dec.More(); i++ {
			start := skipSpace(data, int(dec.InputOffset()))
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fail(syntaxOffset(err, dec, data), table, i, "", "", jsonErr(err))
			}
			if len(raw) == 0 || raw[0] != '{' {
				return fail(start, table, i, "", "", errors.New("a row is a JSON object"))
			}
			pos.rows[table] = append(pos.rows[table], [2]int{start, start + len(raw)})
			rec, err := betterauth.DecodeJSONRow(table, raw)
			if err != nil {
				var re *betterauth.RowError
				errors.As(err, &re)
				off := 0
				if re.Field != "" {
					off = max(fieldOffset(raw, re.Field), 0)
				}
				return fail(start+off, table, i, re.ID, re.Field, re.Err)
			}
			if err := s.Add(rec); err != nil {
				return fail(start, table, i, "", "", err)
			}
		}
		if _, err := dec.Token(); err != nil { // ]
			return fail(syntaxOffset(err, dec, data), table, -1, "", "", jsonErr(err))
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return fail(syntaxOffset(err, dec, data), "", -1, "", "", jsonErr(err))
	}
	after := skipSpace(data, int(dec.InputOffset()))
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail(after, "", -1, "", "", errors.New("text after the fixture object"))
	}
	return s, pos, nil
}

// jsonErr says what is wrong with a fixture's JSON in a fixture author's
// words.
func jsonErr(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("malformed JSON: %v", se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: unexpected end of input")
	}
	return err
}

// syntaxOffset returns where in the input a decoding error is: the end,
// for input that ends too soon.
func syntaxOffset(err error, dec *json.Decoder, data []byte) int {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return int(se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return len(data)
	}
	return int(dec.InputOffset())
}

// LoadFile reads the fixture file at path — its format is in the package
// documentation — and loads it into db, as Load does, in one write
// transaction. It returns the rows as stored. Its
// errors are *LoadError values that name the file, the line, the record and
// the field.
func LoadFile(db *oauthdb.DB, path string) (State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return State{}, err
	}
	return loadData(db, path, data, db.Hash)
}

// loadData parses a fixture file's content and loads it.
func loadData(db *oauthdb.DB, name string, data []byte, hash func(string) string) (State, error) {
	s, pos, err := parse(name, data)
	if err != nil {
		return State{}, err
	}
	return load(db, s, name, pos, hash)
}

// Load loads the fixture file at path into the DB, as LoadFile does, and
// returns the rows as stored. It fails the test if the file cannot be
// loaded. Tokens written "plain:" are hashed with the DB's hasher (see
// WithHasher).
func (f *Fixtures) Load(path string) State {
	f.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatalf("oauthdbtest: Load: %v", err)
	}
	s, err := loadData(f.DB, path, data, f.hash)
	if err != nil {
		f.t.Fatalf("oauthdbtest: Load: %v", err)
	}
	return s
}

package betterauth

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Value is one column of a better-auth row as its source holds it: a JSON
// value, from an export (the memory adapter's JSON, rows read from SQLite,
// MySQL or Postgres and written as JSON), or Postgres' own text form, from
// the Postgres replica (pgreplica.Value converts field by field; a column
// it marks Unchanged must be filled in from the row the caller holds before
// the row is decoded, as only the caller knows it).
//
// Each column kind reads every shape its data comes in; see DecodeRow.
type Value struct {
	// JSON is the value as JSON. When it is nil the value is the Postgres
	// text form below.
	JSON json.RawMessage
	// Null is SQL NULL (Postgres text form only).
	Null bool
	// Text is the value in Postgres' text format: "t", "2026-03-04
	// 03:06:07.089+00", jsonb's text, a text[] such as {a,"b c"}.
	Text string
	// TypeOID is the column's Postgres type. It only tells a text[] from
	// jsonb where the text alone could not; 0 is unknown.
	TypeOID uint32
}

// JSONValue returns raw, a complete JSON value, as a Value.
func JSONValue(raw json.RawMessage) Value { return Value{JSON: raw} }

// TextValue returns a non-NULL Postgres text value of the given type.
func TextValue(text string, typeOID uint32) Value { return Value{Text: text, TypeOID: typeOID} }

// NullValue returns SQL NULL.
func NullValue() Value { return Value{Null: true} }

// Postgres' catalog OIDs of the array and JSON types (stable across
// versions): only these change how a text value is read.
const (
	oidJSON         = 114
	oidJSONB        = 3802
	oidTextArray    = 1009
	oidVarcharArray = 1015
)

// errKind is the reason a value could not be decoded; the value itself is
// never part of it, since it may be a token hash or a secret.
type errKind string

func (e errKind) Error() string { return string(e) }

// shape is what a value is, whatever its source.
type shape int

const (
	shapeNull shape = iota
	shapeBool
	shapeNumber
	shapeString // JSON string, or any non-NULL Postgres text
	shapeArray
	shapeObject
)

var shapeNames = [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}

// read sorts a value into its shape: a JSON string is unquoted (and
// refused if JSON's decoder would not give back its every character), a
// Postgres text is a string.
func (v Value) read() (shape, string, error) {
	if v.JSON == nil {
		if v.Null {
			return shapeNull, "", nil
		}
		return shapeString, v.Text, nil
	}
	raw := bytes.TrimSpace(v.JSON)
	if len(raw) == 0 {
		return 0, "", errKind("empty JSON value")
	}
	switch raw[0] {
	case 'n':
		if string(raw) == "null" {
			return shapeNull, "", nil
		}
	case 't', 'f':
		if string(raw) == "true" || string(raw) == "false" {
			return shapeBool, string(raw), nil
		}
	case '"':
		s, err := unquote(raw)
		return shapeString, s, err
	case '[':
		return shapeArray, string(raw), nil
	case '{':
		return shapeObject, string(raw), nil
	default:
		return shapeNumber, string(raw), nil
	}
	return 0, "", errKind("not a JSON value")
}

// unquote decodes a JSON string exactly: encoding/json would replace
// invalid UTF-8 and lone surrogate escapes with U+FFFD, and a stored string
// that is not the one better-auth wrote is a loss the door must see.
func unquote(raw []byte) (string, error) {
	if !utf8.Valid(raw) || loneSurrogate(raw) {
		return "", errKind("not valid UTF-8")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errKind("malformed JSON string")
	}
	return s, nil
}

// loneSurrogate reports whether a JSON string holds a \uD800–\uDFFF escape
// that is not half of a surrogate pair.
func loneSurrogate(raw []byte) bool {
	esc := func(i int) (rune, bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := esc(i)
		if !ok {
			i++ // a two-character escape: skip what it escapes
			continue
		}
		switch {
		case r >= 0xd800 && r < 0xdc00:
			if lo, ok := esc(i + 6); !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 11
		case r >= 0xdc00 && r <= 0xdfff:
			return true
		default:
			i += 5
		}
	}
	return false
}

func wrongShape(want string, got shape) error {
	return errKind("want " + want + ", got " + shapeNames[got])
}

// decodeText reads a string column; NULL is empty, as oauthdb stores an
// unset string.
func decodeText(v Value) (string, error) {
	sh, s, err := v.read()
	switch {
	case err != nil:
		return "", err
	case sh == shapeNull:
		return "", nil
	case sh != shapeString:
		return "", wrongShape("a string", sh)
	}
	return s, nil
}

// decodeBool reads a boolean column: JSON true/false, SQLite's and MySQL's
// 0/1, Postgres' t/f, or their text; NULL is false.
func decodeBool(v Value) (bool, error) {
	sh, s, err := v.read()
	if err != nil || sh == shapeNull {
		return false, err // NULL is the zero value
	}
	switch sh {
	case shapeBool, shapeNumber, shapeString:
		switch s {
		case "true", "t", "1":
			return true, nil
		case "false", "f", "0":
			return false, nil
		}
		return false, errKind("not a boolean (true/false, 1/0, t/f)")
	}
	return false, wrongShape("a boolean", sh)
}

// decodeDate reads a date column: an ISO 8601 / RFC 3339 string, SQL
// DATETIME text (taken as UTC), Postgres' timestamptz text, or a number of
// milliseconds since the Unix epoch; NULL is the zero time.
func decodeDate(v Value) (time.Time, error) {
	sh, s, err := v.read()
	if err != nil || sh == shapeNull {
		return time.Time{}, err // NULL is the zero value
	}
	switch sh {
	case shapeNumber:
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, errKind("not a date: a number must be whole milliseconds since the epoch")
		}
		return time.UnixMilli(ms).UTC(), nil
	case shapeString:
		t, ok := parseDate(s)
		if !ok {
			return time.Time{}, errKind("not a date (ISO 8601, SQL DATETIME or timestamptz text)")
		}
		return t, nil
	}
	return time.Time{}, wrongShape("a date", sh)
}

// parseDate reads the text forms of a date: 2026-01-01T00:00:00.000Z,
// 2026-01-01T00:00:00+02:00, 2026-11-27 01:27:42.289 (no zone: UTC),
// 2026-03-04 03:06:07.089+00 (Postgres, zone in hours).
func parseDate(s string) (time.Time, bool) {
	const dateTime = len("2006-01-02T15:04:05")
	if len(s) < dateTime || len(s) > 64 {
		return time.Time{}, false
	}
	b := []byte(s)
	if b[10] == ' ' {
		b[10] = 'T'
	}
	rest := b[dateTime:]
	layout := time.RFC3339Nano
	switch i := bytes.LastIndexAny(rest, "+-"); {
	case bytes.HasSuffix(rest, []byte("Z")):
	case i < 0:
		b = append(b, 'Z')
	case len(rest)-i == len("+07"):
		b = append(b, ":00"...)
	case len(rest)-i == len("+07:00:00"):
		layout = "2006-01-02T15:04:05.999999999-07:00:00"
	}
	t, err := time.Parse(layout, string(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// decodeList reads a string[] column: a JSON array of strings; the JSON text
// of one, as SQLite and MySQL store it; jsonb's text; or a Postgres text[]
// such as {a,"b c"}. NULL, and the text "null" that SQL adapters write for
// an unset value, are nil; an empty array is an empty, non-nil list, so
// that it is kept as better-auth wrote it.
func decodeList(v Value) ([]string, error) {
	sh, s, err := v.read()
	if err != nil || sh == shapeNull {
		return nil, err // NULL is the zero value
	}
	switch sh {
	case shapeArray:
		return jsonList(s)
	case shapeString:
	default:
		return nil, wrongShape("a string[]", sh)
	}
	t := strings.TrimSpace(s)
	switch {
	case t == "null":
		return nil, nil
	case v.JSON == nil && (v.TypeOID == oidTextArray || v.TypeOID == oidVarcharArray):
		return pgArray(t)
	case strings.HasPrefix(t, "["):
		if !utf8.ValidString(t) {
			return nil, errKind("not valid UTF-8")
		}
		return jsonList(t)
	case strings.HasPrefix(t, "{") && v.TypeOID != oidJSON && v.TypeOID != oidJSONB:
		return pgArray(t)
	}
	return nil, errKind("want a string[] (a JSON array, its text, or a Postgres text[]), got a string")
}

// jsonList decodes a JSON array whose elements are all strings; a null
// element is refused rather than read as "".
func jsonList(raw string) ([]string, error) {
	if out, ok := plainList(raw); ok {
		return out, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &elems); err != nil {
		return nil, errKind("malformed JSON array")
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		if len(e) == 0 || e[0] != '"' {
			return nil, errKind("want a string[], got an array with an element that is not a string")
		}
		s, err := unquote(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// plainList decodes the shape nearly every list column has — an array of
// printable ASCII strings without escapes, such as ["openid", "profile"] —
// without encoding/json, whose decoding of each element was most of a
// replica's decoding time. Its elements are substrings of raw. Anything
// else (an escape, a byte outside printable ASCII, an element that is not
// a string, malformed JSON) is not ok, and left to encoding/json.
func plainList(raw string) ([]string, bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '[' {
		return nil, false
	}
	out := make([]string, 0, strings.Count(raw, `"`)/2)
	if i = skipSpace(raw, i+1); i < len(raw) && raw[i] == ']' {
		return out, skipSpace(raw, i+1) == len(raw)
	}
	for {
		if i == len(raw) || raw[i] != '"' {
			return nil, false
		}
		start := i + 1
		for i = start; i < len(raw) && raw[i] != '"'; i++ {
			if c := raw[i]; c < 0x20 || c > 0x7e || c == '\\' {
				return nil, false
			}
		}
		if i == len(raw) {
			return nil, false
		}
		out = append(out, raw[start:i])
		i = skipSpace(raw, i+1)
		switch {
		case i == len(raw):
			return nil, false
		case raw[i] == ']':
			return out, skipSpace(raw, i+1) == len(raw)
		case raw[i] != ',':
			return nil, false
		}
		i = skipSpace(raw, i+1)
	}
}

// skipSpace returns the index of the first byte of s from i on that is not
// JSON's white space.
func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// pgArray decodes a one-dimensional Postgres array of text in its output
// format: {a,"b c","d\"e"}. NULL elements and nested arrays are refused.
func pgArray(s string) ([]string, error) {
	bad := errKind("malformed Postgres text[]")
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, bad
	}
	body := s[1 : len(s)-1]
	out := []string{}
	if body == "" {
		return out, nil
	}
	for i := 0; ; {
		var elem strings.Builder
		if i < len(body) && body[i] == '"' {
			i++
			for ; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
					if i == len(body) {
						return nil, bad
					}
				}
				elem.WriteByte(body[i])
			}
			if i == len(body) {
				return nil, bad
			}
			i++ // the closing quote
		} else {
			j := strings.IndexByte(body[i:], ',')
			if j < 0 {
				j = len(body) - i
			}
			word := body[i : i+j]
			switch {
			case word == "" || strings.ContainsAny(word, `{}"\`):
				return nil, bad
			case strings.EqualFold(word, "NULL"):
				return nil, errKind("want a string[], got a Postgres array with a NULL element")
			}
			elem.WriteString(word)
			i += j
		}
		out = append(out, elem.String())
		if i == len(body) {
			return out, nil
		}
		if body[i] != ',' {
			return nil, bad
		}
		i++
	}
}

// decodeJSON reads a json column: a JSON value as it is, or its text, as
// SQL adapters store it (and jsonb's text). NULL, JSON null and the text
// "null" are absent. The root package stores it compact.
func decodeJSON(v Value) (json.RawMessage, error) {
	sh, s, err := v.read()
	if err != nil || sh == shapeNull {
		return nil, err // NULL is the zero value
	}
	switch sh {
	case shapeString:
		t := strings.TrimSpace(s)
		if t == "null" {
			return nil, nil
		}
		if !json.Valid([]byte(t)) {
			return nil, errKind("want JSON or its text, got a string that is not JSON")
		}
		if !utf8.ValidString(t) || loneSurrogate([]byte(t)) {
			return nil, errKind("not valid UTF-8")
		}
		return json.RawMessage(t), nil
	}
	raw := bytes.TrimSpace(v.JSON)
	if !json.Valid(raw) {
		return nil, errKind("malformed JSON")
	}
	if !utf8.Valid(raw) || loneSurrogate(raw) {
		return nil, errKind("not valid UTF-8")
	}
	return append(json.RawMessage(nil), raw...), nil
}

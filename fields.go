package oauthdb

import (
	"encoding/json"
	"fmt"
	"time"
)

// fieldCodec is what a record's field list (schema.go) is walked by: the
// door and normalize (recordcheck.go), the snapshot stream's encoder and
// decoder (snapio.go), and through DecodeRecord a FieldVisitor of another
// package. Each method takes the field's JSON name and a pointer to it.
type fieldCodec interface {
	// text is a string of the record's own: an id, a hash, a name.
	text(name string, v *string)
	// shared is a string many records hold the same: a foreign key, the id
	// or clientId that foreign keys name, a user agent. The decoder keeps
	// one copy of each value.
	shared(name string, v *string)
	list(name string, v *[]string)
	// scopes is a list of RFC 6749 scope-tokens.
	scopes(name string, v *[]string)
	flag(name string, v *bool)
	time(name string, v *time.Time)
	json(name string, v *json.RawMessage)
}

// noFields is a fieldCodec that does nothing: embedded in one that
// handles a few kinds of field only.
type noFields struct{}

func (noFields) text(string, *string)          {}
func (noFields) shared(string, *string)        {}
func (noFields) list(string, *[]string)        {}
func (noFields) scopes(string, *[]string)      {}
func (noFields) flag(string, *bool)            {}
func (noFields) time(string, *time.Time)       {}
func (noFields) json(string, *json.RawMessage) {}

// A FieldVisitor is given the fields of a record one at a time, in the
// order of the record's struct, each by its name in better-auth's schema
// (the record's JSON name) and a pointer through which it may read or set
// it: how another package reads or writes records field by field, without
// a list of its own of their columns. Its methods are better-auth's kinds
// of field; a nullable field's NULL is its zero value. A FieldVisitor keeps
// its own errors: see DecodeRecord.
type FieldVisitor interface {
	// String is a string field (better-auth's "string").
	String(name string, v *string)
	// Strings is a list of strings ("string[]"): nil when absent, and an
	// empty list is not nil.
	Strings(name string, v *[]string)
	// Bool is a boolean ("boolean").
	Bool(name string, v *bool)
	// Time is a time ("date"), in UTC; the zero time when absent.
	Time(name string, v *time.Time)
	// JSON is a JSON document ("json"); nil when absent.
	JSON(name string, v *json.RawMessage)
}

// visitor walks a field list for a FieldVisitor.
type visitor struct{ v FieldVisitor }

func (c visitor) text(name string, v *string)          { c.v.String(name, v) }
func (c visitor) shared(name string, v *string)        { c.v.String(name, v) }
func (c visitor) list(name string, v *[]string)        { c.v.Strings(name, v) }
func (c visitor) scopes(name string, v *[]string)      { c.v.Strings(name, v) }
func (c visitor) flag(name string, v *bool)            { c.v.Bool(name, v) }
func (c visitor) time(name string, v *time.Time)       { c.v.Time(name, v) }
func (c visitor) json(name string, v *json.RawMessage) { c.v.JSON(name, v) }

// DecodeRecord makes a record of the named table — a User for TableUser, a
// Session for TableSession, ..., returned as a value — and gives v each of
// its fields in turn: how rows of another format become records (package
// betterauth decodes better-auth's rows with it). The record starts as a
// copy of from, a record of the same table given as a value or a pointer,
// or as the zero record if from is nil, so that v may set only some of its
// fields (a row that leaves columns out) or change a record. A table that
// is not one of the data model's (see Tables), or a from of another table,
// is ErrInvalid. Nothing is checked here: whether the record may be
// stored is the door's to say when it is written.
func DecodeRecord(table string, from any, v FieldVisitor) (any, error) {
	t := tableNamed(table)
	if t == nil {
		return nil, errNoTable(table)
	}
	rec, ok := t.visit(from, visitor{v})
	if !ok {
		return nil, &Error{Table: table, Reason: fmt.Sprintf("a %T is no record of the table", from), Err: ErrInvalid}
	}
	return rec, nil
}

// Tables returns the names of the data model's tables, parents first: the
// order in which Restore inserts a Snapshot's rows, and a load must insert
// rows so that each names only records already there.
func Tables() []string {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.tableName()
	}
	return names
}

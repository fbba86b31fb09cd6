package oauthdb

import (
	"encoding/json"
	"time"
)

// fieldCodec is what a record's field list (schema.go) is walked by: the
// door and normalize (validate.go), and the snapshot stream's encoder and
// decoder (snapio.go). Each method takes the field's JSON name and a
// pointer to it.
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

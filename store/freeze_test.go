package store_test

import (
	"strings"
	"testing"

	"github.com/oauthdb/oauthdb/store"
)

// A table's declarations are what Open checks and builds the DB from: once a
// DB has opened on it, changing them is a mistake in the program, and it
// panics at once rather than leaving the DB to disagree with its schema.
func TestDeclarationsAreFixedAtOpen(t *testing.T) {
	type item struct{ ID, Name string }
	s := store.NewSchema()
	items := store.NewTable(s, "item", func(i *item) string { return i.ID })
	byName := store.StringIndex(items, "name", func(i *item) string { return i.Name })
	if _, err := store.Open(s, store.Config{}); err != nil {
		t.Fatal(err)
	}
	for name, late := range map[string]func(){
		"index other": func() { store.StringIndex(items, "other", func(i *item) string { return i.Name }) },
		"NewTable":    func() { store.NewTable(s, "item", func(i *item) string { return i.ID }) },
		"One":         func() { store.One("self", byName, items.ID(), store.Restrict) },
		"Unique":      func() { byName.Unique() },
		"Optional":    func() { byName.Optional() },
		"Secret":      func() { byName.Secret() },
		"Validate":    func() { items.Validate(func(*item) error { return nil }) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, name) || !strings.Contains(msg, "item") {
					t.Errorf("%s after Open: recovered %q, want a panic naming it and the table", name, msg)
				}
			}()
			late()
		})
	}
}

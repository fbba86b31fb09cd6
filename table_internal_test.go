package oauthdb

import (
	"slices"
	"testing"
)

// tables lists every table declared, once: a table declared and not listed
// would be in no snapshot, no feed event and no replica.
func TestTablesListsEveryDeclaredTable(t *testing.T) {
	if len(tables) != len(declared) {
		t.Fatalf("%d tables listed, %d declared", len(tables), len(declared))
	}
	// A new table is a new section of the snapshot format: a new version.
	if len(tables) != snapTableCount {
		t.Errorf("%d tables, and a snapshot has %d", len(tables), snapTableCount)
	}
	for _, d := range declared {
		if n := len(slices.DeleteFunc(slices.Clone(tables), func(t table) bool { return t != d })); n != 1 {
			t.Errorf("table %s is listed %d times", d.tableName(), n)
		}
	}
}

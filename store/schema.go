package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// Schema is the declarations of a database: its tables, their indexes and
// the relations between them. It holds whatever was declared on it, because
// every declaration registers itself: a table with [NewTable], an index with
// its table, a relation with the table it starts from ([One], [Many]). There
// is no second list to keep in step, so a declared relation is always a
// wired one, with its foreign-key checks and its delete action.
//
// Declare everything before the first [Open] on the schema: from then on the
// declarations are fixed, and a late one panics.
type Schema struct {
	tables    []anyTable
	relations []relation
	// opened is set when a DB opens on the schema.
	opened atomic.Bool
}

// NewSchema returns an empty schema to declare tables on.
func NewSchema() *Schema { return &Schema{} }

// declare panics if a DB has opened on s: a declaration made after Open
// would not be in the DB, or would change it unchecked. It is a mistake in
// the program's declarations, never in its input.
func (s *Schema) declare(what, table string) {
	if s.opened.Load() {
		panic("store: " + what + " on table " + table + " after a DB was opened on its schema")
	}
}

// schemaInfo is a Schema checked and wired for the engine: for each table
// the foreign keys that leave it and those that point at it.
type schemaInfo struct {
	tables   map[string]anyTable
	outbound map[anyTable][]foreignKey
	inbound  map[anyTable][]foreignKey
}

// check validates the declarations; a broken one is reported here rather
// than found by a write much later.
func (s *Schema) check() (*schemaInfo, error) {
	info := &schemaInfo{
		tables:   map[string]anyTable{},
		outbound: map[anyTable][]foreignKey{},
		inbound:  map[anyTable][]foreignKey{},
	}
	if len(s.tables) == 0 {
		return nil, errors.New("store: schema has no tables")
	}
	for _, t := range s.tables {
		if t.tableName() == "" {
			return nil, errors.New("store: schema has a table with no name")
		}
		if _, dup := info.tables[t.tableName()]; dup {
			return nil, fmt.Errorf("store: table %q declared twice", t.tableName())
		}
		info.tables[t.tableName()] = t
		names := map[string]bool{}
		for _, ix := range t.tableIndexes() {
			if names[ix.indexName()] {
				return nil, fmt.Errorf("store: table %q has two indexes named %q", t.tableName(), ix.indexName())
			}
			names[ix.indexName()] = true
			// go-memdb reads a query on index "x_prefix" as a prefix query on
			// index "x": such a name would query another index, or none.
			if strings.HasSuffix(ix.indexName(), "_prefix") {
				return nil, fmt.Errorf("store: table %q: index name %q ends in _prefix, which go-memdb reserves", t.tableName(), ix.indexName())
			}
			if ix.indexName() == "id" && ix.isOptional() {
				return nil, fmt.Errorf("store: table %q: the primary key (id) cannot be optional", t.tableName())
			}
		}
	}
	names := map[string]bool{}
	for _, r := range s.relations {
		if err := r.validate(s); err != nil {
			return nil, err
		}
		// Relation names are unique per table they start from.
		key := r.sourceTable().tableName() + "." + r.relationName()
		if names[key] {
			return nil, fmt.Errorf("store: relation %q declared twice", key)
		}
		names[key] = true
		if fk, ok := r.(foreignKey); ok {
			info.outbound[fk.fromTable()] = append(info.outbound[fk.fromTable()], fk)
			info.inbound[fk.toTable()] = append(info.inbound[fk.toTable()], fk)
		}
	}
	// Keep the engine's walks in one order, whatever the declarations'.
	for _, fks := range info.outbound {
		slices.SortFunc(fks, compareFKs)
	}
	for _, fks := range info.inbound {
		slices.SortFunc(fks, compareFKs)
	}
	return info, nil
}

func compareFKs(a, b foreignKey) int {
	return cmp.Compare(a.fromTable().tableName()+"."+a.relationName(), b.fromTable().tableName()+"."+b.relationName())
}

// relation is a declared relation, as its schema holds it.
type relation interface {
	relationName() string
	sourceTable() anyTable
	validate(s *Schema) error
}

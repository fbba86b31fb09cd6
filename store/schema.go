package store

import (
	"errors"
	"fmt"
	"strings"
)

// Schema lists the tables of a database and the relations between them.
type Schema struct {
	// Tables are the tables, each made by NewTable.
	Tables []TableDef
	// Relations are the relations, each made by One or Many.
	Relations []Relation
}

// schemaInfo is a Schema checked and wired for the engine: for each table
// the foreign keys that leave it and those that point at it.
type schemaInfo struct {
	tables   map[string]anyTable
	indexes  map[anyIndex]bool
	fks      map[foreignKey]bool
	outbound map[anyTable][]foreignKey
	inbound  map[anyTable][]foreignKey
}

// check validates the schema's declarations; a broken one is reported here
// rather than found by a write much later.
func (s *Schema) check() (*schemaInfo, error) {
	info := &schemaInfo{
		tables:   map[string]anyTable{},
		indexes:  map[anyIndex]bool{},
		fks:      map[foreignKey]bool{},
		outbound: map[anyTable][]foreignKey{},
		inbound:  map[anyTable][]foreignKey{},
	}
	if len(s.Tables) == 0 {
		return nil, errors.New("store: schema has no tables")
	}
	for _, t := range s.Tables {
		if t == nil || t.tableName() == "" {
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
			info.indexes[ix] = true
		}
	}
	// One relations first: a Many is checked against the foreign keys.
	for _, r := range s.Relations {
		if fk, ok := r.(foreignKey); ok {
			if info.fks[fk] {
				return nil, fmt.Errorf("store: relation %q listed twice", r.relationName())
			}
			info.fks[fk] = true
		}
	}
	names := map[string]bool{}
	for _, r := range s.Relations {
		if r == nil {
			return nil, errors.New("store: schema has a nil relation")
		}
		if err := r.validate(info); err != nil {
			return nil, err
		}
		// Relation names are unique per table they start from.
		var from string
		if fk, ok := r.(foreignKey); ok {
			from = fk.fromTable().tableName()
		} else if m, ok := r.(interface{ sourceTable() anyTable }); ok {
			from = m.sourceTable().tableName()
		}
		key := from + "." + r.relationName()
		if names[key] {
			return nil, fmt.Errorf("store: relation %q declared twice", key)
		}
		names[key] = true
	}
	for fk := range info.fks {
		info.outbound[fk.fromTable()] = append(info.outbound[fk.fromTable()], fk)
		info.inbound[fk.toTable()] = append(info.inbound[fk.toTable()], fk)
	}
	// Map order is random: keep the engine deterministic.
	for _, fks := range info.outbound {
		sortFKs(fks)
	}
	for _, fks := range info.inbound {
		sortFKs(fks)
	}
	return info, nil
}

func sortFKs(fks []foreignKey) {
	for i := 1; i < len(fks); i++ {
		for j := i; j > 0 && fkLess(fks[j], fks[j-1]); j-- {
			fks[j], fks[j-1] = fks[j-1], fks[j]
		}
	}
}

func fkLess(a, b foreignKey) bool {
	ka := a.fromTable().tableName() + "." + a.relationName()
	kb := b.fromTable().tableName() + "." + b.relationName()
	return ka < kb
}

func (r *OneRelation[F, T]) validate(s *schemaInfo) error {
	if r == nil {
		return errors.New("store: schema has a nil relation")
	}
	if r.name == "" {
		return errors.New("store: a one relation has no name")
	}
	where := fmt.Sprintf("store: relation %q", r.name)
	if r.from == nil || r.to == nil {
		return fmt.Errorf("%s: needs both a from and a to index", where)
	}
	where = fmt.Sprintf("store: relation %s.%s", r.from.table.name, r.name)
	if !s.indexes[r.from] {
		return fmt.Errorf("%s: its index %q is not an index of a table in the schema", where, r.from.name)
	}
	if !s.indexes[r.to] {
		return fmt.Errorf("%s: target index %q is not an index of a table in the schema", where, r.to.name)
	}
	if r.from.value == nil || r.to.value == nil {
		return fmt.Errorf("%s: both ends must be StringIndexes", where)
	}
	if !r.to.unique {
		return fmt.Errorf("%s: target index %s.%s is not unique", where, r.to.table.name, r.to.name)
	}
	switch r.onDelete {
	case Restrict, Cascade:
	case SetNull:
		if !r.from.optional {
			return fmt.Errorf("%s: set null on a required foreign key %q", where, r.from.field)
		}
		if r.clear == nil {
			return fmt.Errorf("%s: set null needs ClearWith", where)
		}
	default:
		return fmt.Errorf("%s: unknown delete action %d", where, r.onDelete)
	}
	return nil
}

func (r *ManyRelation[T, F]) sourceTable() anyTable {
	if r.inverse == nil || r.inverse.to == nil {
		return nil
	}
	return r.inverse.to.table
}

func (r *ManyRelation[T, F]) validate(s *schemaInfo) error {
	if r == nil {
		return errors.New("store: schema has a nil relation")
	}
	if r.name == "" {
		return errors.New("store: a many relation has no name")
	}
	if r.inverse == nil {
		return fmt.Errorf("store: many relation %q has no inverse", r.name)
	}
	if !s.fks[r.inverse] {
		return fmt.Errorf("store: many relation %q: its inverse %q is not in the schema", r.name, r.inverse.name)
	}
	return nil
}

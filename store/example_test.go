package store_test

import (
	"errors"
	"fmt"

	"github.com/oauthdb/oauthdb/store"
)

type Shelf struct {
	ID, Room string
}

type Jar struct {
	ID, ShelfID, Label string
}

// Declare two tables and the relation between them, open a database, write
// in one transaction and read in another, following the relation both ways.
func Example() {
	// Tables, declared in a schema: the function given to NewTable returns
	// the primary key.
	schema := store.NewSchema()
	shelves := store.NewTable(schema, "shelves", func(s *Shelf) string { return s.ID })
	jars := store.NewTable(schema, "jars", func(j *Jar) string { return j.ID })

	// Indexes: a jar's label is unique; its shelf is a foreign key.
	jarLabel := store.StringIndex(jars, "label", func(j *Jar) string { return j.Label }).Unique()
	jarShelf := store.StringIndex(jars, "shelfId", func(j *Jar) string { return j.ShelfID })

	// Relations: each jar is on one shelf; deleting a shelf deletes its jars.
	onShelf := store.One("shelf", jarShelf, shelves.ID(), store.Cascade)
	jarsOn := store.Many("jars", onShelf)

	// Every declaration registered itself with the schema: open a DB on it.
	db, err := store.Open(schema, store.Config{})
	if err != nil {
		panic(err)
	}

	err = db.Update(func(tx *store.Txn) error {
		for _, write := range []error{
			shelves.Insert(tx, &Shelf{ID: "top", Room: "pantry"}),
			shelves.Insert(tx, &Shelf{ID: "low", Room: "cellar"}),
			jars.Insert(tx, &Jar{ID: "j1", ShelfID: "top", Label: "honey"}),
			jars.Insert(tx, &Jar{ID: "j2", ShelfID: "top", Label: "jam"}),
			jars.Insert(tx, &Jar{ID: "j3", ShelfID: "low", Label: "pickles"}),
		} {
			if write != nil {
				return write
			}
		}
		return nil
	})
	if err != nil {
		panic(err)
	}

	// Writes are checked: a jar on a shelf that does not exist is refused.
	err = db.Update(func(tx *store.Txn) error {
		return jars.Insert(tx, &Jar{ID: "j4", ShelfID: "attic", Label: "olives"})
	})
	fmt.Println(errors.Is(err, store.ErrForeignKey), err)

	_ = db.View(func(tx *store.Txn) error {
		jam, _ := jarLabel.First(tx, "jam")
		shelf, _ := onShelf.Get(tx, jam)
		fmt.Printf("jam is on the %s shelf, in the %s\n", shelf.ID, shelf.Room)
		for jar := range jarsOn.Get(tx, shelf) {
			fmt.Println("  next to it:", jar.Label)
		}
		return nil
	})

	_ = db.Update(func(tx *store.Txn) error { return shelves.Delete(tx, "top") })
	_ = db.View(func(tx *store.Txn) error {
		for jar := range jars.All(tx) {
			fmt.Println("left:", jar.Label)
		}
		return nil
	})
	// Output:
	// true jars.shelfId "attic" (id "j4"): no shelves has this id
	// jam is on the top shelf, in the pantry
	//   next to it: honey
	//   next to it: jam
	// left: pickles
}

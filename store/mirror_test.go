package store_test

import (
	"slices"
	"testing"

	"github.com/oauthdb/oauthdb/store"
)

// A Mirror transaction applies another database's rows as they come: a
// parent's delete before its children's, its own cascades none; foreign
// keys are looked at when the caller asks, and what dangles is named.
func TestMirror(t *testing.T) {
	f := newFlight(t)
	// As a source logs a passenger's delete: the passenger first, then
	// what its foreign keys did (the pass deleted by cascade, the seat too).
	err := f.db.Mirror(func(tx *store.Txn) error {
		if err := f.passengers.Delete(tx, "ann"); err != nil {
			return err
		}
		view := func(table, id string) bool {
			switch table {
			case "passes":
				_, ok := f.passes.Get(tx, id)
				return ok
			}
			_, ok := f.seats.Get(tx, id)
			return ok
		}
		if !view("passes", "p1") || !view("seats", "1A") {
			t.Error("a Mirror delete carried out delete actions of its own")
		}
		if d := tx.Dangling(); len(d) == 0 {
			t.Error("nothing dangles halfway through the source's cascade")
		}
		for _, id := range []string{"p1", "p2"} {
			if err := f.passes.Delete(tx, id); err != nil {
				return err
			}
		}
		if err := f.passes.Delete(tx, "p1"); err != nil { // gone already: no error
			return err
		}
		if err := f.seats.Delete(tx, "1A"); err != nil {
			return err
		}
		if d := tx.Dangling(); len(d) != 0 {
			t.Errorf("after the whole cascade, dangling: %v", d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	verify(t, f.db)

	// A row that names what is not here dangles, and the caller drops it.
	err = f.db.Mirror(func(tx *store.Txn) error {
		if err := f.passes.Insert(tx, &Pass{ID: "p9", PassengerID: "nobody"}); err != nil {
			return err
		}
		if err := f.passes.Update(tx, &Pass{ID: "p3", PassengerID: "bob", SeatID: "1B"}); err != nil {
			return err // an update of a row as it is: fine
		}
		d := tx.Dangling()
		if !slices.Equal(d, []store.Dangler{{Table: "passes", ID: "p9", Field: "passengerId"}}) {
			t.Errorf("dangling = %v", d)
		}
		return tx.Drop("passes", "p9")
	})
	if err != nil {
		t.Fatal(err)
	}
	verify(t, f.db)
}

// Record and IDs read tables named at run time, as a replica names them.
func TestRecordAndIDsByName(t *testing.T) {
	f := newFlight(t)
	err := f.db.View(func(tx *store.Txn) error {
		rec, ok := tx.Record("passengers", "ann")
		if p, isPassenger := rec.(*Passenger); !ok || !isPassenger || p.ID != "ann" {
			t.Errorf(`Record("passengers", "ann") = %v, %v`, rec, ok)
		}
		if rec, ok := tx.Record("passengers", "nobody"); ok || rec != nil {
			t.Errorf("Record of no row = %v, %v", rec, ok)
		}
		if rec, ok := tx.Record("no such table", "ann"); ok || rec != nil {
			t.Errorf("Record of no table = %v, %v", rec, ok)
		}
		ids, err := tx.IDs("passes")
		if err != nil || !slices.Equal(ids, []string{"p1", "p2", "p3", "p4"}) {
			t.Errorf(`IDs("passes") = %v, %v; want p1 to p4`, ids, err)
		}
		if _, err := tx.IDs("no such table"); err == nil {
			t.Error("IDs of no table: no error")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

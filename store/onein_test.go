package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/oauthdb/oauthdb/store"
)

// One compound index serving two relations, where one key implies the
// other: a pass's seat implies its passenger, so (passengerId, seatId)
// finds a passenger's passes by the first part and a seat's by both — and
// every write checks that a pass's passenger is its seat's.
type Passenger struct{ ID string }
type Seat struct{ ID, PassengerID string }
type Pass struct{ ID, PassengerID, SeatID string }

type flight struct {
	db            *store.DB
	passengers    *store.Table[Passenger]
	seats         *store.Table[Seat]
	passes        *store.Table[Pass]
	byHolder      *store.Index[Pass, []string]
	passPassenger *store.OneRelation[Pass, Passenger]
	passSeat      *store.OneRelation[Pass, Seat]
	passesOf      *store.ManyRelation[Passenger, Pass]
	passesOnSeat  *store.ManyRelation[Seat, Pass]
}

func newFlight(t *testing.T) *flight {
	s := store.NewSchema()
	f := &flight{}
	f.passengers = store.NewTable(s, "passengers", func(p *Passenger) string { return p.ID })
	f.seats = store.NewTable(s, "seats", func(st *Seat) string { return st.ID })
	seatPassenger := store.StringIndex(f.seats, "passengerId", func(st *Seat) string { return st.PassengerID })
	store.One("passenger", seatPassenger, f.passengers.ID(), store.Cascade)
	f.passes = store.NewTable(s, "passes", func(p *Pass) string { return p.ID })
	f.byHolder = store.CompoundIndex(f.passes, "holder", []string{"passengerId", "seatId"},
		func(p *Pass) string { return p.PassengerID },
		func(p *Pass) string { return p.SeatID }).Optional()
	f.passPassenger = store.OneIn("passenger", f.byHolder, 1, f.passengers.ID(),
		func(p *Passenger) []string { return []string{p.ID} }, store.Cascade)
	f.passSeat = store.OneIn("seat", f.byHolder, 2, f.seats.ID(),
		func(st *Seat) []string { return []string{st.PassengerID, st.ID} }, store.SetNull).
		ClearWith(func(_ *store.Txn, p *Pass) { p.SeatID = "" })
	f.passesOf = store.Many("passes", f.passPassenger)
	f.passesOnSeat = store.Many("passes", f.passSeat)
	var err error
	if f.db, err = store.Open(s, store.Config{}); err != nil {
		t.Fatal(err)
	}
	update(t, f.db, func(tx *store.Txn) error {
		return all(
			f.passengers.Insert(tx, &Passenger{ID: "ann"}),
			f.passengers.Insert(tx, &Passenger{ID: "bob"}),
			f.seats.Insert(tx, &Seat{ID: "1A", PassengerID: "ann"}),
			f.seats.Insert(tx, &Seat{ID: "1B", PassengerID: "bob"}),
			f.passes.Insert(tx, &Pass{ID: "p1", PassengerID: "ann", SeatID: "1A"}),
			f.passes.Insert(tx, &Pass{ID: "p2", PassengerID: "ann"}),
			f.passes.Insert(tx, &Pass{ID: "p3", PassengerID: "bob", SeatID: "1B"}),
			f.passes.Insert(tx, &Pass{ID: "p4"}), // neither: not in the index
		)
	})
	return f
}

func passIDs(seq func(func(*Pass) bool)) []string {
	var ids []string
	for p := range seq {
		ids = append(ids, p.ID)
	}
	return ids
}

func TestOneInServesTwoRelations(t *testing.T) {
	f := newFlight(t)
	view(t, f.db, func(tx *store.Txn) error {
		ann, _ := f.passengers.Get(tx, "ann")
		seat, _ := f.seats.Get(tx, "1A")
		if got := passIDs(f.passesOf.Get(tx, ann)); !slices.Equal(got, []string{"p2", "p1"}) {
			t.Errorf("ann's passes = %v, want p2, p1 (in key order)", got)
		}
		if got := passIDs(f.passesOnSeat.Get(tx, seat)); !slices.Equal(got, []string{"p1"}) {
			t.Errorf("1A's passes = %v, want p1", got)
		}
		p1, _ := f.passes.Get(tx, "p1")
		if s, ok := f.passSeat.Get(tx, p1); !ok || s.ID != "1A" {
			t.Errorf("p1's seat = %v, %v", s, ok)
		}
		if got := passIDs(f.byHolder.All(tx)); len(got) != 3 {
			t.Errorf("the optional index holds %v, want the three passes with a passenger", got)
		}
		return nil
	})
	verify(t, f.db)
}

// A pass whose seat is another passenger's, or a seat without its
// passenger, would be filed where the seat's lookup cannot find it: refused.
func TestOneInChecksTheImpliedKey(t *testing.T) {
	f := newFlight(t)
	for name, p := range map[string]Pass{
		"another's seat":         {ID: "p9", PassengerID: "bob", SeatID: "1A"},
		"a seat and no one":      {ID: "p9", SeatID: "1A"},
		"a seat that is not":     {ID: "p9", PassengerID: "ann", SeatID: "9Z"},
		"a passenger who is not": {ID: "p9", PassengerID: "eve"},
	} {
		err := f.db.Update(func(tx *store.Txn) error { return f.passes.Insert(tx, &p) })
		if !errors.Is(err, store.ErrForeignKey) {
			t.Errorf("%s: %v, want ErrForeignKey", name, err)
		}
	}
	// Moving a pass to another passenger keeps its seat: refused as well.
	err := f.db.Update(func(tx *store.Txn) error {
		return f.passes.Update(tx, &Pass{ID: "p1", PassengerID: "bob", SeatID: "1A"})
	})
	if !errors.Is(err, store.ErrForeignKey) {
		t.Errorf("moving p1 to bob with ann's seat: %v, want ErrForeignKey", err)
	}
	// A seat's passenger cannot change under its passes.
	err = f.db.Update(func(tx *store.Txn) error { return f.seats.Update(tx, &Seat{ID: "1A", PassengerID: "bob"}) })
	var e *store.Error
	if !errors.Is(err, store.ErrForeignKey) || !errors.As(err, &e) || e.Table != "seats" {
		t.Errorf("giving 1A to bob under p1: %v, want ErrForeignKey on seats", err)
	}
	verify(t, f.db)
}

func TestOneInDeleteActions(t *testing.T) {
	f := newFlight(t)
	update(t, f.db, func(tx *store.Txn) error { return f.seats.Delete(tx, "1A") })
	view(t, f.db, func(tx *store.Txn) error {
		p1, _ := f.passes.Get(tx, "p1")
		if p1.SeatID != "" || p1.PassengerID != "ann" {
			t.Errorf("after 1A's delete p1 = %+v, want no seat, still ann's", p1)
		}
		ann, _ := f.passengers.Get(tx, "ann")
		if got := passIDs(f.passesOf.Get(tx, ann)); !slices.Equal(got, []string{"p1", "p2"}) {
			t.Errorf("ann's passes = %v, want p1, p2", got)
		}
		return nil
	})
	update(t, f.db, func(tx *store.Txn) error { return f.passengers.Delete(tx, "bob") })
	view(t, f.db, func(tx *store.Txn) error {
		if _, ok := f.passes.Get(tx, "p3"); ok {
			t.Error("bob's pass survived bob")
		}
		if _, ok := f.seats.Get(tx, "1B"); ok {
			t.Error("bob's seat survived bob")
		}
		return nil
	})
	verify(t, f.db)
}

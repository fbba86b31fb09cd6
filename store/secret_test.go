package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/oauthdb/oauthdb/store"
)

// A Secret index keeps its values out of errors: Value is empty and the
// value appears nowhere in the message.

func TestSecretUniqueIndexConflict(t *testing.T) {
	l := newLibrary()
	db := l.open(t)
	l.seed(t, db)
	const hash = "c2VjcmV0LWNhcmQtaGFzaA"
	update(t, db, func(tx *store.Txn) error {
		return l.members.Update(tx, &Member{ID: "m1", Email: "ann@example.org", Joined: days(-30), CardHash: hash})
	})
	err := db.Update(func(tx *store.Txn) error {
		return l.members.Update(tx, &Member{ID: "m2", Email: "bob@example.org", Joined: days(-10), CardHash: hash})
	})
	checkErr(t, err, storeErr{Kind: store.ErrConflict, Table: "members", Field: "cardHash"})
	if strings.Contains(err.Error(), hash) {
		t.Errorf("error %q shows the secret", err)
	}
	// Keeping one's own secret value is no conflict.
	update(t, db, func(tx *store.Txn) error {
		return l.members.Update(tx, &Member{ID: "m1", Email: "ann@example.net", Joined: days(-30), CardHash: hash})
	})
}

// Keycard is keyed by a secret: the hash of the card's code. An entry
// refers to the keycard that opened the door.
type Keycard struct{ Hash, Holder string }
type Entry struct{ ID, Card string }
type Holder struct{ ID string }

type building struct {
	holders  *store.Table[Holder]
	keycards *store.Table[Keycard]
	entries  *store.Table[Entry]
	db       *store.DB
}

func newBuilding(t *testing.T) *building {
	b := &building{}
	s := store.NewSchema()
	b.holders = store.NewTable(s, "holders", func(h *Holder) string { return h.ID })
	b.keycards = store.NewTable(s, "keycards", func(k *Keycard) string { return k.Hash })
	b.keycards.ID().Secret()
	holder := store.StringIndex(b.keycards, "holder", func(k *Keycard) string { return k.Holder })
	b.entries = store.NewTable(s, "entries", func(e *Entry) string { return e.ID })
	card := store.StringIndex(b.entries, "card", func(e *Entry) string { return e.Card })
	store.One("holder", holder, b.holders.ID(), store.Restrict)
	store.One("card", card, b.keycards.ID(), store.Restrict)
	var err error
	b.db, err = store.Open(s, store.Config{})
	if err != nil {
		t.Fatal(err)
	}
	update(t, b.db, func(tx *store.Txn) error {
		return all(
			b.holders.Insert(tx, &Holder{ID: "h1"}),
			b.keycards.Insert(tx, &Keycard{Hash: "SECRET-1", Holder: "h1"}),
			b.entries.Insert(tx, &Entry{ID: "e1", Card: "SECRET-1"}),
		)
	})
	return b
}

func TestSecretValuesNeverAppearInErrors(t *testing.T) {
	b := newBuilding(t)
	tests := []struct {
		name  string
		write func(tx *store.Txn) error
		kind  error
	}{
		{"insert of an existing secret id", func(tx *store.Txn) error {
			return b.keycards.Insert(tx, &Keycard{Hash: "SECRET-1", Holder: "h1"})
		}, store.ErrConflict},
		{"update of a missing secret id", func(tx *store.Txn) error {
			return b.keycards.Update(tx, &Keycard{Hash: "SECRET-2", Holder: "h1"})
		}, store.ErrNotFound},
		{"delete of a missing secret id", func(tx *store.Txn) error {
			return b.keycards.Delete(tx, "SECRET-2")
		}, store.ErrNotFound},
		{"delete restricted by a referrer", func(tx *store.Txn) error {
			return b.keycards.Delete(tx, "SECRET-1")
		}, store.ErrForeignKey},
		{"delete restricted, the referrer's id secret", func(tx *store.Txn) error {
			return b.holders.Delete(tx, "h1")
		}, store.ErrForeignKey},
		{"foreign key to a secret that names nothing", func(tx *store.Txn) error {
			return b.entries.Insert(tx, &Entry{ID: "e2", Card: "SECRET-2"})
		}, store.ErrForeignKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = b.db.Update(func(tx *store.Txn) error {
				err := tt.write(tx)
				if !errors.Is(err, tt.kind) {
					t.Fatalf("got %v, want %v", err, tt.kind)
				}
				var se *store.Error
				if !errors.As(err, &se) {
					t.Fatalf("got %T, want a *store.Error", err)
				}
				if strings.Contains(se.Value, "SECRET") || strings.Contains(se.Reason, "SECRET") ||
					strings.Contains(err.Error(), "SECRET") {
					t.Errorf("error %q (value %q) shows a secret", err, se.Value)
				}
				return nil
			})
		})
	}
}

package oauthdb

import (
	"iter"
)

// Snapshot is every record of a DB at one moment, each table in ID order.
// It is plain data: compare two with go-cmp to see what changed, or encode
// it as JSON — with better-auth's table and field names, an empty table left
// out — to start a DB warm from it later (see Restore). Tokens and client secrets are stored
// hashed, so a snapshot holds none in plaintext; session tokens are kept as
// better-auth keeps them.
type Snapshot struct {
	Users         []User              `json:"user,omitempty"`
	Sessions      []Session           `json:"session,omitempty"`
	Clients       []OAuthClient       `json:"oauthClient,omitempty"`
	AccessTokens  []OAuthAccessToken  `json:"oauthAccessToken,omitempty"`
	RefreshTokens []OAuthRefreshToken `json:"oauthRefreshToken,omitempty"`
	Consents      []OAuthConsent      `json:"oauthConsent,omitempty"`
	Verifications []Verification      `json:"verification,omitempty"`
}

// Clone returns a copy of s whose tables can be changed — rows appended,
// deleted or replaced — without changing s: the way to write a wanted state
// as "what it was, except ...". The records themselves are values, copied
// with their tables; their slices stay shared.
func (s Snapshot) Clone() Snapshot {
	for _, t := range tables {
		t.clone(&s)
	}
	return s
}

// Len returns the number of records in s.
func (s Snapshot) Len() int {
	n := 0
	for _, t := range tables {
		n += t.size(s)
	}
	return n
}

// Add appends rec, a record of any table — a User, Session, OAuthClient,
// ... value, or a pointer to one — to its table in s: for code that builds
// a snapshot from rows of every table alike. Anything else is ErrInvalid.
func (s *Snapshot) Add(rec any) error {
	for _, t := range tables {
		if t.add(s, rec) {
			return nil
		}
	}
	return errNoRecord("Snapshot.Add", rec)
}

// All iterates over every record of s, as a value, with its table's name:
// the tables parents first, in the order Restore inserts them, each in its
// order in s.
func (s Snapshot) All() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		for _, t := range tables {
			if !t.each(s, yield) {
				return
			}
		}
	}
}

// Snapshot returns every record of the DB, read from one consistent
// snapshot: a concurrent write is in it entirely or not at all.
func (db *DB) Snapshot() Snapshot { return db.view((*Tx).Snapshot) }

// Snapshot returns every record the transaction sees. On a replica (see
// WithReplica), a token the replica holds inactive though its row does not
// say so shows as revoked at the moment the replica marked it, so that a DB
// restored from the snapshot holds it inactive too.
func (tx *Tx) Snapshot() Snapshot {
	s := tx.Rows()
	tx.foldDeaths(&s)
	return s
}

// Rows returns every record as it is stored, read from one consistent
// snapshot, each table in ID order: Snapshot without a replica's marks. On
// a replica these are its source's rows as they are, to compare with the
// source; on any other DB, Rows is Snapshot.
func (db *DB) Rows() Snapshot { return db.view((*Tx).Rows) }

// view returns what rows reads in one read transaction.
func (db *DB) view(rows func(*Tx) Snapshot) Snapshot {
	var s Snapshot
	_ = db.View(func(tx *Tx) error {
		s = rows(tx)
		return nil
	})
	return s
}

// Rows returns every record the transaction sees, as stored (see DB.Rows).
func (tx *Tx) Rows() Snapshot {
	var s Snapshot
	for _, t := range tables {
		t.collect(tx, &s)
	}
	return s
}

// Restore inserts every record of s, in one transaction: all of them or,
// at the first that is refused, none. Tables are loaded parents first, so a
// snapshot taken from a DB always restores into an empty one. Records keep
// their timestamps.
func (db *DB) Restore(s Snapshot) error {
	return db.Update(func(tx *Tx) error { return tx.Restore(s) })
}

// Restore inserts every record of s in this transaction, parents first, as
// the write methods insert them (InsertUser, ...). It stops at the first
// record refused and returns its error; the records inserted before it stay
// in the transaction, so return the error from the Update function to keep
// none of them.
func (tx *Tx) Restore(s Snapshot) error {
	for _, t := range tables {
		if err := t.restore(tx, s); err != nil {
			return err
		}
	}
	return nil
}

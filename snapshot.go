package oauthdb

import (
	"slices"
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
	return Snapshot{
		Users:         slices.Clone(s.Users),
		Sessions:      slices.Clone(s.Sessions),
		Clients:       slices.Clone(s.Clients),
		AccessTokens:  slices.Clone(s.AccessTokens),
		RefreshTokens: slices.Clone(s.RefreshTokens),
		Consents:      slices.Clone(s.Consents),
		Verifications: slices.Clone(s.Verifications),
	}
}

// Len returns the number of records in s.
func (s Snapshot) Len() int {
	return len(s.Users) + len(s.Sessions) + len(s.Clients) + len(s.AccessTokens) +
		len(s.RefreshTokens) + len(s.Consents) + len(s.Verifications)
}

// Snapshot returns every record of the DB, read from one consistent
// snapshot: a concurrent write is in it entirely or not at all.
func (db *DB) Snapshot() Snapshot {
	var s Snapshot
	_ = db.View(func(tx *Tx) error {
		s = tx.Snapshot()
		return nil
	})
	return s
}

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
func (db *DB) Rows() Snapshot {
	var s Snapshot
	_ = db.View(func(tx *Tx) error {
		s = tx.Rows()
		return nil
	})
	return s
}

// Rows returns every record the transaction sees, as stored (see DB.Rows).
func (tx *Tx) Rows() Snapshot {
	return Snapshot{
		Users:         slices.Collect(tx.Users()),
		Sessions:      slices.Collect(tx.Sessions()),
		Clients:       slices.Collect(tx.Clients()),
		AccessTokens:  slices.Collect(tx.AccessTokens()),
		RefreshTokens: slices.Collect(tx.RefreshTokens()),
		Consents:      slices.Collect(tx.Consents()),
		Verifications: slices.Collect(tx.Verifications()),
	}
}

// Restore inserts every record of s, in one transaction: all of them or,
// at the first that is refused, none. Tables are loaded parents first, so a
// snapshot taken from a DB always restores into an empty one. Records keep
// their timestamps.
func (db *DB) Restore(s Snapshot) error {
	return db.Update(func(tx *Tx) error { return tx.Restore(s) })
}

// Restore inserts every record of s in this transaction, parents first. It
// stops at the first record refused and returns its error; the records
// inserted before it stay in the transaction, so return the error from the
// Update function to keep none of them.
func (tx *Tx) Restore(s Snapshot) error {
	for _, load := range []func() error{
		func() error { return each(s.Users, tx.InsertUser) },
		func() error { return each(s.Sessions, tx.InsertSession) },
		func() error { return each(s.Clients, tx.InsertClient) },
		func() error { return each(s.RefreshTokens, tx.InsertRefreshToken) },
		func() error { return each(s.AccessTokens, tx.InsertAccessToken) },
		func() error { return each(s.Consents, tx.InsertConsent) },
		func() error { return each(s.Verifications, tx.InsertVerification) },
	} {
		if err := load(); err != nil {
			return err
		}
	}
	return nil
}

func each[T any](recs []T, insert func(T) error) error {
	for _, r := range recs {
		if err := insert(r); err != nil {
			return err
		}
	}
	return nil
}

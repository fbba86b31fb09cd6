package oauthdb

import (
	"context"
	"fmt"
	"time"

	"github.com/oauthdb/oauthdb/store"
)

// SweepResult counts the expired rows one sweep deleted, by table. Rows
// deleted with them (the access tokens of a refresh token) are not counted.
type SweepResult struct {
	AccessTokens  int
	RefreshTokens int
	Sessions      int
	Verifications int
}

// Total is the number of rows the sweep deleted.
func (r SweepResult) Total() int {
	return r.AccessTokens + r.RefreshTokens + r.Sessions + r.Verifications
}

// sweepIndexes are the indexes the sweep alone reads, named as
// store.Config.Without names them: a replica, whose source does its
// deleting, keeps none of them (see Open).
var sweepIndexes = indexNames(accessTokensByExpiry, refreshTokensByExpiry, sessionsByExpiry, verificationsByExpiry)

func indexNames(ixs ...namedIndex) []string {
	var names []string
	for _, ix := range ixs {
		names = append(names, ix.Table()+"."+ix.Name())
	}
	return names
}

// namedIndex is a store.Index of any type.
type namedIndex interface {
	Table() string
	Name() string
}

// SweepExpired deletes at most limit expired rows — access tokens, refresh
// tokens, sessions and verifications, in that order, each table in expiry
// order — in one write transaction. It walks the expiresAt indexes and stops
// at the first row still live, so its cost is in what it deletes, not in
// the size of the tables. Deleting a refresh token deletes its access
// tokens; deleting a session does what DeleteSession does: its tokens'
// sessionId is cleared, and in strict mode its access tokens are revoked, so
// that none is active again for having lost its expired session.
//
// Validation never relies on the sweep: an expired token is inactive
// whether or not it has been swept.
func (db *DB) SweepExpired(limit int) (SweepResult, error) {
	var res SweepResult
	if limit <= 0 {
		return res, nil
	}
	err := db.Update(func(tx *Tx) error {
		now := db.now()
		left := limit
		var err error
		if res.AccessTokens, err = sweep(tx, accessTokens.Table, accessTokensByExpiry, now, left); err != nil {
			return err
		}
		left -= res.AccessTokens
		if res.RefreshTokens, err = sweep(tx, refreshTokens.Table, refreshTokensByExpiry, now, left); err != nil {
			return err
		}
		left -= res.RefreshTokens
		if res.Sessions, err = sweep(tx, sessions.Table, sessionsByExpiry, now, left); err != nil {
			return err
		}
		left -= res.Sessions
		res.Verifications, err = sweep(tx, verifications.Table, verificationsByExpiry, now, left)
		return err
	})
	if err != nil {
		return SweepResult{}, err
	}
	return res, nil
}

// sweep deletes up to limit rows of t whose expiry is not after now,
// collecting them first: deleting while walking the index would pull rows
// from under the walk.
func sweep[T any](tx *Tx, t *store.Table[T], byExpiry *store.Index[T, time.Time], now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var doomed []*T
	for rec := range store.Until(tx.st, byExpiry, now) {
		if len(doomed) == limit {
			break
		}
		doomed = append(doomed, rec)
	}
	n := 0
	for _, rec := range doomed {
		// A cascade of an earlier delete may have taken it already.
		if _, ok := t.Get(tx.st, t.Key(rec)); !ok {
			continue
		}
		if err := t.DeleteRecord(tx.st, rec); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// RunJanitor sweeps expired rows every interval, in batches of batch rows
// (one write transaction each, so that writers are never held up for
// long), until ctx ends. It returns ctx's error. errs, if not nil, is told
// of each failed sweep. A batch of 0 or less means 1000; an interval of 0 or
// less is an error.
func (db *DB) RunJanitor(ctx context.Context, interval time.Duration, batch int, errs func(error)) error {
	if interval <= 0 {
		return fmt.Errorf("oauthdb: janitor interval %v: %w", interval, ErrInvalid)
	}
	if batch <= 0 {
		batch = 1000
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		for ctx.Err() == nil {
			res, err := db.SweepExpired(batch)
			if err != nil {
				if errs != nil {
					errs(err)
				}
				break
			}
			if res.Total() < batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

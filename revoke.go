package oauthdb

import (
	"iter"
	"time"
)

// Revocation takes effect at once: once the call returns, no validation
// sees the revoked tokens as active. Each revocation is one write
// transaction that finds its rows through an index — never by scanning a
// table. Access tokens are deleted, as better-auth deletes them; refresh
// tokens are kept with revoked set, so that a replay of one is recognised,
// and the expiry sweep removes them in time.
//
// The int each returns is the number of rows it changed: access tokens
// deleted plus refresh tokens newly revoked. Revoking is idempotent: what is
// already revoked, or a token, session, user or client that does not exist
// (it may have expired and been swept), changes nothing and is not an error
// (RFC 7009); it counts 0.

// RevokeAccessToken deletes the access token with this plaintext value. An
// unknown token is not an error (RFC 7009): it returns 0.
func (db *DB) RevokeAccessToken(token string) (int, error) {
	return revokeToken(db, accessKind, token, func(tx *Tx, t *OAuthAccessToken, _ time.Time) (int, error) {
		return 1, accessTokens.DeleteRecord(tx.st, t)
	})
}

// RevokeRefreshToken revokes the refresh token with this plaintext value and
// deletes the access tokens issued with it. An unknown token changes nothing
// and is not an error (RFC 7009); an already revoked one stays as it is,
// but access tokens still linked to it are deleted.
func (db *DB) RevokeRefreshToken(token string) (int, error) {
	return revokeToken(db, refreshKind, token, revokeRefresh)
}

// revokeToken revokes the token of kind k with this plaintext value, as
// revoke says, if there is one.
func revokeToken[T any](db *DB, k *tokenKind[T], token string, revoke func(tx *Tx, t *T, now time.Time) (int, error)) (int, error) {
	if err := checkToken(k.name, token); err != nil {
		return 0, err
	}
	h := db.hashString(token)
	return db.revoke(func(tx *Tx, now time.Time) (int, error) {
		t, ok := k.byHash.First(tx.st, h)
		if !ok {
			return 0, nil
		}
		return revoke(tx, t, now)
	})
}

// RevokeToken is a client's revocation request (RFC 7009), in one write
// transaction, with better-auth 1.7.29's rules. The token is looked up as
// the kind hint says only ("access_token" or "refresh_token": a token of
// the other kind is not found, which changes nothing and is no error); any
// other value, or none, means an access token first, then a refresh token.
// A client
// revokes only its own tokens: another client's, or an unknown token,
// changes nothing and is not an error (RFC 7009 §2.2). Its access token is
// deleted; its refresh token revoked, with the access tokens issued with
// it. A refresh token that was revoked already, presented by its owner, is
// taken as a replay is at the token endpoint: its whole family (every refresh
// token of that client and user, and their access tokens) is revoked, and
// the error is a *TokenError around ErrTokenRevoked, after the family's
// revocation has committed. clientID, the authenticated caller, is required
// (an empty one is ErrInvalid). The int is the number of rows changed, as
// for the other revocations.
func (db *DB) RevokeToken(token, clientID, hint string) (int, error) {
	if clientID == "" {
		return 0, errNoCaller("revocation")
	}
	if err := checkToken(kindAccess, token); err != nil {
		return 0, err
	}
	h := db.hashString(token)
	var revoked error
	n, err := db.revoke(func(tx *Tx, now time.Time) (int, error) {
		access := func() (bool, int, error) {
			t, ok := accessTokensByHash.First(tx.st, h)
			if !ok || t.ClientID != clientID {
				return ok, 0, nil
			}
			return true, 1, accessTokens.DeleteRecord(tx.st, t)
		}
		refresh := func() (bool, int, error) {
			t, ok := refreshTokensByHash.First(tx.st, h)
			switch {
			case !ok || t.ClientID != clientID:
				return ok, 0, nil
			case !t.Revoked.IsZero():
				revoked = &TokenError{Kind: kindRefresh, ID: t.ID, Err: ErrTokenRevoked}
				n, err := revokeFamily(tx, t.ClientID, t.UserID, now)
				return true, n, err
			}
			n, err := revokeRefresh(tx, t, now)
			return true, n, err
		}
		// better-auth 1.7.29's revokeEndpoint looks a hinted token up as
		// that kind only; without a hint, as an access token first.
		order := []func() (bool, int, error){access, refresh}
		switch hint {
		case "access_token":
			order = order[:1]
		case "refresh_token":
			order = order[1:]
		}
		for _, try := range order {
			if found, n, err := try(); found || err != nil {
				return n, err
			}
		}
		return 0, nil
	})
	if err != nil {
		return 0, err
	}
	return n, revoked
}

// RevokeRefreshTokenByID is RevokeRefreshToken inside a write transaction,
// for a refresh token known by its record ID. An unknown ID is an
// ErrNotFound error.
func (tx *Tx) RevokeRefreshTokenByID(id string) (int, error) {
	t, ok := refreshTokens.Get(tx.st, id)
	if !ok {
		return 0, &Error{Table: TableOAuthRefreshToken, Field: "id", Value: id, Err: ErrNotFound}
	}
	return revokeRefresh(tx, t, tx.db.now())
}

// RevokeSession revokes every token of a session: its access tokens are
// deleted and its refresh tokens revoked, with their access tokens. The
// session itself stays.
func (db *DB) RevokeSession(sessionID string) (int, error) {
	return db.revoke(func(tx *Tx, now time.Time) (int, error) {
		s, ok := sessions.Get(tx.st, sessionID)
		if !ok {
			return 0, nil // no token refers to a session that is not there
		}
		return revokeAll(tx, now, sessionAccessTokens.Get(tx.st, s), sessionRefreshTokens.Get(tx.st, s), nil)
	})
}

// RevokeUser revokes every token of a user, for every client.
func (db *DB) RevokeUser(userID string) (int, error) {
	return db.revoke(func(tx *Tx, now time.Time) (int, error) {
		u := &User{ID: userID}
		return revokeAll(tx, now, userAccessTokens.Get(tx.st, u), userRefreshTokens.Get(tx.st, u), nil)
	})
}

// RevokeClient revokes every token issued to a client (by its public
// clientId).
func (db *DB) RevokeClient(clientID string) (int, error) {
	return db.revoke(func(tx *Tx, now time.Time) (int, error) {
		c := &OAuthClient{ClientID: clientID}
		return revokeAll(tx, now, clientAccessTokens.Get(tx.st, c), clientRefreshTokens.Get(tx.st, c), nil)
	})
}

// RevokeAuthorizationCode revokes every token issued from an authorization
// code — by the code's hash, the authorizationCodeId that IssueRequest gave
// its tokens and that rotations carry on — as RFC 6749 §4.1.2 asks when a
// code is presented twice: its access tokens are deleted and its refresh
// tokens revoked, with their access tokens. Since rotations keep the code's
// hash, it reaches every token descended from the code, and a rotation that
// races it either sees its token revoked or has its new tokens revoked
// after it: they are serialized, as every write is.
//
// There is no index on authorizationCodeId — it would cost every token an
// index entry for an event that means an attack — so the call walks both
// token tables: it costs in the size of the DB (tens of milliseconds for a
// million tokens), not in what it revokes.
func (db *DB) RevokeAuthorizationCode(codeHash string) (int, error) {
	if codeHash == "" {
		return 0, &Error{Table: TableOAuthAccessToken, Field: "authorizationCodeId", Reason: "required", Err: ErrInvalid}
	}
	return db.revoke(func(tx *Tx, now time.Time) (int, error) {
		ofCode := func(seq iter.Seq[*OAuthAccessToken]) iter.Seq[*OAuthAccessToken] {
			return func(yield func(*OAuthAccessToken) bool) {
				for t := range seq {
					if t.AuthorizationCodeID == codeHash && !yield(t) {
						return
					}
				}
			}
		}
		refresh := func(yield func(*OAuthRefreshToken) bool) {
			for t := range refreshTokens.All(tx.st) {
				if t.AuthorizationCodeID == codeHash && !yield(t) {
					return
				}
			}
		}
		return revokeAll(tx, now, ofCode(accessTokens.All(tx.st)), refresh, nil)
	})
}

// RevokeClientUser revokes every token a client holds for one user.
func (db *DB) RevokeClientUser(clientID, userID string) (int, error) {
	return db.revoke(func(tx *Tx, now time.Time) (int, error) {
		u := &User{ID: userID}
		return revokeAll(tx, now, userAccessTokens.Get(tx.st, u), userRefreshTokens.Get(tx.st, u), ofClient(clientID))
	})
}

func (db *DB) revoke(fn func(tx *Tx, now time.Time) (int, error)) (int, error) {
	var n int
	err := db.Update(func(tx *Tx) error {
		var err error
		n, err = fn(tx, db.now())
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// revokeFamily revokes what a refresh token's replay compromises, as
// docs/DESIGN.md defines the family: every refresh token of that client for that
// user, and the access tokens issued with them. The user's other access
// tokens of the client (an authorization code's, issued without a refresh
// token) were never derived from a refresh token and stay.
func revokeFamily(tx *Tx, clientID, userID string, now time.Time) (int, error) {
	return revokeAll(tx, now, noAccessTokens, userRefreshTokens.Get(tx.st, &User{ID: userID}), ofClient(clientID))
}

// ofClient keeps the tokens of one client, among a user's.
func ofClient(clientID string) func(string) bool {
	return func(clientOf string) bool { return clientOf == clientID }
}

func noAccessTokens(func(*OAuthAccessToken) bool) {}

// revokeAll deletes the access tokens and revokes the refresh tokens the
// two iterators yield, keeping only those of the clients keep accepts (all,
// if nil). The rows are collected before anything changes.
func revokeAll(tx *Tx, now time.Time, access iter.Seq[*OAuthAccessToken], refresh iter.Seq[*OAuthRefreshToken],
	keep func(clientID string) bool) (int, error) {
	var as []*OAuthAccessToken
	for t := range access {
		if keep == nil || keep(t.ClientID) {
			as = append(as, t)
		}
	}
	var rs []*OAuthRefreshToken
	revoked := map[string]bool{}
	for t := range refresh {
		if keep == nil || keep(t.ClientID) {
			rs = append(rs, t)
			revoked[t.ID] = true
		}
	}
	n := 0
	for _, t := range rs {
		m, err := revokeRefresh(tx, t, now)
		if err != nil {
			return 0, err
		}
		n += m
	}
	for _, t := range as {
		if revoked[t.RefreshID] {
			continue // deleted with its refresh token above
		}
		if err := accessTokens.DeleteRecord(tx.st, t); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// revokeRefresh sets revoked on a refresh token and deletes its access
// tokens. It also closes the grace windows of its family (see
// WithRefreshReuseInterval): a token rotated a moment ago must not get its
// client a fresh pair once a revocation has ended what that rotation gave.
func revokeRefresh(tx *Tx, t *OAuthRefreshToken, now time.Time) (int, error) {
	if err := closeGrace(tx, t.ClientID, t.UserID, now); err != nil {
		return 0, err
	}
	// closeGrace may have rewritten t's own row: revoke it as it is now,
	// or the stale copy would open its window again.
	if cur, ok := refreshTokens.Get(tx.st, t.ID); ok {
		t = cur
	}
	var as []*OAuthAccessToken
	for a := range refreshTokenAccessTokens.Get(tx.st, t) {
		as = append(as, a)
	}
	n := 0
	for _, a := range as {
		if err := accessTokens.DeleteRecord(tx.st, a); err != nil {
			return 0, err
		}
		n++
	}
	if t.Revoked.IsZero() {
		r := *t
		r.Revoked = now
		if err := refreshTokens.Update(tx.st, &r); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// closeGrace ends the open grace windows of the refresh tokens of a client
// and user: windows exist only with WithRefreshReuseInterval.
func closeGrace(tx *Tx, clientID, userID string, now time.Time) error {
	if tx.db.cfg.reuseInterval <= 0 {
		return nil
	}
	return updateEach(tx, refreshTokens, userRefreshTokens.Get(tx.st, &User{ID: userID}),
		func(t *OAuthRefreshToken) bool { return t.ClientID == clientID && inGrace(t, now) },
		func(t *OAuthRefreshToken) { t.RotationReplayExpiresAt = now })
}

// inGrace reports whether a rotated refresh token may be rotated again
// without being a replay (see WithRefreshReuseInterval).
func inGrace(t *OAuthRefreshToken, now time.Time) bool {
	return !t.RotatedAt.IsZero() && now.Before(t.RotationReplayExpiresAt)
}

// revokeAccessTokens sets revoked on the access tokens seq yields, keeping
// their rows: for a token that lost what kept it active (its session), so
// that it stays inactive. The rows are collected before anything changes.
func revokeAccessTokens(tx *Tx, seq iter.Seq[*OAuthAccessToken], now time.Time) error {
	return updateEach(tx, accessTokens, seq,
		func(t *OAuthAccessToken) bool { return t.Revoked.IsZero() },
		func(t *OAuthAccessToken) { t.Revoked = now })
}

// endRefreshTokens writes down, on the refresh tokens seq yields that are
// bound to their session, that they ended with it (endedWithSession),
// keeping their rows, as revokeAccessTokens does for access tokens. The
// rows are collected before anything changes.
func endRefreshTokens(tx *Tx, seq iter.Seq[*OAuthRefreshToken], now time.Time) error {
	return updateEach(tx, refreshTokens, seq,
		func(t *OAuthRefreshToken) bool { return tx.db.boundToSession(refreshView(t)) },
		func(t *OAuthRefreshToken) { endedWithSession(t, now) })
}

// updateEach updates each stored record of t that seq yields and keep
// accepts, to a copy as change makes it. The records are collected before
// anything changes: an iterator over what a write changes would see it.
func updateEach[T any](tx *Tx, t *tableOf[T], seq iter.Seq[*T], keep func(*T) bool, change func(*T)) error {
	var recs []*T
	for r := range seq {
		if keep(r) {
			recs = append(recs, r)
		}
	}
	for _, r := range recs {
		c := *r
		change(&c)
		if err := t.Update(tx.st, &c); err != nil {
			return err
		}
	}
	return nil
}

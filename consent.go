package oauthdb

import (
	"slices"
)

// GrantConsent records that a user (or a reference, such as an
// organisation) consents to a client's scopes. There is one consent per
// (clientID, userID, referenceID): granting again replaces its scopes.
func (db *DB) GrantConsent(clientID, userID, referenceID string, scopes []string) (OAuthConsent, error) {
	var out OAuthConsent
	err := db.Update(func(tx *Tx) error {
		c, ok := consentFor(tx, clientID, userID, referenceID)
		if ok {
			out = *c
			out.Scopes = slices.Clone(scopes)
			out.UpdatedAt = db.cfg.now()
			return consents.Update(tx.st, &out)
		}
		id, err := db.NewID()
		if err != nil {
			return err
		}
		now := db.cfg.now()
		out = OAuthConsent{ID: id, ClientID: clientID, UserID: userID, ReferenceID: referenceID,
			Scopes: slices.Clone(scopes), CreatedAt: now, UpdatedAt: now}
		return consents.Insert(tx.st, &out)
	})
	if err != nil {
		return OAuthConsent{}, err
	}
	return out, nil
}

// CheckConsent returns nil when the consent of (clientID, userID,
// referenceID) covers every scope requested, or when the client skips
// consent; otherwise an error wrapping ErrConsentRequired.
func (db *DB) CheckConsent(clientID, userID, referenceID string, scopes []string) error {
	return db.View(func(tx *Tx) error {
		if c, ok := clientsByClientID.First(tx.st, clientID); ok && c.SkipConsent {
			return nil
		}
		granted, ok := consentFor(tx, clientID, userID, referenceID)
		if !ok {
			return &Error{Table: TableOAuthConsent, Field: "clientId,userId,referenceId",
				Value: clientID + "/" + userID + "/" + referenceID, Reason: "no consent", Err: ErrConsentRequired}
		}
		if s, ok := missingScope(scopes, granted.Scopes); !ok {
			return &Error{Table: TableOAuthConsent, Field: "scopes", Value: s, Reason: "scope not consented", Err: ErrConsentRequired}
		}
		return nil
	})
}

// Consents returns a user's consents, ordered by ID.
func (db *DB) Consents(userID string) ([]OAuthConsent, error) {
	var out []OAuthConsent
	err := db.View(func(tx *Tx) error {
		out = slices.Collect(values(consentsByUser.Get(tx.st, userID)))
		return nil
	})
	return out, err
}

// RevokeConsent deletes the consent of (clientID, userID, referenceID) and
// returns how many consents it deleted: 0 or 1.
func (db *DB) RevokeConsent(clientID, userID, referenceID string) (int, error) {
	n := 0
	err := db.Update(func(tx *Tx) error {
		c, ok := consentFor(tx, clientID, userID, referenceID)
		if !ok {
			return nil
		}
		n = 1
		return consents.DeleteRecord(tx.st, c)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// consentFor finds the one consent of (clientID, userID, referenceID).
func consentFor(tx *Tx, clientID, userID, referenceID string) (*OAuthConsent, bool) {
	return consentsByGrant.First(tx.st, []string{clientID, userID, referenceID})
}

package oauthdb

import (
	"slices"

	"github.com/oauthdb/oauthdb/store"
)

// GrantConsent records that a user (or a reference, such as an
// organisation) consents to a client's scopes. There is one consent per
// (clientID, userID, referenceID): granting again replaces its scopes. An
// unknown client or user is ErrNotFound.
func (db *DB) GrantConsent(clientID, userID, referenceID string, scopes []string) (OAuthConsent, error) {
	if err := checkScopes(TableOAuthConsent, scopes); err != nil {
		return OAuthConsent{}, err
	}
	var out OAuthConsent
	err := db.Update(func(tx *Tx) error {
		if err := tx.consentParties(clientID, userID); err != nil {
			return err
		}
		now := db.now()
		c, ok := consentFor(tx, clientID, userID, referenceID)
		if ok {
			out = *c
			out.Scopes = slices.Clone(scopes)
			out.UpdatedAt = now
			return consents.Update(tx.st, &out)
		}
		id, err := db.NewID()
		if err != nil {
			return err
		}
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
// consent; otherwise an error wrapping ErrConsentRequired. An unknown client
// or user is ErrNotFound.
func (db *DB) CheckConsent(clientID, userID, referenceID string, scopes []string) error {
	if err := checkScopes(TableOAuthConsent, scopes); err != nil {
		return err
	}
	return db.View(func(tx *Tx) error {
		if err := tx.consentParties(clientID, userID); err != nil {
			return err
		}
		if c, _ := clientsByClientID.First(tx.st, clientID); c.SkipConsent {
			return nil
		}
		granted, ok := consentFor(tx, clientID, userID, referenceID)
		if !ok {
			return &Error{Table: TableOAuthConsent, Field: "clientId,userId,referenceId",
				Value: store.Bound(clientID + "/" + userID + "/" + referenceID), Reason: "no consent", Err: ErrConsentRequired}
		}
		if s, ok := missingScope(scopes, granted.Scopes); !ok {
			return &Error{Table: TableOAuthConsent, Field: "scopes", Value: store.Bound(s), Reason: "scope not consented", Err: ErrConsentRequired}
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

// consentParties checks that the client and, if one is named, the user of a
// consent exist: an operation given an unknown one fails with ErrNotFound,
// as every operation does.
func (tx *Tx) consentParties(clientID, userID string) error {
	if _, ok := clientsByClientID.First(tx.st, clientID); !ok {
		return errNotFound(TableOAuthClient, "clientId", clientID)
	}
	if userID != "" {
		if _, err := tx.knownUser(userID); err != nil {
			return err
		}
	}
	return nil
}

// consentFor finds the one consent of (clientID, userID, referenceID).
func consentFor(tx *Tx, clientID, userID, referenceID string) (*OAuthConsent, bool) {
	return consentsByGrant.First(tx.st, []string{clientID, userID, referenceID})
}

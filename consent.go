package oauthdb

import (
	"slices"

	"github.com/oauthdb/oauthdb/store"
)

// ConsentKey names one consent: the client it was given to, and the user or
// the reference (an organisation, say) that gave it, or both. There is one
// consent per key.
type ConsentKey struct {
	// ClientID is the public client identifier (oauthClient.clientId).
	ClientID string
	// UserID is the user who consented; empty for a reference's consent.
	UserID string
	// ReferenceID is better-auth's optional reference.
	ReferenceID string
}

// Key returns the key of c.
func (c OAuthConsent) Key() ConsentKey {
	return ConsentKey{ClientID: c.ClientID, UserID: c.UserID, ReferenceID: c.ReferenceID}
}

// String names the key for an error: its three parts joined by "/".
func (k ConsentKey) String() string { return k.ClientID + "/" + k.UserID + "/" + k.ReferenceID }

// GrantConsent records that a user (or a reference, such as an
// organisation) consents to a client's scopes. There is one consent per
// key: granting again replaces its scopes. An unknown client or user is
// ErrNotFound.
func (db *DB) GrantConsent(key ConsentKey, scopes []string) (OAuthConsent, error) {
	clientID, userID, referenceID := key.ClientID, key.UserID, key.ReferenceID
	if err := checkScopes(TableOAuthConsent, scopes); err != nil {
		return OAuthConsent{}, err
	}
	var out OAuthConsent
	err := db.Update(func(tx *Tx) error {
		if err := tx.consentParties(clientID, userID); err != nil {
			return err
		}
		now := db.now()
		c, ok := consentFor(tx, key)
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

// CheckConsent returns nil when the consent of key covers every scope
// requested, or when the client skips consent; otherwise an error wrapping
// ErrConsentRequired. An unknown client or user is ErrNotFound.
func (db *DB) CheckConsent(key ConsentKey, scopes []string) error {
	if err := checkScopes(TableOAuthConsent, scopes); err != nil {
		return err
	}
	return db.View(func(tx *Tx) error {
		if err := tx.consentParties(key.ClientID, key.UserID); err != nil {
			return err
		}
		if c, _ := clientsByClientID.First(tx.st, key.ClientID); c.SkipConsent {
			return nil
		}
		granted, ok := consentFor(tx, key)
		if !ok {
			return &Error{Table: TableOAuthConsent, Field: consentKeyField,
				Value: store.Bound(key.String()), Reason: "no consent", Err: ErrConsentRequired}
		}
		if s, ok := missingScope(scopes, granted.Scopes); !ok {
			return &Error{Table: TableOAuthConsent, Field: "scopes", Value: store.Bound(s), Reason: "scope not consented", Err: ErrConsentRequired}
		}
		return nil
	})
}

// UserConsents returns the consents a user gave, ordered by ID: the user's
// oauthConsents, by ID (see Tx.UserConsents for a user record).
func (db *DB) UserConsents(userID string) ([]OAuthConsent, error) {
	var out []OAuthConsent
	err := db.View(func(tx *Tx) error {
		out = slices.Collect(values(userConsents.Get(tx.st, &User{ID: userID})))
		return nil
	})
	return out, err
}

// RevokeConsent deletes the consent of key and returns how many consents it
// deleted: 0 or 1.
func (db *DB) RevokeConsent(key ConsentKey) (int, error) {
	n := 0
	err := db.Update(func(tx *Tx) error {
		c, ok := consentFor(tx, key)
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

// consentKeyField names the key's fields in errors.
const consentKeyField = "clientId,userId,referenceId"

// consentFor finds the one consent of key.
func consentFor(tx *Tx, key ConsentKey) (*OAuthConsent, bool) {
	return consentsByGrant.First(tx.st, []string{key.ClientID, key.UserID, key.ReferenceID})
}

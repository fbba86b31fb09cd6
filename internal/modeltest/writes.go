package modeltest

import (
	"errors"
	"maps"
	"slices"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/refmodel"
)

// A writer is one table write, the same for the DB and for the model.
type writer struct {
	db    func(tx *oauthdb.Tx) error
	model func(m *refmodel.Model) error
}

func rw[T any](db func(*oauthdb.Tx, T) error, model func(*refmodel.Model, T) error, arg T) writer {
	return writer{func(tx *oauthdb.Tx) error { return db(tx, arg) }, func(m *refmodel.Model) error { return model(m, arg) }}
}

func ids[T any](table map[string]T) []string { return slices.Sorted(maps.Keys(table)) }

// resolve returns the write that op stands for, its row reference resolved
// against m; false if op is not an insert, update or delete.
func resolve(m *refmodel.Model, op Op) (writer, bool) {
	switch op := op.(type) {
	case Insert[oauthdb.User]:
		return rw((*oauthdb.Tx).InsertUser, (*refmodel.Model).InsertUser, op.Rec), true
	case Insert[oauthdb.Session]:
		return rw((*oauthdb.Tx).InsertSession, (*refmodel.Model).InsertSession, op.Rec), true
	case Insert[oauthdb.OAuthClient]:
		return rw((*oauthdb.Tx).InsertClient, (*refmodel.Model).InsertClient, op.Rec), true
	case Insert[oauthdb.OAuthAccessToken]:
		return rw((*oauthdb.Tx).InsertAccessToken, (*refmodel.Model).InsertAccessToken, op.Rec), true
	case Insert[oauthdb.OAuthRefreshToken]:
		return rw((*oauthdb.Tx).InsertRefreshToken, (*refmodel.Model).InsertRefreshToken, op.Rec), true
	case Insert[oauthdb.OAuthConsent]:
		return rw((*oauthdb.Tx).InsertConsent, (*refmodel.Model).InsertConsent, op.Rec), true
	case Insert[oauthdb.Verification]:
		return rw((*oauthdb.Tx).InsertVerification, (*refmodel.Model).InsertVerification, op.Rec), true
	case Update[oauthdb.User]:
		op.Rec.ID = rowID(ids(m.Users), op.Ref, op.Rec.ID)
		return rw((*oauthdb.Tx).UpdateUser, (*refmodel.Model).UpdateUser, op.Rec), true
	case Update[oauthdb.Session]:
		op.Rec.ID = rowID(ids(m.Sessions), op.Ref, op.Rec.ID)
		return rw((*oauthdb.Tx).UpdateSession, (*refmodel.Model).UpdateSession, op.Rec), true
	case Update[oauthdb.OAuthClient]:
		op.Rec.ID = rowID(ids(m.Clients), op.Ref, op.Rec.ID)
		return rw((*oauthdb.Tx).UpdateClient, (*refmodel.Model).UpdateClient, op.Rec), true
	case Update[oauthdb.OAuthAccessToken]:
		op.Rec.ID = rowID(ids(m.AccessTokens), op.Ref, op.Rec.ID)
		return rw((*oauthdb.Tx).UpdateAccessToken, (*refmodel.Model).UpdateAccessToken, op.Rec), true
	case Update[oauthdb.OAuthRefreshToken]:
		op.Rec.ID = rowID(ids(m.RefreshTokens), op.Ref, op.Rec.ID)
		return rw((*oauthdb.Tx).UpdateRefreshToken, (*refmodel.Model).UpdateRefreshToken, op.Rec), true
	case Update[oauthdb.OAuthConsent]:
		op.Rec.ID = rowID(ids(m.Consents), op.Ref, op.Rec.ID)
		return rw((*oauthdb.Tx).UpdateConsent, (*refmodel.Model).UpdateConsent, op.Rec), true
	case Update[oauthdb.Verification]:
		op.Rec.ID = rowID(ids(m.Verifications), op.Ref, op.Rec.ID)
		return rw((*oauthdb.Tx).UpdateVerification, (*refmodel.Model).UpdateVerification, op.Rec), true
	case Delete:
		switch op.Table {
		case oauthdb.TableUser:
			return rw((*oauthdb.Tx).DeleteUser, (*refmodel.Model).DeleteUser, rowID(ids(m.Users), op.Ref, op.ID)), true
		case oauthdb.TableSession:
			return rw((*oauthdb.Tx).DeleteSession, (*refmodel.Model).DeleteSession, rowID(ids(m.Sessions), op.Ref, op.ID)), true
		case oauthdb.TableOAuthClient:
			return rw((*oauthdb.Tx).DeleteClient, (*refmodel.Model).DeleteClient, rowID(ids(m.Clients), op.Ref, op.ID)), true
		case oauthdb.TableOAuthAccessToken:
			return rw((*oauthdb.Tx).DeleteAccessToken, (*refmodel.Model).DeleteAccessToken, rowID(ids(m.AccessTokens), op.Ref, op.ID)), true
		case oauthdb.TableOAuthRefreshToken:
			return rw((*oauthdb.Tx).DeleteRefreshToken, (*refmodel.Model).DeleteRefreshToken, rowID(ids(m.RefreshTokens), op.Ref, op.ID)), true
		case oauthdb.TableOAuthConsent:
			return rw((*oauthdb.Tx).DeleteConsent, (*refmodel.Model).DeleteConsent, rowID(ids(m.Consents), op.Ref, op.ID)), true
		case oauthdb.TableVerification:
			return rw((*oauthdb.Tx).DeleteVerification, (*refmodel.Model).DeleteVerification, rowID(ids(m.Verifications), op.Ref, op.ID)), true
		}
	}
	return writer{}, false
}

var errAbort = errors.New("the test aborts the transaction")

// batch runs writes in one transaction, on the DB and on a copy of the
// model, comparing each; the transaction then commits — and the copy
// becomes the model — unless abort.
func (h *Harness) batch(ops []Op, abort bool) error {
	m := h.Model.Clone()
	var diverged error
	h.DB.Update(func(tx *oauthdb.Tx) error {
		for _, op := range ops {
			w, ok := resolve(m, op)
			if !ok {
				continue
			}
			// A failed write changes nothing, so the transaction goes on.
			if err := sameErr(w.db(tx), w.model(m), h); err != nil && diverged == nil {
				diverged = err
			}
		}
		if abort {
			return errAbort
		}
		return nil
	})
	if !abort {
		h.Model = m
	}
	return diverged
}

package oauthdbtest

import (
	"errors"
	"net/http"

	"github.com/oauthdb/oauthdb"
)

// handleRevoke serves RFC 7009 revocation. The client revokes only its own
// tokens; an unknown token, or another client's, is answered 200 and left
// alone, as RFC 7009 §2.2 says.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, e := parseForm(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	c, e := s.authenticate(r, form)
	if e != nil {
		writeError(w, e)
		return
	}
	token := form.Get("token")
	if token == "" {
		writeError(w, errInvalidRequest("token is required"))
		return
	}
	access := func() (bool, error) {
		_, err := s.db.IntrospectAccessToken(token, c.client.ClientID)
		if errors.Is(err, oauthdb.ErrTokenNotFound) || errors.Is(err, oauthdb.ErrTokenMalformed) || errors.Is(err, oauthdb.ErrWrongClient) {
			return false, nil
		}
		// Found and the caller's, active or not.
		_, err = s.db.RevokeAccessToken(token)
		return true, err
	}
	refresh := func() (bool, error) {
		owner := ""
		info, err := s.db.ValidateRefreshToken(token)
		if err == nil {
			owner = info.Token.ClientID
		} else if te, ok := errors.AsType[*oauthdb.TokenError](err); ok && te.ID != "" {
			err = s.db.View(func(tx *oauthdb.Tx) error {
				t, err := tx.RefreshToken(te.ID)
				owner = t.ClientID
				return err
			})
			if err != nil {
				return false, err
			}
		}
		if owner != c.client.ClientID {
			return false, nil
		}
		_, err = s.db.RevokeRefreshToken(token)
		return true, err
	}
	order := []func() (bool, error){access, refresh}
	if form.Get("token_type_hint") == GrantRefreshToken {
		order = []func() (bool, error){refresh, access}
	}
	for _, try := range order {
		done, err := try()
		if err != nil {
			writeError(w, s.serverError(err))
			return
		}
		if done {
			break
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

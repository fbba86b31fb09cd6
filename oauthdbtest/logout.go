package oauthdbtest

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"

	"github.com/oauthdb/oauthdb"
)

// handleEndSession serves RP-initiated logout (OpenID Connect RP-Initiated
// Logout 1.0), with GET or a form POST. The session it ends is the one named
// by the sid of id_token_hint, an id_token this server issued (expired or
// not: §2 wants those accepted), or else the session LoginAs signed in: the
// browser's. There is no confirmation page: the user confirms at once, as
// Authorize consents at once.
//
// The session is deleted through the DB (oauthdb.Tx.DeleteSession), and its
// tokens follow the DB's session rules. The client — client_id, or the
// hint's audience — must exist, not be disabled and have enableEndSession,
// as better-auth wants; post_logout_redirect_uri must be one of its
// postLogoutRedirectUris, and then the answer redirects there, with state;
// without one it is 204 No Content. A request that cannot be trusted is
// answered with a JSON error and never redirected.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) *oauthError {
	q, e := logoutParams(w, r)
	if e != nil {
		return e
	}
	clientID := q.Get("client_id")
	var hint idTokenHint
	if raw := q.Get("id_token_hint"); raw != "" {
		var err error
		if hint, err = s.parseOwnIDToken(raw); err != nil {
			return errInvalidRequest("id_token_hint is not an ID token this server issued")
		}
		switch {
		case clientID != "" && !slices.Contains(hint.Audience, clientID):
			return errInvalidRequest("client_id is not the audience of id_token_hint")
		case clientID == "" && len(hint.Audience) == 1:
			clientID = hint.Audience[0]
		}
	}
	redirect := q.Get("post_logout_redirect_uri")
	if redirect != "" && clientID == "" {
		return errInvalidRequest("post_logout_redirect_uri needs client_id or id_token_hint")
	}
	if clientID != "" {
		if e := s.checkLogoutClient(clientID, redirect); e != nil {
			return e
		}
	}

	s.mu.Lock()
	browser := s.login
	s.mu.Unlock()
	sessionID := hint.SessionID
	if sessionID == "" {
		sessionID = browser.ID
	}
	if sessionID == "" {
		return errInvalidRequest("no session to end: no id_token_hint with a sid, and no user signed in (Server.LoginAs)")
	}
	err := s.db.Update(func(tx *oauthdb.Tx) error { return tx.DeleteSession(sessionID) })
	if err != nil && !errors.Is(err, oauthdb.ErrNotFound) { // gone already: the logout is done
		return s.serverError(err)
	}
	s.mu.Lock()
	if s.login.ID == sessionID {
		s.login = oauthdb.Session{} // the session cookie goes with the session
	}
	s.mu.Unlock()

	if redirect == "" {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	to, err := url.Parse(redirect)
	if err != nil {
		return errInvalidRequest("malformed post_logout_redirect_uri")
	}
	if st := q.Get("state"); st != "" {
		params := to.Query()
		params.Set("state", st)
		to.RawQuery = params.Encode()
	}
	http.Redirect(w, r, to.String(), http.StatusFound)
	return nil
}

// logoutParams reads a logout request's parameters: the query of a GET, the
// form of a POST (RP-Initiated Logout 1.0 §2 allows both), each at most
// once.
func logoutParams(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		return q, checkRepeats(q)
	case http.MethodPost:
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, errInvalidRequest("the body must be application/x-www-form-urlencoded")
		}
		if err := r.ParseForm(); err != nil {
			return nil, errInvalidRequest("malformed form body")
		}
		return r.PostForm, checkRepeats(r.PostForm)
	}
	w.Header().Set("Allow", "GET, POST")
	return nil, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "the endpoint takes GET or POST"}
}

// checkLogoutClient checks that a client may end sessions and, if a
// redirect is asked for, that it registered it.
func (s *Server) checkLogoutClient(clientID, redirect string) *oauthError {
	c, e := s.enabledClient(clientID)
	switch {
	case e != nil:
		return e
	case !c.EnableEndSession:
		// better-auth answers 401 invalid_client; a 401 would ask for
		// credentials that a logout request never carries.
		return errUnauthorizedClient("the client may not end sessions (enableEndSession is false)")
	case redirect != "" && !slices.Contains(c.PostLogoutRedirectURIs, redirect):
		return errInvalidRequest("post_logout_redirect_uri is not one of the client's")
	}
	return nil
}

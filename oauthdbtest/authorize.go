package oauthdbtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oauthdb/oauthdb"
)

// CodeLifetime is how long an authorization code may be redeemed:
// better-auth's default, 600 seconds.
const CodeLifetime = 600 * time.Second

// AuthorizeRequest is an authorization request that a test makes with
// Server.Authorize, standing for a user who signs in and approves it.
type AuthorizeRequest struct {
	// Client is the client that asks. Required.
	Client oauthdb.OAuthClient
	// Session is the session the user approves the request in; its user is
	// the resource owner.
	Session oauthdb.Session
	// User is the resource owner when there is no Session: the code's tokens
	// then have no session.
	User oauthdb.User
	// RedirectURI is where the code goes; the default is the client's first
	// redirect URI.
	RedirectURI string
	// Scopes are the scopes asked for; the default is the client's scopes.
	// Ask for offline_access to get a refresh token with the access token.
	Scopes []string
	// State is the client's state parameter.
	State string
	// CodeChallenge is the PKCE S256 challenge. PKCE is required: give
	// either the challenge or CodeVerifier.
	CodeChallenge string
	// CodeVerifier is the PKCE verifier the client will present; the server
	// stores its S256 challenge.
	CodeVerifier string
	// Nonce is the OpenID nonce, kept with the request and echoed in the
	// id_token; at most MaxNonceLength characters.
	Nonce string
	// ReferenceID is better-auth's consent reference (an organisation, say),
	// kept with the code and given to its tokens.
	ReferenceID string
	// DPoPJKT is the thumbprint of the DPoP key the code is bound to
	// (dpop_jkt, RFC 9449 §10): it is redeemed only with a proof of that
	// key.
	DPoPJKT string
}

// Authorize does what the authorization endpoint does when a signed-in user
// approves a request: it checks the request as PathAuthorize does, records
// the user's consent if the client needs it and the user has not given it,
// stores the code as a verification row (see CodeValue) that expires after
// CodeLifetime, and returns the code. It fails the test if the request would
// be refused.
func (s *Server) Authorize(req AuthorizeRequest) (code string) {
	s.t.Helper()
	q := url.Values{}
	q.Set("response_type", "code")
	q.Set("client_id", req.Client.ClientID)
	redirect := req.RedirectURI
	if redirect == "" && len(req.Client.RedirectURIs) > 0 {
		redirect = req.Client.RedirectURIs[0]
	}
	q.Set("redirect_uri", redirect)
	if req.Scopes != nil {
		q.Set("scope", strings.Join(req.Scopes, " "))
	}
	challenge := req.CodeChallenge
	if challenge == "" && req.CodeVerifier != "" {
		sum := sha256.Sum256([]byte(req.CodeVerifier))
		challenge = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	for k, v := range map[string]string{"state": req.State, "code_challenge": challenge, "nonce": req.Nonce, "dpop_jkt": req.DPoPJKT} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if challenge != "" {
		q.Set("code_challenge_method", "S256")
	}
	who := signedIn{session: req.Session, userID: req.Session.UserID, referenceID: req.ReferenceID}
	if who.userID == "" {
		who.userID = req.User.ID
	}
	code, e := s.authorize(q, who)
	if e != nil {
		s.t.Fatalf("oauthdbtest: Authorize: %s: %s", e.code, e.description)
	}
	return code
}

// thumbprintSyntax is a JWK SHA-256 thumbprint in base64url (RFC 7638),
// what better-auth's authorization endpoint takes for dpop_jkt.
var thumbprintSyntax = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// signedIn is the user an authorization request is made for.
type signedIn struct {
	session     oauthdb.Session // zero if none
	userID      string
	referenceID string
}

// authorizeError is a refused authorization request. When redirect is
// false the client or the redirect URI could not be trusted, and the error
// is shown to the user rather than sent to the client (RFC 6749 §4.1.2.1).
type authorizeError struct {
	*oauthError
	redirect bool
}

// authorize checks an authorization request made for the user who, records
// their consent if it is needed, and stores and returns the code.
func (s *Server) authorize(q url.Values, who signedIn) (string, *authorizeError) {
	direct := func(e *oauthError) *authorizeError { return &authorizeError{e, false} }
	back := func(e *oauthError) *authorizeError { return &authorizeError{e, true} }
	if e := checkRepeats(q); e != nil {
		return "", direct(e)
	}
	clientID, redirectURI := q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" {
		return "", direct(errInvalidRequest("client_id is required"))
	}
	client, e := s.enabledClient(clientID)
	switch {
	case e != nil:
		return "", direct(e)
	case redirectURI == "":
		return "", direct(errInvalidRequest("redirect_uri is required"))
	case !slices.Contains(client.RedirectURIs, redirectURI):
		return "", direct(errInvalidRequest("redirect_uri is not one of the client's"))
	}
	switch rt := q.Get("response_type"); {
	case rt == "":
		return "", back(errInvalidRequest("response_type is required"))
	case rt != "code":
		return "", back(&oauthError{http.StatusBadRequest, "unsupported_response_type", "only response_type=code is supported"})
	}
	if !allowsGrant(client, GrantAuthorizationCode) {
		return "", back(errUnauthorizedClient("the client may not use the grant type authorization_code"))
	}
	scopes := client.Scopes
	if q.Get("scope") != "" {
		scopes = scopeList(q.Get("scope"))
		if e := checkScopes(scopes, client.Scopes); e != nil {
			return "", back(e)
		}
	}
	switch {
	case q.Get("code_challenge") == "":
		return "", back(errInvalidRequest("code_challenge is required: PKCE is mandatory"))
	case q.Get("code_challenge_method") != "S256":
		return "", back(errInvalidRequest("code_challenge_method must be S256"))
	case len(q.Get("nonce")) > MaxNonceLength:
		return "", back(errInvalidRequest("nonce is longer than " + strconv.Itoa(MaxNonceLength) + " characters"))
	case q.Has("dpop_jkt") && !thumbprintSyntax.MatchString(q.Get("dpop_jkt")):
		return "", back(errInvalidRequest("dpop_jkt must be a base64url-encoded SHA-256 JWK thumbprint"))
	case q.Has("request"):
		// OpenID Connect Core §6: a request object the server cannot read.
		return "", back(&oauthError{http.StatusBadRequest, "request_not_supported", "request objects are not supported"})
	case q.Has("request_uri"):
		return "", back(&oauthError{http.StatusBadRequest, "request_uri_not_supported", "request_uri is not supported"})
	}
	now := s.db.Now()
	if !s.signedIn(who, now) {
		return "", back(&oauthError{http.StatusBadRequest, "login_required",
			"no user is signed in (Server.LoginAs), or their session has ended"})
	}
	if !client.SkipConsent {
		key := oauthdb.ConsentKey{ClientID: client.ClientID, UserID: who.userID, ReferenceID: who.referenceID}
		err := s.db.CheckConsent(key, scopes)
		if errors.Is(err, oauthdb.ErrConsentRequired) {
			// The user approves at the consent screen that is not there.
			_, err = s.db.GrantConsent(key, scopes)
		}
		if err != nil {
			return "", back(s.serverError(err))
		}
	}
	query := make(map[string]string, len(q)+1)
	for k := range q {
		query[k] = q.Get(k)
	}
	query["scope"] = strings.Join(scopes, " ")
	value := CodeValue{
		Type:        GrantAuthorizationCode,
		Query:       query,
		UserID:      who.userID,
		SessionID:   who.session.ID,
		ReferenceID: who.referenceID,
	}
	if !who.session.CreatedAt.IsZero() {
		value.AuthTime = who.session.CreatedAt.UnixMilli()
	}
	code, err := s.db.NewID()
	if err != nil {
		return "", back(s.serverError(err))
	}
	id, err := s.db.NewID()
	if err != nil {
		return "", back(s.serverError(err))
	}
	err = s.db.Update(func(tx *oauthdb.Tx) error {
		return tx.InsertVerification(oauthdb.Verification{
			ID:         id,
			Identifier: s.db.Hash(code),
			Value:      value.JSON(),
			ExpiresAt:  now.Add(CodeLifetime),
			CreatedAt:  now,
			UpdatedAt:  now,
		})
	})
	if err != nil {
		return "", back(s.serverError(err))
	}
	return code, nil
}

// signedIn reports whether the user is there and, if they sign in through a
// session, whether the session is: what better-auth reads from its session
// cookie.
func (s *Server) signedIn(who signedIn, now time.Time) bool {
	if who.userID == "" {
		return false
	}
	err := s.db.View(func(tx *oauthdb.Tx) error {
		if _, err := tx.User(who.userID); err != nil {
			return err
		}
		if who.session.ID == "" {
			return nil
		}
		sess, err := tx.Session(who.session.ID)
		if err != nil {
			return err
		}
		if sess.UserID != who.userID || !now.Before(sess.ExpiresAt) {
			return errRefused
		}
		return nil
	})
	return err == nil
}

// handleAuthorize serves the authorization endpoint for the user LoginAs
// signed in. It redirects to the client with ?code=&state=&iss=, or with
// ?error=; a request whose client or redirect URI cannot be trusted is
// answered 400 with a JSON error instead (RFC 6749 §4.1.2.1).
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "the endpoint takes GET"})
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	sess := s.login
	s.mu.Unlock()
	code, e := s.authorize(q, signedIn{session: sess, userID: sess.UserID})
	if e != nil && !e.redirect {
		writeError(w, e.oauthError)
		return
	}
	to, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		writeError(w, errInvalidRequest("malformed redirect_uri"))
		return
	}
	params := to.Query()
	if e != nil {
		params.Set("error", e.code)
		params.Set("error_description", e.description)
	} else {
		params.Set("code", code)
	}
	if st := q.Get("state"); st != "" {
		params.Set("state", st)
	}
	params.Set("iss", s.URL)
	to.RawQuery = params.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// Visit does with an authorization URL — oauth2.Config.AuthCodeURL's, say —
// what a browser would: it GETs it from the server, without following the
// redirect, and returns the URL the server redirects to: the client's
// redirect URI with ?code=&state= or ?error=. It fails the test if the
// server does not redirect.
func (s *Server) Visit(authURL string) *url.URL {
	s.t.Helper()
	c := *s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		s.t.Fatalf("oauthdbtest: Visit: %v", err)
	}
	defer resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		s.t.Fatalf("oauthdbtest: Visit: %s did not redirect: %s %s: %s", PathAuthorize, resp.Status, body["error"], body["error_description"])
	}
	return loc
}

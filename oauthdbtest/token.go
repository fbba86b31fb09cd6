package oauthdbtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/authserver"
	"github.com/oauthdb/oauthdb/resourceserver"
)

// tokenResponse is a successful token response (RFC 6749 §5.1), with
// better-auth's expires_at.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExpiresAt    int64  `json:"expires_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token,omitempty"`
}

// respond makes the token response for issued tokens: of token_type DPoP
// when they are bound to a DPoP key, as better-auth's
// confirmationTokenType.
func (s *Server) respond(t oauthdb.IssuedTokens) tokenResponse {
	tokenType := "Bearer"
	if oauthdb.DPoPThumbprint(t.Access.Confirmation) != "" {
		tokenType = "DPoP"
	}
	return tokenResponse{
		AccessToken:  t.AccessToken,
		TokenType:    tokenType,
		ExpiresIn:    int64(t.Access.ExpiresAt.Sub(s.db.Now()) / time.Second),
		ExpiresAt:    t.Access.ExpiresAt.Unix(),
		RefreshToken: t.RefreshToken,
		Scope:        strings.Join(t.Access.Scopes, " "),
	}
}

// handleToken serves the token endpoint: it checks the grant type,
// authenticates the client and hands the request to the grant's handler.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) *oauthError {
	form, e := parseForm(w, r)
	if e != nil {
		return e
	}
	grant := form.Get("grant_type")
	switch grant {
	case "":
		return errInvalidRequest("grant_type is required")
	case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials:
	default:
		return &oauthError{http.StatusBadRequest, "unsupported_grant_type", "unsupported grant_type " + grant}
	}
	client, e := s.authenticate(r, form)
	if e != nil {
		return e
	}
	if !allowsGrant(client.Record, grant) {
		return errUnauthorizedClient("the client may not use the grant type " + grant)
	}
	jkt, e := s.dpopProof(r)
	if e != nil {
		return e
	}
	var resp tokenResponse
	switch grant {
	case GrantClientCredentials:
		resp, e = s.clientCredentials(client, form, jkt)
	case GrantRefreshToken:
		resp, e = s.refresh(client, form, jkt)
	default:
		resp, e = s.redeemCode(client, form, jkt)
	}
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// dpopProof checks the DPoP proof of a token request (RFC 9449 §5), if it
// has one, with the resource server's checks (Verifier.CheckProof: its
// replay cache too), and returns its key's thumbprint; "" for a request
// without one. Whether a proof is needed, and of which key, the grant
// decides: the DB for a DPoP client or a bound refresh token, redeemCode
// for a code bound by dpop_jkt.
func (s *Server) dpopProof(r *http.Request) (string, *oauthError) {
	if len(r.Header.Values("DPoP")) == 0 {
		return "", nil
	}
	jkt, err := s.rs.CheckProof(r)
	if err != nil {
		e, ok := errors.AsType[*resourceserver.Error](err)
		switch {
		case !ok:
			return "", s.serverError(err)
		case e.Status == http.StatusServiceUnavailable:
			return "", &oauthError{http.StatusServiceUnavailable, e.Code, e.Description}
		}
		return "", errInvalidDPoPProof(e.Description)
	}
	return jkt, nil
}

// clientCredentials serves the client_credentials grant (RFC 6749 §4.4) as
// better-auth 1.7.29 does: an access token for the client itself, with no
// user and no refresh token, for scopes of its clientCredentialsScopes —
// all of them when none is asked — never a user's (openid, profile, email,
// offline_access). A public client, or one with no clientCredentialsScopes,
// may not use the grant.
func (s *Server) clientCredentials(c authserver.Client, form url.Values, jkt string) (tokenResponse, *oauthError) {
	if c.Method == authserver.MethodNone {
		return tokenResponse{}, errUnauthorizedClient("a public client cannot use client_credentials")
	}
	allowed := c.Record.ClientCredentialsScopes
	if len(allowed) == 0 {
		return tokenResponse{}, errUnauthorizedClient("the client has no clientCredentialsScopes")
	}
	scopes := slices.Clone(allowed)
	if form.Get("scope") != "" {
		scopes = scopeList(form.Get("scope"))
		for _, sc := range scopes {
			if !slices.Contains(allowed, sc) || slices.Contains(userScopes, sc) {
				return tokenResponse{}, errInvalidScope("the client may not ask for the scope " + sc + " for itself")
			}
		}
	}
	t, err := s.db.IssueTokens(oauthdb.IssueRequest{ClientID: c.Record.ClientID, Scopes: scopes, DPoPThumbprint: jkt})
	if err != nil {
		return tokenResponse{}, s.issueError(err)
	}
	return s.respond(t), nil
}

// userScopes are the scopes a user delegates, which a client is never
// granted for itself (better-auth's USER_DELEGATED_SCOPES).
var userScopes = []string{"openid", "profile", "email", oauthdb.ScopeOfflineAccess}

// checkScopes refuses a scope the client may not ask for, when it has a
// list of them.
func checkScopes(requested, allowed []string) *oauthError {
	if len(allowed) == 0 {
		return nil
	}
	for _, sc := range requested {
		if !slices.Contains(allowed, sc) {
			return errInvalidScope("the client may not ask for the scope " + sc)
		}
	}
	return nil
}

// issueError answers an error of IssueTokens.
func (s *Server) issueError(err error) *oauthError {
	switch {
	case errors.Is(err, oauthdb.ErrDPoPRequired), errors.Is(err, oauthdb.ErrDPoPKeyMismatch):
		return errInvalidDPoPProof(reason(err))
	case errors.Is(err, oauthdb.ErrScopeNotGranted):
		return errInvalidScope(reason(err))
	case errors.Is(err, oauthdb.ErrClientDisabled):
		return errInvalidClient("the client is disabled")
	case errors.Is(err, oauthdb.ErrSessionExpired), errors.Is(err, oauthdb.ErrNotFound), errors.Is(err, oauthdb.ErrForeignKey):
		return errInvalidGrant(reason(err))
	}
	return s.serverError(err)
}

// reason describes an error of the DB for error_description: the reason
// of a *TokenError (never the token), or the *Error's text (never a
// secret).
func reason(err error) string {
	if te, ok := errors.AsType[*oauthdb.TokenError](err); ok {
		return te.Kind + ": " + te.Err.Error()
	}
	return err.Error()
}

// refresh serves the refresh_token grant (RFC 6749 §6) as better-auth
// 1.7.29 does, by oauthdb.DB.RotateRefreshToken: a refresh token granted
// offline_access is rotated — revoked and replaced — and one without it is
// not (an access token only, and the refresh token stays usable). Presented
// again after its rotation, or after it was revoked, a refresh token is
// refused and the DB revokes the family of the client and user; a token
// bound to a session that has ended is refused and revokes nothing. Every
// refusal of the token is invalid_grant, as better-auth's. A refresh token
// bound to a DPoP key, or one of a DPoP client, is redeemed only with a
// proof (of its key): else invalid_dpop_proof, and nothing changes.
func (s *Server) refresh(c authserver.Client, form url.Values, jkt string) (tokenResponse, *oauthError) {
	token := form.Get("refresh_token")
	if token == "" {
		return tokenResponse{}, errInvalidRequest("refresh_token is required")
	}
	var scopes []string
	if form.Get("scope") != "" {
		scopes = scopeList(form.Get("scope"))
	}
	t, err := s.db.Refresh(oauthdb.RefreshRequest{Token: token, ClientID: c.Record.ClientID, Scopes: scopes, DPoPThumbprint: jkt})
	if err != nil {
		if errors.Is(err, oauthdb.ErrDPoPRequired) || errors.Is(err, oauthdb.ErrDPoPKeyMismatch) {
			return tokenResponse{}, s.issueError(err)
		}
		if _, ok := errors.AsType[*oauthdb.TokenError](err); ok {
			return tokenResponse{}, errInvalidGrant(reason(err))
		}
		if errors.Is(err, oauthdb.ErrScopeNotGranted) {
			return tokenResponse{}, errInvalidScope(reason(err))
		}
		return tokenResponse{}, s.serverError(err)
	}
	resp := s.respond(t)
	if wantsIDToken(t.Access.Scopes) {
		var e *oauthError
		if resp.IDToken, e = s.refreshIDToken(c.Record, t); e != nil {
			return tokenResponse{}, e
		}
	}
	return resp, nil
}

// refreshIDToken signs the id_token of a refresh (OpenID Connect Core
// §12.2): the same iss, sub and aud as the first, a new iat, the original
// auth_time — the grant's, or else the session's createdAt — and no nonce.
// Its sid is the session's while it lives: the access token's.
func (s *Server) refreshIDToken(c oauthdb.OAuthClient, t oauthdb.IssuedTokens) (string, *oauthError) {
	g := idTokenGrant{client: c, scopes: t.Access.Scopes, sessionID: t.Access.SessionID,
		authTime: t.Previous.AuthTime, accessToken: t.AccessToken}
	err := s.db.View(func(tx *oauthdb.Tx) error {
		var err error
		if g.user, err = tx.User(t.Access.UserID); err != nil {
			return err
		}
		if g.sessionID != "" && g.authTime.IsZero() {
			if sess, err := tx.Session(g.sessionID); err == nil {
				g.authTime = sess.CreatedAt
			}
		}
		return nil
	})
	if err != nil {
		return "", s.serverError(err)
	}
	raw, err := s.idToken(g)
	if err != nil {
		return "", s.serverError(err)
	}
	return raw, nil
}

// errRefused rolls back a transaction that found the request bad.
var errRefused = errors.New("refused")

// redeemCode serves the authorization_code grant (RFC 6749 §4.1.3, RFC 7636
// §4.6). The code is checked against its verification row — client,
// redirect_uri, PKCE verifier, expiry — and only then deleted, in the same
// transaction: a refused request leaves it redeemable. A code that is
// unknown because it was redeemed already is a replay: every token issued
// with it, and descended from those, is revoked (RFC 6749 §4.1.2) by the
// code's hash, which its tokens carry as authorizationCodeId, as
// better-auth's do — so a second Server over the same DB knows the first
// one's codes. A code asked for with dpop_jkt is redeemed only with a
// proof of that key (RFC 9449 §10), and a refused proof leaves the code.
func (s *Server) redeemCode(c authserver.Client, form url.Values, jkt string) (tokenResponse, *oauthError) {
	code := form.Get("code")
	if code == "" {
		return tokenResponse{}, errInvalidRequest("code is required")
	}
	redirectURI, verifier := form.Get("redirect_uri"), form.Get("code_verifier")
	hash := s.db.Hash(code)
	var (
		refused *oauthError
		value   CodeValue
		t       oauthdb.IssuedTokens
		user    oauthdb.User // the code's, read with it, for the id_token
	)
	err := s.db.Update(func(tx *oauthdb.Tx) error {
		now := s.db.Now()
		v, err := tx.VerificationByIdentifier(hash)
		if errors.Is(err, oauthdb.ErrNotFound) {
			refused = errInvalidGrant("invalid code")
			return errRefused // a replay is revoked below, in a write of its own
		} else if err != nil {
			return err
		}
		if refused = checkCode(tx, v, now, c.Record.ClientID, redirectURI, verifier, &value); refused != nil {
			return errRefused
		}
		if refused = checkCodeProof(value, jkt); refused != nil {
			return errRefused
		}
		if user, err = tx.User(value.UserID); err != nil {
			return err // checkCode found the user
		}
		if err := tx.DeleteVerification(v.ID); err != nil {
			return err
		}
		// Consuming the code and issuing its tokens is one commit: a replay,
		// which waits for this write, finds the grant with its tokens.
		scopes := scopeList(codeParam(value, "scope"))
		req := oauthdb.IssueRequest{
			ClientID:            c.Record.ClientID,
			UserID:              value.UserID,
			SessionID:           value.SessionID,
			ReferenceID:         value.ReferenceID,
			Scopes:              scopes,
			AuthorizationCodeID: hash,
			DPoPThumbprint:      jkt,
			// better-auth issues a refresh token for offline_access only.
			Refresh: slices.Contains(scopes, "offline_access") && allowsGrant(c.Record, GrantRefreshToken),
		}
		if value.AuthTime != 0 {
			req.AuthTime = time.UnixMilli(value.AuthTime)
		}
		t, err = tx.IssueTokens(req)
		if err != nil {
			refused = s.issueError(err)
			return errRefused
		}
		return nil
	})
	if errors.Is(err, errRefused) && refused != nil && refused.description == "invalid code" {
		// Unknown: never issued, or redeemed already. A redeemed code's
		// tokens carry its hash; revoking finds them, or nothing.
		n, rerr := s.db.RevokeAuthorizationCode(hash)
		if rerr != nil {
			return tokenResponse{}, s.serverError(rerr)
		}
		if n > 0 {
			refused = errInvalidGrant("the code was used already: the tokens issued with it are revoked")
		}
	}
	if refused != nil {
		return tokenResponse{}, refused
	}
	if err != nil {
		return tokenResponse{}, s.serverError(err)
	}
	resp := s.respond(t)
	if scopes := scopeList(codeParam(value, "scope")); wantsIDToken(scopes) {
		g := idTokenGrant{user: user, client: c.Record, scopes: scopes, nonce: codeParam(value, "nonce"),
			sessionID: value.SessionID, accessToken: t.AccessToken}
		if value.AuthTime != 0 {
			g.authTime = time.UnixMilli(value.AuthTime)
		}
		raw, err := s.idToken(g)
		if err != nil {
			return tokenResponse{}, s.serverError(err)
		}
		resp.IDToken = raw
	}
	return resp, nil
}

// codeParam reads a parameter of a code's authorization request: the one
// place that knows how CodeValue keeps them.
func codeParam(v CodeValue, name string) string { return v.Query[name] }

// checkCode checks a code's verification row against the token request
// and decodes its value into out.
func checkCode(tx *oauthdb.Tx, v oauthdb.Verification, now time.Time, clientID, redirectURI, verifier string, out *CodeValue) *oauthError {
	if !now.Before(v.ExpiresAt) {
		return errInvalidGrant("the code has expired")
	}
	cv, err := ParseCodeValue(v)
	if err != nil || cv.Type != GrantAuthorizationCode {
		return errInvalidGrant("malformed verification value")
	}
	if codeParam(cv, "client_id") != clientID {
		return errInvalidGrant("the code was issued to another client")
	}
	switch bound := codeParam(cv, "redirect_uri"); {
	case bound != "" && redirectURI == "":
		return errInvalidRequest("redirect_uri is required")
	case bound != redirectURI:
		return errInvalidGrant("redirect_uri differs from the authorization request's")
	}
	switch challenge := codeParam(cv, "code_challenge"); {
	case challenge != "" && verifier == "":
		return errInvalidRequest("code_verifier is required")
	case challenge == "" && verifier != "":
		// better-auth 1.7.29 answers it so: a request that does not fit the
		// code, rather than a code that does not fit.
		return errInvalidRequest("code_verifier sent, but the authorization request had no code_challenge")
	case challenge != "" && !verifies(verifier, challenge, codeParam(cv, "code_challenge_method")):
		return errInvalidGrant("code_verifier does not match the code_challenge")
	}
	// What IssueTokens would refuse, refused here, while the code is still
	// there: a refused request changes nothing.
	client, err := tx.ClientByClientID(clientID)
	if err != nil || client.Disabled {
		return errInvalidClient("the client is gone or disabled")
	}
	if e := checkScopes(scopeList(codeParam(cv, "scope")), client.Scopes); e != nil {
		return e
	}
	if _, err := tx.User(cv.UserID); err != nil {
		return errInvalidGrant("the code's user no longer exists")
	}
	if cv.SessionID != "" {
		sess, err := tx.Session(cv.SessionID)
		if err != nil || !now.Before(sess.ExpiresAt) {
			return errInvalidGrant("the code's session has ended")
		}
	}
	*out = cv
	return nil
}

// checkCodeProof checks the DPoP proof of a code's redemption against the
// key the authorization request bound the code to (dpop_jkt), as
// better-auth's resolveDpopTokenBinding: a proof of that key, whose
// thumbprint is jkt, is required.
func checkCodeProof(v CodeValue, jkt string) *oauthError {
	switch bound := codeParam(v, "dpop_jkt"); {
	case bound == "":
		return nil
	case jkt == "":
		return errInvalidDPoPProof("the code is bound to a DPoP key (dpop_jkt), and the request has no DPoP proof")
	case jkt != bound:
		return errInvalidDPoPProof("the DPoP proof's key is not the one the code is bound to (dpop_jkt)")
	}
	return nil
}

// verifies reports whether a PKCE verifier matches the challenge (RFC 7636
// §4.6). Only S256 is supported.
func verifies(verifier, challenge, method string) bool {
	if method != "S256" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

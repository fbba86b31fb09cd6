package bench

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/oauthdb/oauthdb"
)

// The oauthdb implementation: this project, through its public API only.

func init() {
	Register(Factory{Name: "oauthdb", New: func(now func() time.Time) (Impl, error) { return NewOauthDB(now) }})
	Register(Factory{Name: "oauthdb-cold", New: func(now func() time.Time) (Impl, error) {
		return NewOauthDB(now, oauthdb.WithValidationCache(0))
	}})
}

// OauthDB is the oauthdb implementation of [Impl]: "oauthdb" with its
// validation cache, as a service runs it, and "oauthdb-cold" without, so
// that both paths stay measured.
type OauthDB struct {
	db   *oauthdb.DB
	name string
	now  func() time.Time
	// sweepAt, when not zero, is the time the DB's clock reads: Sweep takes
	// its time as an argument, oauthdb's SweepExpired reads the clock.
	sweepAt atomic.Int64
}

// NewOauthDB opens an empty oauthdb DB whose clock is now, with opts.
func NewOauthDB(now func() time.Time, opts ...oauthdb.Option) (*OauthDB, error) {
	o := &OauthDB{now: now, name: "oauthdb"}
	if len(opts) > 0 {
		o.name = "oauthdb-cold"
	}
	db, err := oauthdb.Open(append([]oauthdb.Option{oauthdb.WithClock(o.clock)}, opts...)...)
	if err != nil {
		return nil, err
	}
	o.db = db
	return o, nil
}

func (o *OauthDB) clock() time.Time {
	if t := o.sweepAt.Load(); t != 0 {
		return time.Unix(0, t).UTC()
	}
	return o.now()
}

// DB returns the underlying database.
func (o *OauthDB) DB() *oauthdb.DB { return o.db }

// Name returns "oauthdb", or "oauthdb-cold" for the one without a cache.
func (o *OauthDB) Name() string { return o.name }

// Close does nothing: an oauthdb DB holds no resources beyond memory.
func (o *OauthDB) Close() error { return nil }

// Load inserts the rows of ds in one transaction, through DB.Restore: the
// door a service loads with (one transaction was faster than batches of
// 1,000 to 8,000 rows, bench/README.md).
func (o *OauthDB) Load(ds *Dataset) error {
	s := oauthdb.Snapshot{
		Users:         make([]oauthdb.User, len(ds.Users)),
		Sessions:      make([]oauthdb.Session, len(ds.Sessions)),
		Clients:       make([]oauthdb.OAuthClient, len(ds.Clients)),
		AccessTokens:  make([]oauthdb.OAuthAccessToken, len(ds.AccessTokens)),
		RefreshTokens: make([]oauthdb.OAuthRefreshToken, len(ds.RefreshTokens)),
		Consents:      make([]oauthdb.OAuthConsent, len(ds.Consents)),
	}
	for i, u := range ds.Users {
		s.Users[i] = oauthdb.User{ID: u.ID, Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified,
			Image: u.Image, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	}
	for i, c := range ds.Clients {
		s.Clients[i] = oauthdb.OAuthClient{ID: c.ID, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
			Disabled: c.Disabled, SkipConsent: c.SkipConsent, Public: c.Public, Name: c.Name, Scopes: c.Scopes,
			RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes,
			TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, UserID: c.UserID,
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	}
	for i, x := range ds.Sessions {
		s.Sessions[i] = oauthdb.Session{ID: x.ID, Token: x.Token, ExpiresAt: x.ExpiresAt, IPAddress: x.IPAddress,
			UserAgent: x.UserAgent, UserID: x.UserID, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt}
	}
	for i, t := range ds.RefreshTokens {
		s.RefreshTokens[i] = oauthdb.OAuthRefreshToken{ID: t.ID, Token: oauthdb.HashToken(t.Token),
			ClientID: t.ClientID, SessionID: t.SessionID, UserID: t.UserID, ReferenceID: t.ReferenceID,
			Scopes: t.Scopes, ExpiresAt: t.ExpiresAt, CreatedAt: t.CreatedAt, Revoked: t.Revoked}
	}
	for i, t := range ds.AccessTokens {
		s.AccessTokens[i] = oauthdb.OAuthAccessToken{ID: t.ID, Token: oauthdb.HashToken(t.Token),
			ClientID: t.ClientID, SessionID: t.SessionID, UserID: t.UserID, ReferenceID: t.ReferenceID,
			RefreshID: t.RefreshID, Scopes: t.Scopes, ExpiresAt: t.ExpiresAt, CreatedAt: t.CreatedAt}
	}
	for i, c := range ds.Consents {
		s.Consents[i] = oauthdb.OAuthConsent{ID: c.ID, ClientID: c.ClientID, UserID: c.UserID,
			ReferenceID: c.ReferenceID, Scopes: c.Scopes, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	}
	if err := o.db.Restore(s); err != nil {
		return fmt.Errorf("oauthdb: load: %w", err)
	}
	return nil
}

// Validate reports whether an access token is active.
func (o *OauthDB) Validate(token string) (bool, error) {
	_, err := o.db.ValidateAccessToken(token)
	if err == nil {
		return true, nil
	}
	var te *oauthdb.TokenError
	if errors.As(err, &te) {
		return false, nil
	}
	return false, err
}

// issueError maps oauthdb's errors to the harness's.
func issueError(err error) error {
	var e *oauthdb.Error
	switch {
	case errors.Is(err, oauthdb.ErrClientDisabled):
		return fmt.Errorf("%w: %w", ErrInvalidClient, err)
	case errors.Is(err, oauthdb.ErrScopeNotGranted):
		return fmt.Errorf("%w: %w", ErrInvalidScope, err)
	case errors.Is(err, oauthdb.ErrSessionExpired):
		return fmt.Errorf("%w: %w", ErrInvalidSession, err)
	case !errors.As(err, &e):
		return err
	case e.Table == oauthdb.TableOAuthClient && errors.Is(err, oauthdb.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrInvalidClient, err)
	case e.Table == oauthdb.TableSession && errors.Is(err, oauthdb.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrInvalidSession, err)
	case errors.Is(err, oauthdb.ErrNotFound), errors.Is(err, oauthdb.ErrForeignKey):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// Issue creates an access token and, with a user, a refresh token.
func (o *OauthDB) Issue(clientID, userID, sessionID string, scopes []string) (string, string, error) {
	res, err := o.db.IssueTokens(oauthdb.IssueRequest{ClientID: clientID, UserID: userID, SessionID: sessionID,
		Scopes: scopes, Refresh: userID != ""})
	if err != nil {
		return "", "", issueError(err)
	}
	return res.AccessToken, res.RefreshToken, nil
}

// Rotate exchanges a refresh token for a new access and refresh token.
func (o *OauthDB) Rotate(refresh, clientID string) (string, string, error) {
	res, err := o.db.RotateRefreshToken(refresh, clientID, nil)
	if err != nil {
		var te *oauthdb.TokenError
		switch {
		case errors.Is(err, oauthdb.ErrTokenReplayed), errors.Is(err, oauthdb.ErrTokenRevoked):
			// Rotated before, or revoked otherwise: either way the family
			// is revoked now.
			return "", "", fmt.Errorf("%w: %w", ErrReplay, err)
		case errors.As(err, &te):
			return "", "", fmt.Errorf("%w: %w", ErrInvalidGrant, err)
		}
		return "", "", err
	}
	return res.AccessToken, res.RefreshToken, nil
}

// RevokeSession revokes every token of the session.
func (o *OauthDB) RevokeSession(sessionID string) (int, error) {
	return o.db.RevokeSession(sessionID)
}

// Sweep deletes up to limit expired rows, oldest first.
func (o *OauthDB) Sweep(now time.Time, limit int) (int, error) {
	o.sweepAt.Store(now.UnixNano())
	defer o.sweepAt.Store(0)
	res, err := o.db.SweepExpired(limit)
	return res.Total(), err
}

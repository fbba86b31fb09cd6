package modeltest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/internal/refmodel"
)

// rows is one row of each table, for Read to follow every relation from.
type rows struct {
	u oauthdb.User
	s oauthdb.Session
	c oauthdb.OAuthClient
	a oauthdb.OAuthAccessToken
	r oauthdb.OAuthRefreshToken
	k oauthdb.OAuthConsent
	v oauthdb.Verification
}

// pickRow returns the ref-th row of a table, or fake when it is empty.
func pickRow[T any](table map[string]T, ref int, fake T) T {
	keys := ids(table)
	if len(keys) == 0 {
		return fake
	}
	return table[keys[ref%len(keys)]]
}

// fakeRows are rows that are not stored, every key of them key: following
// their relations must find what a row with those keys would.
func fakeRows(key string) rows {
	return rows{
		u: oauthdb.User{ID: key, Email: key},
		s: oauthdb.Session{ID: key, Token: key, UserID: key},
		c: oauthdb.OAuthClient{ID: key, ClientID: key, UserID: key},
		a: oauthdb.OAuthAccessToken{ID: key, Token: key, ClientID: key, SessionID: key, UserID: key, RefreshID: key},
		r: oauthdb.OAuthRefreshToken{ID: key, Token: key, ClientID: key, SessionID: key, UserID: key},
		k: oauthdb.OAuthConsent{ID: key, ClientID: key, UserID: key, ReferenceID: key},
		v: oauthdb.Verification{ID: key, Identifier: key},
	}
}

// read is what one lookup returned.
type read struct {
	Name string
	Val  any
	Err  ErrKind
}

// reader collects what a sequence of lookups returned.
type reader struct {
	out []read
}

func (r *reader) add(name string, v any, err error) {
	if err != nil {
		v = nil
	}
	r.out = append(r.out, read{name, v, KindOf(err)})
}

func (h *Harness) read(op Read) error {
	m := h.Model
	fake := fakeRows(op.Key)
	stored := rows{
		u: pickRow(m.Users, op.Ref, fake.u),
		s: pickRow(m.Sessions, op.Ref, fake.s),
		c: pickRow(m.Clients, op.Ref, fake.c),
		a: pickRow(m.AccessTokens, op.Ref, fake.a),
		r: pickRow(m.RefreshTokens, op.Ref, fake.r),
		k: pickRow(m.Consents, op.Ref, fake.k),
		v: pickRow(m.Verifications, op.Ref, fake.v),
	}
	var got reader
	var errs []error
	h.DB.View(func(tx *oauthdb.Tx) error {
		for _, rs := range []rows{stored, fake} {
			readTx(&got, tx, rs, &errs)
		}
		return nil
	})
	var want reader
	for _, rs := range []rows{stored, fake} {
		readModel(&want, m, rs)
	}
	for _, err := range errs {
		if strings.Contains(err.Error(), secretMark) {
			return fmt.Errorf("lookup error leaks a secret: %q", err.Error())
		}
	}
	if d := diff(got.out, want.out); d != "" {
		return fmt.Errorf("reads differ (-model +oauthdb):\n%s", d)
	}
	return nil
}

func readTx(r *reader, tx *oauthdb.Tx, rs rows, errs *[]error) {
	add := func(name string, v any, err error) {
		if err != nil {
			*errs = append(*errs, err)
		}
		r.add(name, v, err)
	}
	addTx(add, "User", tx.User, rs.u.ID)
	addTx(add, "UserByEmail", tx.UserByEmail, rs.u.Email)
	addTx(add, "Session", tx.Session, rs.s.ID)
	addTx(add, "SessionByToken", tx.SessionByToken, rs.s.Token)
	addTx(add, "Client", tx.Client, rs.c.ID)
	addTx(add, "ClientByClientID", tx.ClientByClientID, rs.c.ClientID)
	addTx(add, "AccessToken", tx.AccessToken, rs.a.ID)
	addTx(add, "AccessTokenByHash", tx.AccessTokenByHash, rs.a.Token)
	addTx(add, "RefreshToken", tx.RefreshToken, rs.r.ID)
	addTx(add, "RefreshTokenByHash", tx.RefreshTokenByHash, rs.r.Token)
	addTx(add, "Consent", tx.Consent, rs.k.ID)
	v, err := tx.ConsentFor(oauthdb.ConsentKey{ClientID: rs.k.ClientID, UserID: rs.k.UserID, ReferenceID: rs.k.ReferenceID})
	add("ConsentFor", v, err)
	addTx(add, "Verification", tx.Verification, rs.v.ID)
	addTx(add, "VerificationByIdentifier", tx.VerificationByIdentifier, rs.v.Identifier)

	addTx(add, "ClientUser", tx.ClientUser, rs.c)
	add("ClientRefreshTokens", slices.Collect(tx.ClientRefreshTokens(rs.c)), nil)
	add("ClientAccessTokens", slices.Collect(tx.ClientAccessTokens(rs.c)), nil)
	add("ClientConsents", slices.Collect(tx.ClientConsents(rs.c)), nil)
	addTx(add, "RefreshTokenClient", tx.RefreshTokenClient, rs.r)
	addTx(add, "RefreshTokenSession", tx.RefreshTokenSession, rs.r)
	addTx(add, "RefreshTokenUser", tx.RefreshTokenUser, rs.r)
	add("RefreshTokenAccessTokens", slices.Collect(tx.RefreshTokenAccessTokens(rs.r)), nil)
	addTx(add, "AccessTokenClient", tx.AccessTokenClient, rs.a)
	addTx(add, "AccessTokenSession", tx.AccessTokenSession, rs.a)
	addTx(add, "AccessTokenUser", tx.AccessTokenUser, rs.a)
	addTx(add, "AccessTokenRefreshToken", tx.AccessTokenRefreshToken, rs.a)
	addTx(add, "ConsentClient", tx.ConsentClient, rs.k)
	addTx(add, "ConsentUser", tx.ConsentUser, rs.k)
	add("UserSessions", slices.Collect(tx.UserSessions(rs.u)), nil)
	add("UserClients", slices.Collect(tx.UserClients(rs.u)), nil)
	add("UserRefreshTokens", slices.Collect(tx.UserRefreshTokens(rs.u)), nil)
	add("UserAccessTokens", slices.Collect(tx.UserAccessTokens(rs.u)), nil)
	add("UserConsents", slices.Collect(tx.UserConsents(rs.u)), nil)
	addTx(add, "SessionUser", tx.SessionUser, rs.s)
	add("SessionRefreshTokens", slices.Collect(tx.SessionRefreshTokens(rs.s)), nil)
	add("SessionAccessTokens", slices.Collect(tx.SessionAccessTokens(rs.s)), nil)
}

func addTx[K, V any](add func(string, any, error), name string, get func(K) (V, error), key K) {
	v, err := get(key)
	add(name, v, err)
}

func readModel(r *reader, m *refmodel.Model, rs rows) {
	add := r.add
	addTx(add, "User", m.User, rs.u.ID)
	addTx(add, "UserByEmail", m.UserByEmail, rs.u.Email)
	addTx(add, "Session", m.Session, rs.s.ID)
	addTx(add, "SessionByToken", m.SessionByToken, rs.s.Token)
	addTx(add, "Client", m.Client, rs.c.ID)
	addTx(add, "ClientByClientID", m.ClientByClientID, rs.c.ClientID)
	addTx(add, "AccessToken", m.AccessToken, rs.a.ID)
	addTx(add, "AccessTokenByHash", m.AccessTokenByHash, rs.a.Token)
	addTx(add, "RefreshToken", m.RefreshToken, rs.r.ID)
	addTx(add, "RefreshTokenByHash", m.RefreshTokenByHash, rs.r.Token)
	addTx(add, "Consent", m.Consent, rs.k.ID)
	v, err := m.ConsentFor(rs.k.ClientID, rs.k.UserID, rs.k.ReferenceID)
	add("ConsentFor", v, err)
	addTx(add, "Verification", m.Verification, rs.v.ID)
	addTx(add, "VerificationByIdentifier", m.VerificationByIdentifier, rs.v.Identifier)

	addTx(add, "ClientUser", m.ClientUser, rs.c)
	add("ClientRefreshTokens", m.ClientRefreshTokens(rs.c), nil)
	add("ClientAccessTokens", m.ClientAccessTokens(rs.c), nil)
	add("ClientConsents", m.ClientConsents(rs.c), nil)
	addTx(add, "RefreshTokenClient", m.RefreshTokenClient, rs.r)
	addTx(add, "RefreshTokenSession", m.RefreshTokenSession, rs.r)
	addTx(add, "RefreshTokenUser", m.RefreshTokenUser, rs.r)
	add("RefreshTokenAccessTokens", m.RefreshTokenAccessTokens(rs.r), nil)
	addTx(add, "AccessTokenClient", m.AccessTokenClient, rs.a)
	addTx(add, "AccessTokenSession", m.AccessTokenSession, rs.a)
	addTx(add, "AccessTokenUser", m.AccessTokenUser, rs.a)
	addTx(add, "AccessTokenRefreshToken", m.AccessTokenRefreshToken, rs.a)
	addTx(add, "ConsentClient", m.ConsentClient, rs.k)
	addTx(add, "ConsentUser", m.ConsentUser, rs.k)
	add("UserSessions", m.UserSessions(rs.u), nil)
	add("UserClients", m.UserClients(rs.u), nil)
	add("UserRefreshTokens", m.UserRefreshTokens(rs.u), nil)
	add("UserAccessTokens", m.UserAccessTokens(rs.u), nil)
	add("UserConsents", m.UserConsents(rs.u), nil)
	addTx(add, "SessionUser", m.SessionUser, rs.s)
	add("SessionRefreshTokens", m.SessionRefreshTokens(rs.s), nil)
	add("SessionAccessTokens", m.SessionAccessTokens(rs.s), nil)
}

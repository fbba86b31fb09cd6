package oauthdbtest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/oauthdbtest"
)

// An example cannot receive a *testing.T, so these examples make a stand-in
// that prints failures and runs cleanups when the example ends. In a test,
// use the test's t.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func newExampleT() *exampleT { return &exampleT{} }

func (t *exampleT) Helper()                           {}
func (t *exampleT) Cleanup(f func())                  { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Errorf(format string, args ...any) { fmt.Printf("FAIL: "+format+"\n", args...) }
func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *exampleT) Logf(format string, args ...any)   {} // an example's output is what it prints

func (t *exampleT) finish() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// Seeding a scenario: records built with defaults where the test does not
// care, a fixture file for the rest, and a fake clock to make time pass.
func Example_seedScenario() {
	t := newExampleT() // in a test: the test's *testing.T
	defer t.finish()

	fx := oauthdbtest.New(t)
	alice := fx.User(oauthdbtest.Name("Alice"))
	notes := fx.Client(oauthdbtest.Name("Notes"), oauthdbtest.Scopes("notes:read", "notes:write"))
	token, _ := fx.AccessToken(notes, fx.Session(alice), oauthdbtest.Scopes("notes:read"))
	_, legacy := fx.AccessToken(notes, fx.Session(alice), oauthdbtest.Expired())

	// More of the world, from a file in better-auth's field names.
	fx.Load("testdata/scenario.json")

	info, err := fx.ValidateAccessToken(token)
	fmt.Println(info.User.Name, info.Client.Name, info.Token.Scopes, err)
	_, err = fx.ValidateAccessToken("alice-access") // written "plain:alice-access" in the file
	fmt.Println("alice-access:", err)
	fmt.Println("expired fixture:", legacy.ExpiresAt.Before(fx.Now()))

	fx.Clock.Advance(time.Hour)
	_, err = fx.ValidateAccessToken(token)
	fmt.Println("an hour later:", errors.Is(err, oauthdb.ErrTokenExpired))

	state := oauthdbtest.Dump(fx.DB)
	fmt.Println(len(state.Users), "users,", len(state.Clients), "clients,", len(state.AccessTokens), "access tokens")
	// Output:
	// Alice Notes [notes:read] <nil>
	// alice-access: <nil>
	// expired fixture: true
	// an hour later: true
	// 3 users, 2 clients, 4 access tokens
}

// signOut is the code under test: it signs a user out of one device, which
// must revoke the tokens of that session and no others.
func signOut(db *oauthdb.DB, sessionID string) error {
	_, err := db.RevokeSession(sessionID)
	return err
}

// Asserting that the code under test revoked exactly the tokens it should:
// the wanted state is the state before, less what the code must revoke.
func Example_assertRevocations() {
	t := newExampleT() // in a test: the test's *testing.T
	defer t.finish()

	fx := oauthdbtest.New(t)
	alice := fx.User()
	laptop, phone := fx.Session(alice), fx.Session(alice)
	app := fx.Client()
	_, refresh := fx.RefreshToken(app, laptop)
	fx.AccessToken(app, laptop, oauthdbtest.WithRefresh(refresh))
	fx.AccessToken(app, laptop)
	phoneToken, _ := fx.AccessToken(app, phone)

	before := oauthdbtest.Dump(fx.DB)
	if err := signOut(fx.DB, laptop.ID); err != nil {
		t.Fatalf("signOut: %v", err)
	}

	// The laptop's access tokens are deleted and its refresh token marked
	// revoked; the phone's token stays.
	want := before.Clone()
	want.AccessTokens = slices.DeleteFunc(want.AccessTokens, func(a oauthdb.OAuthAccessToken) bool {
		return a.SessionID == laptop.ID
	})
	want.RefreshTokens[0].Revoked = fx.Now()
	oauthdbtest.AssertState(t, fx.DB, want)

	_, err := fx.ValidateAccessToken(phoneToken)
	fmt.Println("the phone's token:", err)
	// Output:
	// the phone's token: <nil>
}

// notesAPI is an HTTP resource server under test: it serves a user's notes
// to a bearer token that the authorization server, asked by RFC 7662
// introspection, says is active and has the scope notes:read.
//
// better-auth introspects a token only for the client it was issued to, so
// the API introspects with that client's credentials.
type notesAPI struct {
	introspectURL, clientID, secret string
}

func (a notesAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, "invalid_request", http.StatusUnauthorized)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, a.introspectURL,
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.clientID), url.QueryEscape(a.secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	var introspection struct {
		Active bool   `json:"active"`
		Scope  string `json:"scope"`
		Sub    string `json:"sub"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&introspection); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	switch {
	case !introspection.Active:
		http.Error(w, "invalid_token", http.StatusUnauthorized)
	case !slices.Contains(strings.Fields(introspection.Scope), "notes:read"):
		http.Error(w, "insufficient_scope", http.StatusForbidden)
	default:
		fmt.Fprintf(w, "the notes of %s", introspection.Sub)
	}
}

// Testing an HTTP resource server that introspects tokens at the fake
// authorization server.
func Example_resourceServer() {
	t := newExampleT() // in a test: the test's *testing.T
	defer t.finish()

	fx := oauthdbtest.New(t)
	auth := oauthdbtest.NewServer(t, fx.DB)
	app := fx.Client(oauthdbtest.Scopes("notes:read", "notes:write"))
	alice := fx.User(oauthdbtest.WithID("alice"))
	session := fx.Session(alice)
	reader, _ := fx.AccessToken(app, session, oauthdbtest.Scopes("notes:read"))
	writer, _ := fx.AccessToken(app, session, oauthdbtest.Scopes("notes:write"))

	api := httptest.NewServer(notesAPI{auth.URL + oauthdbtest.PathIntrospect, app.ClientID, fx.Secret(app)})
	defer api.Close()
	get := func(token string) {
		req, _ := http.NewRequest(http.MethodGet, api.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}

	get(reader)
	get(writer)
	get("forged")
	fx.RevokeSession(session.ID) // alice signs out
	get(reader)
	// Output:
	// 200 the notes of alice
	// 403 insufficient_scope
	// 401 invalid_token
	// 401 invalid_token
}

package resourceserver_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/oauthdb/oauthdb"
	"github.com/oauthdb/oauthdb/resourceserver"
)

// The three-line setup: a Verifier over the DB, and a route that needs a
// scope. The handler reads the token from the request's context.
func Example() {
	db, _ := oauthdb.Open()
	tokens := exampleToken(db, "read") // a token better-auth issued, say

	rs, err := resourceserver.New(db, resourceserver.Config{Realm: "api"})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/notes", rs.RequireScopes("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := resourceserver.FromContext(r.Context())
		fmt.Fprintf(w, "notes of %s, for %s", tok.User.Email, tok.Client.ClientID)
	})))

	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, auth := range []string{"Bearer " + tokens, "", "Bearer not-a-token"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/notes", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, _ := http.DefaultClient.Do(req)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			fmt.Println(resp.StatusCode, string(body))
		} else {
			fmt.Println(resp.StatusCode, resp.Header.Values("WWW-Authenticate")[0])
		}
	}
	// Output:
	// 200 notes of ada@example.com, for notes-app
	// 401 Bearer realm="api"
	// 401 Bearer realm="api", error="invalid_token", error_description="the access token is not active"
}

// RequireScopes behind Middleware: one check of the token for a whole
// mux, and each route asks for its scopes.
func ExampleVerifier_RequireScopes() {
	db, _ := oauthdb.Open()
	token := exampleToken(db, "read")
	rs, _ := resourceserver.New(db, resourceserver.Config{})

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux := http.NewServeMux()
	mux.Handle("GET /notes", rs.RequireScopes("read")(ok))
	mux.Handle("DELETE /notes", rs.RequireScopes("read", "write")(ok))
	srv := httptest.NewServer(rs.Middleware(mux))
	defer srv.Close()

	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req, _ := http.NewRequest(method, srv.URL+"/notes", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, _ := http.DefaultClient.Do(req)
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprint(method, " ", resp.StatusCode, " ", resp.Header.Get("WWW-Authenticate"))))
	}
	// Output:
	// GET 200
	// DELETE 403 Bearer error="insufficient_scope", error_description="the access token lacks a scope this resource needs", scope="read write"
}

// exampleToken issues an access token of scopes for a user of a client.
func exampleToken(db *oauthdb.DB, scopes ...string) string {
	err := db.Update(func(tx *oauthdb.Tx) error {
		if err := tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}); err != nil {
			return err
		}
		return tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "notes-app", RedirectURIs: []string{"https://notes.example/cb"}})
	})
	if err != nil {
		panic(err)
	}
	t, err := db.IssueTokens(oauthdb.IssueRequest{ClientID: "notes-app", UserID: "u1", Scopes: scopes})
	if err != nil {
		panic(err)
	}
	return t.AccessToken
}

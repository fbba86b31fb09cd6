package authserver

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// world is a DB with a confidential and a public client and a token of the
// confidential one's, and the endpoint over it.
type world struct {
	db    *oauthdb.DB
	in    *Introspection
	token string
	obs   *recorder
}

// recorder is an Observer that keeps what it was told.
type recorder struct {
	auth    []AuthResult
	verdict []error
}

func (r *recorder) ClientAuthenticated(a AuthResult)     { r.auth = append(r.auth, a) }
func (r *recorder) Introspected(refresh bool, err error) { r.verdict = append(r.verdict, err) }

func newWorld(t *testing.T, opts ...oauthdb.Option) *world {
	t.Helper()
	db, err := oauthdb.Open(opts...)
	if err != nil {
		t.Fatal(err)
	}
	src := db
	if db.IsReplica() {
		// A replica's rows come from a source: build them there.
		if src, err = oauthdb.Open(); err != nil {
			t.Fatal(err)
		}
	}
	err = src.Update(func(tx *oauthdb.Tx) error {
		return errors.Join(
			tx.InsertUser(oauthdb.User{ID: "u1", Name: "Ada", Email: "ada@example.com"}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c1", ClientID: "api", ClientSecret: oauthdb.HashSecret("s3cret"),
				RedirectURIs: []string{"https://api.example/cb"}}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c2", ClientID: "spa", TokenEndpointAuthMethod: "none",
				RedirectURIs: []string{"https://spa.example/cb"}}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c3", ClientID: "rs", ClientSecret: oauthdb.HashSecret("s3cret"),
				TokenEndpointAuthMethod: MethodPost, RedirectURIs: []string{"https://rs.example/cb"}}),
			tx.InsertClient(oauthdb.OAuthClient{ID: "c4", ClientID: "legacy-spa", Public: true,
				RedirectURIs: []string{"https://legacy.example/cb"}}),
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	issued, err := src.IssueTokens(oauthdb.IssueRequest{ClientID: "api", UserID: "u1", Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	if db.IsReplica() {
		snap := src.Snapshot()
		if _, err := db.Reload(func(mt *oauthdb.MirrorTx) error { return mt.PutAll(snap) }); err != nil {
			t.Fatal(err)
		}
	}
	w := &world{db: db, token: issued.AccessToken, obs: &recorder{}}
	w.in = NewIntrospection(db, IntrospectionConfig{Issuer: "https://auth.example", Realm: "r", Observer: w.obs})
	return w
}

func (w *world) post(body string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/introspect", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	w.in.ServeHTTP(rec, r)
	return rec
}

func basic(id, secret string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(id, secret)
	return r.Header.Get("Authorization")
}

// TestAuthenticateClient: every way a caller can present itself, and the
// answer and the result it gets.
func TestAuthenticateClient(t *testing.T) {
	w := newWorld(t)
	tok := "token=" + w.token
	tests := []struct {
		name   string
		body   string
		header []string
		status int
		result AuthResult
	}{
		{"basic", tok, []string{"Authorization", basic("api", "s3cret")}, 200, AuthOK},
		{"post", tok + "&client_id=rs&client_secret=s3cret", nil, 200, AuthOK},
		// A client uses the method it registered, client_secret_basic when
		// it registered none, as better-auth 1.7.29 demands.
		{"post, registered for basic by default", tok + "&client_id=api&client_secret=s3cret", nil, 401, AuthWrongMethod},
		{"basic, registered for post", tok, []string{"Authorization", basic("rs", "s3cret")}, 401, AuthWrongMethod},
		{"a 1.4 public client", tok + "&client_id=legacy-spa", nil, 401, AuthPublic},
		{"basic, the same client_id in the body", tok + "&client_id=api", []string{"Authorization", basic("api", "s3cret")}, 200, AuthOK},
		{"basic, scheme in lower case", tok, []string{"Authorization", "basic " + strings.TrimPrefix(basic("api", "s3cret"), "Basic ")}, 200, AuthOK},
		{"two Authorization headers", tok, []string{"Authorization", basic("api", "s3cret"), "Authorization", basic("api", "s3cret")}, 400, AuthMalformed},
		{"basic and client_secret", tok + "&client_secret=s3cret", []string{"Authorization", basic("api", "s3cret")}, 400, AuthMalformed},
		{"basic and another client_id", tok + "&client_id=spa", []string{"Authorization", basic("api", "s3cret")}, 400, AuthMalformed},
		{"a scheme that is no token", tok, []string{"Authorization", "@@@ x"}, 400, AuthMalformed},
		{"bearer", tok, []string{"Authorization", "Bearer " + w.token}, 401, AuthMalformed},
		{"basic, not base64", tok, []string{"Authorization", "Basic !!!"}, 401, AuthMalformed},
		{"basic, no colon", tok, []string{"Authorization", "Basic YXBp"}, 401, AuthMalformed},
		{"nothing", tok, nil, 401, AuthMissing},
		{"an empty client_id", tok + "&client_id=", nil, 401, AuthMissing},
		{"unknown", tok, []string{"Authorization", basic("nobody", "x")}, 401, AuthUnknown},
		{"a NUL in the client_id", tok + "&client_id=a%00b&client_secret=x", nil, 401, AuthUnknown},
		{"wrong secret", tok + "&client_id=rs&client_secret=nope", nil, 401, AuthBadSecret},
		{"wrong secret, basic", tok, []string{"Authorization", basic("api", "nope")}, 401, AuthBadSecret},
		{"a confidential client without its secret", tok + "&client_id=api", nil, 401, AuthBadSecret},
		{"a public client", tok + "&client_id=spa", nil, 401, AuthPublic},
		{"a public client with a secret", tok + "&client_id=spa&client_secret=x", nil, 401, AuthBadSecret},
	}
	for _, tt := range tests {
		w.obs.auth = nil
		got := w.post(tt.body, tt.header...)
		if got.Code != tt.status || len(w.obs.auth) != 1 || w.obs.auth[0] != tt.result {
			t.Errorf("%s: %d %v %s, want %d %v", tt.name, got.Code, w.obs.auth, got.Body, tt.status, tt.result)
		}
		if got.Code == 401 && got.Header().Get("Www-Authenticate") != `Basic realm="r", charset="UTF-8"` {
			t.Errorf("%s: 401 challenge %q", tt.name, got.Header().Get("Www-Authenticate"))
		}
		if strings.Contains(got.Body.String(), "s3cret") || strings.Contains(got.Body.String(), w.token) {
			t.Errorf("%s: the answer echoes a secret: %s", tt.name, got.Body)
		}
	}
}

// TestStaleReplica: a replica that cannot vouch for its rows refuses the
// caller's authentication with 503, and past authentication (freshness
// lapsing in between) the token's answer is ErrStale too — never an
// inactive answer.
func TestStaleReplica(t *testing.T) {
	now := time.Now()
	w := newWorld(t, oauthdb.WithReplica(), oauthdb.WithClock(func() time.Time { return now }))
	got := w.post("token="+w.token, "Authorization", basic("api", "s3cret"))
	if got.Code != 503 || got.Header().Get("Retry-After") != "1" || !strings.Contains(got.Body.String(), "temporarily_unavailable") {
		t.Errorf("stale: %d %v %s", got.Code, got.Header(), got.Body)
	}
	if len(w.obs.auth) != 1 || w.obs.auth[0] != AuthStale {
		t.Errorf("results %v", w.obs.auth)
	}
	caller := oauthdb.OAuthClient{ClientID: "api"}
	if _, err := w.in.answer(nil, w.token, "", &caller); !errors.Is(err, oauthdb.ErrStale) {
		t.Errorf("answer on a stale replica: %v, want ErrStale", err)
	}
	if len(w.obs.verdict) != 1 || !errors.Is(w.obs.verdict[0], oauthdb.ErrStale) {
		t.Errorf("verdicts %v", w.obs.verdict)
	}
	w.db.SetFreshUntil(now.Add(time.Minute))
	if got := w.post("token="+w.token, "Authorization", basic("api", "s3cret")); got.Code != 200 ||
		!strings.HasPrefix(got.Body.String(), `{"active":true,"iss":"https://auth.example","client_id":"api","azp":"api","sub":"u1"`) {
		t.Errorf("fresh: %d %s", got.Code, got.Body)
	}
}

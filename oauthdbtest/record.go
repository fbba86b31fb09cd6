package oauthdbtest

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
)

// Request is a request the server received, as a test asserts on what the
// code under test sent. Secrets are never kept: every parameter that holds
// one — client_secret, code, code_verifier, refresh_token, token,
// access_token, id_token_hint and the like — and the bearer token hold
// Fingerprint of the value instead, and the Basic credentials only their
// client ID.
type Request struct {
	// Method and Path are the request's HTTP method and URL path.
	Method, Path string
	// Params are the request's parameters: its query and, for a form POST,
	// its form, with secrets masked.
	Params url.Values
	// GrantType is the grant_type parameter.
	GrantType string
	// ClientID is the client that the request names: the Basic user name,
	// or else the client_id parameter.
	ClientID string
	// ClientAuth is how the client sent its credentials:
	// client_secret_basic, client_secret_post, none (a client_id alone), or
	// empty when it sent neither. It says what was sent, not whether it
	// was right: Status says that.
	ClientAuth string
	// Bearer is the Fingerprint of an "Authorization: Bearer" token.
	Bearer string
	// Scopes are the scope parameter's scopes.
	Scopes []string
	// Status is the HTTP status the server answered; 0 if the client gave
	// up first.
	Status int
	// Fault describes the injected fault the request met (Fault.String),
	// or is empty.
	Fault string
}

// maskedParams are the parameters whose values are secrets.
var maskedParams = []string{
	"client_secret", "code", "code_verifier", "refresh_token", "token", "access_token",
	"id_token", "id_token_hint", "client_assertion", "assertion", "password",
	"subject_token", "actor_token", "device_code",
}

// Fingerprint is how the kit shows a secret — a token, a code, a client
// secret — in a report or a recorded Request: eight characters of its
// SHA-256 hash, enough to tell two secrets apart and too few to recover
// either. A test compares Fingerprint(token) with what a Request holds.
func Fingerprint(secret string) string { return fingerprint(secret) }

// Requests returns the requests the server has received, in the order they
// arrived; with paths, only those to one of them.
func (s *Server) Requests(paths ...string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if len(paths) == 0 || slices.Contains(paths, r.Path) {
			r.Params = cloneValues(r.Params)
			r.Scopes = slices.Clone(r.Scopes)
			out = append(out, r)
		}
	}
	return out
}

// maxBody bounds a request body: no request to the server is anywhere near
// it.
const maxBody = 1 << 20

// record notes a request as it arrives and returns the index of its entry,
// for setStatus. It reads the body, which it gives back to r for the
// endpoint; a body over maxBody is answered 413 and the request goes no
// further (ok is false).
func (s *Server) record(w http.ResponseWriter, r *http.Request) (i int, ok bool) {
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || len(body) > maxBody {
			writeError(w, &oauthError{http.StatusRequestEntityTooLarge, "invalid_request", "the request body is too large or unreadable"})
			return 0, false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	params := r.URL.Query()
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/x-www-form-urlencoded" {
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k, vs := range form {
				params[k] = append(params[k], vs...)
			}
		}
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, GrantType: params.Get("grant_type"),
		ClientID: params.Get("client_id"), Scopes: scopeList(params.Get("scope"))}
	switch user, _, basic := r.BasicAuth(); {
	case basic:
		rec.ClientAuth = "client_secret_basic"
		if id, err := url.QueryUnescape(user); err == nil {
			rec.ClientID = id
		}
	case params.Has("client_secret"):
		rec.ClientAuth = "client_secret_post"
	case params.Has("client_id") && r.URL.Path != PathAuthorize && r.URL.Path != PathEndSession:
		rec.ClientAuth = "none"
	}
	if tok, ok := bearerToken(r); ok {
		rec.Bearer = fingerprint(tok)
	}
	for _, k := range maskedParams {
		for j, v := range params[k] {
			params[k][j] = fingerprint(v)
		}
	}
	rec.Params = params
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	return len(s.requests) - 1, true
}

// setStatus completes the entry of a request once it is answered.
func (s *Server) setStatus(i, status int, f *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[i].Status = status
	if f != nil {
		s.requests[i].Fault = f.String()
	}
}

// statusWriter remembers the status a handler answers with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// cloneValues copies url.Values, so that a test cannot change the record.
func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

package oauthdbtest

import (
	"fmt"
	"github.com/oauthdb/oauthdb/resourceserver"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/oauthdb/oauthdb"
)

// Fault is what the server does, on purpose, to a request to one of its
// endpoints: answer it slowly, fail it with an OAuth error, or both — for
// tests of how the code under test handles an authorization server in
// trouble. See Server.InjectFault.
type Fault struct {
	// Error is the OAuth error code to answer with, such as
	// "temporarily_unavailable" or "server_error". Empty: the request is
	// served, after Delay.
	Error string
	// Description is the error_description; the default says the error was
	// injected.
	Description string
	// Status is the HTTP status of the error. 0 picks the usual one for
	// Error: 503 for temporarily_unavailable, 500 for server_error, 401 for
	// invalid_client and invalid_token, 400 for any other.
	Status int
	// Delay is how long the server waits, on the real clock, before it
	// answers. A client that gives up first sees its own timeout, and the
	// request is then not served at all.
	Delay time.Duration
}

// fault is an injected Fault with its count.
type fault struct {
	Fault
	left int // requests it still meets; < 0: every request
}

// InjectFault makes the next n requests to the endpoint path (PathToken,
// say) meet f; n <= 0 makes every request meet it. Faults on one path are
// met in the order they were injected. The fault is removed when t ends —
// pass a subtest's t to scope it to the subtest — or when remove is called.
//
// An error answers as the endpoint answers its own errors: a JSON error
// object; at PathUserInfo, with an RFC 6750 WWW-Authenticate challenge; at
// PathAuthorize, by redirect to the client when the request names a client
// and one of its redirect URIs (RFC 6749 §4.1.2.1), whose status is then
// 302 whatever Status says. A request failed by a fault, or given up on
// during its delay, changes nothing in the DB. It fails the test if path is
// not one of the server's endpoints, or f has neither an Error nor a Delay,
// or its Error or Status is not an error's.
func (s *Server) InjectFault(t testing.TB, path string, n int, f Fault) (remove func()) {
	t.Helper()
	if !slices.Contains(endpoints, path) {
		t.Fatalf("oauthdbtest: InjectFault: %q is not an endpoint of the server", path)
	}
	if f.Error == "" && f.Delay <= 0 {
		t.Fatalf("oauthdbtest: InjectFault: the fault has neither an Error nor a Delay")
	}
	if !validErrorCode(f.Error) {
		t.Fatalf("oauthdbtest: InjectFault: %q is not an OAuth error code (RFC 6749 §5.2)", f.Error)
	}
	if f.Error != "" {
		if f.Status == 0 {
			f.Status = defaultFaultStatus(f.Error)
		}
		if f.Status < 400 || f.Status > 599 {
			t.Fatalf("oauthdbtest: InjectFault: status %d is not an error status", f.Status)
		}
		if f.Description == "" {
			f.Description = "injected by the test (Server.InjectFault)"
		}
	}
	if n <= 0 {
		n = -1
	}
	ft := &fault{Fault: f, left: n}
	s.mu.Lock()
	s.faults[path] = append(s.faults[path], ft)
	s.mu.Unlock()
	remove = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.faults[path] = slices.DeleteFunc(s.faults[path], func(x *fault) bool { return x == ft })
	}
	t.Cleanup(remove)
	return remove
}

// validErrorCode reports whether code is empty or an RFC 6749 error code:
// printable ASCII without '"' and '\'.
func validErrorCode(code string) bool {
	for _, c := range []byte(code) {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return len(code) <= 128
}

// defaultFaultStatus is the status an endpoint answers error code with.
func defaultFaultStatus(code string) int {
	switch code {
	case "temporarily_unavailable":
		return http.StatusServiceUnavailable
	case "server_error":
		return http.StatusInternalServerError
	case "invalid_client", "invalid_token":
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// takeFault returns the fault the next request to path meets, and counts
// it, or nil.
func (s *Server) takeFault(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.faults[path]
	if len(fs) == 0 {
		return nil
	}
	ft := fs[0]
	if ft.left > 0 {
		ft.left--
		if ft.left == 0 {
			s.faults[path] = fs[1:]
		}
	}
	f := ft.Fault
	return &f
}

// meetFault does to a request what its fault says, and reports whether it
// answered the request; if not, the endpoint serves it.
func (s *Server) meetFault(w http.ResponseWriter, r *http.Request, path string, f *Fault) (answered bool) {
	if f.Delay > 0 {
		timer := time.NewTimer(f.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return true // the client gave up: serve nothing
		case <-s.stop:
			// The test is over; answer at once so that Close need not wait.
			writeError(w, &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "the test ended during an injected delay"})
			return true
		}
	}
	if f.Error == "" {
		return false
	}
	e := &oauthError{f.Status, f.Error, f.Description}
	switch path {
	case PathUserInfo:
		s.rs.WriteError(w, &resourceserver.Error{Status: e.status, Code: e.code, Description: e.description})
	case PathAuthorize:
		if to, ok := s.trustedRedirect(r.URL.Query()); ok {
			params := to.Query()
			params.Set("error", e.code)
			params.Set("error_description", e.description)
			if st := r.URL.Query().Get("state"); st != "" {
				params.Set("state", st)
			}
			params.Set("iss", s.URL)
			to.RawQuery = params.Encode()
			http.Redirect(w, r, to.String(), http.StatusFound)
			return true
		}
		writeError(w, e)
	default:
		writeError(w, e)
	}
	return true
}

// trustedRedirect returns the redirect URI of an authorization request if
// it is one of the named client's: where an error may be sent.
func (s *Server) trustedRedirect(q url.Values) (*url.URL, bool) {
	if checkRepeats(q) != nil {
		return nil, false
	}
	var c oauthdb.OAuthClient
	err := s.db.View(func(tx *oauthdb.Tx) error {
		var err error
		c, err = tx.ClientByClientID(q.Get("client_id"))
		return err
	})
	redirect := q.Get("redirect_uri")
	if err != nil || c.Disabled || !slices.Contains(c.RedirectURIs, redirect) {
		return nil, false
	}
	to, err := url.Parse(redirect)
	return to, err == nil
}

// String describes a fault for a test's log.
func (f Fault) String() string {
	switch {
	case f.Error == "":
		return fmt.Sprintf("delay %v", f.Delay)
	case f.Delay > 0:
		return fmt.Sprintf("%s (%d) after %v", f.Error, f.Status, f.Delay)
	}
	return fmt.Sprintf("%s (%d)", f.Error, f.Status)
}

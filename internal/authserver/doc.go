// Package authserver holds what oauthdb's two authorization-server fronts —
// the sidecar `oauthdb serve` and the test kit's fake server
// (oauthdbtest.NewServer) — answer alike: client authentication at the
// token, introspection and revocation endpoints (RFC 6749 §2.3), and the
// RFC 7662 introspection endpoint, with better-auth 1.7's fields, refusals
// and errors.
//
// It is internal because nothing outside this module should mount it: a
// service that wants introspection answered runs `oauthdb serve`, and a
// service that validates tokens itself uses package resourceserver. Two
// copies of this logic had drifted apart (the fake answered no aud, azp,
// cnf or DPoP token_type, refused no pairwise client and did not fail
// closed on a stale replica); one copy cannot.
//
// The introspection endpoint is on serve's hot path: its form parser and
// JSON answers are written by hand into pooled buffers (see
// bench/README.md for what encoding/json and url.ParseQuery cost there).
package authserver

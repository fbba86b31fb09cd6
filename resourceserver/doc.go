// Package resourceserver is the last mile of a Go service that accepts
// better-auth's access tokens and validates them with an oauthdb.DB — the
// embedded cache, or a replica of better-auth's Postgres (package
// pgreplica): net/http middleware that takes the token from the request,
// validates it, checks the DPoP proof of a token bound to a key, and
// answers a refusal as RFC 6750 and RFC 9449 say.
//
// The setup is three lines:
//
//	rs, err := resourceserver.New(db, resourceserver.Config{Realm: "api"})
//	// if err != nil: a Config that cannot be (an unsafe DPoP algorithm)
//	mux.Handle("/v1/", rs.RequireScopes("read")(api))
//
// and a handler reads the token behind it with FromContext:
//
//	tok, _ := resourceserver.FromContext(r.Context())
//	fmt.Fprintln(w, tok.User.Email, tok.Client.ClientID, tok.Token.Scopes)
//
// # What it checks
//
// The token comes from the Authorization header (RFC 6750 §2.1), with the
// Bearer scheme, or the DPoP scheme for a token bound to a key; the form
// body (§2.2) and the query (§2.3) only when Config says so. It is
// validated by the DB (oauthdb.DB.ValidateAccessToken, its validation
// cache in front): found, unexpired, unrevoked, its client enabled, its
// user and session alive.
//
// A token whose confirmation names a DPoP key (cnf.jkt, as better-auth 1.7
// issues to clients with dpopBoundAccessTokens) must come with the DPoP
// scheme and a proof in the DPoP header (RFC 9449 §4.3, §7.1): a compact
// JWT of type dpop+jwt, signed with an asymmetric algorithm of
// Config.DPoPAlgorithms by the key in its jwk header, whose RFC 7638
// thumbprint is the token's cnf.jkt; its htm the request's method, its htu
// the request's URL without query and fragment (both normalized as RFC
// 3986 §6.2.2–6.2.3 say), its iat within Config.DPoPMaxAge of the DB's
// clock, its ath the base64url SHA-256 of the access token, and its jti
// not seen before within that window. A bound token presented as Bearer
// is refused: without the proof, a stolen DPoP-bound token would be a
// plain bearer token. Server-provided DPoP nonces (§8, §9) are not used.
// Verifier.CheckProof makes the same checks of a token request's proof,
// which comes with no access token, for an authorization server.
//
// # How it refuses
//
//   - no token: 401 with a Bearer and a DPoP challenge, without an error
//     code (RFC 6750 §3.1);
//   - a malformed request (two Authorization headers, a token sent two
//     ways): 400 invalid_request;
//   - a token that is missing after its scheme, malformed, unknown,
//     expired, revoked, or whose client, user or session is gone: 401
//     invalid_token;
//   - a bad or missing DPoP proof: 401 invalid_dpop_proof, challenging
//     with DPoP and the accepted algorithms (RFC 9449 §7.1);
//   - a token without a scope RequireScopes needs: 403 insufficient_scope,
//     naming the scopes needed;
//   - a DB that cannot vouch for its rows now (oauthdb.ErrStale: a replica
//     that is stale), or a replay cache that is full, or holds its share
//     of the proofs of the request's key: 503 with
//     Retry-After, never a 401, which a client would take for a revoked
//     token;
//   - a failure of the store: 500, logged (never with a token).
//
// Every refusal has a JSON body, {"error": …, "error_description": …},
// and Cache-Control: no-store.
//
// # gRPC
//
// There is no gRPC interceptor here, on purpose: it would make every user
// of this module download google.golang.org/grpc, and DPoP's htm and htu
// are HTTP's. A service that wants one calls Verifier.Authenticate from a
// few lines of its own over an *http.Request built from the call's
// metadata.
package resourceserver

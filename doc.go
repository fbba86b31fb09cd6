// Package oauthdb is an embedded, in-memory, relational store for the data
// of an OAuth 2.1 / OpenID provider, built on hashicorp/go-memdb.
//
// Its tables and relations are those of the better-auth oauth-provider
// plugin — user, session, oauthClient, oauthAccessToken, oauthRefreshToken,
// oauthConsent, and verification for authorization codes — so a Go service
// can hold the same rows as a better-auth server, follow the same relations
// and validate the same tokens.
//
// # Where to start
//
// oauthdb serves three uses, each with a package of its own beside this one:
//
//   - In a Go service's unit tests, [github.com/oauthdb/oauthdb/oauthdbtest]
//     gives each test a fresh DB with a fake clock, fixture builders and
//     files, state diffs, and a fake OAuth 2.1 / OpenID server that real
//     clients (golang.org/x/oauth2, go-oidc) talk to.
//   - In a service, as a fast and revocable cache of better-auth's own
//     database: [github.com/oauthdb/oauthdb/pgreplica] keeps a replica DB in
//     step with better-auth's Postgres and fails closed when it cannot prove
//     it is current; [github.com/oauthdb/oauthdb/resourceserver] is net/http
//     middleware that validates bearer and DPoP-bound tokens against a DB;
//     the command `oauthdb serve` (github.com/oauthdb/oauthdb/cmd/oauthdb)
//     answers RFC 7662 introspection from such a replica, or from a
//     snapshot, as a sidecar; and
//     [github.com/oauthdb/oauthdb/betterauth] loads better-auth's rows from
//     any of its adapters.
//   - For benchmarking, `oauthdb bench` and [github.com/oauthdb/oauthdb/bench]
//     run the same operations on oauthdb, plain maps, go-memdb with
//     reflection and SQLite, on one dataset; bench/README.md has the numbers.
//
// # The tables
//
// A [DB] is opened empty with [Open]. Everything is read in [DB.View] and
// written in [DB.Update], whose [Tx] has typed reads, writes and relation
// traversals for each table. Every write checks its record's required
// fields, unique values and foreign keys, and a write that fails changes
// nothing; deleting a record carries out the delete actions of the data
// model (a user's or client's rows go with it, a session's tokens lose their
// sessionId).
//
// On top of the tables are the operations of a provider: [DB.IssueTokens],
// [DB.ValidateAccessToken] (the hot path: one snapshot, no reflection, only
// go-memdb's own allocations), [DB.RotateRefreshToken] with replay
// detection, revocation by token, session, user or client, consent, and
// [DB.SweepExpired] for expiry, and [DB.AuthenticateClient]. Tokens and
// client secrets are stored only as hashes, by default better-auth's own (see
// [HashToken]); session cookies are stored as better-auth stores them.
//
// Code that handles the rows of every table alike — a loader, an exporter —
// has [Tables], [Tx.Insert] and [Tx.Get], [Snapshot.All] and [Snapshot.Add],
// and [DecodeRecord], which gives a [FieldVisitor] each field of a record by
// its name in better-auth's schema: each table is declared once, whole
// (schema.go), and these walk its declaration.
//
// # Liveness is monotonic
//
// A token that is inactive at some moment never becomes active again: no
// sweep, delete, cascade, rotation or write of another record revives it;
// only a new grant — or writing that token's own record anew — makes an
// active token. What would otherwise revive a token writes down that it is
// dead instead: deleting a session (by [Tx.DeleteSession], the sweep or a
// cascade) sets revoked on its access tokens in strict mode, and on its
// refresh tokens without offline_access, as better-auth 1.7's sign-out does;
// extending a session that had expired revokes the tokens bound to it;
// enabling a disabled client revokes its tokens. An access token does not
// outlive its session (unless [WithLenientSessions]), nor does a refresh
// token granted without offline_access, as in better-auth 1.7.29; a refresh
// token granted offline_access does, so that offline access survives a
// sign-out.
//
// # What the store keeps
//
// Whatever a write is given, the store keeps it exactly or refuses it: a
// snapshot ([DB.Snapshot]) encoded as JSON and restored gives back the same
// snapshot. So invalid UTF-8, times outside the years 0 to 9999 and scopes
// that are not RFC 6749 scope-tokens are ErrInvalid; times are kept in UTC.
//
// Errors for bad input are an [*Error] naming the table, the field, the
// value (never a secret, never more than a short prefix of it) and the row
// written or deleted, by its id, around one of
// [ErrNotFound], [ErrConflict], [ErrForeignKey] and [ErrInvalid]; an inactive
// token is a [*TokenError] around the reason, such as [ErrTokenExpired].
//
// # As a cache, and as a replica
//
// Validation goes through a bounded cache ([WithValidationCache]) that every
// commit invalidates before its writer returns, so a revocation is seen by
// the next validation, cached or not. [DB.Subscribe] delivers every
// commit's changes in order and [DB.Watch] waits for what a query read to
// change. A DB writes its state to a stream with [DB.WriteSnapshot], in a
// versioned, checksummed format, and a new DB starts warm from it with
// [DB.ReadSnapshot], which loads it off to the side and swaps it in at once.
//
// A DB opened [WithReplica] follows another database's rows — better-auth's
// Postgres, through [github.com/oauthdb/oauthdb/pgreplica] — with
// [DB.Mirror] and [DB.Reload]:
// its rows are the source's, its verdicts oauthdb's (a token the source's
// rows would let come back stays inactive), its own writes are refused
// ([ErrReadOnly]), and it fails closed ([ErrStale]) unless what keeps it in
// step vouches that it is current ([DB.SetFreshUntil]).
//
// The design of record is docs/DESIGN.md.
package oauthdb

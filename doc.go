// Package oauthdb is an embedded, in-memory, relational store for the data
// of an OAuth 2.1 / OpenID provider, built on hashicorp/go-memdb.
//
// Its tables and relations are those of the better-auth oauth-provider
// plugin — user, session, oauthClient, oauthAccessToken, oauthRefreshToken,
// oauthConsent, and verification for authorization codes — so a Go service
// can hold the same rows as a better-auth server, follow the same relations
// and validate the same tokens.
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
// [DB.SweepExpired] for expiry. Tokens are stored only as hashes, by default
// better-auth's own (see [HashToken]).
//
// Errors for bad input are an [*Error] naming the table, the field and the
// value (never a secret) around one of [ErrNotFound], [ErrConflict],
// [ErrForeignKey] and [ErrInvalid]; an inactive token is a [*TokenError]
// around the reason, such as [ErrTokenExpired].
package oauthdb

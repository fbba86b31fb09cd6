// Package oauthdbtest is the kit for testing Go code that reads and writes
// OAuth data held in an [oauthdb.DB]: what every project would otherwise
// write by hand.
//
//   - [New] opens a fresh DB for one test, on a fake [Clock] and a seeded
//     source of randomness, so that IDs, tokens and timestamps are the same
//     on every run. Nothing is global: tests may run in parallel.
//   - The fixture builders of [Fixtures] insert records with sensible
//     defaults ([Fixtures.User], [Fixtures.Client], [Fixtures.Session],
//     [Fixtures.AccessToken], ...), changed by a [FixtureOption] where a test
//     cares. [LoadFile] loads a whole scenario from a JSON file whose fields
//     are better-auth's.
//   - [Dump] reads every table into a [State]; [AssertState] and
//     [AssertUnchanged] compare states and print a diff that names the tables
//     and rows that differ, with [IgnoreTimestamps], [IgnoreGeneratedIDs]
//     and [EquateEmpty] to say what does not matter.
//   - [NewServer] starts a fake OAuth 2.1 authorization server over a DB —
//     token, introspection, revocation, metadata and authorization endpoints —
//     that a real client such as golang.org/x/oauth2 can talk to.
//
// Plaintext tokens and secrets are returned to the test that created them and
// are never printed by the kit: diffs show a short fingerprint in place of a
// token, a token hash or a session cookie.
package oauthdbtest

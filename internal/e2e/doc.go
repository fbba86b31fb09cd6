// Package e2e is the end-to-end test of the replica: better-auth 1.7.29
// itself, on Postgres with its own migrations, followed live — by a
// pgreplica.Follower in the test's process, and by `oauthdb serve
// -postgres` as a process of its own — with the replica's verdict on every
// token held to better-auth's own /oauth2/introspect answer after every
// step, through grants, rotation, revocation, a sign-out held open between
// its two transactions, rows changed by SQL, Postgres restarted and
// stopped, the replica restarted and its slot dropped.
//
// The package has no code but its tests; docs/DESIGN.md ("The end-to-end
// test") says how it works, and interop/betterauth/README.md what
// better-auth does in it.
package e2e

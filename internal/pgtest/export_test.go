package pgtest

// BetterAuthDump is the embedded dump as committed, header included.
var BetterAuthDump = betterAuthDump

package pgtest

import (
	_ "embed"
	"strings"
)

//go:embed testdata/betterauth-schema.sql
var betterAuthDump string

// BetterAuthSchema is the DDL of better-auth 1.7.29's tables on PostgreSQL
// (core, oauth-provider and jwt plugins) as better-auth's own migrations
// make them, for CreateDatabase: testdata/betterauth-schema.sql, whose
// header says where it comes from, without its psql meta-commands (which
// only psql understands).
var BetterAuthSchema = withoutMetaCommands(betterAuthDump)

// withoutMetaCommands drops the lines of a pg_dump script that start with a
// backslash, such as the \restrict that pg_dump 15.14 and later write.
func withoutMetaCommands(script string) string {
	lines := strings.Split(script, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, `\`) {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

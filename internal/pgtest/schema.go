package pgtest

import _ "embed"

// BetterAuthSchema is the DDL of better-auth's tables on PostgreSQL (core,
// oauth-provider and jwt plugins), for CreateDatabase. Its header says which
// version it describes and where it comes from.
//
//go:embed testdata/betterauth-schema.sql
var BetterAuthSchema string

#!/usr/bin/env bash
# Regenerates postgres-schema.sql: runs better-auth's own migrations (migrate-pg.mjs)
# on the empty database DATABASE_URL names, then dumps the DDL they made.
#   DATABASE_URL=postgresql://user@localhost/emptydb?host=/tmp/sock&port=5432 ./dump-pg-schema.sh
set -euo pipefail
cd "$(dirname "$0")"
: "${DATABASE_URL:?DATABASE_URL must name an empty Postgres database}"
if [ "$(psql -d "$DATABASE_URL" -Atc "select count(*) from information_schema.tables where table_schema = current_schema()")" != 0 ]; then
  echo "dump-pg-schema.sh: the database is not empty; give it an empty one" >&2
  exit 1
fi
node migrate-pg.mjs
version=$(node -p 'JSON.parse(require("fs").readFileSync("node_modules/better-auth/package.json","utf8")).version')
provider=$(node -p 'JSON.parse(require("fs").readFileSync("node_modules/@better-auth/oauth-provider/package.json","utf8")).version')
server=$(psql -d "$DATABASE_URL" -Atc "show server_version")
{
  echo "-- better-auth $version + @better-auth/oauth-provider $provider (+ jwt plugin, emailAndPassword),"
  echo "-- options as in options.mjs. Made by better-auth's own migrations (getMigrations(options)"
  echo "-- then runMigrations(), from better-auth/db/migration, with a pg Pool as the database) on an"
  echo "-- empty PostgreSQL $server database, then dumped with"
  echo "-- pg_dump --schema-only --no-owner --no-privileges. Regenerate with dump-pg-schema.sh."
  echo
  # A fixed restrict key keeps the file the same from one run to the next.
  pg_dump -d "$DATABASE_URL" --schema-only --no-owner --no-privileges --restrict-key=oauthdbinterop
} > postgres-schema.sql
echo "wrote postgres-schema.sql"

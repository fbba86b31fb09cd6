#!/usr/bin/env node
// Creates better-auth's tables on Postgres with better-auth's own migrations,
// with the plugins and options export.mjs runs with, so the schema on that
// database is the one the installed better-auth would make in production.
//
//   DATABASE_URL=postgres://... [PG_SCHEMA=name] node migrate-pg.mjs
//
// Without PG_SCHEMA the tables go where the connection's search_path points
// (public by default). With it, the schema is created if missing and used.
import "./clock.mjs";

import pg from "pg";
import { getMigrations } from "better-auth/db/migration";
import { authOptions } from "./options.mjs";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("migrate-pg.mjs: DATABASE_URL is not set");
  process.exit(2);
}
const schemaName = process.env.PG_SCHEMA;
if (schemaName !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schemaName)) {
  console.error("migrate-pg.mjs: PG_SCHEMA must be a plain lower-case identifier");
  process.exit(2);
}

let pool;
try {
  if (schemaName) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${schemaName}`);
    await c.end();
  }
  pool = new pg.Pool({ connectionString: url, ...(schemaName ? { options: `-c search_path=${schemaName}` } : {}) });
  const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(authOptions({ database: pool }));
  await runMigrations();
  console.log(
    `migrate-pg.mjs: created ${toBeCreated.length} tables (${toBeCreated.map((t) => t.table).join(", ") || "none"}), ` +
      `added columns to ${toBeAdded.length}`,
  );
  await pool.end();
} catch (err) {
  console.error(`migrate-pg.mjs failed: ${err?.stack ?? err}`);
  if (pool) await pool.end().catch(() => {});
  process.exit(1);
}

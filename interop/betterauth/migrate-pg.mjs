#!/usr/bin/env node
// Creates better-auth's tables on Postgres with better-auth's own migrations,
// with the plugins and options export.mjs runs with, so the schema on that
// database is the one the installed better-auth would make in production.
//
//   DATABASE_URL=postgres://... [PG_SCHEMA=name] node migrate-pg.mjs
//
// The tables go in schema PG_SCHEMA, created if missing; public by default.
import "./clock.mjs";

import { getMigrations } from "better-auth/db/migration";
import { authOptions } from "./options.mjs";
import { openStorage } from "./storage.mjs";

if (!process.env.DATABASE_URL) {
  console.error("migrate-pg.mjs: DATABASE_URL is not set");
  process.exit(2);
}
let storage;
try {
  storage = await openStorage("postgres", { url: process.env.DATABASE_URL, schema: process.env.PG_SCHEMA || "public" });
  const { toBeCreated, toBeAdded, runMigrations } = await getMigrations(authOptions({ database: storage.database }));
  await runMigrations();
  console.log(
    `migrate-pg.mjs: created ${toBeCreated.length} tables (${toBeCreated.map((t) => t.table).join(", ") || "none"}), ` +
      `added columns to ${toBeAdded.length}`,
  );
  await storage.close();
} catch (err) {
  console.error(`migrate-pg.mjs failed: ${err?.stack ?? err}`);
  await storage?.close().catch(() => {});
  process.exit(1);
}

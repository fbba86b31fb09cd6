// The databases the scenario runs on, one per better-auth adapter, with the way
// to read back, unconverted, what each holds: shared by export.mjs (every
// adapter) and live.mjs (Postgres).
import { getAuthTables } from "better-auth/db";
import { memoryAdapter } from "better-auth/adapters/memory";
import { authOptions } from "./options.mjs";

/** A plain lower-case identifier: what a Postgres schema name may be here, unquoted. */
const plainIdentifier = /^[a-z_][a-z0-9_]*$/;

/**
 * One adapter's database plus the way to read back, unconverted, what it holds.
 * dump() returns { tableName: [row, ...] } for every table better-auth has;
 * migrate says whether better-auth's migrations must make the tables.
 *
 * postgres: url is a connection string; its tables go in schema, which is
 * created if missing, or dropped first and made again with recreate. Its pg
 * Pool outlives a restart of the server: a connection the server ended is
 * dropped and the next query opens another.
 */
export async function openStorage(kind, { sqliteFile = ":memory:", url, schema = "public", recreate = false } = {}) {
  if (kind === "memory") {
    const db = {};
    // Every model gets an array up front so empty tables show in the export too.
    for (const table of Object.values(getAuthTables(authOptions()))) db[table.modelName] = [];
    return {
      database: memoryAdapter(db),
      // The memory adapter keeps Date objects, arrays and booleans as JS values;
      // JSON encoding turns Dates into ISO strings, which is all JSON can say.
      dump: async () => JSON.parse(JSON.stringify(db)),
      schema: async () => memorySchema(),
      close: async () => {},
    };
  }
  if (kind === "sqlite") {
    const { default: Database } = await import("better-sqlite3");
    const sqlite = new Database(sqliteFile);
    return {
      database: sqlite,
      migrate: true,
      dump: async () => {
        const tables = sqlite
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
          .all()
          .map((r) => r.name);
        const out = {};
        for (const t of tables) out[t] = sqlite.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all();
        return out;
      },
      schema: async () => {
        const tables = sqlite
          .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
          .all();
        const out = {};
        for (const t of tables) {
          out[t.name] = {
            ddl: t.sql,
            columns: sqlite.prepare(`PRAGMA table_info("${t.name}")`).all().map((c) => ({
              name: c.name,
              type: c.type,
              nullable: c.notnull === 0 && c.pk === 0,
              primaryKey: c.pk > 0,
              default: c.dflt_value,
            })),
            // sql is null for the indexes SQLite makes itself for UNIQUE and PRIMARY KEY.
            indexes: sqlite
              .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name")
              .all(t.name),
          };
        }
        return out;
      },
      close: async () => sqlite.close(),
    };
  }
  if (kind !== "postgres") throw new Error(`no adapter ${kind}`);
  if (!url) throw new Error("postgres: DATABASE_URL is not set");
  if (!plainIdentifier.test(schema)) throw new Error("postgres: PG_SCHEMA must be a plain lower-case identifier");
  const { default: pg } = await import("pg");
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  if (recreate) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}` });
  // An idle connection the server ends (a restart) is an error event of the
  // pool: without a listener it would end the process.
  pool.on("error", (err) => console.error(`storage: an idle Postgres connection ended: ${err.message}`));
  const tableNames = async () =>
    (
      await pool.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
        [schema],
      )
    ).rows.map((r) => r.table_name);
  return {
    database: pool,
    migrate: true,
    dump: async () => {
      const out = {};
      for (const t of await tableNames()) {
        const cols = (
          await pool.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
            [schema, t],
          )
        ).rows.map((r) => r.column_name);
        // Postgres keeps no insertion order; this order is only for readable diffs.
        const order = cols.includes("createdAt") ? `"createdAt", "id"` : `"id"`;
        // pg's own parsing is kept: timestamptz -> Date (JSON: ISO UTC, ms precision),
        // boolean -> true/false, jsonb -> parsed value, text -> string.
        out[t] = (await pool.query(`SELECT * FROM "${t}" ORDER BY ${order}`)).rows;
      }
      return out;
    },
    schema: async () => {
      const out = {};
      for (const t of await tableNames()) {
        out[t] = {
          columns: (
            await pool.query(
              `SELECT column_name, data_type, udt_name, is_nullable, column_default
                 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
              [schema, t],
            )
          ).rows.map((c) => ({
            name: c.column_name,
            type: c.data_type === "ARRAY" ? c.udt_name : c.data_type,
            nullable: c.is_nullable === "YES",
            default: c.column_default,
          })),
          indexes: (
            await pool.query("SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname", [
              schema,
              t,
            ])
          ).rows,
        };
      }
      return out;
    },
    close: async () => pool.end(),
  };
}

/** The memory adapter has no DDL; the field list better-auth derives from its options stands in for it. */
function memorySchema() {
  const out = {};
  for (const table of Object.values(getAuthTables(authOptions()))) {
    const columns = [{ name: "id", type: "string", nullable: false, primaryKey: true }];
    for (const [key, f] of Object.entries(table.fields)) {
      columns.push({
        name: f.fieldName ?? key,
        type: f.type,
        nullable: f.required === false,
        unique: !!f.unique,
        references: f.references ? `${f.references.model}.${f.references.field}` : undefined,
      });
    }
    out[table.modelName] = { columns };
  }
  return out;
}

#!/usr/bin/env node
// Runs better-auth and its oauth-provider plugin in-process under a fake clock,
// drives the scenario (scenario.mjs) through auth.handler, and writes the rows
// every table holds and better-auth's own /oauth2/introspect answers at several
// moments, so oauthdb's Go tests can check that they load the same rows and
// reach the same verdicts. The format is described in README.md.
//
//   node export.mjs --adapter memory|sqlite|postgres --out DIR [--sqlite-file PATH]
//
// postgres reads DATABASE_URL and works in its own schema (PG_SCHEMA, default
// oauthdb_interop_export), which it drops and recreates.
import { clock, T0 } from "./clock.mjs";

import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { BASE_URL, BASE_PATH } from "./options.mjs";
import { openStorage } from "./storage.mjs";
import { BETTER_AUTH_VERSION, OAUTH_PROVIDER_VERSION, Scenario, describeError, fail, sha256b64url } from "./scenario.mjs";

// ---------------------------------------------------------------- arguments

const { values: args } = parseArgs({
  options: {
    adapter: { type: "string" },
    out: { type: "string" },
    "sqlite-file": { type: "string", default: ":memory:" },
  },
  strict: true,
});
if (!["memory", "sqlite", "postgres"].includes(args.adapter)) {
  console.error("usage: node export.mjs --adapter memory|sqlite|postgres --out DIR [--sqlite-file PATH]");
  process.exit(2);
}
if (!args.out) {
  console.error("export.mjs: --out DIR is required");
  process.exit(2);
}
if (clock.wall) {
  console.error("export.mjs: the export runs on the fake clock; unset OAUTHDB_HARNESS_CLOCK");
  process.exit(2);
}

// ---------------------------------------------------------------- the export

const out = {
  format: 1,
  betterAuth: BETTER_AUTH_VERSION,
  oauthProvider: OAUTH_PROVIDER_VERSION,
  adapter: args.adapter,
  baseURL: BASE_URL + BASE_PATH,
  clockStart: new Date(T0).toISOString(),
  users: [],
  sessions: [],
  clients: [],
  tokens: [],
  codes: [],
  checks: [],
  steps: [],
  schema: null,
  moments: [],
};

async function run() {
  let storage;
  try {
    storage = await openStorage(args.adapter, {
      sqliteFile: args["sqlite-file"],
      url: process.env.DATABASE_URL,
      schema: process.env.PG_SCHEMA || "oauthdb_interop_export",
      recreate: true,
    });
  } catch (err) {
    fail(args.adapter, err.message);
  }
  const scenario = new Scenario(storage, {
    moment: async (name, description) => {
      out.moments.push({
        name,
        description,
        now: new Date().toISOString(),
        tables: await storage.dump(),
        introspections: await scenario.introspectAll(),
        userinfo: await scenario.userinfoAll(),
      });
    },
  });
  await scenario.init();
  out.schema = await storage.schema();
  await scenario.run();
  await storage.close();
  Object.assign(out, scenario.record);
  verifyStorage();
}

/**
 * Checks, against the rows better-auth wrote, how it stores each secret, and
 * records the findings in out.checks; any mismatch fails the export, so a
 * change in better-auth's storage is caught here rather than in the Go tests.
 */
function verifyStorage() {
  const rowsOf = (table) => out.moments.flatMap((m) => m.tables[table] ?? []);
  const checks = [];
  const check = (what, ok, detail) => {
    if (!ok) fail("storage check", `${what}: ${detail}`);
    checks.push({ check: what, ok: true, detail });
  };
  for (const t of out.tokens) {
    const table = t.kind === "access" ? "oauthAccessToken" : "oauthRefreshToken";
    const rows = rowsOf(table);
    check(
      `${t.name} is stored as base64url(SHA-256(token)) without padding`,
      rows.some((r) => r.token === t.hash) && !rows.some((r) => r.token === t.token),
      `${table}.token`,
    );
  }
  const clientRows = rowsOf("oauthClient");
  for (const c of out.clients.filter((c) => c.clientSecret)) {
    check(
      `client ${c.name}'s secret is stored as base64url(SHA-256(secret)) without padding`,
      clientRows.some((r) => r.clientId === c.clientId && r.clientSecret === c.clientSecretHash),
      "oauthClient.clientSecret",
    );
  }
  const verificationRows = rowsOf("verification");
  const tokenRows = [...rowsOf("oauthAccessToken"), ...rowsOf("oauthRefreshToken")];
  for (const c of out.codes) {
    if (c.redeemed) {
      check(
        `${c.name}'s tokens carry base64url(SHA-256(code)) as authorizationCodeId`,
        tokenRows.some((r) => r.authorizationCodeId === c.hash),
        "oauthAccessToken/oauthRefreshToken.authorizationCodeId",
      );
    } else {
      const row = verificationRows.find((r) => r.identifier === c.hash);
      check(`${c.name} is kept as a verification row keyed by base64url(SHA-256(code))`, !!row, "verification.identifier");
      const value = JSON.parse(row.value);
      check(
        `${c.name}'s stored code_challenge is base64url(SHA-256(code_verifier))`,
        value.query.code_challenge === sha256b64url(c.verifier) && value.query.code_challenge_method === "S256",
        "verification.value.query.code_challenge",
      );
    }
  }
  const sessionRows = rowsOf("session");
  for (const s of out.sessions) {
    check(
      `session ${s.name}'s token is stored in plain (the cookie holds token.signature)`,
      sessionRows.some((r) => r.token === s.token),
      "session.token",
    );
  }
  out.checks = checks;
  for (const s of out.sessions) s.id = sessionRows.find((r) => r.token === s.token).id;
}

// ---------------------------------------------------------------- main

try {
  await run();
  await mkdir(args.out, { recursive: true });
  const file = path.join(args.out, `betterauth-${args.adapter}.json`);
  await writeFile(file, JSON.stringify(out, null, 2) + "\n");
  console.log(`wrote ${file}: ${out.moments.length} moments, ${out.tokens.length} tokens`);
  process.exit(0);
} catch (err) {
  const detail = describeError(err);
  console.error(`export.mjs (${args.adapter}) failed: ${detail}`);
  process.exit(1);
}

#!/usr/bin/env node
// Runs better-auth and its oauth-provider plugin in-process under a fake clock,
// drives a fixed scenario through auth.handler, and writes the rows every table
// holds and better-auth's own /oauth2/introspect answers at several moments, so
// oauthdb's Go tests can check that they load the same rows and reach the same
// verdicts. The format is described in README.md.
//
//   node export.mjs --adapter memory|sqlite|postgres --out DIR [--sqlite-file PATH]
//
// postgres reads DATABASE_URL and works in its own schema (PG_SCHEMA, default
// oauthdb_interop_export), which it drops and recreates.
import { clock, T0 } from "./clock.mjs";

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { parseArgs } from "node:util";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { getAuthTables } from "better-auth/db";
import { getMigrations } from "better-auth/db/migration";
import { authOptions, BASE_URL, BASE_PATH, M2M_SCOPE, RESOURCES } from "./options.mjs";

// Neither package exports its package.json, so the installed one is read from disk.
const installedVersion = async (pkg) =>
  JSON.parse(await readFile(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), "utf8")).version;
const BETTER_AUTH_VERSION = await installedVersion("better-auth");
const OAUTH_PROVIDER_VERSION = await installedVersion("@better-auth/oauth-provider");

/** A failure of one step of the scenario; main prints it and exits 1. */
class StepError extends Error {}

function fail(step, detail) {
  throw new StepError(`${step}: ${detail}`);
}

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

// ---------------------------------------------------------------- storage

/**
 * One adapter's database plus the way to read back, unconverted, what it holds.
 * dump() returns { tableName: [row, ...] } for every table better-auth has.
 */
async function openStorage(kind) {
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
    const sqlite = new Database(args["sqlite-file"]);
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
  // postgres
  const url = process.env.DATABASE_URL;
  if (!url) fail("postgres", "DATABASE_URL is not set");
  const schemaName = process.env.PG_SCHEMA || "oauthdb_interop_export";
  if (!/^[a-z_][a-z0-9_]*$/.test(schemaName)) fail("postgres", "PG_SCHEMA must be a plain lower-case identifier");
  const { default: pg } = await import("pg");
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schemaName} CASCADE`);
  await admin.query(`CREATE SCHEMA ${schemaName}`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schemaName}` });
  const tableNames = async () =>
    (
      await pool.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
        [schemaName],
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
            [schemaName, t],
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
              [schemaName, t],
            )
          ).rows.map((c) => ({
            name: c.column_name,
            type: c.data_type === "ARRAY" ? c.udt_name : c.data_type,
            nullable: c.is_nullable === "YES",
            default: c.column_default,
          })),
          indexes: (
            await pool.query("SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname", [
              schemaName,
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

// ---------------------------------------------------------------- HTTP through auth.handler

let auth;

/**
 * Sends one request to auth.handler. form -> application/x-www-form-urlencoded,
 * json -> application/json. basic = [id, secret] for HTTP Basic client auth.
 */
async function call(method, pathAndQuery, { form, json, cookie, basic, accept = "application/json" } = {}) {
  const headers = new Headers({ origin: BASE_URL, accept });
  if (cookie) headers.set("cookie", cookie);
  if (basic) {
    const enc = (s) => encodeURIComponent(s);
    headers.set("authorization", "Basic " + Buffer.from(`${enc(basic[0])}:${enc(basic[1])}`).toString("base64"));
  }
  let body;
  if (form) {
    headers.set("content-type", "application/x-www-form-urlencoded");
    body = new URLSearchParams(form).toString();
  } else if (json) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(json);
  }
  const res = await auth.handler(new Request(BASE_URL + BASE_PATH + pathAndQuery, { method, headers, body, redirect: "manual" }));
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { nonJsonBody: text };
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

function expectStatus(step, res, ...ok) {
  if (!ok.includes(res.status)) fail(step, `HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

function sessionCookie(step, res) {
  const c = res.headers.getSetCookie().find((h) => h.startsWith("better-auth.session_token="));
  if (!c) fail(step, "no better-auth.session_token cookie in the response");
  return c.split(";")[0];
}

function pkcePair() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

/** base64url(SHA-256(s)) without padding: what better-auth 1.7 stores for tokens, codes and secrets. */
function sha256b64url(s) {
  return createHash("sha256").update(s).digest("base64url");
}

// ---------------------------------------------------------------- scenario state

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

function step(name, detail) {
  out.steps.push({ at: new Date().toISOString(), step: name, ...detail });
}

function addToken(name, kind, token, clientName, extra = {}) {
  const client = out.clients.find((c) => c.name === clientName);
  out.tokens.push({ name, kind, token, clientId: client.clientId, clientName, hash: sha256b64url(token), ...extra });
}

function clientByName(name) {
  return out.clients.find((c) => c.name === name);
}

/** Client authentication as better-auth expects it for this client's registration. */
function clientAuth(client) {
  return client.clientSecret ? { basic: [client.clientId, client.clientSecret], form: {} } : { form: { client_id: client.clientId } };
}

async function authorize(stepName, { client, cookie, scope, state, consent, resources = [] }) {
  const pkce = pkcePair();
  const q = new URLSearchParams({
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope,
    state,
    code_challenge: pkce.challenge,
    code_challenge_method: "S256",
  });
  for (const r of resources) q.append("resource", r);
  let body = expectStatus(stepName + " authorize", await call("GET", "/oauth2/authorize?" + q, { cookie }), 200);
  if (!body?.url) fail(stepName + " authorize", `no redirect url in ${JSON.stringify(body)}`);
  let url = new URL(body.url, BASE_URL);
  if (url.pathname === "/consent") {
    if (!consent) fail(stepName, "better-auth asked for consent where none was expected");
    body = expectStatus(
      stepName + " consent",
      await call("POST", "/oauth2/consent", { cookie, json: { accept: true, oauth_query: url.search.slice(1) } }),
      200,
    );
    const next = body?.redirect_uri ?? body?.url;
    if (!next) fail(stepName + " consent", `no redirect_uri in ${JSON.stringify(body)}`);
    url = new URL(next, BASE_URL);
  } else if (consent) {
    fail(stepName, `expected a consent redirect, got ${url.origin}${url.pathname}?${url.searchParams}`);
  }
  const code = url.searchParams.get("code");
  if (!code) fail(stepName, `no code in redirect ${url.origin}${url.pathname}?${[...url.searchParams.keys()].join(",")}`);
  if (url.searchParams.get("state") !== state) fail(stepName, "state not echoed");
  return {
    code,
    ...pkce,
    redirectUri: client.redirectUri,
    scope,
    state,
    resources,
    clientId: client.clientId,
    clientName: client.name,
  };
}

async function redeem(stepName, client, c) {
  const { basic, form } = clientAuth(client);
  const res = await call("POST", "/oauth2/token", {
    basic,
    form: { ...form, grant_type: "authorization_code", code: c.code, code_verifier: c.verifier, redirect_uri: c.redirectUri },
  });
  return expectStatus(stepName, res, 200);
}

/**
 * One refresh_token grant of the token named from, by its client, asking for
 * scope if given. The answer is recorded as a step (status, and the error or
 * the response with its tokens redacted); the tokens it gives are named
 * names[0] (access) and names[1] (refresh), when it gives them. expect is the
 * HTTP status the scenario expects of better-auth.
 */
async function refresh(stepName, from, { scope, names = [], expect = 200 }) {
  const t = out.tokens.find((x) => x.name === from);
  const client = clientByName(t.clientName);
  const { basic, form } = clientAuth(client);
  const res = await call("POST", "/oauth2/token", {
    basic,
    form: { ...form, grant_type: "refresh_token", refresh_token: t.token, ...(scope ? { scope } : {}) },
  });
  const tok = expectStatus(stepName, res, expect);
  const issued = [];
  if (res.status === 200) {
    const session = t.session;
    addToken(names[0], "access", tok.access_token, t.clientName, { grant: "refresh_token", session, rotatedFrom: from });
    issued.push(names[0]);
    if (tok.refresh_token) {
      if (!names[1]) fail(stepName, "a refresh token came where none was expected");
      addToken(names[1], "refresh", tok.refresh_token, t.clientName, { grant: "refresh_token", session, rotatedFrom: from });
      issued.push(names[1]);
    } else if (names[1]) {
      fail(stepName, "no refresh token came where one was expected");
    }
  }
  step("token", {
    grant: "refresh_token",
    from,
    client: t.clientName,
    ...(scope ? { scope } : {}),
    status: res.status,
    tokens: issued,
    response: res.status === 200 ? redactTokens(tok) : res.body,
  });
  return tok;
}

/**
 * A code flow of the confidential client with offline_access, whose consent
 * is on record: authorize (clock +1 s), redeem (+1 s), and the tokens named
 * <letter>-access and <letter>-refresh.
 */
async function offlineCodeFlow(letter, { cookie, session }) {
  const confidential = clientByName("confidential");
  clock.tick(1000);
  const c = await authorize(`flow ${letter}`, {
    client: confidential,
    cookie,
    scope: "openid offline_access",
    state: `state-${letter}`,
    consent: false,
  });
  out.codes.push({ name: `code-${letter}`, ...c, redeemed: true, hash: sha256b64url(c.code) });
  clock.tick(1000);
  const tok = await redeem(`flow ${letter} token`, confidential, c);
  if (!tok.refresh_token) fail(`flow ${letter} token`, "no refresh_token with offline_access");
  const names = [`${letter}-access`, `${letter}-refresh`];
  const extra = { grant: "authorization_code", session, code: `code-${letter}` };
  addToken(names[0], "access", tok.access_token, "confidential", extra);
  addToken(names[1], "refresh", tok.refresh_token, "confidential", extra);
  step("token", { grant: "authorization_code", code: `code-${letter}`, tokens: names, response: redactTokens(tok) });
}

// ---------------------------------------------------------------- moments

let storage;

async function introspectAll() {
  const confidential = clientByName("confidential");
  const results = [];
  for (const t of out.tokens) {
    const callers = [confidential];
    const owner = clientByName(t.clientName);
    if (owner !== confidential) callers.push(owner);
    for (const caller of callers) {
      const { basic, form } = clientAuth(caller);
      const res = await call("POST", "/oauth2/introspect", { basic, form: { ...form, token: t.token } });
      results.push({ token: t.name, caller: caller.clientId, callerName: caller.name, status: res.status, response: res.body });
    }
  }
  return results;
}

/**
 * /oauth2/userinfo checks an access token with no client restriction, so it is
 * the only verdict better-auth gives on a public client's access token (a public
 * client cannot introspect, and no other client may introspect its tokens).
 */
async function userinfoAll() {
  const results = [];
  for (const t of out.tokens.filter((t) => t.kind === "access")) {
    const headers = new Headers({ authorization: `Bearer ${t.token}`, accept: "application/json" });
    const res = await auth.handler(new Request(BASE_URL + BASE_PATH + "/oauth2/userinfo", { headers }));
    const text = await res.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = { nonJsonBody: text };
    }
    results.push({ token: t.name, status: res.status, response: body });
  }
  return results;
}

async function moment(name, description) {
  out.moments.push({
    name,
    description,
    now: new Date().toISOString(),
    tables: await storage.dump(),
    introspections: await introspectAll(),
    userinfo: await userinfoAll(),
  });
}

// ---------------------------------------------------------------- the scenario

async function run() {
  storage = await openStorage(args.adapter);
  let betweenSignOut = null;
  const options = authOptions({
    database: storage.database,
    onSessionDeleted: async (session) => {
      if (betweenSignOut) await betweenSignOut(session);
    },
  });
  if (storage.migrate) {
    const { runMigrations } = await getMigrations(options);
    await runMigrations();
  }
  auth = betterAuth(options);
  out.schema = await storage.schema();

  // A user, and two sessions of that user: S1 from sign-up, S2 from sign-in.
  const user = { email: "alice@example.com", password: "correct horse battery staple", name: "Alice" };
  let res = await call("POST", "/sign-up/email", { json: user });
  const signUp = expectStatus("sign-up", res, 200);
  const s1 = sessionCookie("sign-up", res);
  out.users.push({ name: "alice", id: signUp.user.id, email: user.email, password: user.password });
  out.sessions.push({ name: "S1", cookie: s1, token: s1.split("=")[1].split(".")[0], how: "sign-up" });
  step("sign-up", { user: "alice", session: "S1" });

  clock.tick(1000);
  res = await call("POST", "/sign-in/email", { json: { email: user.email, password: user.password } });
  expectStatus("sign-in", res, 200);
  const s2 = sessionCookie("sign-in", res);
  out.sessions.push({ name: "S2", cookie: s2, token: s2.split("=")[1].split(".")[0], how: "sign-in" });
  step("sign-in", { user: "alice", session: "S2" });

  // Clients: a confidential one through the server-only admin API (the only way to
  // grant client_credentials scopes), a public one through the HTTP create-client route.
  clock.tick(1000);
  const conf = await auth.api.adminCreateOAuthClient({
    headers: new Headers({ cookie: s1 }),
    body: {
      client_name: "confidential",
      redirect_uris: ["https://confidential.example/callback"],
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["authorization_code", "refresh_token", "client_credentials"],
      response_types: ["code"],
      scope: `openid profile email offline_access ${M2M_SCOPE}`,
      client_credentials_scopes: [M2M_SCOPE],
    },
  });
  if (!conf?.client_id || !conf?.client_secret) fail("register confidential", `unexpected answer ${JSON.stringify(conf)}`);
  out.clients.push({
    name: "confidential",
    clientId: conf.client_id,
    clientSecret: conf.client_secret,
    clientSecretHash: sha256b64url(conf.client_secret),
    redirectUri: "https://confidential.example/callback",
    registeredWith: "auth.api.adminCreateOAuthClient",
    registration: conf,
  });
  step("register-client", { client: "confidential" });

  clock.tick(1000);
  res = await call("POST", "/oauth2/create-client", {
    cookie: s1,
    json: {
      client_name: "public",
      redirect_uris: ["https://public.example/callback"],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      scope: "openid profile email offline_access",
    },
  });
  const pub = expectStatus("register public", res, 200, 201);
  if (!pub?.client_id) fail("register public", `unexpected answer ${JSON.stringify(pub)}`);
  out.clients.push({
    name: "public",
    clientId: pub.client_id,
    clientSecret: pub.client_secret ?? null,
    clientSecretHash: null,
    redirectUri: "https://public.example/callback",
    registeredWith: "POST /oauth2/create-client",
    registration: pub,
  });
  step("register-client", { client: "public" });
  const confidential = clientByName("confidential");
  const publicClient = clientByName("public");

  // With resources configured, better-auth only lets a client ask for one it is linked to.
  for (const identifier of RESOURCES) {
    clock.tick(1000);
    const linked = await auth.api.adminLinkClientResource({
      headers: new Headers({ cookie: s1 }),
      params: { identifier, client_id: confidential.clientId },
    });
    if (!linked?.linked) fail("link resource", `unexpected answer ${JSON.stringify(linked)}`);
    step("link-resource", { client: "confidential", resource: identifier });
  }

  // client_credentials.
  clock.tick(1000);
  res = await call("POST", "/oauth2/token", {
    basic: [confidential.clientId, confidential.clientSecret],
    form: { grant_type: "client_credentials" },
  });
  let tok = expectStatus("client_credentials", res, 200);
  if (tok.refresh_token) fail("client_credentials", "a refresh token came with client_credentials");
  addToken("cc-access", "access", tok.access_token, "confidential", { grant: "client_credentials" });
  step("token", { grant: "client_credentials", tokens: ["cc-access"], response: redactTokens(tok) });

  // Flow A: confidential client, session S1, consent given, openid + offline_access.
  clock.tick(1000);
  const codeA = await authorize("flow A", {
    client: confidential,
    cookie: s1,
    scope: "openid profile email offline_access",
    state: "state-A",
    consent: true,
  });
  out.codes.push({ name: "code-A", ...codeA, redeemed: true, hash: sha256b64url(codeA.code) });
  clock.tick(1000);
  tok = await redeem("flow A token", confidential, codeA);
  if (!tok.refresh_token || !tok.id_token) fail("flow A token", "no refresh_token or id_token");
  addToken("A-access", "access", tok.access_token, "confidential", { grant: "authorization_code", session: "S1", code: "code-A" });
  addToken("A-refresh", "refresh", tok.refresh_token, "confidential", { grant: "authorization_code", session: "S1", code: "code-A" });
  out.tokens.at(-2).idToken = tok.id_token;
  step("token", { grant: "authorization_code", code: "code-A", tokens: ["A-access", "A-refresh"], response: redactTokens(tok) });

  // One refresh rotation of A.
  clock.tick(1000);
  await refresh("refresh A", "A-refresh", { names: ["A2-access", "A2-refresh"] });

  // Flow B: public client, session S2, consent, offline_access.
  clock.tick(1000);
  const codeB = await authorize("flow B", {
    client: publicClient,
    cookie: s2,
    scope: "openid offline_access",
    state: "state-B",
    consent: true,
  });
  out.codes.push({ name: "code-B", ...codeB, redeemed: true, hash: sha256b64url(codeB.code) });
  clock.tick(1000);
  tok = await redeem("flow B token", publicClient, codeB);
  if (!tok.refresh_token) fail("flow B token", "no refresh_token");
  addToken("B-access", "access", tok.access_token, "public", { grant: "authorization_code", session: "S2", code: "code-B" });
  addToken("B-refresh", "refresh", tok.refresh_token, "public", { grant: "authorization_code", session: "S2", code: "code-B" });
  step("token", { grant: "authorization_code", code: "code-B", tokens: ["B-access", "B-refresh"], response: redactTokens(tok) });

  // Flow C: confidential client, session S2, no offline_access (so no refresh token);
  // consent for these scopes already exists, so better-auth issues the code at once.
  clock.tick(1000);
  const codeC = await authorize("flow C", { client: confidential, cookie: s2, scope: "openid profile", state: "state-C", consent: false });
  out.codes.push({ name: "code-C", ...codeC, redeemed: true, hash: sha256b64url(codeC.code) });
  clock.tick(1000);
  tok = await redeem("flow C token", confidential, codeC);
  if (tok.refresh_token) fail("flow C token", "a refresh token came without offline_access");
  addToken("C-access", "access", tok.access_token, "confidential", { grant: "authorization_code", session: "S2", code: "code-C" });
  step("token", { grant: "authorization_code", code: "code-C", tokens: ["C-access"], response: redactTokens(tok) });

  // Flow D: confidential client, session S1, offline_access; its refresh token is revoked below.
  await offlineCodeFlow("D", { cookie: s1, session: "S1" });

  // Flow E: confidential client, session S2, offline_access; then a refresh
  // that narrows offline_access away. E2-refresh, without offline_access, is
  // bound to S2 (better-auth 1.7.29's isSessionBoundRefreshToken) and is not
  // rotated when used: each use mints an access token only, and using it
  // again is no replay.
  await offlineCodeFlow("E", { cookie: s2, session: "S2" });
  clock.tick(1000);
  await refresh("narrow E", "E-refresh", { scope: "openid", names: ["E2-access", "E2-refresh"] });
  clock.tick(1000);
  await refresh("use E2", "E2-refresh", { names: ["E3-access"] });
  clock.tick(1000);
  await refresh("use E2 again", "E2-refresh", { names: ["E4-access"] });

  // Flow F: the same on session S1, whose expiry ends F2-refresh.
  await offlineCodeFlow("F", { cookie: s1, session: "S1" });
  clock.tick(1000);
  await refresh("narrow F", "F-refresh", { scope: "openid", names: ["F2-access", "F2-refresh"] });

  // A code that is issued and never redeemed, so its verification row stays.
  clock.tick(1000);
  const codeP = await authorize("pending code", {
    client: confidential,
    cookie: s1,
    scope: "openid profile email offline_access",
    state: "state-P",
    consent: false,
  });
  out.codes.push({ name: "code-pending", ...codeP, redeemed: false, hash: sha256b64url(codeP.code) });
  step("authorize", { code: "code-pending", redeemed: false });

  // A second pending code that names two resources (a repeated resource= parameter),
  // which needs fresh consent since the consent row has no resources yet.
  clock.tick(1000);
  const codeR = await authorize("pending resource code", {
    client: confidential,
    cookie: s1,
    scope: "openid profile",
    state: "state-R",
    consent: true,
    resources: RESOURCES,
  });
  out.codes.push({ name: "code-pending-resources", ...codeR, redeemed: false, hash: sha256b64url(codeR.code) });
  step("authorize", { code: "code-pending-resources", redeemed: false });

  clock.tick(1000);
  await moment("now", "every token just issued; code-pending not yet redeemed (its verification row is present)");

  // Revocations through /oauth2/revoke: an access token and a refresh token.
  clock.tick(1000);
  res = await call("POST", "/oauth2/revoke", {
    basic: [confidential.clientId, confidential.clientSecret],
    form: { token: out.tokens.find((t) => t.name === "cc-access").token, token_type_hint: "access_token" },
  });
  expectStatus("revoke cc-access", res, 200);
  step("revoke", { token: "cc-access", by: "confidential", hint: "access_token", status: res.status, response: res.body });
  clock.tick(1000);
  res = await call("POST", "/oauth2/revoke", {
    basic: [confidential.clientId, confidential.clientSecret],
    form: { token: out.tokens.find((t) => t.name === "D-refresh").token, token_type_hint: "refresh_token" },
  });
  expectStatus("revoke D-refresh", res, 200);
  step("revoke", { token: "D-refresh", by: "confidential", hint: "refresh_token", status: res.status, response: res.body });
  // The public client revokes D-refresh, which is the confidential client's
  // and revoked already: better-auth 1.7.29 answers 400 invalid_request
  // "refresh token revoked" and revokes no family (1.7.5 deleted the caller's
  // family of that user: B's).
  clock.tick(1000);
  res = await call("POST", "/oauth2/revoke", {
    form: { client_id: publicClient.clientId, token: out.tokens.find((t) => t.name === "D-refresh").token, token_type_hint: "refresh_token" },
  });
  expectStatus("revoke D-refresh by the public client", res, 400);
  step("revoke", { token: "D-refresh", by: "public", hint: "refresh_token", status: res.status, response: res.body });
  clock.tick(1000);
  await moment("after-revoke", "cc-access and D-refresh revoked through /oauth2/revoke; D-refresh revoked again by the public client, which does not own it");

  // Sign-out of S2: better-auth deletes the session row, then the oauth-provider's
  // session.delete.after hook marks the session's access tokens revoked.
  clock.tick(1000);
  let sawBetween = false;
  let betweenError = null;
  betweenSignOut = async (session) => {
    sawBetween = true;
    // Caught here and rethrown after the request, since better-auth may log and
    // swallow an error thrown from a database hook.
    try {
      await moment(
        "sign-out-between",
        `inside session.delete.after of a plugin listed before oauthProvider: session ${session.id} (S2) is deleted, the oauth-provider has not yet revoked its tokens`,
      );
    } catch (err) {
      betweenError = err;
    }
  };
  res = await call("POST", "/sign-out", { cookie: s2, json: {} });
  betweenSignOut = null;
  if (betweenError) throw betweenError;
  expectStatus("sign-out S2", res, 200);
  if (!sawBetween) fail("sign-out S2", "the session.delete.after hook did not run");
  step("sign-out", { session: "S2" });
  await moment("sign-out-after", "after POST /sign-out of S2 returned");

  // E2-refresh after the sign-out: its session is gone, so better-auth 1.7.29
  // refuses it before it looks at its revocation — no family is revoked (1.7.5
  // would have taken it for a replay and deleted every refresh token of the
  // confidential client and alice).
  clock.tick(1000);
  await refresh("use E2 after the sign-out", "E2-refresh", { expect: 400 });
  clock.tick(1000);
  await moment("after-sign-out-refresh", "E2-refresh was refused after S2's sign-out; the confidential client's other refresh tokens are untouched");

  // The instant A-access expires (issued at T0+8s, 3600 s lifetime): better-auth
  // compares expiresAt < now, so it still accepts the token at exactly this time.
  clock.setSystemTime(T0 + (8 + 3600) * 1000);
  await moment("access-expiry-instant", "T0+1h+8s: exactly A-access's expiresAt");
  {
    const hash = out.tokens.find((t) => t.name === "A-access").hash;
    const row = out.moments.at(-1).tables.oauthAccessToken.find((r) => r.token === hash);
    if (!row || new Date(row.expiresAt).getTime() !== Date.now()) {
      fail("access-expiry-instant", "the moment is not A-access's expiresAt");
    }
  }

  clock.setSystemTime(T0 + 2 * 3600 * 1000);
  await moment("access-expired", "T0+2h: every access token (1h lifetime) has expired; sessions and refresh tokens have not");

  // A fresh access token shortly before S1 expires, so one access token outlives its session.
  clock.setSystemTime(T0 + (7 * 24 * 60 - 30) * 60 * 1000);
  await refresh("refresh A2", "A2-refresh", { names: ["A3-access", "A3-refresh"] });
  clock.tick(60 * 1000);
  await moment("before-session-expiry", "T0+7d-29min: A3 was just issued by refreshing A2; session S1 still live");

  clock.setSystemTime(T0 + (7 * 24 * 60 + 1) * 60 * 1000);
  await moment(
    "session-expired",
    "T0+7d+1min: session S1 (7d lifetime, never refreshed) has expired, its row is still there; A3-access has not expired",
  );

  // After S1 expired: F2-refresh, bound to it, is refused; A3-refresh, with
  // offline_access, may not narrow it away (the new token would be bound to an
  // ended session), and rotates without narrowing: A4-access has no session,
  // A4-refresh keeps S1 in its row.
  clock.tick(60 * 1000);
  await refresh("use F2 after S1 expired", "F2-refresh", { expect: 400 });
  clock.tick(60 * 1000);
  await refresh("narrow A3 after S1 expired", "A3-refresh", { scope: "openid", expect: 400 });
  clock.tick(60 * 1000);
  await refresh("refresh A3 after S1 expired", "A3-refresh", { names: ["A4-access", "A4-refresh"] });
  clock.tick(60 * 1000);
  await moment("after-session-refresh", "T0+7d+5min: F2-refresh and the narrowing of A3-refresh were refused; A3-refresh rotated to A4");

  clock.setSystemTime(T0 + (30 * 24 + 1) * 3600 * 1000);
  await moment(
    "refresh-expired",
    "T0+30d+1h: the refresh tokens issued on day 0 (30d lifetime) have expired; A3-refresh (issued at T0+7d-30min) has not",
  );

  // A3-refresh, rotated already, presented again: a replay. better-auth
  // deletes the family — every refresh token of the confidential client and
  // alice, and the access tokens issued with them.
  clock.tick(1000);
  await refresh("replay A3", "A3-refresh", { expect: 400 });
  clock.tick(1000);
  await moment("family-replayed", "T0+30d+1h+2s: A3-refresh was replayed; the confidential client's family of alice is deleted");

  await storage.close();
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

/** The token endpoint's answer with the token strings replaced by the names they have in tokens[]. */
function redactTokens(tok) {
  const r = { ...tok };
  for (const k of ["access_token", "refresh_token", "id_token"]) if (r[k]) r[k] = `<${k}>`;
  return r;
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
  const detail =
    err instanceof StepError
      ? err.message
      : err?.name === "APIError"
        ? `better-auth APIError ${err.status}: ${JSON.stringify(err.body)}\n${err.stack}`
        : (err?.stack ?? String(err));
  console.error(`export.mjs (${args.adapter}) failed: ${detail}`);
  process.exit(1);
}

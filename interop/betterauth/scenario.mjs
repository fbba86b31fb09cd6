// The scenario: better-auth and its oauth-provider plugin driven through
// auth.handler(new Request(...)), one fixed sequence of sign-ups, grants,
// refreshes, revocations and a sign-out, on a clock that moves one second per
// action and then by hours and days. Shared by export.mjs, which runs it whole
// and exports the rows and answers at each moment, and live.mjs, which runs it
// on Postgres a step at a time for oauthdb's end-to-end test. README.md
// describes it.
//
// The scenario calls two hooks: moment(name, description) at each of the
// moments the export records (one of them inside better-auth's sign-out,
// between its two transactions), and step(record) after each step it takes.
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { clock, T0 } from "./clock.mjs";
import { authOptions, BASE_URL, BASE_PATH, M2M_SCOPE, RESOURCES } from "./options.mjs";

// Neither package exports its package.json, so the installed one is read from disk.
const installedVersion = async (pkg) =>
  JSON.parse(await readFile(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), "utf8")).version;
export const BETTER_AUTH_VERSION = await installedVersion("better-auth");
export const OAUTH_PROVIDER_VERSION = await installedVersion("@better-auth/oauth-provider");

/** A failure of one step of the scenario: what the step was and what went wrong. */
export class StepError extends Error {}

export function fail(step, detail) {
  throw new StepError(`${step}: ${detail}`);
}

/** What a script says of an error that ended it: the step and what went wrong, or better-auth's error, or the stack. */
export function describeError(err) {
  if (err instanceof StepError) return err.message;
  if (err?.name === "APIError") return `better-auth APIError ${err.status}: ${JSON.stringify(err.body)}\n${err.stack}`;
  return err?.stack ?? String(err);
}

/** base64url(SHA-256(s)) without padding: what better-auth 1.7 stores for tokens, codes and secrets. */
export function sha256b64url(s) {
  return createHash("sha256").update(s).digest("base64url");
}

function pkcePair() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
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

/** The token endpoint's answer with the token strings replaced by the names they have in tokens[]. */
function redactTokens(tok) {
  const r = { ...tok };
  for (const k of ["access_token", "refresh_token", "id_token"]) if (r[k]) r[k] = `<${k}>`;
  return r;
}

/** One run of the scenario on one database (a storage of storage.mjs). */
export class Scenario {
  /**
   * hooks.moment(name, description) is awaited at each moment, hooks.step(record)
   * after each step; both are optional.
   */
  constructor(storage, hooks = {}) {
    this.storage = storage;
    this.hooks = hooks;
    this.auth = null;
    /** What the scenario did and holds: the export's users, sessions, clients, tokens, codes and steps. */
    this.record = { users: [], sessions: [], clients: [], tokens: [], codes: [], steps: [] };
    // Set while a sign-out is under way: what to do between its two transactions.
    this.betweenSignOut = null;
  }

  /** Makes better-auth's tables with its own migrations (SQL adapters) and the auth instance. */
  async init() {
    const options = authOptions({
      database: this.storage.database,
      onSessionDeleted: async (session) => {
        if (this.betweenSignOut) await this.betweenSignOut(session);
      },
    });
    if (this.storage.migrate) {
      const { runMigrations } = await getMigrations(options);
      await runMigrations();
    }
    this.auth = betterAuth(options);
  }

  // ---------------------------------------------------------------- HTTP through auth.handler

  /**
   * Sends one request to auth.handler. form -> application/x-www-form-urlencoded,
   * json -> application/json. basic = [id, secret] for HTTP Basic client auth.
   */
  async call(method, pathAndQuery, { form, json, cookie, basic, bearer, accept = "application/json" } = {}) {
    const headers = new Headers({ origin: BASE_URL, accept });
    if (cookie) headers.set("cookie", cookie);
    if (bearer) headers.set("authorization", `Bearer ${bearer}`);
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
    const res = await this.auth.handler(
      new Request(BASE_URL + BASE_PATH + pathAndQuery, { method, headers, body, redirect: "manual" }),
    );
    const text = await res.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { nonJsonBody: text };
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  // ---------------------------------------------------------------- what the scenario holds

  /** Records a step and lets the step hook see it. */
  async step(name, detail) {
    const record = { at: new Date().toISOString(), step: name, ...detail };
    this.record.steps.push(record);
    if (this.hooks.step) await this.hooks.step(record);
  }

  async moment(name, description) {
    if (this.hooks.moment) await this.hooks.moment(name, description);
  }

  addToken(name, kind, token, clientName, extra = {}) {
    const client = this.clientByName(clientName);
    this.record.tokens.push({ name, kind, token, clientId: client.clientId, clientName, hash: sha256b64url(token), ...extra });
  }

  clientByName(name) {
    return this.record.clients.find((c) => c.name === name);
  }

  tokenByName(name) {
    return this.record.tokens.find((t) => t.name === name);
  }

  /** Client authentication as better-auth expects it for this client's registration. */
  clientAuth(client) {
    return client.clientSecret ? { basic: [client.clientId, client.clientSecret], form: {} } : { form: { client_id: client.clientId } };
  }

  // ---------------------------------------------------------------- the flows

  /** Signs alice in: a new session, named name, recorded with its cookie. */
  async signIn(name) {
    const alice = this.record.users.find((u) => u.name === "alice");
    const res = await this.call("POST", "/sign-in/email", { json: { email: alice.email, password: alice.password } });
    expectStatus(`sign-in ${name}`, res, 200);
    const cookie = sessionCookie(`sign-in ${name}`, res);
    this.record.sessions.push({ name, cookie, token: cookie.split("=")[1].split(".")[0], how: "sign-in" });
    await this.step("sign-in", { user: "alice", session: name });
    return cookie;
  }

  /**
   * Registers a confidential client through the server-only admin API (the only
   * way to grant client_credentials scopes), as alice (cookie).
   */
  async registerConfidential(name, cookie) {
    const redirectUri = `https://${name}.example/callback`;
    const reg = await this.auth.api.adminCreateOAuthClient({
      headers: new Headers({ cookie }),
      body: {
        client_name: name,
        redirect_uris: [redirectUri],
        token_endpoint_auth_method: "client_secret_basic",
        grant_types: ["authorization_code", "refresh_token", "client_credentials"],
        response_types: ["code"],
        scope: `openid profile email offline_access ${M2M_SCOPE}`,
        client_credentials_scopes: [M2M_SCOPE],
      },
    });
    if (!reg?.client_id || !reg?.client_secret) fail(`register ${name}`, `unexpected answer ${JSON.stringify(reg)}`);
    this.record.clients.push({
      name,
      clientId: reg.client_id,
      clientSecret: reg.client_secret,
      clientSecretHash: sha256b64url(reg.client_secret),
      redirectUri,
      registeredWith: "auth.api.adminCreateOAuthClient",
      registration: reg,
    });
    await this.step("register-client", { client: name });
    return this.clientByName(name);
  }

  /** A client_credentials grant of a confidential client, its token named name. */
  async clientCredentials(clientName, name) {
    const client = this.clientByName(clientName);
    const res = await this.call("POST", "/oauth2/token", {
      basic: [client.clientId, client.clientSecret],
      form: { grant_type: "client_credentials" },
    });
    const tok = expectStatus(`client_credentials ${clientName}`, res, 200);
    if (tok.refresh_token) fail(`client_credentials ${clientName}`, "a refresh token came with client_credentials");
    this.addToken(name, "access", tok.access_token, clientName, { grant: "client_credentials" });
    await this.step("token", { grant: "client_credentials", client: clientName, tokens: [name], response: redactTokens(tok) });
  }

  /**
   * GET /oauth2/authorize with the session cookie and PKCE S256, and the consent
   * better-auth asks for: consent true (it must ask), false (it must not) or
   * "if-asked".
   */
  async authorize(stepName, { client, cookie, scope, state, consent, resources = [] }) {
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
    let body = expectStatus(stepName + " authorize", await this.call("GET", "/oauth2/authorize?" + q, { cookie }), 200);
    if (!body?.url) fail(stepName + " authorize", `no redirect url in ${JSON.stringify(body)}`);
    let url = new URL(body.url, BASE_URL);
    if (url.pathname === "/consent") {
      if (!consent) fail(stepName, "better-auth asked for consent where none was expected");
      body = expectStatus(
        stepName + " consent",
        await this.call("POST", "/oauth2/consent", { cookie, json: { accept: true, oauth_query: url.search.slice(1) } }),
        200,
      );
      const next = body?.redirect_uri ?? body?.url;
      if (!next) fail(stepName + " consent", `no redirect_uri in ${JSON.stringify(body)}`);
      url = new URL(next, BASE_URL);
    } else if (consent === true) {
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

  async redeem(stepName, client, c) {
    const { basic, form } = this.clientAuth(client);
    const res = await this.call("POST", "/oauth2/token", {
      basic,
      form: { ...form, grant_type: "authorization_code", code: c.code, code_verifier: c.verifier, redirect_uri: c.redirectUri },
    });
    return expectStatus(stepName, res, 200);
  }

  /**
   * A code flow of the confidential client with offline_access in session
   * (its name; cookie its cookie): authorize (clock +1 s), redeem (+1 s), and
   * the tokens named <letter>-access and <letter>-refresh. consent is
   * authorize's.
   */
  async offlineCodeFlow(letter, { cookie, session, consent = false }) {
    const confidential = this.clientByName("confidential");
    clock.tick(1000);
    const c = await this.authorize(`flow ${letter}`, {
      client: confidential,
      cookie,
      scope: "openid offline_access",
      state: `state-${letter}`,
      consent,
    });
    this.record.codes.push({ name: `code-${letter}`, ...c, redeemed: true, hash: sha256b64url(c.code) });
    clock.tick(1000);
    const tok = await this.redeem(`flow ${letter} token`, confidential, c);
    if (!tok.refresh_token) fail(`flow ${letter} token`, "no refresh_token with offline_access");
    const names = [`${letter}-access`, `${letter}-refresh`];
    const extra = { grant: "authorization_code", session, code: `code-${letter}` };
    this.addToken(names[0], "access", tok.access_token, "confidential", extra);
    this.addToken(names[1], "refresh", tok.refresh_token, "confidential", extra);
    await this.step("token", { grant: "authorization_code", code: `code-${letter}`, tokens: names, response: redactTokens(tok) });
  }

  /**
   * One refresh_token grant of the token named from, by its client, asking for
   * scope if given. The answer is recorded as a step (status, and the error or
   * the response with its tokens redacted); the tokens it gives are named
   * names[0] (access) and names[1] (refresh), when it gives them. expect is the
   * HTTP status the scenario expects of better-auth.
   */
  async refresh(stepName, from, { scope, names = [], expect = 200 }) {
    const t = this.tokenByName(from);
    const client = this.clientByName(t.clientName);
    const { basic, form } = this.clientAuth(client);
    const res = await this.call("POST", "/oauth2/token", {
      basic,
      form: { ...form, grant_type: "refresh_token", refresh_token: t.token, ...(scope ? { scope } : {}) },
    });
    const tok = expectStatus(stepName, res, expect);
    const issued = [];
    if (res.status === 200) {
      const session = t.session;
      this.addToken(names[0], "access", tok.access_token, t.clientName, { grant: "refresh_token", session, rotatedFrom: from });
      issued.push(names[0]);
      if (tok.refresh_token) {
        if (!names[1]) fail(stepName, "a refresh token came where none was expected");
        this.addToken(names[1], "refresh", tok.refresh_token, t.clientName, { grant: "refresh_token", session, rotatedFrom: from });
        issued.push(names[1]);
      } else if (names[1]) {
        fail(stepName, "no refresh token came where one was expected");
      }
    }
    await this.step("token", {
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

  /** POST /oauth2/revoke of the token named token by the client named by, expecting HTTP status expect. */
  async revoke(token, by, { hint, expect }) {
    const caller = this.clientByName(by);
    const { basic, form } = this.clientAuth(caller);
    const res = await this.call("POST", "/oauth2/revoke", {
      basic,
      form: { ...form, token: this.tokenByName(token).token, token_type_hint: hint },
    });
    expectStatus(`revoke ${token} by ${by}`, res, expect);
    await this.step("revoke", { token, by, hint, status: res.status, response: res.body });
  }

  // ---------------------------------------------------------------- verdicts

  /**
   * Every token issued so far, introspected with no token_type_hint: once as
   * the confidential client, and once more as its owner when that is another.
   */
  async introspectAll() {
    const confidential = this.clientByName("confidential");
    const results = [];
    for (const t of this.record.tokens) {
      const callers = [confidential];
      const owner = this.clientByName(t.clientName);
      if (owner !== confidential) callers.push(owner);
      for (const caller of callers) {
        const { basic, form } = this.clientAuth(caller);
        const res = await this.call("POST", "/oauth2/introspect", { basic, form: { ...form, token: t.token } });
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
  async userinfoAll() {
    const results = [];
    for (const t of this.record.tokens.filter((t) => t.kind === "access")) {
      const res = await this.call("GET", "/oauth2/userinfo", { bearer: t.token });
      results.push({ token: t.name, status: res.status, response: res.body });
    }
    return results;
  }

  // ---------------------------------------------------------------- the scenario

  /** Runs the scenario from the start (README.md, "The scenario"). */
  async run() {
    const call = this.call.bind(this);
    // A user, and two sessions of that user: S1 from sign-up, S2 from sign-in.
    const user = { email: "alice@example.com", password: "correct horse battery staple", name: "Alice" };
    let res = await call("POST", "/sign-up/email", { json: user });
    const signUp = expectStatus("sign-up", res, 200);
    const s1 = sessionCookie("sign-up", res);
    this.record.users.push({ name: "alice", id: signUp.user.id, email: user.email, password: user.password });
    this.record.sessions.push({ name: "S1", cookie: s1, token: s1.split("=")[1].split(".")[0], how: "sign-up" });
    await this.step("sign-up", { user: "alice", session: "S1" });

    clock.tick(1000);
    const s2 = await this.signIn("S2");

    // Clients: a confidential one through the server-only admin API, a public one
    // through the HTTP create-client route.
    clock.tick(1000);
    const confidential = await this.registerConfidential("confidential", s1);

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
    this.record.clients.push({
      name: "public",
      clientId: pub.client_id,
      clientSecret: pub.client_secret ?? null,
      clientSecretHash: null,
      redirectUri: "https://public.example/callback",
      registeredWith: "POST /oauth2/create-client",
      registration: pub,
    });
    await this.step("register-client", { client: "public" });
    const publicClient = this.clientByName("public");

    // With resources configured, better-auth only lets a client ask for one it is linked to.
    for (const identifier of RESOURCES) {
      clock.tick(1000);
      const linked = await this.auth.api.adminLinkClientResource({
        headers: new Headers({ cookie: s1 }),
        params: { identifier, client_id: confidential.clientId },
      });
      if (!linked?.linked) fail("link resource", `unexpected answer ${JSON.stringify(linked)}`);
      await this.step("link-resource", { client: "confidential", resource: identifier });
    }

    // client_credentials.
    clock.tick(1000);
    await this.clientCredentials("confidential", "cc-access");

    // Flow A: confidential client, session S1, consent given, openid + offline_access.
    clock.tick(1000);
    const codeA = await this.authorize("flow A", {
      client: confidential,
      cookie: s1,
      scope: "openid profile email offline_access",
      state: "state-A",
      consent: true,
    });
    this.record.codes.push({ name: "code-A", ...codeA, redeemed: true, hash: sha256b64url(codeA.code) });
    clock.tick(1000);
    let tok = await this.redeem("flow A token", confidential, codeA);
    if (!tok.refresh_token || !tok.id_token) fail("flow A token", "no refresh_token or id_token");
    this.addToken("A-access", "access", tok.access_token, "confidential", { grant: "authorization_code", session: "S1", code: "code-A" });
    this.addToken("A-refresh", "refresh", tok.refresh_token, "confidential", { grant: "authorization_code", session: "S1", code: "code-A" });
    this.record.tokens.at(-2).idToken = tok.id_token;
    await this.step("token", { grant: "authorization_code", code: "code-A", tokens: ["A-access", "A-refresh"], response: redactTokens(tok) });

    // One refresh rotation of A.
    clock.tick(1000);
    await this.refresh("refresh A", "A-refresh", { names: ["A2-access", "A2-refresh"] });

    // Flow B: public client, session S2, consent, offline_access.
    clock.tick(1000);
    const codeB = await this.authorize("flow B", {
      client: publicClient,
      cookie: s2,
      scope: "openid offline_access",
      state: "state-B",
      consent: true,
    });
    this.record.codes.push({ name: "code-B", ...codeB, redeemed: true, hash: sha256b64url(codeB.code) });
    clock.tick(1000);
    tok = await this.redeem("flow B token", publicClient, codeB);
    if (!tok.refresh_token) fail("flow B token", "no refresh_token");
    this.addToken("B-access", "access", tok.access_token, "public", { grant: "authorization_code", session: "S2", code: "code-B" });
    this.addToken("B-refresh", "refresh", tok.refresh_token, "public", { grant: "authorization_code", session: "S2", code: "code-B" });
    await this.step("token", { grant: "authorization_code", code: "code-B", tokens: ["B-access", "B-refresh"], response: redactTokens(tok) });

    // Flow C: confidential client, session S2, no offline_access (so no refresh token);
    // consent for these scopes already exists, so better-auth issues the code at once.
    clock.tick(1000);
    const codeC = await this.authorize("flow C", { client: confidential, cookie: s2, scope: "openid profile", state: "state-C", consent: false });
    this.record.codes.push({ name: "code-C", ...codeC, redeemed: true, hash: sha256b64url(codeC.code) });
    clock.tick(1000);
    tok = await this.redeem("flow C token", confidential, codeC);
    if (tok.refresh_token) fail("flow C token", "a refresh token came without offline_access");
    this.addToken("C-access", "access", tok.access_token, "confidential", { grant: "authorization_code", session: "S2", code: "code-C" });
    await this.step("token", { grant: "authorization_code", code: "code-C", tokens: ["C-access"], response: redactTokens(tok) });

    // Flow D: confidential client, session S1, offline_access; its refresh token is revoked below.
    await this.offlineCodeFlow("D", { cookie: s1, session: "S1" });

    // Flow E: confidential client, session S2, offline_access; then a refresh
    // that narrows offline_access away. E2-refresh, without offline_access, is
    // bound to S2 (better-auth 1.7.29's isSessionBoundRefreshToken) and is not
    // rotated when used: each use mints an access token only, and using it
    // again is no replay.
    await this.offlineCodeFlow("E", { cookie: s2, session: "S2" });
    clock.tick(1000);
    await this.refresh("narrow E", "E-refresh", { scope: "openid", names: ["E2-access", "E2-refresh"] });
    clock.tick(1000);
    await this.refresh("use E2", "E2-refresh", { names: ["E3-access"] });
    clock.tick(1000);
    await this.refresh("use E2 again", "E2-refresh", { names: ["E4-access"] });

    // Flow F: the same on session S1, whose expiry ends F2-refresh.
    await this.offlineCodeFlow("F", { cookie: s1, session: "S1" });
    clock.tick(1000);
    await this.refresh("narrow F", "F-refresh", { scope: "openid", names: ["F2-access", "F2-refresh"] });

    // A code that is issued and never redeemed, so its verification row stays.
    clock.tick(1000);
    const codeP = await this.authorize("pending code", {
      client: confidential,
      cookie: s1,
      scope: "openid profile email offline_access",
      state: "state-P",
      consent: false,
    });
    this.record.codes.push({ name: "code-pending", ...codeP, redeemed: false, hash: sha256b64url(codeP.code) });
    await this.step("authorize", { code: "code-pending", redeemed: false });

    // A second pending code that names two resources (a repeated resource= parameter),
    // which needs fresh consent since the consent row has no resources yet.
    clock.tick(1000);
    const codeR = await this.authorize("pending resource code", {
      client: confidential,
      cookie: s1,
      scope: "openid profile",
      state: "state-R",
      consent: true,
      resources: RESOURCES,
    });
    this.record.codes.push({ name: "code-pending-resources", ...codeR, redeemed: false, hash: sha256b64url(codeR.code) });
    await this.step("authorize", { code: "code-pending-resources", redeemed: false });

    // The public client rotates B-refresh: B-refresh is revoked (rotated), and
    // B2-access and B2-refresh are the public client's family of alice with it.
    clock.tick(1000);
    await this.refresh("refresh B", "B-refresh", { names: ["B2-access", "B2-refresh"] });

    clock.tick(1000);
    await this.moment("now", "every token just issued; code-pending not yet redeemed (its verification row is present)");

    // Revocations through /oauth2/revoke: an access token and a refresh token.
    clock.tick(1000);
    await this.revoke("cc-access", "confidential", { hint: "access_token", expect: 200 });
    clock.tick(1000);
    await this.revoke("D-refresh", "confidential", { hint: "refresh_token", expect: 200 });
    // The public client revokes D-refresh, which is the confidential client's
    // and revoked already: better-auth 1.7.29 answers 400 invalid_request
    // "refresh token revoked" and revokes no family (1.7.5 deleted the caller's
    // family of that user: B's).
    clock.tick(1000);
    await this.revoke("D-refresh", "public", { hint: "refresh_token", expect: 400 });
    // The public client revokes B-refresh, its own and revoked already (by its
    // rotation): 400 invalid_request "refresh token revoked" again, and, the
    // caller owning it, better-auth deletes its family (revokeRefreshToken ->
    // invalidateRefreshFamily): every refresh token of the public client and
    // alice, and their access tokens that have a refreshId (B-access, B2-*).
    clock.tick(1000);
    await this.revoke("B-refresh", "public", { hint: "refresh_token", expect: 400 });
    clock.tick(1000);
    await this.moment(
      "after-revoke",
      "cc-access and D-refresh revoked through /oauth2/revoke; D-refresh revoked again by the public client, which does not own it; " +
        "B-refresh, rotated, revoked by its owner: the public client's family of alice is deleted",
    );

    // Sign-out of S2: better-auth deletes the session row, then the oauth-provider's
    // session.delete.after hook marks the session's access tokens revoked.
    clock.tick(1000);
    let sawBetween = false;
    let betweenError = null;
    this.betweenSignOut = async (session) => {
      sawBetween = true;
      // Caught here and rethrown after the request, since better-auth may log and
      // swallow an error thrown from a database hook.
      try {
        await this.moment(
          "sign-out-between",
          `inside session.delete.after of a plugin listed before oauthProvider: session ${session.id} (S2) is deleted, the oauth-provider has not yet revoked its tokens`,
        );
      } catch (err) {
        betweenError = err;
      }
    };
    res = await call("POST", "/sign-out", { cookie: s2, json: {} });
    this.betweenSignOut = null;
    if (betweenError) throw betweenError;
    expectStatus("sign-out S2", res, 200);
    if (!sawBetween) fail("sign-out S2", "the session.delete.after hook did not run");
    await this.step("sign-out", { session: "S2" });
    await this.moment("sign-out-after", "after POST /sign-out of S2 returned");

    // E2-refresh after the sign-out: its session is gone, so better-auth 1.7.29
    // refuses it before it looks at its revocation — no family is revoked (1.7.5
    // would have taken it for a replay and deleted every refresh token of the
    // confidential client and alice).
    clock.tick(1000);
    await this.refresh("use E2 after the sign-out", "E2-refresh", { expect: 400 });
    clock.tick(1000);
    await this.moment("after-sign-out-refresh", "E2-refresh was refused after S2's sign-out; the confidential client's other refresh tokens are untouched");

    // The instant A-access expires (issued at T0+8s, 3600 s lifetime): better-auth
    // compares expiresAt < now, so it still accepts the token at this very time.
    clock.setSystemTime(T0 + (8 + 3600) * 1000);
    {
      const hash = this.tokenByName("A-access").hash;
      const row = (await this.storage.dump()).oauthAccessToken.find((r) => r.token === hash);
      if (!row || new Date(row.expiresAt).getTime() !== Date.now()) {
        fail("access-expiry-instant", "the moment is not A-access's expiresAt");
      }
    }
    await this.moment("access-expiry-instant", "T0+1h+8s: exactly A-access's expiresAt");

    clock.setSystemTime(T0 + 2 * 3600 * 1000);
    await this.moment("access-expired", "T0+2h: every access token (1h lifetime) has expired; sessions and refresh tokens have not");

    // A fresh access token shortly before S1 expires, so one access token outlives its session.
    clock.setSystemTime(T0 + (7 * 24 * 60 - 30) * 60 * 1000);
    await this.refresh("refresh A2", "A2-refresh", { names: ["A3-access", "A3-refresh"] });
    clock.tick(60 * 1000);
    await this.moment("before-session-expiry", "T0+7d-29min: A3 was just issued by refreshing A2; session S1 still live");

    clock.setSystemTime(T0 + (7 * 24 * 60 + 1) * 60 * 1000);
    await this.moment(
      "session-expired",
      "T0+7d+1min: session S1 (7d lifetime, never refreshed) has expired, its row is still there; A3-access has not expired",
    );

    // After S1 expired: F2-refresh, bound to it, is refused; A3-refresh, with
    // offline_access, may not narrow it away (the new token would be bound to an
    // ended session), and rotates without narrowing: A4-access has no session,
    // A4-refresh keeps S1 in its row.
    clock.tick(60 * 1000);
    await this.refresh("use F2 after S1 expired", "F2-refresh", { expect: 400 });
    clock.tick(60 * 1000);
    await this.refresh("narrow A3 after S1 expired", "A3-refresh", { scope: "openid", expect: 400 });
    clock.tick(60 * 1000);
    await this.refresh("refresh A3 after S1 expired", "A3-refresh", { names: ["A4-access", "A4-refresh"] });
    clock.tick(60 * 1000);
    await this.moment("after-session-refresh", "T0+7d+5min: F2-refresh and the narrowing of A3-refresh were refused; A3-refresh rotated to A4");

    clock.setSystemTime(T0 + (30 * 24 + 1) * 3600 * 1000);
    await this.moment(
      "refresh-expired",
      "T0+30d+1h: the refresh tokens issued on day 0 (30d lifetime) have expired; A3-refresh (issued at T0+7d-30min) has not",
    );

    // A3-refresh, rotated already, presented again: a replay. better-auth
    // deletes the family — every refresh token of the confidential client and
    // alice, and the access tokens issued with them.
    clock.tick(1000);
    await this.refresh("replay A3", "A3-refresh", { expect: 400 });
    clock.tick(1000);
    await this.moment("family-replayed", "T0+30d+1h+2s: A3-refresh was replayed; the confidential client's family of alice is deleted");
  }
}

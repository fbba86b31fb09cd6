#!/usr/bin/env node
// Runs the scenario (scenario.mjs) on Postgres a step at a time, for a test
// that follows the database live and compares its verdicts with better-auth's
// at every step: oauthdb's end-to-end test (internal/e2e). better-auth makes its
// tables with its own migrations, on the pg package.
//
//   DATABASE_URL=postgres://... [PG_SCHEMA=public] [OAUTHDB_HARNESS_CLOCK=wall] node live.mjs
//
// The protocol is one JSON object per line. live.mjs writes on stdout, and
// nothing else goes there (better-auth's own log goes to stderr):
//
//   {"event": "checkpoint", "kind": "start" | "step" | "moment" | "introspect" | "extra",
//    "name": "<step, moment or extra>", "step": {<the step as the export records it>},
//    "now": "<ISO time of better-auth's clock>",
//    "clients": [{"name", "clientId", "clientSecret"}], "sessions": [{"name", "token"}],
//    "tokens": [{"name", "kind", "token", "clientId", "clientName", "session"}],
//    "introspections": [...], "userinfo": [...]}      // as in the export's moments
//   {"event": "end", "reason": "..."}                   // and it exits 0
//   {"event": "error", "error": "..."}                  // and it exits 1
//
// A checkpoint comes once the tables exist (start), after every step the
// scenario takes (step), and at each of its moments (moment) — one of them,
// sign-out-between, inside better-auth's sign-out, whose second transaction
// waits until the test goes on. At a checkpoint, live.mjs waits for a command
// on stdin:
//
//   {"do": "next"}                    go on to the next checkpoint
//   {"do": "introspect"}              answer every token again, now (after the test changed the rows)
//   {"do": "extra", "name": "<n>"}    take one of the live-only steps below, then answer
//
// End of input ends it (exit 0). On the wall clock the scenario ends at its
// first jump of hours (OAUTHDB_HARNESS_CLOCK, clock.mjs).
import { WallClockJump } from "./clock.mjs";

import readline from "node:readline";
import { openStorage } from "./storage.mjs";
import { Scenario, StepError, describeError } from "./scenario.mjs";

// stdout is the protocol's: whatever better-auth or pg would print goes to stderr.
for (const k of ["log", "info", "debug", "warn"]) console[k] = (...a) => console.error(...a);

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// Commands, a line each; null once stdin is closed.
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
async function nextCommand() {
  const { value, done } = await lines.next();
  if (done) return null;
  return JSON.parse(value);
}

/** End of input: the test is done with better-auth. */
class InputClosed extends Error {}

/**
 * Steps the scenario does not take, for events a live test makes around it:
 * each makes what the test then changes by SQL.
 */
const extras = {
  // A confidential client of its own and a client_credentials token of it,
  // for a client disabled and enabled again.
  "client-to-toggle": async (s) => {
    await s.registerConfidential("toggled", s.record.sessions.find((x) => x.name === "S1").cookie);
    await s.clientCredentials("toggled", "toggled-cc");
  },
  // A session of its own with a code flow's tokens, for a session expired
  // then extended.
  "session-to-extend": async (s) => sessionWithTokens(s, "S3", "X"),
  // The same, for a session deleted by SQL, without better-auth's hook.
  "session-to-delete": async (s) => sessionWithTokens(s, "S4", "Y"),
};

async function sessionWithTokens(s, session, letter) {
  const cookie = await s.signIn(session);
  await s.offlineCodeFlow(letter, { cookie, session, consent: "if-asked" });
}

async function main() {
  const storage = await openStorage("postgres", { url: process.env.DATABASE_URL, schema: process.env.PG_SCHEMA || "public" });
  let quiet = false; // while an extra runs: one checkpoint at its end
  const scenario = new Scenario(storage, {
    step: async (record) => {
      if (!quiet) await checkpoint("step", record.step, { step: record });
    },
    moment: async (name) => checkpoint("moment", name),
  });

  async function answer(kind, name, extra = {}) {
    const r = scenario.record;
    send({
      event: "checkpoint",
      kind,
      name,
      ...extra,
      now: new Date().toISOString(),
      clients: r.clients.map(({ name, clientId, clientSecret }) => ({ name, clientId, clientSecret })),
      sessions: r.sessions.map(({ name, token }) => ({ name, token })),
      tokens: r.tokens.map(({ name, kind, token, clientId, clientName, session }) => ({ name, kind, token, clientId, clientName, session })),
      introspections: r.clients.length ? await scenario.introspectAll() : [],
      userinfo: await scenario.userinfoAll(),
    });
  }

  async function checkpoint(kind, name, extra) {
    await answer(kind, name, extra);
    for (;;) {
      const cmd = await nextCommand();
      if (cmd === null) throw new InputClosed();
      if (cmd.do === "next") return;
      if (cmd.do === "introspect") {
        await answer("introspect", name);
      } else if (cmd.do === "extra" && Object.hasOwn(extras, cmd.name)) {
        quiet = true;
        try {
          await extras[cmd.name](scenario);
        } finally {
          quiet = false;
        }
        await answer("extra", cmd.name);
      } else {
        throw new StepError(`live: no command ${JSON.stringify(cmd)}`);
      }
    }
  }

  await scenario.init();
  try {
    await checkpoint("start", "migrated");
    await scenario.run();
    send({ event: "end", reason: "the scenario is over" });
  } catch (err) {
    if (err instanceof WallClockJump) {
      send({ event: "end", reason: `the rest needs the fake clock: ${err.message}` });
    } else if (!(err instanceof InputClosed)) {
      throw err;
    }
  } finally {
    await storage.close();
  }
}

try {
  await main();
  process.exit(0);
} catch (err) {
  const detail = describeError(err);
  send({ event: "error", error: detail });
  console.error(`live.mjs failed: ${detail}`);
  process.exit(1);
}

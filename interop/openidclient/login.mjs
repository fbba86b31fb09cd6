// Runs openid-client — a relying party nobody here wrote — against a fake
// server of oauthdbtest, on openid-client's defaults but for what the Go
// test passes: discovery, the authorization code flow with PKCE, a nonce
// and a state, the id_token's checks, userinfo, a refresh, introspection,
// revocation. It prints one JSON object of what it saw, or of the error
// that stopped it (and exits 1).
//
//   node login.mjs --issuer URL --client-id ID --client-secret SECRET \
//     --redirect-uri URI [--clock-skew SECONDS]
//
// --clock-skew is openid-client's own way to read another clock than the
// wall clock (the clockSkew symbol of the client's metadata): the fake
// server's DB clock less the wall clock, in seconds. The fake server listens on plain HTTP (httptest), which
// openid-client refuses unless allowInsecureRequests says otherwise.
import * as client from "openid-client";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    issuer: { type: "string" },
    "client-id": { type: "string" },
    "client-secret": { type: "string" },
    "redirect-uri": { type: "string" },
    "clock-skew": { type: "string" },
  },
});

const out = {};
try {
  const metadata = { client_secret: args["client-secret"] };
  if (args["clock-skew"] !== undefined) {
    metadata[client.clockSkew] = Number(args["clock-skew"]);
  }
  const config = await client.discovery(new URL(args.issuer), args["client-id"], metadata, undefined, {
    execute: [client.allowInsecureRequests],
  });
  out.step = "authorize";
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const authURL = client.buildAuthorizationUrl(config, {
    redirect_uri: args["redirect-uri"],
    scope: "openid email offline_access",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    nonce,
    state,
  });
  // The fake server has no login page: its signed-in user is the test's
  // LoginAs, and the authorization endpoint redirects at once.
  const res = await fetch(authURL, { redirect: "manual" });
  const callback = res.headers.get("location");
  if (!callback) throw new Error(`the authorization endpoint answered ${res.status} without a redirect`);

  out.step = "code";
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
  });
  const claims = tokens.claims();
  out.sub = claims.sub;
  out.email = claims.email;
  out.alg = JSON.parse(Buffer.from(tokens.id_token.split(".")[0], "base64url")).alg;

  out.step = "userinfo";
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  out.userinfoEmail = info.email;

  out.step = "refresh";
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  out.refreshedSub = refreshed.claims()?.sub;

  out.step = "introspection";
  const intro = await client.tokenIntrospection(config, refreshed.access_token);
  out.introspection = { active: intro.active, sub: intro.sub, client_id: intro.client_id, token_type: intro.token_type };

  out.step = "revocation";
  await client.tokenRevocation(config, refreshed.access_token);
  try {
    await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
    out.revokedUserinfo = "accepted";
  } catch (e) {
    out.revokedUserinfo = e.status ?? e.cause?.status ?? e.message;
  }
  out.step = "done";
  console.log(JSON.stringify(out));
} catch (e) {
  out.error = e.message;
  out.code = e.code;
  console.log(JSON.stringify(out));
  process.exit(1);
}

// The one better-auth configuration used by both export.mjs and migrate-pg.mjs,
// so the Postgres schema that migrate-pg.mjs makes is the schema the export ran on.
import { jwt } from "better-auth/plugins/jwt";
import { oauthProvider } from "@better-auth/oauth-provider";

/** Where better-auth believes it is served; requests are built against it, never sent. */
export const BASE_URL = "http://localhost:3000";
/** better-auth mounts its routes here by default. */
export const BASE_PATH = "/api/auth";
/** A scope that is not user-delegated, so client_credentials may be granted it. */
export const M2M_SCOPE = "api:read";
/**
 * Protected resources the provider knows, seeded into oauthResource at init. Only
 * the pending authorization code names them (a token with an audience would be a
 * JWT that is never stored), so the export shows what a resource-bearing
 * verification row and consent row look like.
 */
export const RESOURCES = ["https://api.example/a", "https://api.example/b"];
/** Fixed so signed values (cookies, consent queries, encrypted JWKS keys) are reproducible in form. */
export const SECRET = "oauthdb-interop-test-secret-not-for-production-0123456789";

/**
 * A plugin with no schema and no endpoints that lets the export see the rows
 * between better-auth deleting a session and the oauth-provider revoking the
 * session's access tokens. better-auth runs plugin database hooks in plugin
 * order, before the user's hooks, so it has to be listed before oauthProvider.
 */
export function sessionDeleteObserver(onDeleted) {
  return {
    id: "oauthdb-interop-observer",
    init() {
      return {
        options: {
          databaseHooks: {
            session: {
              delete: {
                async after(session) {
                  if (onDeleted) await onDeleted(session);
                },
              },
            },
          },
        },
      };
    },
  };
}

/** The better-auth options for a given database (a memory adapter, a better-sqlite3 Database or a pg Pool). */
export function authOptions({ database, onSessionDeleted } = {}) {
  return {
    appName: "oauthdb-interop",
    baseURL: BASE_URL,
    basePath: BASE_PATH,
    secret: SECRET,
    database,
    telemetry: { enabled: false },
    logger: { level: "error" },
    emailAndPassword: { enabled: true, requireEmailVerification: false },
    plugins: [
      sessionDeleteObserver(onSessionDeleted),
      jwt(),
      oauthProvider({
        loginPage: "/sign-in",
        consentPage: "/consent",
        scopes: ["openid", "profile", "email", "offline_access", M2M_SCOPE],
        resources: RESOURCES,
        // Needed to give a client client_credentials scopes at registration.
        clientPrivileges: async () => true,
      }),
    ],
  };
}

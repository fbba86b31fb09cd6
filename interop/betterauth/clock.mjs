// The fake clock must replace Date before better-auth is loaded, so this module
// has no imports from better-auth and is imported first by every script. Only
// Date is faked: timers and the event loop stay real, so awaits in better-auth,
// better-sqlite3 and pg keep working.
//
// OAUTHDB_HARNESS_CLOCK=wall leaves Date alone: better-auth then runs on the
// machine's clock, as a process that follows it live (oauthdb serve) does. The
// scenario's one-second ticks are no-ops on it (time passes by itself), and a
// jump of hours or days cannot be made (wallClock.setSystemTime throws
// WallClockJump).
import FakeTimers from "@sinonjs/fake-timers";

/** The instant every fake-clock run starts at, so rows and answers are comparable run to run. */
export const T0 = Date.parse("2026-01-01T00:00:00.000Z");

/** Thrown by the wall clock when the scenario would move it: the rest of the scenario needs the fake one. */
export class WallClockJump extends Error {}

const wallClock = {
  wall: true,
  tick() {},
  setSystemTime(ms) {
    throw new WallClockJump(`the scenario moves the clock to ${new Date(ms).toISOString()}, which the wall clock cannot do`);
  },
};

/**
 * The clock the scenario runs on: move it with clock.tick(ms) or
 * clock.setSystemTime(ms). clock.wall is true when it is the machine's.
 */
export const clock =
  process.env.OAUTHDB_HARNESS_CLOCK === "wall" ? wallClock : FakeTimers.install({ now: T0, toFake: ["Date"] });

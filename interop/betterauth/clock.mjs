// The fake clock must replace Date before better-auth is loaded, so this module
// has no imports from better-auth and is imported first by every script. Only
// Date is faked: timers and the event loop stay real, so awaits in better-auth,
// better-sqlite3 and pg keep working.
import FakeTimers from "@sinonjs/fake-timers";

/** The instant every export starts at, so rows and answers are comparable run to run. */
export const T0 = Date.parse("2026-01-01T00:00:00.000Z");

/** The installed clock; move it with clock.tick(ms) or clock.setSystemTime(ms). */
export const clock = FakeTimers.install({ now: T0, toFake: ["Date"] });

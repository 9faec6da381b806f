/**
 * A pumping attack among normal traffic, against the tripwire: one country gets a send a second
 * that nobody verifies, while real users elsewhere verify four codes in five. Played on a memory
 * store, on a real redis-server with two tripwire instances sharing it, and through `createOtp`.
 */
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module of the repository's test scripts
import { startRedisServer } from "../../../scripts/redis-server.mjs";
import { SECRET } from "../test/helpers.js";
import { isOtpError } from "./errors.js";
import { events, seeded } from "./metrics-test-events.js";
import type { BeforeSend } from "./options.js";
import { createOtp } from "./otp.js";
import { memoryStore } from "./store/memory.js";
import { redisStore } from "./store/redis.js";
import type { Store } from "./store/types.js";
import { createTestChannel } from "./testing/test-channel.js";
import { createTripwire, type Tripwire, type TripwireTrip } from "./tripwire.js";

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const PUMPED = "UZ";
/** Real users' sends per minute, by country. */
const NORMAL: Record<string, number> = { US: 3, GB: 1.5, DE: 1, BR: 2, IN: 2.4, FR: 0.7 };
/** The defaults, spelled out. */
const DEFAULTS = {
  minSends: 30,
  minVerifyRate: 0.1,
  windowSeconds: 3600,
  pauseSeconds: 1800,
  settleSeconds: 30,
};
type Settings = typeof DEFAULTS;

interface Outcome {
  /** Pumped sends that went out before the first trip. */
  beforeTrip: number;
  /** Seconds from the attack's start to the first trip. */
  tripAfter: number;
  /** Pumped sends that went out over the whole attack, and how many were tried. */
  pumpedThrough: number;
  pumpedTried: number;
  normalSent: number;
  /** Real users' sends refused, in the other countries. */
  normalRefused: number;
  /** Real users' sends refused in the pumped country: the pause's cost to them. */
  collateral: number;
  /** The trips `onTrip` reported, as they happen. */
  trips: TripwireTrip[];
}

/**
 * Two hours: real users all along, the attack from minute 20 on. Every send asks a tripwire
 * instance (`beforeSend`), goes out if let through, and its events reach an instance (`onEvent`),
 * not always the same one. A real user types the code 10 to 90 s later, four times in five.
 */
async function play(
  instances: Tripwire[],
  clock: { now: number },
  trips: TripwireTrip[],
): Promise<Outcome> {
  const random = seeded(19);
  type Action = { at: number; kind: "normal" | "pump" | "verify"; country: string };
  const queue: Action[] = [];
  const schedule = (action: Action) => {
    // Kept sorted by time; equal times in the order scheduled.
    let i = queue.length;
    while (i > 0 && (queue[i - 1] as Action).at > action.at) i--;
    queue.splice(i, 0, action);
  };
  const end = T0 + 120 * MINUTE;
  for (const [country, perMinute] of Object.entries({ ...NORMAL, [PUMPED]: 0.1 })) {
    // Poisson arrivals: exponential gaps.
    for (let at = T0; at < end; at += (-Math.log(1 - random()) / perMinute) * MINUTE) {
      schedule({ at: Math.round(at), kind: "normal", country });
    }
  }
  const attackStart = T0 + 20 * MINUTE;
  for (let at = attackStart; at < end; at += SECOND)
    schedule({ at, kind: "pump", country: PUMPED });

  const instance = () => instances[Math.floor(random() * instances.length)] as Tripwire;
  const outcome: Outcome = {
    beforeTrip: 0,
    tripAfter: Number.NaN,
    pumpedThrough: 0,
    pumpedTried: 0,
    normalSent: 0,
    normalRefused: 0,
    collateral: 0,
    trips,
  };
  let ids = 0;
  for (let action = queue.shift(); action !== undefined; action = queue.shift()) {
    clock.now = action.at;
    const { country } = action;
    if (action.kind === "verify") {
      await instance().onEvent(events.verified({ country, at: action.at }));
      continue;
    }
    const refusal = await instance().beforeSend({ country });
    const pump = action.kind === "pump";
    if (pump) outcome.pumpedTried++;
    if (refusal !== undefined) {
      if (!pump && country !== PUMPED) outcome.normalRefused++;
      if (!pump && country === PUMPED) outcome.collateral++;
      continue;
    }
    await instance().onEvent(events.sent({ country, at: action.at, messageId: `m${++ids}` }));
    if (pump) {
      outcome.pumpedThrough++;
      if (outcome.trips.length === 0) outcome.beforeTrip++;
    } else {
      outcome.normalSent++;
      if (random() < 0.8) {
        schedule({ at: action.at + (10 + random() * 80) * SECOND, kind: "verify", country });
      }
    }
  }
  const first = outcome.trips[0];
  if (first !== undefined) outcome.tripAfter = (first.at.getTime() - attackStart) / SECOND;
  return outcome;
}

function tripwires(
  stores: Store[],
  clock: { now: number },
  trips: TripwireTrip[],
  settings: Settings = DEFAULTS,
) {
  return stores.map((store) =>
    createTripwire({
      store,
      now: () => clock.now,
      onTrip: (trip) => {
        trips.push(trip);
      },
      ...settings,
    }),
  );
}

function judge(label: string, outcome: Outcome, settings: Settings = DEFAULTS) {
  const { trips } = outcome;
  console.log(
    `tripwire pumping (${label}): ${outcome.beforeTrip} pumped sends got through before the trip ` +
      `(${outcome.tripAfter} s into the attack); ${outcome.pumpedThrough} of ${outcome.pumpedTried} ` +
      `over 100 min, in ${trips.length} trips; normal users: ${outcome.normalRefused} of ` +
      `${outcome.normalSent + outcome.normalRefused} sends refused (in ${PUMPED} itself: ` +
      `${outcome.collateral})`,
  );
  // minSends settled sends, plus the settle time's worth at a send a second.
  expect(outcome.beforeTrip).toBeLessThanOrEqual(settings.minSends + settings.settleSeconds + 1);
  // The country's few real users' unverified sends in the window count too.
  expect(outcome.beforeTrip).toBeGreaterThanOrEqual(settings.minSends - 3);
  // Every trip was the pumped country's, each announced once, however many instances.
  expect(trips.length).toBeGreaterThanOrEqual(1);
  expect(new Set(trips.map((t) => t.country))).toEqual(new Set([PUMPED]));
  expect(trips.every((t) => t.paused && t.rate < settings.minVerifyRate)).toBe(true);
  for (let i = 1; i < trips.length; i++) {
    const gap =
      (trips[i] as TripwireTrip).at.getTime() - (trips[i - 1] as TripwireTrip).at.getTime();
    expect(gap).toBeGreaterThanOrEqual(settings.pauseSeconds * SECOND);
  }
  // Each pause lets through at most one trip's worth once it ends.
  expect(outcome.pumpedThrough).toBeLessThanOrEqual(
    trips.length * (settings.minSends + settings.settleSeconds + 1),
  );
  // Real users elsewhere were never paused.
  expect(outcome.normalRefused).toBe(0);
  expect(outcome.normalSent).toBeGreaterThan(1000);
}

describe("a pumping attack among normal traffic", () => {
  it("is paused after about minSends sends, on a memory store, and normal users never are", async () => {
    const clock = { now: T0 };
    const trips: TripwireTrip[] = [];
    const outcome = await play(tripwires([memoryStore()], clock, trips), clock, trips);
    judge("memory store", outcome);
  });

  it("is paused after minSends sends with no settle time, still sparing normal users", async () => {
    const settings = { ...DEFAULTS, settleSeconds: 0 };
    const clock = { now: T0 };
    const trips: TripwireTrip[] = [];
    const outcome = await play(tripwires([memoryStore()], clock, trips, settings), clock, trips);
    judge("memory store, settleSeconds 0", outcome, settings);
  });

  describe("on a real redis-server, two instances", () => {
    let server: { url: string; stop(): Promise<void> };
    beforeAll(async () => {
      server = await startRedisServer();
    }, 600_000);
    afterAll(async () => {
      await server?.stop();
    });

    it("trips once for both, shares the pause, and leaves normal users alone", async () => {
      const a = await createClient({ url: server.url }).connect();
      const b = await createClient({ url: server.url }).connect();
      try {
        const clock = { now: T0 };
        const trips: TripwireTrip[] = [];
        const instances = tripwires(
          [redisStore(a, { prefix: "pump:" }), redisStore(b, { prefix: "pump:" })],
          clock,
          trips,
        );
        const outcome = await play(instances, clock, trips);
        judge("redis, 2 instances", outcome);
        // What one instance paused, the other refuses.
        clock.now = trips[0]?.at.getTime() ?? 0;
        for (const tripwire of instances) {
          expect(await tripwire.check({ country: PUMPED })).toMatchObject({ paused: true });
        }
      } finally {
        await a.quit();
        await b.quit();
      }
    }, 120_000);
  });
});

describe("a pumping attack through createOtp({ beforeSend, onEvent })", () => {
  it("is refused with SEND_REFUSED once the country trips, while real users go on signing in", async () => {
    const clock = { now: T0 };
    const store = memoryStore();
    const trips: TripwireTrip[] = [];
    const tripwire = createTripwire({
      store,
      now: () => clock.now,
      onTrip: (trip) => {
        trips.push(trip);
      },
    });
    const hook: BeforeSend = tripwire.beforeSend;
    const channel = createTestChannel();
    const otp = createOtp({
      secret: SECRET,
      channel,
      store,
      now: () => clock.now,
      beforeSend: hook,
      onEvent: tripwire.onEvent,
      // The engine's own range and address limits are not what this test is about.
      limits: { sendsPerIp: false, sendsPerPrefix: false },
    });
    // Events reach onEvent without being awaited by the engine: let them land.
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const random = seeded(6);
    let pumped = 0;
    let pumpedBeforeTrip = 0;
    let refusedPumps = 0;
    let realRefused = 0;
    let realVerified = 0;
    const typing: { at: number; phone: string }[] = [];
    let user = 0;
    let victim = 0;
    // 40 minutes: a real user every 10 s (US and GB), a pumped send a second from minute 10 on.
    for (let second = 0; second < 40 * 60; second++) {
      clock.now = T0 + second * SECOND;
      for (const due of typing.filter((t) => t.at === clock.now)) {
        const result = await otp.verify({
          phone: due.phone,
          code: channel.lastCode(due.phone) ?? "",
        });
        if (result.ok) realVerified++;
        await settle();
      }
      if (second % 10 === 0) {
        const phone =
          user % 2 === 0
            ? `+1415555${String(1000 + user).padStart(4, "0")}`
            : `+442079460${String(user).padStart(3, "0")}`;
        user++;
        try {
          await otp.send({ phone });
          if (random() < 0.8)
            typing.push({ at: clock.now + (20 + Math.floor(random() * 60)) * SECOND, phone });
        } catch {
          realRefused++;
        }
        await settle();
      }
      if (second >= 10 * 60) {
        const phone = `+99890${String(10_000_000 + victim++).slice(1)}`;
        try {
          await otp.send({ phone, ip: `198.51.100.${victim % 250}` });
          pumped++;
          if (trips.length === 0) pumpedBeforeTrip++;
        } catch (error) {
          if (!isOtpError(error) || error.code !== "SEND_REFUSED") throw error;
          expect(error.details).toEqual({ reason: "country_paused" });
          refusedPumps++;
        }
        await settle();
      }
    }
    console.log(
      `tripwire pumping (createOtp, memory store): ${pumpedBeforeTrip} pumped sends went out before ` +
        `the trip, ${pumped} of ${pumped + refusedPumps} over 30 min; real users: ${realRefused} ` +
        `refused, ${realVerified} verified of ${user} sends`,
    );
    expect(trips.map((t) => t.country)).toEqual(["UZ"]);
    expect(pumpedBeforeTrip).toBeGreaterThanOrEqual(DEFAULTS.minSends);
    expect(pumpedBeforeTrip).toBeLessThanOrEqual(DEFAULTS.minSends + DEFAULTS.settleSeconds + 1);
    expect(pumped).toBe(pumpedBeforeTrip);
    expect(channel.messages.filter((m) => m.phone.startsWith("998"))).toHaveLength(pumped);
    expect(realRefused).toBe(0);
    expect(realVerified).toBeGreaterThan(150);
  }, 120_000);
});

import { describe, expect, it, vi } from "vitest";
import { events } from "./metrics-test-events.js";
import { memoryStore } from "./store/memory.js";
import type { Store } from "./store/types.js";
import { createTripwire, type TripwireOptions, type TripwireTrip } from "./tripwire.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SECOND = 1000;

/** A tripwire on a memory store and a clock the test moves. */
function rig(options: Partial<TripwireOptions> = {}) {
  let now = T0;
  let ids = 0;
  const trips: TripwireTrip[] = [];
  const store = options.store ?? memoryStore();
  const tripwire = createTripwire({
    store,
    now: () => now,
    onTrip: (trip) => {
      trips.push(trip);
    },
    ...options,
  });
  return {
    tripwire,
    store,
    trips,
    now: () => now,
    advance(seconds: number) {
      now += seconds * SECOND;
    },
    sent: (country: string) =>
      tripwire.onEvent(events.sent({ country, at: now, messageId: `m${++ids}` })),
    verified: (country: string) => tripwire.onEvent(events.verified({ country, at: now })),
  };
}

describe("createTripwire: tripping", () => {
  it("pauses a country whose settled sends pass minSends while almost none are verified", async () => {
    const r = rig({ minSends: 30, settleSeconds: 30 });
    let sends = 0;
    while ((await r.tripwire.check({ country: "UZ" })).paused === false) {
      await r.sent("UZ");
      sends++;
      r.advance(2);
    }
    // 30 settled sends, plus the 15 still settling (one every 2 s over 30 s).
    expect(sends).toBe(45);
    expect(r.trips).toEqual([
      {
        country: "UZ",
        at: new Date(r.now() - 2 * SECOND),
        paused: true,
        until: new Date(r.now() - 2 * SECOND + 1800 * SECOND),
        sends: 30,
        verifications: 0,
        rate: 0,
      },
    ]);
    expect(await r.tripwire.check({ country: "UZ" })).toEqual({
      paused: true,
      until: new Date(r.now() - 2 * SECOND + 1800 * SECOND),
    });
    expect(await r.tripwire.beforeSend({ country: "UZ" })).toEqual({ refuse: "country_paused" });
    // Other countries are not touched.
    expect(await r.tripwire.check({ country: "US" })).toEqual({ paused: false });
    expect(await r.tripwire.beforeSend({ country: "US" })).toBeUndefined();
  });

  it("does not trip while verifications keep up with the rate", async () => {
    const r = rig({ minSends: 20, minVerifyRate: 0.1, settleSeconds: 0 });
    for (let i = 0; i < 200; i++) {
      await r.sent("FR");
      // One in eight is typed in: 12.5%, above 10%.
      if (i % 8 === 0) await r.verified("FR");
      r.advance(5);
    }
    expect(r.trips).toEqual([]);
    expect(await r.tripwire.counts("FR")).toMatchObject({ sends: 200, verifications: 25 });
  });

  it("does not judge fewer than minSends settled sends", async () => {
    const r = rig({ minSends: 30, settleSeconds: 0 });
    for (let i = 0; i < 29; i++) await r.sent("PK");
    expect(r.trips).toEqual([]);
    await r.sent("PK");
    expect(r.trips).toHaveLength(1);
  });

  it("leaves a burst of real sign-ups alone while their users are typing (settleSeconds)", async () => {
    // A campaign: 100 sends in 10 s; four in five users type their code 15 to 45 s later.
    const burst = async (settleSeconds: number) => {
      const r = rig({ minSends: 30, settleSeconds });
      const typing: number[] = [];
      for (let i = 0; i < 100; i++) {
        await r.sent("NG");
        if (i % 5 !== 0) typing.push(r.now() + (15 + (i % 31)) * SECOND);
        r.advance(0.1);
      }
      // Then a minute of the campaign's trickle, a send a second, with the typed codes coming in.
      for (let s = 0; s < 60; s++) {
        const due = typing.filter((t) => t > r.now() - SECOND && t <= r.now()).length;
        for (let k = 0; k < due; k++) await r.verified("NG");
        await r.sent("NG");
        r.advance(1);
      }
      return r.trips;
    };
    expect(await burst(30)).toEqual([]);
    // Without the settle time, the same burst looks like pumping.
    expect(await burst(0)).toHaveLength(1);
  });

  it("forgets sends older than the window", async () => {
    const r = rig({ minSends: 30, settleSeconds: 0, windowSeconds: 3600 });
    for (let i = 0; i < 29; i++) await r.sent("KE");
    r.advance(3600 + 300);
    expect(await r.tripwire.counts("KE")).toMatchObject({ sends: 0 });
    await r.sent("KE");
    expect(r.trips).toEqual([]);
  });

  it("counts a verification when it happens, however late after its send", async () => {
    const r = rig({ minSends: 10, settleSeconds: 0 });
    for (let i = 0; i < 9; i++) await r.sent("EG");
    r.advance(600);
    await r.verified("EG");
    await r.sent("EG");
    // 1 verification for 10 sends: exactly the rate, not below it.
    expect(r.trips).toEqual([]);
    expect(await r.tripwire.counts("EG")).toEqual({
      sends: 10,
      settledSends: 10,
      verifications: 1,
      rate: 0.1,
    });
  });

  it("ignores test sends, events with no country, and delivery reports", async () => {
    const r = rig({ minSends: 1, settleSeconds: 0 });
    await r.tripwire.onEvent(events.sent({ country: "VN", at: T0, messageId: "t", test: true }));
    await r.tripwire.onEvent(events.sent({ country: "", at: T0, messageId: "x" }));
    await r.tripwire.onEvent(events.delivery({ at: T0, messageId: "t", status: "delivered" }));
    expect(r.trips).toEqual([]);
    expect(await r.tripwire.counts("VN")).toMatchObject({ sends: 0 });
  });

  it("counts the fallback's messages as sends: SMS pumping goes through the fallback", async () => {
    const r = rig({ minSends: 5, settleSeconds: 0 });
    for (let i = 0; i < 5; i++) {
      await r.tripwire.onEvent(
        events.fallback({
          country: "+882",
          at: r.now(),
          why: "refused",
          fallbackMessageId: `s${i}`,
        }),
      );
    }
    expect(r.trips).toMatchObject([{ country: "+882", sends: 5 }]);
    expect(await r.tripwire.beforeSend({ country: "+882" })).toEqual({ refuse: "country_paused" });
  });
});

describe("createTripwire: after a trip", () => {
  it("ends the pause after pauseSeconds, and starts the counts afresh", async () => {
    const r = rig({ minSends: 10, settleSeconds: 0, pauseSeconds: 600 });
    for (let i = 0; i < 10; i++) await r.sent("TJ");
    expect(r.trips).toHaveLength(1);
    expect(await r.tripwire.counts("TJ")).toMatchObject({ sends: 0 });
    r.advance(600);
    expect(await r.tripwire.check({ country: "TJ" })).toEqual({ paused: false });
    // An attack that goes on trips it again after minSends more sends, not at the first.
    for (let i = 0; i < 9; i++) await r.sent("TJ");
    expect(r.trips).toHaveLength(1);
    await r.sent("TJ");
    expect(r.trips).toHaveLength(2);
  });

  it("trips once however many sends come in while it is paused", async () => {
    const r = rig({ minSends: 5, settleSeconds: 0 });
    for (let i = 0; i < 40; i++) await r.sent("KG");
    expect(r.trips).toHaveLength(1);
  });

  it("lift() ends the pause at once and starts the counts afresh", async () => {
    const r = rig({ minSends: 5, settleSeconds: 0 });
    for (let i = 0; i < 5; i++) await r.sent("AZ");
    expect((await r.tripwire.check({ country: "AZ" })).paused).toBe(true);
    await r.tripwire.lift("az");
    expect(await r.tripwire.check({ country: "AZ" })).toEqual({ paused: false });
    await r.sent("AZ");
    expect((await r.tripwire.check({ country: "AZ" })).paused).toBe(false);
    await expect(r.tripwire.lift("not a country")).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("only alerts for an exempt country, at most once per pauseSeconds", async () => {
    const r = rig({ minSends: 5, settleSeconds: 0, exempt: ["us"], pauseSeconds: 600 });
    for (let i = 0; i < 20; i++) await r.sent("US");
    expect(r.trips).toMatchObject([{ country: "US", paused: false, sends: 5 }]);
    expect(r.trips[0]?.until).toBeUndefined();
    expect(await r.tripwire.check({ country: "US" })).toEqual({ paused: false });
    // A pause set before the country was made exempt no longer holds it.
    const before = rig({ store: r.store, minSends: 5, settleSeconds: 0 });
    for (let i = 0; i < 5; i++) await before.sent("MX");
    expect((await before.tripwire.check({ country: "MX" })).paused).toBe(true);
    const after = rig({ store: r.store, exempt: ["MX"] });
    expect(await after.tripwire.check({ country: "MX" })).toEqual({ paused: false });
    r.advance(601);
    await r.sent("US");
    expect(r.trips).toHaveLength(2);
  });
});

describe("createTripwire: beforeSend", () => {
  it("never refuses a test number's send or a send that delivers nothing", async () => {
    const r = rig({ minSends: 1, settleSeconds: 0 });
    await r.sent("LA");
    expect(await r.tripwire.beforeSend({ country: "LA" })).toEqual({ refuse: "country_paused" });
    expect(await r.tripwire.beforeSend({ country: "LA", test: true })).toBeUndefined();
    expect(await r.tripwire.beforeSend({ country: "LA", deliver: false })).toBeUndefined();
  });
});

describe("createTripwire: a failing store", () => {
  const broken = (): Store => {
    const store = memoryStore();
    const down = () => Promise.reject(new Error("store down"));
    return { ...store, take: down, get: down, set: down, setIfAbsent: down };
  };

  it("lets sends go and reports the failure: the engine's own store refuses sends when down", async () => {
    const onError = vi.fn();
    const r = rig({ store: broken(), onError });
    await expect(r.sent("US")).resolves.toBeUndefined();
    expect(await r.tripwire.beforeSend({ country: "US" })).toBeUndefined();
    expect(onError).toHaveBeenCalledTimes(2);
    await expect(r.tripwire.check({ country: "US" })).rejects.toThrow("store down");
  });

  it("keeps counting when onTrip or onError throw", async () => {
    const r = rig({
      minSends: 1,
      settleSeconds: 0,
      onTrip: () => {
        throw new Error("pager down");
      },
    });
    await expect(r.sent("UZ")).resolves.toBeUndefined();
    expect((await r.tripwire.check({ country: "UZ" })).paused).toBe(true);
    const noisy = rig({
      store: broken(),
      onError: () => {
        throw new Error("logger down");
      },
    });
    await expect(noisy.sent("UZ")).resolves.toBeUndefined();
  });
});

describe("createTripwire: options", () => {
  it("rejects options it cannot use, at construction", () => {
    const store = memoryStore();
    const bad: Partial<TripwireOptions>[] = [
      { store: undefined as never },
      { minSends: 0 },
      { minVerifyRate: 0 },
      { minVerifyRate: 1 },
      { windowSeconds: 59 },
      { pauseSeconds: 0 },
      { settleSeconds: 1801 },
      { exempt: ["United States"] },
      { onTrip: "page me" as never },
    ];
    for (const options of bad) {
      expect(() => createTripwire({ store, ...options }), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: "CONFIG_INVALID" }),
      );
    }
  });

  it("keeps its keys under its prefix, apart from the engine's", async () => {
    const store = memoryStore();
    const seen = new Set<string>();
    const spy: Store = {
      ...store,
      take: (buckets, now) => {
        for (const b of buckets) seen.add(b.key);
        return store.take(buckets, now);
      },
      get: (key, now) => {
        seen.add(key);
        return store.get(key, now);
      },
    };
    const r = rig({ store: spy, keyPrefix: "tw:" });
    await r.sent("US");
    await r.verified("US");
    await r.tripwire.check({ country: "US" });
    expect(seen.size).toBeGreaterThan(0);
    expect([...seen].every((key) => key.startsWith("tw:"))).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { type MemoryStore, memoryStore } from "./memory.js";
import { describeStore } from "./store-suite.js";

describeStore("memory", () => {
  const store = memoryStore({ maxEntries: 50 });
  return { store, close: () => store.close(), exhaust: () => fill(store) };
});

/** Fills a memory store to the brim: sends' room first, then the reserve kept for guesses. */
async function fill(store: MemoryStore) {
  const far = 10 ** 13;
  const now = 1_700_000_000_000;
  await store.putChallenge(
    "fill",
    { hash: "h", expiresAt: far, attempts: 0, maxAttempts: 1e6 },
    now,
  );
  for (let i = 0; ; i++) {
    if (
      !(await store.set(`fill:${i}`, "x", far, now).then(
        () => true,
        () => false,
      ))
    )
      break;
  }
  for (let i = 0; ; i++) {
    const failures = { key: `fill:f${i}`, limit: 20, windowMs: far };
    const counted = await store.attempt({ key: "fill", hash: "x", now, failures: [failures] }).then(
      () => true,
      () => false,
    );
    if (!counted) break;
  }
}

describe("memoryStore", () => {
  const T0 = 1_700_000_000_000;

  it("sweeps out every kind of expired entry, so a flood of sends leaves nothing behind", async () => {
    const store = memoryStore();
    for (let i = 0; i < 10_000; i++) {
      const key = `login:1415555${String(i).padStart(4, "0")}`;
      await store.putChallenge(
        key,
        { hash: "h", expiresAt: T0 + 300_000, attempts: 0, maxAttempts: 5 },
        T0,
      );
      await store.take([{ key: `send:phone:${i}`, limit: 5, windowMs: 600_000 }], T0);
      await store.putDelivery(`wamid.${i}`, { status: "accepted", updatedAt: T0 }, 3_600_000);
      await store.setIfAbsent(`idem:${i}`, "pending", 300_000, T0);
    }
    expect(store.size).toBe(40_000);
    expect(store.sweep(T0 + 299_999)).toBe(0);
    expect(store.sweep(T0 + 300_000)).toBe(20_000);
    expect(store.sweep(T0 + 3_600_000)).toBe(20_000);
    expect(store.size).toBe(0);
    store.close();
  });

  it("sweeps on its own timer", async () => {
    let now = T0;
    const store = memoryStore({ sweepIntervalMs: 20, now: () => now });
    await store.putChallenge(
      "c",
      { hash: "h", expiresAt: T0 + 1000, attempts: 0, maxAttempts: 5 },
      T0,
    );
    now = T0 + 1000;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(store.size).toBe(0);
    store.close();
  });

  it("refuses new entries past maxEntries instead of dropping counters", async () => {
    const store = memoryStore({ maxEntries: 3 });
    const bucket = (key: string) => ({ key, limit: 1, windowMs: 60_000 });
    await store.take([bucket("a"), bucket("b"), bucket("c")], T0);
    await expect(store.take([bucket("d")], T0)).rejects.toThrow(/full/);
    // The counters that exist still hold.
    expect((await store.take([bucket("a")], T0)).ok).toBe(false);
    // Once they expire, the room is reclaimed by the sweep that the full store runs itself.
    expect((await store.take([bucket("d")], T0 + 60_000)).ok).toBe(true);
    store.close();
  });

  it("still checks codes already sent once sends fill it, counting each guess, and refuses them all when it cannot", async () => {
    // The attack: fill the store with sends, then guess a victim's code. Every wrong guess must be
    // counted, or refused along with the right one; never refused alone (that tells them apart).
    const store = memoryStore({ maxEntries: 20 });
    const code = (key: string) =>
      store.putChallenge(
        key,
        { hash: "right", expiresAt: T0 + 300_000, attempts: 0, maxAttempts: 5 },
        T0,
      );
    await code("victim");
    await code("other");
    for (let i = 0; ; i++) {
      const taken = await store
        .take([{ key: `send:ip:${i}`, limit: 20, windowMs: 600_000 }], T0)
        .then(
          () => true,
          () => false,
        );
      if (!taken) break;
    }
    expect(store.size).toBe(20);
    const failures = (phone: string) => ({
      key: `failures:${phone}`,
      limit: 20,
      windowMs: 86_400_000,
    });
    // The reserve (a tenth) counts the victim's guesses: judged, and counted.
    expect(
      await store.attempt({
        key: "victim",
        hash: "wrong",
        now: T0,
        failures: [failures("victim")],
      }),
    ).toEqual({
      outcome: "mismatch",
      attemptsLeft: 4,
    });
    // Another phone's guess needs a new counter and the reserve is gone: refused, right or wrong.
    await store.take([{ key: "x", limit: 1, windowMs: 1 }], T0).catch(() => {});
    const guess = (hash: string) =>
      store.attempt({ key: "other", hash, now: T0, failures: [failures("other")] }).then(
        (r) => r.outcome,
        () => "refused",
      );
    await store
      .attempt({ key: "victim", hash: "wrong", now: T0, failures: [failures("filler")] })
      .catch(() => {});
    expect([await guess("wrong"), await guess("right")]).toEqual(["refused", "refused"]);
    store.close();
  });

  it("looks at a bounded number of entries on a refused write, and sweeps the rest in the background", async () => {
    const store = memoryStore({ maxEntries: 3000 });
    // 2,900 live entries first, then 100 that expire at T0 + 1: beyond what a write looks at.
    for (let i = 0; i < 2900; i++) await store.set(`live${i}`, "x", 3_600_000, T0);
    for (let i = 0; i < 100; i++) await store.set(`old${i}`, "x", 1, T0);
    await expect(store.set("new", "x", 1000, T0 + 2)).rejects.toThrow(/full/);
    // The refused write did not sweep the whole store on the request's turn...
    expect(store.size).toBe(3000);
    // ...the sweep it started runs in slices on later turns, and then there is room.
    for (let i = 0; i < 5 && store.size > 2900; i++) await new Promise((r) => setImmediate(r));
    expect(store.size).toBe(2900);
    await store.set("new", "x", 1000, T0 + 2);
    store.close();
  });

  it("finishes every background sweep, however many live entries a kind holds", async () => {
    let now = T0;
    const store = memoryStore({ sweepIntervalMs: 5, now: () => now });
    const settle = async (size: number) => {
      for (let i = 0; i < 200 && store.size !== size; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return store.size;
    };
    // More live entries than one slice looks at, then some that expire: twice over, so a second
    // sweep must run after the first.
    for (let i = 0; i < 12_000; i++) await store.set(`live${i}`, "x", 86_400_000, T0);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 100; i++) await store.set(`old${round}:${i}`, "x", 1000, now);
      now += 1000;
      expect(await settle(12_000)).toBe(12_000);
    }
    store.close();
  });

  it("counts nothing when a call would need more room than is left", async () => {
    const store = memoryStore({ maxEntries: 2 });
    await store.take([{ key: "x", limit: 5, windowMs: 60_000 }], T0);
    const y = { key: "y", limit: 5, windowMs: 60_000 };
    await expect(store.take([y, { key: "z", limit: 5, windowMs: 60_000 }], T0)).rejects.toThrow(
      /full/,
    );
    expect(await store.take([y], T0)).toEqual({
      ok: true,
      buckets: [{ remaining: 4, resetAt: T0 + 60_000 }],
    });
    store.close();
  });

  it("keeps its own copy of the challenge, not the caller's object", async () => {
    const store = memoryStore();
    const record = { hash: "h", expiresAt: T0 + 1000, attempts: 0, maxAttempts: 1 };
    await store.putChallenge("c", record, T0);
    record.maxAttempts = 100;
    await store.attempt({ key: "c", hash: "x", now: T0 });
    expect(await store.attempt({ key: "c", hash: "h", now: T0 })).toEqual({ outcome: "locked" });
    store.close();
  });
});

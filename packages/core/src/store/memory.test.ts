import { describe, expect, it } from "vitest";
import { memoryStore } from "./memory.js";
import { describeStore } from "./store-suite.js";

describeStore("memory", () => {
  const store = memoryStore();
  return { store, close: () => store.close() };
});

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

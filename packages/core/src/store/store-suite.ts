/**
 * The behaviour every `Store` must show, written once and run against each implementation. Each
 * rule of `./rules.ts` is pinned by at least one check, so a store that drifts from one fails here.
 *
 * Call `describeStore(name, create)` from a `*.test.ts` file. The checks are also plain async
 * functions (`storeChecks`, run one with `runStoreCheck`), for tests that run them some other way.
 */
import { describe, expect, it } from "vitest";
import { EXPIRED_GRACE_MS } from "./rules.js";
import type { Bucket, ChallengeRecord, DeliveryRecord, Store } from "./types.js";

export interface StoreHarness {
  store: Store;
  /** Called after each check. */
  close?: () => Promise<void> | void;
  /**
   * Puts the store in the state where it cannot take more (full, over its memory limit, a
   * database refusing writes) until `close`. Deleting may still work, as it does in Redis at
   * `maxmemory` with `noeviction`.
   */
  exhaust: () => Promise<void> | void;
  /**
   * Lets the store drop what it drops on its own by `now` (the memory store's sweep). Checks call
   * it where a store could drop a record too early. Stores that only expire by the `now` of each
   * call, or by the wall clock (Redis TTLs), need none.
   */
  sweep?: (now: number) => Promise<void> | void;
}

export interface StoreCheckContext {
  store: Store;
  harness: StoreHarness;
  /** Names a key for this run of the check alone, so stores that outlive it never see stale state. */
  k: (key: string) => string;
}

/** One behaviour of a store: `run` throws when the store does not show it. */
export interface StoreCheck {
  /** The part of the interface it checks, as `describeStore` groups it. */
  group: string;
  name: string;
  /** When it needs more than vitest's default 5 s. */
  timeoutMs?: number;
  run(context: StoreCheckContext): Promise<void>;
}

const checks: StoreCheck[] = [];

function check(
  group: string,
  name: string,
  run: (context: StoreCheckContext) => Promise<void>,
  timeoutMs?: number,
): void {
  checks.push({ group, name, run, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}

/** Every check, in the order `describeStore` runs them. */
export const storeChecks: readonly StoreCheck[] = checks;

let runs = 0;

/** Runs one check against a store of its own from `create`, closed afterwards; throws what it throws. */
export async function runStoreCheck(
  storeCheck: StoreCheck,
  create: () => Promise<StoreHarness> | StoreHarness,
): Promise<void> {
  const harness = await create();
  runs += 1;
  const prefix = `t${runs}:`;
  try {
    await storeCheck.run({ store: harness.store, harness, k: (key) => prefix + key });
  } finally {
    await harness.close?.();
  }
}

/**
 * The first check that fails against stores from `create` ("group: name"), or undefined when all
 * pass: how a test proves that the suite notices a deliberately broken store.
 */
export async function firstFailingCheck(
  create: () => Promise<StoreHarness> | StoreHarness,
): Promise<string | undefined> {
  for (const storeCheck of storeChecks) {
    try {
      await runStoreCheck(storeCheck, create);
    } catch {
      return `${storeCheck.group}: ${storeCheck.name}`;
    }
  }
  return undefined;
}

/** Declares every check as a vitest test, grouped, against stores from `create`. */
export function describeStore(name: string, create: () => Promise<StoreHarness> | StoreHarness) {
  describe(`${name} store`, () => {
    const groups = [...new Set(checks.map((c) => c.group))];
    for (const group of groups) {
      describe(group, () => {
        for (const c of checks.filter((c) => c.group === group)) {
          it(c.name, () => runStoreCheck(c, create), c.timeoutMs);
        }
      });
    }
  });
}

const T0 = 1_700_000_000_000;

function challenge(overrides: Partial<ChallengeRecord> = {}): ChallengeRecord {
  return { hash: "h-right", expiresAt: T0 + 300_000, attempts: 0, maxAttempts: 5, ...overrides };
}

const bucketIn =
  (k: (key: string) => string) =>
  (key: string, limit: number, windowMs = 10_000): Bucket => ({ key: k(key), limit, windowMs });

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const [variant, withBudget] of [
  ["with the phone's failure budget", true],
  ["without it", false],
] as const) {
  check(
    "when it cannot take more",
    `counts or refuses every guess, ${variant}: a wrong one is never judged for free`,
    async ({ store, harness, k }) => {
      const judged = (promise: Promise<{ outcome: string }>) =>
        promise.then(
          (result) => result.outcome,
          () => "refused",
        );
      await store.putChallenge(k("c"), challenge(), T0);
      await harness.exhaust();
      const failures: Bucket | undefined = withBudget
        ? { key: k("f"), limit: 20, windowMs: 86_400_000 }
        : undefined;
      const guess = (hash: string) =>
        judged(
          store.attempt({
            key: k("c"),
            hash,
            now: T0 + 1,
            ...(failures && { failures: [failures] }),
          }),
        );
      const wrong = [await guess("h-wrong"), await guess("h-wrong")];
      const right = await guess("h-right");
      for (const outcome of wrong) expect(["mismatch", "refused"]).toContain(outcome);
      // A wrong guess refused while the right one is judged would tell the two apart: free guesses.
      if (wrong.includes("refused")) expect(right).toBe("refused");
      else expect(right).toBe("match");
    },
  );
}

check(
  "challenges",
  "matches the right hash once, then has nothing pending",
  async ({ store, k }) => {
    await store.putChallenge(k("c"), challenge(), T0);
    expect(await store.attempt({ key: k("c"), hash: "h-right", now: T0 + 1 })).toEqual({
      outcome: "match",
    });
    expect(await store.attempt({ key: k("c"), hash: "h-right", now: T0 + 2 })).toEqual({
      outcome: "missing",
    });
  },
);

check(
  "challenges",
  "counts wrong guesses down to zero, then locks the challenge even for the right hash",
  async ({ store, k }) => {
    await store.putChallenge(k("c"), challenge({ maxAttempts: 3 }), T0);
    const left = [];
    for (let i = 0; i < 3; i++) {
      const result = await store.attempt({ key: k("c"), hash: "h-wrong", now: T0 });
      left.push(result.outcome === "mismatch" ? result.attemptsLeft : result.outcome);
    }
    expect(left).toEqual([2, 1, 0]);
    expect(await store.attempt({ key: k("c"), hash: "h-right", now: T0 })).toEqual({
      outcome: "locked",
    });
  },
);

check("challenges", "reports an expired challenge and forgets it", async ({ store, k }) => {
  await store.putChallenge(k("c"), challenge({ expiresAt: T0 + 1000 }), T0);
  expect(await store.attempt({ key: k("c"), hash: "h-right", now: T0 + 1000 })).toEqual({
    outcome: "expired",
  });
  expect(await store.attempt({ key: k("c"), hash: "h-right", now: T0 + 1001 })).toEqual({
    outcome: "missing",
  });
});

check("challenges", "replaces an earlier challenge and its attempt count", async ({ store, k }) => {
  await store.putChallenge(k("c"), challenge({ hash: "h-old" }), T0);
  await store.attempt({ key: k("c"), hash: "h-wrong", now: T0 });
  await store.putChallenge(k("c"), challenge({ hash: "h-new" }), T0 + 10);
  expect(await store.attempt({ key: k("c"), hash: "h-old", now: T0 + 11 })).toEqual({
    outcome: "mismatch",
    attemptsLeft: 4,
  });
  expect(await store.attempt({ key: k("c"), hash: "h-new", now: T0 + 12 })).toEqual({
    outcome: "match",
  });
});

check(
  "challenges",
  "replaces a challenge only while it holds the expected hash, when asked",
  async ({ store, k }) => {
    expect(await store.putChallenge(k("c"), challenge({ hash: "h-1" }), T0, "h-0")).toBe(false);
    expect(await store.putChallenge(k("c"), challenge({ hash: "h-1" }), T0)).toBe(true);
    expect(await store.putChallenge(k("c"), challenge({ hash: "h-2" }), T0, "h-0")).toBe(false);
    expect(await store.putChallenge(k("c"), challenge({ hash: "h-2" }), T0, "h-1")).toBe(true);
    expect((await store.attempt({ key: k("c"), hash: "h-2", now: T0 })).outcome).toBe("match");
    // Used up, so nothing to replace.
    expect(await store.putChallenge(k("c"), challenge({ hash: "h-3" }), T0, "h-2")).toBe(false);
    await store.putChallenge(k("d"), challenge({ hash: "h-1", expiresAt: T0 + 10 }), T0);
    expect(await store.putChallenge(k("d"), challenge({ hash: "h-4" }), T0 + 10, "h-1")).toBe(
      false,
    );
  },
);

check("challenges", "keeps challenges under different keys apart", async ({ store, k }) => {
  await store.putChallenge(k("login"), challenge({ hash: "h-a" }), T0);
  await store.putChallenge(k("step-up"), challenge({ hash: "h-b" }), T0);
  expect((await store.attempt({ key: k("login"), hash: "h-b", now: T0 })).outcome).toBe("mismatch");
  expect((await store.attempt({ key: k("step-up"), hash: "h-b", now: T0 })).outcome).toBe("match");
});

check(
  "challenges",
  "counts exactly N of N concurrent wrong guesses, up to the cap",
  async ({ store, k }) => {
    await store.putChallenge(k("c"), challenge({ maxAttempts: 5 }), T0);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.attempt({ key: k("c"), hash: "h-wrong", now: T0 })),
    );
    const mismatches = results.filter((r) => r.outcome === "mismatch");
    expect(mismatches).toHaveLength(5);
    expect(mismatches.map((r) => (r.outcome === "mismatch" ? r.attemptsLeft : -1)).sort()).toEqual([
      0, 1, 2, 3, 4,
    ]);
    expect(results.filter((r) => r.outcome === "locked")).toHaveLength(45);
    expect((await store.attempt({ key: k("c"), hash: "h-right", now: T0 })).outcome).toBe("locked");
  },
);

check(
  "challenges",
  "lets exactly one of 20 concurrent right guesses through",
  async ({ store, k }) => {
    await store.putChallenge(k("c"), challenge(), T0);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.attempt({ key: k("c"), hash: "h-right", now: T0 })),
    );
    expect(results.filter((r) => r.outcome === "match")).toHaveLength(1);
    expect(results.filter((r) => r.outcome === "missing")).toHaveLength(19);
  },
);

check(
  "challenges",
  "refuses every guess once the failure budget is full, and counts misses in it",
  async ({ store, k }) => {
    const failures: Bucket = { key: k("fail"), limit: 3, windowMs: 60_000 };
    await store.putChallenge(k("c"), challenge({ maxAttempts: 10 }), T0);
    for (let i = 0; i < 3; i++) {
      const r = await store.attempt({
        key: k("c"),
        hash: "h-wrong",
        now: T0,
        failures: [failures],
      });
      expect(r.outcome).toBe("mismatch");
    }
    expect(
      await store.attempt({
        key: k("c"),
        hash: "h-right",
        now: T0 + 1000,
        failures: [failures],
      }),
    ).toEqual({
      outcome: "blocked",
      key: k("fail"),
      retryAfterMs: 59_000,
    });
    // The window ends: guesses are allowed again, and the right one still matches.
    expect(
      (
        await store.attempt({
          key: k("c"),
          hash: "h-right",
          now: T0 + 60_000,
          failures: [failures],
        })
      ).outcome,
    ).toBe("match");
  },
);

check(
  "challenges",
  "lets a fresh code take its first guess when a sparing budget is full, and no more",
  async ({ store, k }) => {
    const phone: Bucket & { sparesFirstGuess: boolean } = {
      key: k("phone"),
      limit: 2,
      windowMs: 60_000,
      sparesFirstGuess: true,
    };
    // Someone else's code for the same phone takes the whole budget.
    await store.putChallenge(k("theirs"), challenge(), T0);
    for (let i = 0; i < 2; i++)
      await store.attempt({ key: k("theirs"), hash: "h-wrong", now: T0, failures: [phone] });
    expect(
      await store.attempt({ key: k("theirs"), hash: "h-right", now: T0, failures: [phone] }),
    ).toMatchObject({ outcome: "blocked", key: k("phone") });
    // The owner's fresh code is judged: the right guess gets in...
    await store.putChallenge(k("mine"), challenge(), T0);
    expect(
      await store.attempt({ key: k("mine"), hash: "h-right", now: T0, failures: [phone] }),
    ).toEqual({ outcome: "match" });
    // ...and a wrong first guess is judged (and counted), the second is not.
    await store.putChallenge(k("next"), challenge(), T0);
    expect(
      await store.attempt({ key: k("next"), hash: "h-wrong", now: T0, failures: [phone] }),
    ).toEqual({ outcome: "mismatch", attemptsLeft: 0 });
    expect(
      await store.attempt({ key: k("next"), hash: "h-right", now: T0, failures: [phone] }),
    ).toMatchObject({ outcome: "blocked", key: k("phone") });
  },
);

check(
  "challenges",
  "counts a wrong guess in every budget, refuses on any full one, and names it",
  async ({ store, k }) => {
    const phone: Bucket = { key: k("phone"), limit: 10, windowMs: 60_000 };
    const client: Bucket = { key: k("client"), limit: 2, windowMs: 30_000 };
    await store.putChallenge(k("c"), challenge({ maxAttempts: 10 }), T0);
    const left = [];
    for (let i = 0; i < 2; i++) {
      const r = await store.attempt({
        key: k("c"),
        hash: "h-wrong",
        now: T0,
        failures: [phone, client],
      });
      left.push(r.outcome === "mismatch" ? r.attemptsLeft : r.outcome);
    }
    expect(left).toEqual([1, 0]);
    expect(
      await store.attempt({
        key: k("c"),
        hash: "h-right",
        now: T0 + 10_000,
        failures: [phone, client],
      }),
    ).toEqual({ outcome: "blocked", key: k("client"), retryAfterMs: 20_000 });
    // The phone's budget counted both misses too.
    expect(
      await store.attempt({
        key: k("c"),
        hash: "h-wrong",
        now: T0 + 30_000,
        failures: [phone],
      }),
    ).toEqual({ outcome: "mismatch", attemptsLeft: 7 });
    // A match gives its count back: the right guess leaves the budgets as they were.
    expect(
      await store.attempt({
        key: k("c"),
        hash: "h-right",
        now: T0 + 30_000,
        failures: [phone, client],
      }),
    ).toEqual({ outcome: "match" });
    await store.putChallenge(k("d"), challenge({ maxAttempts: 10 }), T0 + 30_000);
    expect(
      await store.attempt({
        key: k("d"),
        hash: "h-wrong",
        now: T0 + 30_000,
        failures: [phone],
      }),
    ).toEqual({ outcome: "mismatch", attemptsLeft: 6 });
  },
);

check(
  "challenges",
  "reports the guesses left as the smaller of the code's and the phone's",
  async ({ store, k }) => {
    const failures: Bucket = { key: k("fail"), limit: 2, windowMs: 60_000 };
    await store.putChallenge(k("c"), challenge({ maxAttempts: 5 }), T0);
    expect(
      await store.attempt({ key: k("c"), hash: "h-wrong", now: T0, failures: [failures] }),
    ).toEqual({
      outcome: "mismatch",
      attemptsLeft: 1,
    });
  },
);

check(
  "challenges",
  "does not count a right guess, an expired or a missing code in the failure budget",
  async ({ store, k }) => {
    const failures: Bucket = { key: k("fail"), limit: 1, windowMs: 60_000 };
    await store.attempt({ key: k("none"), hash: "h", now: T0, failures: [failures] });
    await store.putChallenge(k("old"), challenge({ expiresAt: T0 + 1 }), T0);
    await store.attempt({ key: k("old"), hash: "h-wrong", now: T0 + 5, failures: [failures] });
    await store.putChallenge(k("c"), challenge(), T0);
    await store.attempt({ key: k("c"), hash: "h-right", now: T0, failures: [failures] });
    await store.putChallenge(k("c"), challenge(), T0);
    expect(
      (await store.attempt({ key: k("c"), hash: "h-wrong", now: T0, failures: [failures] }))
        .outcome,
    ).toBe("mismatch");
    expect(
      (await store.attempt({ key: k("c"), hash: "h-wrong", now: T0, failures: [failures] }))
        .outcome,
    ).toBe("blocked");
  },
);

check(
  "challenges",
  "stops a flood of concurrent guesses at the failure budget across codes",
  async ({ store, k }) => {
    const failures: Bucket = { key: k("fail"), limit: 7, windowMs: 60_000 };
    await store.putChallenge(k("a"), challenge(), T0);
    await store.putChallenge(k("b"), challenge(), T0);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.attempt({
          key: k(i % 2 ? "a" : "b"),
          hash: "h-wrong",
          now: T0,
          failures: [failures],
        }),
      ),
    );
    expect(results.filter((r) => r.outcome === "mismatch")).toHaveLength(7);
  },
);

check(
  "challenges",
  "remembers an expired code for EXPIRED_GRACE_MS, then forgets it",
  async ({ store, harness, k }) => {
    // Codes that expire 20 ms after they are put, by the calls' clock and the wall clock alike: a
    // store whose own expiry runs on the wall clock (Redis TTLs) has dropped them by now, if it would.
    const expiresAt = T0 + 20;
    await store.putChallenge(k("late"), challenge({ expiresAt }), T0);
    await store.putChallenge(k("gone"), challenge({ expiresAt }), T0);
    await pause(60);
    const last = expiresAt + EXPIRED_GRACE_MS - 1;
    await harness.sweep?.(last);
    // A late guess is told the code expired (ask for a new one), not that there was none.
    expect(await store.attempt({ key: k("late"), hash: "h-right", now: last })).toEqual({
      outcome: "expired",
    });
    // Once the grace is over the code is gone, whether or not the store has dropped it yet.
    expect(await store.attempt({ key: k("gone"), hash: "h-wrong", now: last + 1 })).toEqual({
      outcome: "missing",
    });
  },
);

check(
  "challenges",
  "refuses a guess while a failure budget is full, whatever the code's state",
  async ({ store, k }) => {
    const failures: Bucket = { key: k("fail"), limit: 1, windowMs: 60_000 };
    await store.putChallenge(k("c"), challenge(), T0);
    await store.putChallenge(k("old"), challenge({ expiresAt: T0 + 500 }), T0);
    await store.attempt({ key: k("c"), hash: "h-wrong", now: T0, failures: [failures] });
    // Pending, expired or missing: one answer, so a full budget tells nothing about the code.
    for (const key of [k("c"), k("old"), k("none")]) {
      expect(
        await store.attempt({ key, hash: "h-right", now: T0 + 1000, failures: [failures] }),
      ).toEqual({ outcome: "blocked", key: k("fail"), retryAfterMs: 59_000 });
    }
  },
);

check(
  "challenges",
  "refuses a guess on the full failure budget that frees up last",
  async ({ store, k }) => {
    const client: Bucket = { key: k("client"), limit: 1, windowMs: 30_000 };
    const phone: Bucket = { key: k("phone"), limit: 1, windowMs: 60_000 };
    await store.putChallenge(k("c"), challenge(), T0);
    // One miss fills both budgets.
    expect(
      await store.attempt({ key: k("c"), hash: "h-wrong", now: T0, failures: [client, phone] }),
    ).toEqual({ outcome: "mismatch", attemptsLeft: 0 });
    expect(
      await store.attempt({
        key: k("c"),
        hash: "h-right",
        now: T0 + 10_000,
        failures: [client, phone],
      }),
    ).toEqual({ outcome: "blocked", key: k("phone"), retryAfterMs: 50_000 });
  },
);

check(
  "challenges",
  "spares only a code that has taken no guess, and not one past its grace",
  async ({ store, k }) => {
    const phone: Bucket & { sparesFirstGuess: boolean } = {
      key: k("phone"),
      limit: 1,
      windowMs: 3_600_000,
      sparesFirstGuess: true,
    };
    await store.putChallenge(k("theirs"), challenge(), T0);
    await store.attempt({ key: k("theirs"), hash: "h-wrong", now: T0, failures: [phone] });
    // An old code that never took a guess is spared: it is expired, and says so.
    await store.putChallenge(k("old"), challenge({ expiresAt: T0 + 10 }), T0);
    expect(
      await store.attempt({ key: k("old"), hash: "h-right", now: T0 + 20, failures: [phone] }),
    ).toEqual({ outcome: "expired" });
    // Past its grace a code is no code at all: nothing to spare, the budget refuses.
    await store.putChallenge(k("older"), challenge({ expiresAt: T0 + 10 }), T0);
    const after = T0 + 10 + EXPIRED_GRACE_MS;
    expect(
      await store.attempt({ key: k("older"), hash: "h-right", now: after, failures: [phone] }),
    ).toMatchObject({ outcome: "blocked", key: k("phone") });
  },
);

check(
  "counters",
  "allows `limit` hits per window, then says when the window ends",
  async ({ store, k }) => {
    const bucket = bucketIn(k);
    const b = bucket("b", 2);
    expect(await store.take([b], T0)).toEqual({
      ok: true,
      buckets: [{ remaining: 1, resetAt: T0 + 10_000 }],
    });
    expect(await store.take([b], T0 + 1000)).toEqual({
      ok: true,
      buckets: [{ remaining: 0, resetAt: T0 + 10_000 }],
    });
    expect(await store.take([b], T0 + 4000)).toEqual({
      ok: false,
      key: k("b"),
      retryAfterMs: 6000,
    });
    expect((await store.take([b], T0 + 10_000)).ok).toBe(true);
  },
);

check(
  "counters",
  "counts nothing when any bucket is full, and names the one that frees up last",
  async ({ store, k }) => {
    const bucket = bucketIn(k);
    const short = bucket("short", 1, 1000);
    const long = bucket("long", 1, 5000);
    const free = bucket("free", 10);
    await store.take([short, long], T0);
    expect(await store.take([free, short, long], T0 + 100)).toEqual({
      ok: false,
      key: k("long"),
      retryAfterMs: 4900,
    });
    const after = await store.take([free], T0 + 200);
    expect(after.ok && after.buckets[0]?.remaining).toBe(9);
  },
);

check(
  "counters",
  "slides the window: no more than `limit` hits in any window, not just per window",
  async ({ store, k }) => {
    const bucket = bucketIn(k);
    const b = bucket("slide", 2);
    await store.take([b], T0);
    await store.take([b], T0 + 9000);
    // The first hit left the window: one slot, not two.
    expect((await store.take([b], T0 + 10_000)).ok).toBe(true);
    expect(await store.take([b], T0 + 10_001)).toEqual({
      ok: false,
      key: k("slide"),
      retryAfterMs: 8999,
    });
    expect((await store.take([b], T0 + 19_000)).ok).toBe(true);
  },
);

check(
  "counters",
  "counts hits that arrive out of time order by their time",
  async ({ store, k }) => {
    const bucket = bucketIn(k);
    const b = bucket("unordered", 2, 1000);
    await store.take([b], T0 + 500);
    await store.take([b], T0);
    // At T0+1200 only the hit at T0+500 is still in the window: there is room for one.
    expect((await store.take([b], T0 + 1200)).ok).toBe(true);
  },
);

check(
  "counters",
  "counts large limits in fixed windows that start at the first hit",
  async ({ store, k }) => {
    const bucket = bucketIn(k);
    const b = bucket("big", 2000, 60_000);
    for (let i = 0; i < 2000; i++) expect((await store.take([b], T0 + i)).ok).toBe(true);
    expect(await store.take([b], T0 + 30_000)).toEqual({
      ok: false,
      key: k("big"),
      retryAfterMs: 30_000,
    });
    const next = await store.take([b], T0 + 60_000);
    expect(next).toEqual({ ok: true, buckets: [{ remaining: 1999, resetAt: T0 + 120_000 }] });
    // 2,000 sequential calls: a database store on a busy machine needs more than the default 5 s.
  },
  30_000,
);

check(
  "counters",
  "never lets a refused call hold a bucket another call needs",
  async ({ store, k }) => {
    const bucket = bucketIn(k);
    const ip = bucket("ip-full", 1);
    await store.take([ip], T0);
    const victim = bucket("victim", 1);
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => store.take([victim, ip], T0)),
      store.take([victim], T0),
    ]);
    expect(results.slice(0, 10).every((r) => !r.ok)).toBe(true);
    expect(results.at(-1)?.ok).toBe(true);
  },
);

check("counters", "checks a peek bucket without counting in it", async ({ store, k }) => {
  const bucket = bucketIn(k);
  const peek: Bucket = { ...bucket("p", 1), peek: true };
  expect((await store.take([peek], T0)).ok).toBe(true);
  expect((await store.take([peek], T0)).ok).toBe(true);
  await store.take([bucket("p", 1)], T0);
  expect((await store.take([peek], T0)).ok).toBe(false);
});

check("counters", "admits exactly `limit` of many concurrent hits", async ({ store, k }) => {
  const bucket = bucketIn(k);
  const b = bucket("b", 5);
  const results = await Promise.all(Array.from({ length: 30 }, () => store.take([b], T0)));
  expect(results.filter((r) => r.ok)).toHaveLength(5);
});

check(
  "counters",
  "keeps a counter as long as any of its hits counts, whatever it drops on its own",
  async ({ store, harness, k }) => {
    const bucket = bucketIn(k);
    const b = bucket("kept", 2);
    await store.take([b], T0);
    await store.take([b], T0 + 9000);
    await harness.sweep?.(T0 + 10_000);
    expect((await store.take([b], T0 + 10_000)).ok).toBe(true);
    expect(await store.take([b], T0 + 10_001)).toEqual({
      ok: false,
      key: k("kept"),
      retryAfterMs: 8999,
    });
  },
);

check(
  "counters",
  "refuses every hit in a bucket whose limit is 0, for a whole window",
  async ({ store, k }) => {
    const bucket = bucketIn(k);
    expect(await store.take([bucket("zero", 0)], T0)).toEqual({
      ok: false,
      key: k("zero"),
      retryAfterMs: 10_000,
    });
  },
);

check("delivery", "moves forward only, and never out of a failure", async ({ store, k }) => {
  const id = k("wamid.1");
  await store.putDelivery(id, { status: "accepted", updatedAt: T0 }, 60_000);
  const step = (status: "sent" | "delivered" | "read" | "failed", at: number) =>
    store.advanceDelivery({ messageId: id, status }, at);
  expect((await step("delivered", T0 + 1))?.changed).toBe(true);
  expect(await step("sent", T0 + 2)).toEqual({
    changed: false,
    record: { status: "delivered", updatedAt: T0 + 1 },
  });
  expect((await step("failed", T0 + 3))?.changed).toBe(false);
  expect((await step("read", T0 + 4))?.record).toEqual({ status: "read", updatedAt: T0 + 4 });
  expect(await store.getDelivery(id, T0 + 5)).toEqual({ status: "read", updatedAt: T0 + 4 });
});

check("delivery", "keeps every field of a record, through its updates", async ({ store, k }) => {
  // Each field a record can hold: a store that drops one (say, the language a fallback must speak)
  // fails here, whatever it keeps them in.
  const full: Required<DeliveryRecord> = {
    status: "accepted",
    updatedAt: T0,
    sentAt: T0 - 5,
    error: "none yet",
    phone: "14155550101",
    purpose: "login",
    expiresAt: T0 + 300_000,
    hash: "h-code",
    fallback: true,
    ip: "198.51.100.7",
    client: "client-tag",
    sender: "sender-tag",
    locale: "pt-BR",
  };
  const id = k("wamid.full");
  await store.putDelivery(id, full, 60_000);
  expect(await store.getDelivery(id, T0 + 1)).toEqual(full);
  const moved = await store.advanceDelivery({ messageId: id, status: "sent" }, T0 + 2);
  expect(moved).toEqual({ changed: true, record: { ...full, status: "sent", updatedAt: T0 + 2 } });
});

check("delivery", "keeps a failure's reason and ends there", async ({ store, k }) => {
  const id = k("wamid.2");
  await store.putDelivery(id, { status: "accepted", updatedAt: T0 }, 60_000);
  await store.advanceDelivery(
    { messageId: id, status: "failed", error: "not on WhatsApp" },
    T0 + 1,
  );
  expect(
    (await store.advanceDelivery({ messageId: id, status: "delivered" }, T0 + 2))?.changed,
  ).toBe(false);
  expect(await store.getDelivery(id, T0 + 3)).toEqual({
    status: "failed",
    updatedAt: T0 + 1,
    error: "not on WhatsApp",
  });
});

check("delivery", "ignores unknown messages and forgets old ones", async ({ store, k }) => {
  expect(await store.advanceDelivery({ messageId: k("nope"), status: "sent" }, T0)).toBeNull();
  await store.putDelivery(k("m"), { status: "accepted", updatedAt: T0 }, 1000);
  expect(await store.getDelivery(k("m"), T0 + 999)).not.toBeNull();
  expect(await store.getDelivery(k("m"), T0 + 1000)).toBeNull();
});

check("values", "sets a value only when absent, until it expires", async ({ store, k }) => {
  expect(await store.setIfAbsent(k("v"), "one", 1000, T0)).toBeNull();
  expect(await store.setIfAbsent(k("v"), "two", 1000, T0 + 10)).toBe("one");
  await store.set(k("v"), "three", 1000, T0 + 20);
  expect(await store.setIfAbsent(k("v"), "four", 1000, T0 + 30)).toBe("three");
  expect(await store.setIfAbsent(k("v"), "five", 1000, T0 + 1020)).toBeNull();
  await store.delete(k("v"));
  expect(await store.setIfAbsent(k("v"), "six", 1000, T0 + 1030)).toBeNull();
});

check(
  "values",
  "reads a live value, and nothing once it expired or was deleted",
  async ({ store, k }) => {
    expect(await store.get(k("g"), T0)).toBeNull();
    await store.set(k("g"), "one", 1000, T0);
    expect(await store.get(k("g"), T0 + 999)).toBe("one");
    expect(await store.get(k("g"), T0 + 1000)).toBeNull();
    await store.set(k("g"), "two", 1000, T0 + 2000);
    await store.delete(k("g"));
    expect(await store.get(k("g"), T0 + 2001)).toBeNull();
  },
);

check("values", "gives a key to exactly one of many concurrent claims", async ({ store, k }) => {
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => store.setIfAbsent(k("claim"), `v${i}`, 1000, T0)),
  );
  expect(results.filter((r) => r === null)).toHaveLength(1);
});

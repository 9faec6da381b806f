import { Redis } from "ioredis";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module of the repository's test scripts
import { startRedisServer } from "../../../../scripts/redis-server.mjs";
import { bruteForceDay, expectBounded, report } from "../../test/helpers.js";
import type { Channel } from "../channel.js";
import { constantTimeEqual } from "../code.js";
import { createOtp, type Otp } from "../otp.js";
import { createTestChannel } from "../testing/test-channel.js";
import { redisStore } from "./redis.js";
import {
  bucketState,
  type Counter,
  counterState,
  EXPIRED_GRACE_MS,
  judgeAttempt,
  LOG_LIMIT,
  lastToFree,
  mayReplace,
  withHit,
} from "./rules.js";
import { describeStore } from "./store-suite.js";
import type {
  AttemptInput,
  AttemptResult,
  Bucket,
  ChallengeRecord,
  DeliveryRecord,
  FailureBucket,
  TakeResult,
} from "./types.js";

let server: { url: string; port: number; stop(): Promise<void>; start(): Promise<void> };
beforeAll(async () => {
  server = await startRedisServer();
}, 600_000);
afterAll(async () => {
  await server?.stop();
});

let prefixes = 0;
const prefix = () => `test${++prefixes}:`;

/**
 * Puts the server over its memory limit with `noeviction`, as a full production Redis: writes that
 * would grow memory are refused, reads and deletes still run. Undone at close.
 */
async function overMemory() {
  const admin = await createClient({ url: server.url }).connect();
  await admin.configSet({ "maxmemory-policy": "noeviction", maxmemory: "1" });
  return async () => {
    await admin.configSet("maxmemory", "0");
    await admin.quit();
  };
}

function harness(client: { quit(): Promise<unknown> }, store: ReturnType<typeof redisStore>) {
  let undo: (() => Promise<void>) | undefined;
  return {
    store,
    exhaust: async () => {
      undo = await overMemory();
    },
    close: async () => {
      await undo?.();
      await client.quit();
    },
  };
}

describeStore("Redis (node-redis)", async () => {
  const client = await createClient({ url: server.url }).connect();
  return harness(client, redisStore(client, { prefix: prefix() }));
});

describeStore("Redis (ioredis)", async () => {
  const client = new Redis(server.url);
  return harness(client, redisStore(client, { prefix: prefix() }));
});

describe("redisStore", () => {
  it("reads around what an earlier version left: JSON delivery records and values under d: and v:", async () => {
    const client = await createClient({ url: server.url }).connect();
    try {
      const store = redisStore(client, { prefix: "upgrade:" });
      const now = Date.now();
      await client.set("upgrade:d:wamid.old", JSON.stringify({ status: "sent", updatedAt: now }));
      await client.set("upgrade:v:known:14155550101:tag", JSON.stringify({ v: "1", x: now + 1e6 }));
      expect(await store.getDelivery("wamid.old", now)).toBeNull();
      expect(await store.get("known:14155550101:tag", now)).toBeNull();
      await store.set("known:14155550101:tag", "1", 60_000, now);
      expect(await store.get("known:14155550101:tag", now)).toBe("1");
      await store.putDelivery("wamid.old", { status: "accepted", updatedAt: now }, 60_000);
      expect(await store.getDelivery("wamid.old", now)).toMatchObject({ status: "accepted" });
    } finally {
      await client.quit();
    }
  });

  it("keeps every key under its prefix, with a TTL", async () => {
    const client = await createClient({ url: server.url }).connect();
    try {
      const store = redisStore(client, { prefix: "ttl-check:" });
      const now = Date.now();
      await store.putChallenge(
        "login:14155550101",
        { hash: "h", expiresAt: now + 300_000, attempts: 0, maxAttempts: 5 },
        now,
      );
      await store.take([{ key: "send:phone:1", limit: 5, windowMs: 600_000 }], now);
      await store.putDelivery("wamid.1", { status: "accepted", updatedAt: now }, 3_600_000);
      await store.setIfAbsent("idem", "pending", 300_000, now);
      const keys = (await client.keys("ttl-check:*")).sort();
      expect(keys).toEqual([
        "ttl-check:b:send:phone:1",
        "ttl-check:c:login:14155550101",
        "ttl-check:m:wamid.1",
        "ttl-check:s:idem",
      ]);
      for (const key of keys) expect(await client.pTTL(key)).toBeGreaterThan(0);
      // The stored challenge is the keyed hash, never a code.
      expect(await client.hGetAll("ttl-check:c:login:14155550101")).toMatchObject({
        h: "h",
        a: "0",
        m: "5",
      });
      // A bucket that saw one hit holds it as a number, in the key's own record.
      expect(await client.type("ttl-check:b:send:phone:1")).toBe("string");
      expect(await client.objectEncoding("ttl-check:b:send:phone:1")).toBe("int");
    } finally {
      await client.quit();
    }
  });

  it("judges and counts every guess when full, and takes no new code", async () => {
    const client = await createClient({ url: server.url }).connect();
    try {
      const store = redisStore(client, { prefix: prefix() });
      const now = Date.now();
      const challenge = { hash: "h-right", expiresAt: now + 60_000, attempts: 0, maxAttempts: 5 };
      const budget = { key: "phone", limit: 3, windowMs: 60_000 };
      await store.putChallenge("c", challenge, now);
      const undo = await overMemory();
      try {
        const guess = (hash: string, at: number) =>
          store.attempt({ key: "c", hash, now: at, failures: [budget] });
        expect(await guess("h-wrong", now + 1)).toEqual({ outcome: "mismatch", attemptsLeft: 2 });
        expect(await guess("h-wrong", now + 2)).toEqual({ outcome: "mismatch", attemptsLeft: 1 });
        expect(await guess("h-right", now + 3)).toEqual({ outcome: "match" });
        await expect(store.putChallenge("d", challenge, now)).rejects.toThrow(/OOM/);
      } finally {
        await undo();
      }
      // Both misses stayed counted in the budget.
      expect(await store.take([{ ...budget, peek: true }], now + 4)).toEqual({
        ok: true,
        buckets: [{ remaining: 1, resetAt: now + 1 + 60_000 }],
      });
    } finally {
      await client.quit();
    }
  });

  it("takes one round trip per operation, counted by the server", async () => {
    const client = await createClient({ url: server.url }).connect();
    const observer = await createClient({ url: server.url }).connect();
    // Every call the store makes on the client, whatever the method.
    let calls = 0;
    const counted = new Proxy(client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          calls += 1;
          return value.apply(target, args);
        };
      },
    });
    // Scripts the server was asked to run (commands inside a script are not requests).
    const scriptsRun = async () => {
      const stats = await observer.info("commandstats");
      const count = (name: string) =>
        Number(stats.match(new RegExp(`cmdstat_${name}:calls=(\\d+)`))?.[1] ?? 0);
      return count("evalsha") + count("eval");
    };
    try {
      const store = redisStore(counted, { prefix: prefix() });
      const now = Date.now();
      const challenge = { hash: "h", expiresAt: now + 300_000, attempts: 0, maxAttempts: 5 };
      const failures = { key: "f", limit: 20, windowMs: 86_400_000 };
      const buckets = [
        { key: "a", limit: 1, windowMs: 60_000 },
        { key: "b", limit: 5, windowMs: 600_000 },
        { key: "c", limit: 20, windowMs: 600_000, peek: true },
      ];
      const operations: [string, () => Promise<unknown>][] = [
        ["putChallenge", () => store.putChallenge("k", challenge, now)],
        ["attempt", () => store.attempt({ key: "k", hash: "x", now, failures: [failures] })],
        ["take", () => store.take(buckets, now)],
        [
          "putDelivery",
          () => store.putDelivery("m", { status: "accepted", updatedAt: now }, 60_000),
        ],
        ["advanceDelivery", () => store.advanceDelivery({ messageId: "m", status: "sent" }, now)],
        ["getDelivery", () => store.getDelivery("m", now)],
        ["setIfAbsent", () => store.setIfAbsent("v", "1", 60_000, now)],
        ["set", () => store.set("v", "2", 60_000, now)],
        ["delete", () => store.delete("v")],
      ];
      for (const [, run] of operations) await run(); // loads every script once
      const trips: Record<string, [number, number]> = {};
      for (const [name, run] of operations) {
        const [callsBefore, scriptsBefore] = [calls, await scriptsRun()];
        await run();
        trips[name] = [calls - callsBefore, (await scriptsRun()) - scriptsBefore];
      }
      expect(trips).toEqual(Object.fromEntries(operations.map(([name]) => [name, [1, 1]])));
    } finally {
      await client.quit();
      await observer.quit();
    }
  });

  it("keeps a day of brute force across two instances within the phone's budget", async () => {
    const a = await createClient({ url: server.url }).connect();
    const b = await createClient({ url: server.url }).connect();
    try {
      const shared = prefix();
      const result = await bruteForceDay([
        redisStore(a, { prefix: shared }),
        redisStore(b, { prefix: shared }),
      ]);
      report("two instances on Redis", result);
      expectBounded(result);
    } finally {
      await a.quit();
      await b.quit();
    }
  }, 60_000);

  it("sends a code through the fallback once across two instances, whatever reports the failure", async () => {
    const a = await createClient({ url: server.url }).connect();
    const b = await createClient({ url: server.url }).connect();
    try {
      const shared = prefix();
      let now = Date.now();
      const sms = [
        createTestChannel({ name: "sms", kind: "sms" }),
        createTestChannel({ name: "sms", kind: "sms" }),
      ];
      const [one, two] = [a, b].map((client, i) =>
        createOtp({
          secret: "s".repeat(32),
          channel: createTestChannel(),
          store: redisStore(client, { prefix: shared }),
          now: () => now,
          limits: { sendsPerPhone: { cooldownSeconds: 60, max: 100, windowSeconds: 600 } },
          delivery: {
            fallback: {
              channel: sms[i] as Channel,
              timeoutSeconds: 20,
              sendsPerPhone: { max: 100, windowSeconds: 600 },
            },
          },
        }),
      ) as [Otp, Otp];
      const phone = "+14155550101";
      const rounds = 10;
      let userAsked = 0;
      for (let round = 0; round < rounds; round++) {
        const { messageId } = await one.send({ phone, purpose: `round${round}` });
        now += 21_000; // overdue: every status() may take over too
        const failed = { ack: [{ id: messageId, status: "failed" }] };
        const racers = await Promise.allSettled([
          one.handleWebhook(failed),
          two.handleWebhook(failed),
          two.handleWebhook(failed),
          one.status(messageId),
          two.status(messageId),
          // The user presses "send by SMS instead" at about the same moment: before, during or
          // after the automatic fallback, a little later each round.
          new Promise((resolve) => setTimeout(resolve, round * 3)).then(() =>
            two.send({ phone, purpose: `round${round}`, channel: "sms" }),
          ),
        ]);
        if (racers[5]?.status === "fulfilled") userAsked += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        const sent = sms
          .flatMap((channel) => channel.messages)
          .filter((m) => m.purpose === `round${round}`);
        expect(sent).toHaveLength(1);
        now += 120_000; // past every cooldown
      }
      console.log(
        `fallback race, two instances on Redis: ${rounds} rounds of 3 failure reports, 2 overdue status calls and a user request at once; one SMS each round (the user's request won ${userAsked} of them)`,
      );
    } finally {
      await a.quit();
      await b.quit();
    }
  }, 60_000);

  it("fails closed while Redis is down, and recovers by itself when it returns", async () => {
    const client = createClient({ url: server.url, socket: { reconnectStrategy: () => 50 } });
    client.on("error", () => {});
    await client.connect();
    const channel = createTestChannel();
    const otp = createOtp({
      secret: "redis-test-secret-0123456789abcdef0123",
      channel,
      store: redisStore(client, { prefix: prefix(), timeoutMs: 500 }),
      limits: { sendsPerPhone: false },
    });
    await otp.send({ phone: "+14155550101" });
    await server.stop();
    await expect(otp.send({ phone: "+14155550101" })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
    await expect(otp.verify({ phone: "+14155550101", code: "123456" })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
    expect(channel.messages).toHaveLength(1);
    await server.start();
    let sent = false;
    for (let i = 0; i < 60 && !sent; i++) {
      sent = await otp.send({ phone: "+14155550101" }).then(
        () => true,
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return false;
        },
      );
    }
    expect(sent).toBe(true);
    expect(
      (
        await otp.verify({
          phone: "+14155550101",
          code: channel.lastCode("+14155550101") as string,
        })
      ).ok,
    ).toBe(true);
    await client.quit();
  }, 30_000);
});

/** The store rules applied to plain maps: what every call of a store must answer. */
function rulesModel() {
  const counters = new Map<string, Counter>();
  const challenges = new Map<string, ChallengeRecord>();
  const hit = (bucket: Bucket, now: number) =>
    counters.set(bucket.key, withHit(counters.get(bucket.key), bucket, now));
  const count = (bucket: Bucket, now: number) => ({
    bucket,
    ...counterState(counters.get(bucket.key), bucket, now),
  });
  return {
    putChallenge(key: string, challenge: ChallengeRecord, now: number, ifHash?: string) {
      if (!mayReplace(challenges.get(key), ifHash, now)) return false;
      challenges.set(key, { ...challenge });
      return true;
    },
    attempt({ key, hash, now, failures = [] }: AttemptInput): AttemptResult {
      const challenge = challenges.get(key);
      const { result, effect } = judgeAttempt({
        challenge,
        budgets: failures.map((bucket) => count(bucket, now)),
        matched: challenge !== undefined && constantTimeEqual(challenge.hash, hash),
        now,
      });
      if (effect === "count" && challenge !== undefined) {
        challenge.attempts += 1;
        for (const bucket of failures) hit(bucket, now);
      }
      if (effect === "consume" || effect === "forget") challenges.delete(key);
      return result;
    },
    take(buckets: readonly Bucket[], now: number): TakeResult {
      const full = lastToFree(
        buckets.map((bucket) => count(bucket, now)),
        now,
      );
      if (full !== undefined) return { ok: false, ...full };
      return {
        ok: true,
        buckets: buckets.map((bucket) => {
          if (!bucket.peek) hit(bucket, now);
          return bucketState(bucket, count(bucket, now));
        }),
      };
    },
  };
}

describe("redisStore, call for call with the store rules", () => {
  it("answers a long random run of takes, guesses and puts as the rules do", async () => {
    const client = await createClient({ url: server.url }).connect();
    try {
      const store = redisStore(client, { prefix: prefix() });
      const model = rulesModel();
      // A small seeded generator, so a failing run can be replayed.
      let seed = 20;
      const random = () => {
        seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
        return seed / 2 ** 32;
      };
      const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
      const some = <T>(items: readonly T[]) => items.filter(() => random() < 0.5);
      const counters: Bucket[] = [
        { key: "one", limit: 1, windowMs: 1000 },
        { key: "two", limit: 2, windowMs: 1500 },
        { key: "three", limit: 3, windowMs: 700 },
        { key: "fixed", limit: LOG_LIMIT + 1, windowMs: 2000 },
      ];
      const budgets: FailureBucket[] = [
        { key: "phone", limit: 2, windowMs: 3000 },
        { key: "client", limit: 1, windowMs: 1200 },
        { key: "wide", limit: LOG_LIMIT + 1, windowMs: 2500 },
      ];
      // Calls from several instances: the clock mostly moves on, in steps that often land a hit
      // right on a window's edge, sometimes stands still (hits in the same millisecond), steps
      // back (an instance whose clock is behind) or jumps past a code's grace.
      let now = Date.UTC(2026, 0, 1);
      const steps = [0, 0, 1, 50, 100, 250, 350, 700, -1, -100, EXPIRED_GRACE_MS / 20];
      const counts: Record<string, number> = {};
      for (let i = 0; i < 2000; i++) {
        now += pick(steps);
        const kind = pick(["take", "take", "attempt", "attempt", "put"] as const);
        counts[kind] = (counts[kind] ?? 0) + 1;
        const call = `call ${i} (${kind} at ${now})`;
        if (kind === "take") {
          const buckets = some(counters).map((b) => (random() < 0.2 ? { ...b, peek: true } : b));
          expect(await store.take(buckets, now), call).toEqual(model.take(buckets, now));
        } else if (kind === "attempt") {
          const input: AttemptInput = {
            key: pick(["x", "y", "never"]),
            hash: pick(["h-right", "h-wrong"]),
            now,
            failures: some(budgets).map((b) => ({ ...b, sparesFirstGuess: random() < 0.5 })),
          };
          expect(await store.attempt(input), call).toEqual(model.attempt(input));
        } else {
          const key = pick(["x", "y"]);
          const challenge: ChallengeRecord = {
            hash: "h-right",
            expiresAt: now + pick([0, 300, 2000, EXPIRED_GRACE_MS / 4]),
            attempts: 0,
            maxAttempts: 3,
          };
          const ifHash = pick([undefined, undefined, "h-right", "h-other"]);
          expect(await store.putChallenge(key, challenge, now, ifHash), call).toBe(
            model.putChallenge(key, challenge, now, ifHash),
          );
        }
      }
      expect(Object.keys(counts).sort()).toEqual(["attempt", "put", "take"]);
    } finally {
      await client.quit();
    }
  }, 60_000);

  it("times a budget past its limit (spared guesses) by the hit that holds it full", async () => {
    const client = await createClient({ url: server.url }).connect();
    try {
      const store = redisStore(client, { prefix: prefix() });
      const model = rulesModel();
      const t0 = Date.now();
      const phone: FailureBucket = { key: "phone", limit: 2, windowMs: 60_000 };
      const spared = { ...phone, sparesFirstGuess: true };
      const both = async (call: (s: typeof store | typeof model) => unknown) =>
        expect(await call(store)).toEqual(await call(model));
      const challenge = (now: number) => ({
        hash: "h-right",
        expiresAt: now + 60_000,
        attempts: 0,
        maxAttempts: 5,
      });
      await both((s) => s.putChallenge("theirs", challenge(t0), t0));
      await both((s) => s.attempt({ key: "theirs", hash: "h-wrong", now: t0, failures: [phone] }));
      await both((s) =>
        s.attempt({ key: "theirs", hash: "h-wrong", now: t0 + 100, failures: [phone] }),
      );
      // Full; a fresh code's first guess still gets in, and its miss makes three hits.
      await both((s) => s.putChallenge("mine", challenge(t0 + 200), t0 + 200));
      await both((s) =>
        s.attempt({ key: "mine", hash: "h-wrong", now: t0 + 200, failures: [spared] }),
      );
      // Two of the three hold it full: it frees up when the second oldest leaves.
      await both((s) =>
        s.attempt({ key: "mine", hash: "h-right", now: t0 + 300, failures: [spared] }),
      );
      expect(
        await store.attempt({ key: "mine", hash: "h-right", now: t0 + 300, failures: [spared] }),
      ).toEqual({ outcome: "blocked", key: "phone", retryAfterMs: 59_800 });
    } finally {
      await client.quit();
    }
  });

  it("names the first of full buckets that free up at the same moment", async () => {
    const client = await createClient({ url: server.url }).connect();
    try {
      const store = redisStore(client, { prefix: prefix() });
      const t0 = Date.now();
      // One hit in a log kept as a number, two in a sorted set, a fixed window: all free at t0 + 1000.
      const one: Bucket = { key: "one", limit: 1, windowMs: 1000 };
      const two: Bucket = { key: "two", limit: 2, windowMs: 1000 };
      const fixed: Bucket = { key: "fixed", limit: LOG_LIMIT + 1, windowMs: 1000 };
      await store.take([one, two], t0);
      await store.take([two], t0 + 100);
      for (let i = 0; i <= LOG_LIMIT; i++) await store.take([fixed], t0);
      for (const order of [
        [one, two, fixed],
        [two, fixed, one],
        [fixed, one, two],
      ]) {
        expect(await store.take(order, t0 + 500)).toEqual({
          ok: false,
          key: order[0]?.key,
          retryAfterMs: 500,
        });
      }
      await store.putChallenge(
        "c",
        { hash: "h", expiresAt: t0 + 60_000, attempts: 0, maxAttempts: 5 },
        t0,
      );
      for (const order of [
        [one, two],
        [two, one],
      ]) {
        expect(
          await store.attempt({ key: "c", hash: "h", now: t0 + 500, failures: order }),
        ).toEqual({ outcome: "blocked", key: order[0]?.key, retryAfterMs: 500 });
      }
    } finally {
      await client.quit();
    }
  });

  it("compares hashes of every length byte by byte, wherever they differ", async () => {
    const client = await createClient({ url: server.url }).connect();
    try {
      const store = redisStore(client, { prefix: prefix() });
      const now = Date.now();
      const put = (hash: string, ifHash?: string) =>
        store.putChallenge(
          "c",
          { hash, expiresAt: now + 60_000, attempts: 0, maxAttempts: 5 },
          now,
          ifHash,
        );
      for (const length of [0, 1, 2, 7, 8, 9, 15, 16, 17, 43, 64]) {
        const hash = Array.from({ length }, (_, i) => "abcdefghé"[i % 9]).join("");
        expect(await put(hash), `length ${length}`).toBe(true);
        for (let at = 0; at < hash.length; at++) {
          const other = `${hash.slice(0, at)}${hash[at] === "z" ? "y" : "z"}${hash.slice(at + 1)}`;
          expect(await put(hash, other), `length ${length}, differs at ${at}`).toBe(false);
        }
        expect(await put(hash, `${hash}a`), `length ${length}, longer`).toBe(false);
        if (length > 0)
          expect(await put(hash, hash.slice(1)), `length ${length}, shorter`).toBe(false);
        expect(await put(hash, hash), `length ${length}, equal`).toBe(true);
      }
    } finally {
      await client.quit();
    }
  });

  it("refuses a guess at a challenge missing a field rather than judge it", async () => {
    const client = await createClient({ url: server.url }).connect();
    try {
      const shared = prefix();
      const store = redisStore(client, { prefix: shared });
      const now = Date.now();
      const fields = { h: "h-right", e: String(now + 60_000), a: "0", m: "5" };
      for (const missing of ["e", "a", "m"] as const) {
        const { [missing]: _, ...kept } = fields;
        await client.hSet(`${shared}c:${missing}`, kept);
        for (const hash of ["h-right", "h-wrong"]) {
          await expect(
            store.attempt({ key: missing, hash, now }),
            `without ${missing}`,
          ).rejects.toThrow();
        }
      }
    } finally {
      await client.quit();
    }
  });

  it("keeps every field of a delivery record, even one it has no short name for", async () => {
    const client = await createClient({ url: server.url }).connect();
    try {
      const store = redisStore(client, { prefix: prefix() });
      const now = Date.now();
      const record = {
        status: "accepted",
        updatedAt: now,
        fallback: false,
        error: "",
        future: { nested: [1, "two"] },
      } as unknown as DeliveryRecord;
      await store.putDelivery("m", record, 60_000);
      expect(await store.getDelivery("m", now + 1)).toEqual(record);
      expect(await store.advanceDelivery({ messageId: "m", status: "sent" }, now + 2)).toEqual({
        changed: true,
        record: { ...record, status: "sent", updatedAt: now + 2 },
      });
      // A record is replaced whole: a field of the earlier one does not linger.
      await store.putDelivery("m", { status: "accepted", updatedAt: now + 3 }, 60_000);
      expect(await store.getDelivery("m", now + 4)).toEqual({
        status: "accepted",
        updatedAt: now + 3,
      });
    } finally {
      await client.quit();
    }
  });
});

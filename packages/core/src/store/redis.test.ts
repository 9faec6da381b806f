import { Redis } from "ioredis";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module of the repository's test scripts
import { startRedisServer } from "../../../../scripts/redis-server.mjs";
import { bruteForceDay, expectBounded, report } from "../../test/helpers.js";
import type { Channel } from "../channel.js";
import { createOtp, type Otp } from "../otp.js";
import { createTestChannel } from "../testing/test-channel.js";
import { redisStore } from "./redis.js";
import { describeStore } from "./store-suite.js";

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
        "ttl-check:d:wamid.1",
        "ttl-check:v:idem",
      ]);
      for (const key of keys) expect(await client.pTTL(key)).toBeGreaterThan(0);
      // The stored challenge is the keyed hash, never a code.
      expect(await client.hGetAll("ttl-check:c:login:14155550101")).toMatchObject({
        h: "h",
        a: "0",
        m: "5",
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

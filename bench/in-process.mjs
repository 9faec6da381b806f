// Scenarios run inside the bench process: the engine's verify on each store, the memory store's
// heap per pending code, and Redis's memory per pending code.
import { createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { createOtp, memoryStore, parsePhone } from "@waotp/core";
import { redisStore } from "@waotp/core/redis";
import { createClient } from "redis";
import { startRedisServer } from "../scripts/redis-server.mjs";

const SECRET = "bench-secret-0123456789abcdef0123456789abcdef";
// In process: no per-phone or per-address limits; the range and country windows are counted
// (shared by many codes) but never refuse.
const OPEN_IN_PROCESS = {
  sendsPerPhone: false,
  sendsPerIp: false,
  sendsPerPrefix: { max: 1_000_000_000 },
  sendsPerCountry: { max: 1_000_000_000 },
};
// The store's per-call timeout, raised from 2 s so that a loaded machine does not fail the
// preparation: the timer is set per call all the same.
const REDIS = { timeoutMs: 30_000 };
const randomCode = () => String(randomInt(0, 1_000_000)).padStart(6, "0");

/** Runs `fn` over `items`, `size` calls in flight at a time. */
async function batched(items, fn, size = 200) {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map(fn));
  }
}

/**
 * Calls per second of `fn(i)` with `concurrency` calls in flight, for `seconds` or `limit` calls.
 * `fn` resolves to false for a call that did not do its job (a refused verify): counted as an error.
 */
async function throughput(seconds, fn, limit = Number.POSITIVE_INFINITY, concurrency = 64) {
  let started = 0;
  let errors = 0;
  const begin = performance.now();
  const end = begin + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end && started < limit) {
        if ((await fn(started++)) === false) errors += 1;
      }
    }),
  );
  return { rps: started / ((performance.now() - begin) / 1000), errors };
}

/** Rows: `otp.verify` on the memory store and on the Redis store, each next to its baseline. */
export async function inProcessScenarios({ seconds, nextPhone, row }) {
  const codes = new Map();
  const channel = {
    name: "bench",
    send: async (m) => {
      codes.set(m.phone, m.code);
      return { messageId: `m.${m.phone}` };
    },
  };
  const phones = Array.from({ length: 300_000 }, nextPhone);

  async function verifyRate(store) {
    const otp = createOtp({ secret: SECRET, channel, store, limits: OPEN_IN_PROCESS });
    await batched(phones, (phone) => otp.send({ phone }));
    // Each call verifies a fresh code, so the run stops when they are used up. The pairs are
    // looked up before the clock starts, so only waotp's own work is timed.
    const pairs = phones.map((phone) => [phone, codes.get(parsePhone(phone).digits)]);
    const warm = 20_000; // the first codes warm the verify path up, untimed
    for (let i = 0; i < warm; i++) await otp.verify({ phone: pairs[i][0], code: pairs[i][1] });
    return throughput(
      seconds,
      async (i) => (await otp.verify({ phone: pairs[warm + i][0], code: pairs[warm + i][1] })).ok,
      phones.length - warm,
    );
  }

  // A minimal secure verify: the keyed HMAC-SHA256 of (phone, code) kept in a Map; a verify
  // computes the HMAC of the guess, looks the phone's up, compares in constant time, deletes.
  const key = randomBytes(32);
  const mac = (phone, code) => createHmac("sha256", key).update(`${phone}\0${code}`).digest();
  const hashes = new Map();
  const guesses = phones.map((phone) => {
    const code = randomCode();
    hashes.set(phone, mac(phone, code));
    return [phone, code];
  });
  const hmacVerify = async (i) => {
    const [phone, code] = guesses[i];
    const given = mac(phone, code);
    const stored = hashes.get(phone);
    const ok = stored !== undefined && timingSafeEqual(stored, given);
    if (ok) hashes.delete(phone);
    return ok;
  };
  const warm = 20_000;
  for (let i = 0; i < warm; i++) await hmacVerify(i);
  const hmacBase = await throughput(seconds, (i) => hmacVerify(warm + i), phones.length - warm);
  row(
    "verify in process, memory store",
    await verifyRate(memoryStore({ maxEntries: 10_000_000 })),
    hmacBase,
    0.5,
  );

  const redis = await startRedisServer();
  const client = await createClient({ url: redis.url }).connect();
  try {
    const ours = await verifyRate(redisStore(client, REDIS));
    // The least Redis can do for a verify: read the record, compare here, delete it (2 round
    // trips, not atomic), with the same codes as the memory baseline.
    await batched(guesses, ([phone, code]) => client.hSet(`base:${phone}`, { c: code, a: "0" }));
    const base = await throughput(
      seconds,
      async (i) => {
        const [phone, code] = guesses[i];
        const record = await client.hGetAll(`base:${phone}`);
        const ok =
          record.c !== undefined &&
          record.c.length === code.length &&
          timingSafeEqual(Buffer.from(record.c), Buffer.from(code));
        if (ok) await client.del(`base:${phone}`);
        return ok;
      },
      phones.length,
    );
    row("verify in process, Redis store", ours, base, undefined);
  } finally {
    await client.quit();
    await redis.stop();
  }
}

/** Heap per pending code in the memory store after `count` sends, and after they all expired. */
export async function memoryScenario(count, nextPhone) {
  let now = Date.now();
  let id = 0;
  const store = memoryStore({ now: () => now, maxEntries: 10_000_000 });
  const otp = createOtp({
    secret: SECRET,
    channel: { name: "bench", send: async () => ({ messageId: `m${id++}` }) },
    store,
    now: () => now,
    limits: OPEN_IN_PROCESS,
  });
  const heap = () => {
    globalThis.gc?.();
    globalThis.gc?.();
    // The JS heap and the array buffers outside it (where typed-array columns live): all the
    // store holds.
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  };
  const before = heap();
  for (let i = 0; i < count; i += 2000) {
    await Promise.all(
      Array.from({ length: Math.min(2000, count - i) }, () => otp.send({ phone: nextPhone() })),
    );
  }
  const loaded = heap();
  now += 2 * 3_600_000; // past every code's and delivery record's lifetime
  store.sweep(now);
  const after = heap();
  store.close();
  return {
    count,
    perCode: (loaded - before) / count,
    entries: count * 2,
    backToBaseline: after - before,
  };
}

/**
 * Redis memory per pending code, its counters included: `used_memory` before and after `count`
 * sends through `createOtp` with the Redis store and the default limits, but for the address,
 * range and country windows, opened wide (a run's codes share them). Beside it, one hash per code
 * (`HSET base:<phone> c <64-hex> a 0` and a `PEXPIRE`), on the same server after a FLUSHALL.
 */
export async function redisMemoryScenario(count, nextPhone) {
  const redis = await startRedisServer();
  const client = await createClient({ url: redis.url }).connect();
  const used = async () => Number(/used_memory:(\d+)/.exec(await client.info("memory"))[1]);
  const flush = () => client.sendCommand(["FLUSHALL", "SYNC"]);
  try {
    const otp = createOtp({
      secret: SECRET,
      // Message ids shaped as the 1MSG simulator's (`wamid.` and 16 characters).
      channel: {
        name: "bench",
        send: async () => ({ messageId: `wamid.${randomBytes(12).toString("base64url")}` }),
      },
      store: redisStore(client, REDIS),
      limits: {
        sendsPerIp: { max: 1_000_000_000 },
        sendsPerPrefix: { max: 1_000_000_000 },
        sendsPerCountry: { max: 1_000_000_000 },
      },
    });
    // One send first loads the store's scripts, which stay through FLUSHALL: not a code's cost.
    await otp.send({ phone: nextPhone() });
    await flush();
    const phones = Array.from({ length: count }, nextPhone);
    let before = await used();
    await batched(phones, (phone) => otp.send({ phone }));
    const ours = (await used()) - before;
    const keys = await client.dbSize();

    await flush();
    before = await used();
    await batched(phones, (phone) =>
      Promise.all([
        client.hSet(`base:${phone}`, { c: randomBytes(32).toString("hex"), a: "0" }),
        client.pExpire(`base:${phone}`, 300_000),
      ]),
    );
    const base = (await used()) - before;
    return { count, ours: ours / count, base: base / count, keys };
  } finally {
    await client.quit();
    await redis.stop();
  }
}

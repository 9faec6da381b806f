// `pnpm bench`: every scenario side by side in one run, printed as one table.
import { spawn } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { createOtp, memoryStore, parsePhone } from "@waotp/core";
import { redisStore } from "@waotp/core/redis";
import autocannon from "autocannon";
import { createClient } from "redis";
import { startRedisServer } from "../scripts/redis-server.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 50;
// `BENCH_ONLY=express,better-auth,in-process,memory` runs some groups of scenarios; all by default.
const ONLY = process.env.BENCH_ONLY?.split(",").map((group) => group.trim());
const runs = (group) => ONLY === undefined || ONLY.includes(group);
const children = [];
let phoneCounter = 0;
/** Distinct, valid numbers: +1 415 2xx xxxx. */
const nextPhone = () => `+1415${2_000_000 + phoneCounter++}`;

function child(file, args = []) {
  const proc = spawn(process.execPath, [file, ...args], {
    cwd: HERE,
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (chunk) => {
      out += chunk;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line));
    });
    proc.once("exit", (code) => reject(new Error(`${file} ${args[0] ?? ""} exited with ${code}`)));
  });
}

async function load(base, path, body) {
  const bodies = body;
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: "POST",
        path,
        // The client's address as a proxy in front would pass it (better-auth reads only headers).
        headers: { "content-type": "application/json", "x-forwarded-for": "127.0.0.1" },
        setupRequest: (request) => ({ ...request, body: JSON.stringify(bodies()) }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

async function http(kind, simulatorUrl) {
  const { port } = await child("server.mjs", [kind, simulatorUrl]);
  return `http://127.0.0.1:${port}`;
}

async function prepared(base, count) {
  const phones = Array.from({ length: count }, nextPhone);
  await fetch(`${base}/bench/prepare`, { method: "POST", body: JSON.stringify(phones) });
  const pairs = await (await fetch(`${base}/bench/codes`)).json();
  let i = 0;
  return () => {
    const [phone, code] = pairs[i++ % pairs.length];
    return { phone, phoneNumber: phone, code };
  };
}

const rows = [];
const row = (scenario, ours, base, target) =>
  rows.push({ scenario, ours, base, ratio: ours.rps / base.rps, target });

async function expressScenarios(simulatorUrl) {
  const ours = await http("waotp", simulatorUrl);
  const bare = await http("bare", simulatorUrl);
  const sendBody = () => ({ phone: nextPhone() });
  await load(ours, "/otp/send", sendBody); // warm-up
  await load(bare, "/otp/send", sendBody);
  row(
    "send over HTTP (Express)",
    await load(ours, "/otp/send", sendBody),
    await load(bare, "/otp/send", sendBody),
    0.85,
  );
  const verifyCount = 250_000;
  row(
    "verify over HTTP (Express)",
    await load(ours, "/otp/verify", await prepared(ours, verifyCount)),
    await load(bare, "/otp/verify", await prepared(bare, verifyCount)),
    0.8,
  );
}

async function betterAuthScenarios(simulatorUrl) {
  const baOurs = await http("ba-waotp", simulatorUrl);
  const baBuiltin = await http("ba-builtin", simulatorUrl);
  const baSend = () => ({ phoneNumber: nextPhone() });
  row(
    "better-auth send",
    await load(baOurs, "/api/auth/whatsapp-otp/send", baSend),
    await load(baBuiltin, "/api/auth/phone-number/send-otp", baSend),
    1.0,
  );
  row(
    "better-auth verify (sign-in)",
    await load(baOurs, "/api/auth/whatsapp-otp/verify", await prepared(baOurs, 40_000)),
    await load(baBuiltin, "/api/auth/phone-number/verify", await prepared(baBuiltin, 40_000)),
    1.0,
  );
}

/** Calls per second of `fn(i)` with `concurrency` calls in flight, for DURATION seconds or `limit` calls. */
async function throughput(fn, limit = Number.POSITIVE_INFINITY, concurrency = 64) {
  let started = 0;
  const begin = performance.now();
  const end = begin + DURATION * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end && started < limit) await fn(started++);
    }),
  );
  return { rps: started / ((performance.now() - begin) / 1000) };
}

async function inProcessScenarios() {
  const secret = "bench-secret-0123456789abcdef0123456789abcdef";
  const codes = new Map();
  const channel = {
    name: "bench",
    send: async (m) => {
      codes.set(m.phone, m.code);
      return { messageId: `m.${m.phone}` };
    },
  };
  const limits = { sendsPerPhone: false, sendsPerIp: false };
  const phones = Array.from({ length: 300_000 }, nextPhone);

  async function verifyRate(store) {
    const otp = createOtp({ secret, channel, store, limits });
    for (let i = 0; i < phones.length; i += 1000) {
      await Promise.all(phones.slice(i, i + 1000).map((phone) => otp.send({ phone })));
    }
    // Each call verifies a fresh code, so the run stops when they are used up. The pairs are
    // looked up before the clock starts, so only waotp's own work is timed.
    const pairs = phones.map((phone) => [phone, codes.get(parsePhone(phone).digits)]);
    return throughput((i) => otp.verify({ phone: pairs[i][0], code: pairs[i][1] }), phones.length);
  }

  // The least a Map can do: look up, compare in constant time, delete.
  const plain = new Map(phones.map((p) => [p, "123456"]));
  const { timingSafeEqual } = await import("node:crypto");
  const mapBase = await throughput(async (i) => {
    const phone = phones[i];
    const code = plain.get(phone);
    if (code && timingSafeEqual(Buffer.from(code), Buffer.from("123456"))) plain.delete(phone);
  }, phones.length);
  row(
    "verify in process, memory store",
    await verifyRate(memoryStore({ maxEntries: 10_000_000 })),
    mapBase,
    undefined,
  );

  const redis = await startRedisServer();
  const client = await createClient({ url: redis.url }).connect();
  try {
    const ours = await verifyRate(redisStore(client));
    // The least Redis can do for a verify: read the record, compare here, delete it (2 round trips, not atomic).
    for (let i = 0; i < phones.length; i += 1000) {
      await Promise.all(
        phones.slice(i, i + 1000).map((p) => client.hSet(`base:${p}`, { c: "123456", a: "0" })),
      );
    }
    const base = await throughput(async (i) => {
      const key = `base:${phones[i]}`;
      const record = await client.hGetAll(key);
      if (record.c && timingSafeEqual(Buffer.from(record.c), Buffer.from("123456")))
        await client.del(key);
    }, phones.length);
    row("verify in process, Redis store", ours, base, undefined);
  } finally {
    await client.quit();
    await redis.stop();
  }
}

async function memoryScenario(count) {
  let now = Date.now();
  let id = 0;
  const store = memoryStore({ now: () => now, maxEntries: 10_000_000 });
  const otp = createOtp({
    secret: "bench-secret-0123456789abcdef0123456789abcdef",
    channel: { name: "bench", send: async () => ({ messageId: `m${id++}` }) },
    store,
    now: () => now,
    limits: { sendsPerPhone: false, sendsPerIp: false },
  });
  const heap = () => {
    globalThis.gc?.();
    globalThis.gc?.();
    return process.memoryUsage().heapUsed;
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

const fmt = (n, digits = 0) =>
  n === undefined ? "" : n.toLocaleString("en-US", { maximumFractionDigits: digits });

try {
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
  console.log(`waotp bench: ${machine}; ${DURATION} s per run, ${CONNECTIONS} connections\n`);
  const { url: simulatorUrl } = await child("sim.mjs");
  if (runs("express")) await expressScenarios(simulatorUrl);
  if (runs("better-auth")) await betterAuthScenarios(simulatorUrl);
  if (runs("in-process")) await inProcessScenarios();
  const memory = [];
  if (runs("memory")) {
    for (const count of [100_000, 1_000_000]) memory.push(await memoryScenario(count));
  }

  console.log(
    "| scenario | waotp req/s | p50 ms | p99 ms | baseline req/s | p50 ms | p99 ms | ratio | target |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const { scenario, ours, base, ratio, target } of rows) {
    const errors =
      ours.errors || base.errors ? ` (errors: ${ours.errors ?? 0} / ${base.errors ?? 0})` : "";
    console.log(
      `| ${scenario}${errors} | ${fmt(ours.rps)} | ${fmt(ours.p50)} | ${fmt(ours.p99)} | ${fmt(base.rps)} | ${fmt(base.p50)} | ${fmt(base.p99)} | ${fmt(ratio, 2)} | ${target === undefined ? "" : `≥ ${target}`} |`,
    );
  }
  console.log(
    "\n| pending codes (memory store) | heap per code | heap left after expiry and sweep | target |",
  );
  console.log("| ---: | ---: | ---: | ---: |");
  for (const m of memory) {
    console.log(
      `| ${fmt(m.count)} | ${fmt(m.perCode)} B | ${fmt(m.backToBaseline / 1024)} KiB | < 300 B |`,
    );
  }
} finally {
  for (const proc of children) proc.kill("SIGTERM");
}

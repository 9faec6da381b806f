// `pnpm bench`: every scenario side by side in one run, printed as tables.
//
// Over HTTP, each server runs in its own process (server.mjs), the 1MSG simulator in another
// (sim.mjs, no delivery acks), and autocannon loads them from this one: 50 connections, a
// warm-up run of each side before the measured runs. Each send goes to a distinct, valid phone;
// each verify consumes a fresh code prepared beforehand (sent through the same engine, delivery
// switched off). waotp's limits are wide open: checked and counted, never refusing.
//
// What each group measures, on each side, is in GROUPS below (and printed under the tables).
import { spawn } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { startPostgresServer } from "../scripts/postgres-server.mjs";
import { inProcessScenarios, memoryScenario, redisMemoryScenario } from "./in-process.mjs";
import { PG_POOL_SIZE } from "./servers/common.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
// Each side's warm-up run, before its measured run.
const WARMUP = Math.max(1, Math.round(DURATION / 2));
const CONNECTIONS = 50;
// The groups of scenarios: what waotp runs, and what its baseline does.
const GROUPS = {
  express: {
    waotp: "`@waotp/express` router on /otp: memory store, 1MSG channel to the simulator",
    baseline:
      "bare Express route: send = random code, one `fetch` with the same 1MSG payload to the same simulator, a `Map` set; verify = `Map` get, constant-time compare, delete",
  },
  fastify: {
    waotp: "`@waotp/fastify` registered on /otp, the same engine",
    baseline: "bare Fastify route doing the bare Express route's work",
  },
  hono: {
    waotp:
      "`otpHandler` from `@waotp/core/web` on /otp/* in Hono on `@hono/node-server`, the same engine, client address from x-forwarded-for",
    baseline: "bare Hono route doing the bare Express route's work",
  },
  "better-auth": {
    waotp: "`whatsappOtp()` on better-auth's SQLite database (in memory)",
    baseline:
      "better-auth's `phoneNumber` plugin on the same kind of database, `sendOTP` doing one `fetch` with the same payload; verify signs in (creates the user and a session) on both sides",
  },
  "better-auth-pg": {
    waotp: `the same on PostgreSQL: a fresh database, a \`pg\` pool of ${PG_POOL_SIZE}`,
    baseline: `the same on a fresh database of its own, a \`pg\` pool of ${PG_POOL_SIZE}`,
  },
  "in-process": {
    waotp: "`otp.verify` on the memory store, then on the Redis store (64 calls in flight)",
    baseline:
      "memory: the keyed HMAC-SHA256 of (phone, code) in a `Map`; a verify computes the guess's HMAC, gets, compares with `timingSafeEqual`, deletes. Redis: `HGETALL`, compare, `DEL` (2 round trips, not atomic)",
  },
  memory: {
    waotp:
      "memory per pending code in the memory store (JS heap and array buffers, after `gc()`) at 100k and 1M codes, then after expiry and a sweep",
  },
  "redis-memory": {
    waotp:
      "Redis `used_memory` per pending code with its counters: 100k sends through `createOtp`, Redis store, default limits but the address, range and country windows opened wide",
    baseline: "one hash per code: `HSET base:<phone> c <64-hex> a 0` and a `PEXPIRE`",
  },
};
// `BENCH_ONLY=express,hono,...` runs some groups of scenarios (GROUPS); all by default.
const ONLY = process.env.BENCH_ONLY?.split(",").map((group) => group.trim());
for (const group of ONLY ?? []) {
  if (!(group in GROUPS)) {
    throw new Error(`Unknown BENCH_ONLY group ${group}: ${Object.keys(GROUPS)}.`);
  }
}
const runs = (group) => ONLY === undefined || ONLY.includes(group);
// The client's address as a proxy in front would pass it (better-auth and the Hono handler read
// only headers).
const HEADERS = { "content-type": "application/json", "x-forwarded-for": "127.0.0.1" };
// Codes for a verify warm-up run (each side answers this many verifies before its measured run),
// and the measured run's codes: three times what the side answered per second while warming up,
// so that a code is never used twice (which would show as an error).
const VERIFY_WARMUP_CODES = { http: 20_000, betterAuth: 1_500 };
const VERIFY_MARGIN = 3;
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

/**
 * autocannon on `url + path` for `seconds` (or for `amount` requests), each request's JSON body
 * from `body()`.
 */
async function load(url, path, body, { seconds = DURATION, amount } = {}) {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    amount,
    requests: [
      {
        method: "POST",
        path,
        headers: HEADERS,
        setupRequest: (request) => ({ ...request, body: JSON.stringify(body()) }),
      },
    ],
  });
  const elapsed = result.duration; // seconds
  return {
    rps: amount === undefined ? result.requests.average : result.requests.total / elapsed,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** A server of `kind` in its own process; resolves with its URL. */
async function server(kind, simulatorUrl, databaseUrl) {
  const args = databaseUrl ? [kind, simulatorUrl, databaseUrl] : [kind, simulatorUrl];
  const { port } = await child("server.mjs", args);
  return `http://127.0.0.1:${port}`;
}

/** `count` fresh codes on the server; a body generator giving each one in turn. */
async function prepared(url, count, phoneField) {
  const phones = Array.from({ length: count }, nextPhone);
  const answer = await fetch(`${url}/bench/prepare`, {
    method: "POST",
    body: JSON.stringify(phones),
  });
  if (!answer.ok) throw new Error(`${url} could not prepare codes: ${answer.status}`);
  const pairs = await (await fetch(`${url}/bench/codes`)).json();
  if (pairs.length !== count) throw new Error(`${url} prepared ${pairs.length} of ${count} codes`);
  let i = 0;
  return () => {
    const [phone, code] = pairs[i++ % pairs.length];
    return { [phoneField]: phone, code };
  };
}

const rows = [];
/** Scenarios whose warm-up runs had errors: they count against the run as the measured ones do. */
const warmupErrors = new Set();
const warmedUp = (scenario, result) => {
  if (result.errors) warmupErrors.add(scenario);
  return result;
};
const row = (scenario, ours, base, target) =>
  rows.push({ scenario, ours, base, ratio: ours.rps / base.rps, target });

/**
 * Send, then verify, on two servers side by side: `ours` and `base` are
 * `{ url, send, verify, phoneField }`. Each side is warmed up before its measured run.
 */
async function sideBySide(names, ours, base, { warmupCodes, sendTarget, verifyTarget }) {
  const sendBody = (side) => () => ({ [side.phoneField]: nextPhone() });
  for (const side of [ours, base]) {
    warmedUp(names.send, await load(side.url, side.send, sendBody(side), { seconds: WARMUP }));
  }
  row(
    names.send,
    await load(ours.url, ours.send, sendBody(ours)),
    await load(base.url, base.send, sendBody(base)),
    sendTarget,
  );
  const verifyBody = new Map();
  for (const side of [ours, base]) {
    const warm = await prepared(side.url, warmupCodes, side.phoneField);
    const { rps } = warmedUp(
      names.verify,
      await load(side.url, side.verify, warm, { amount: warmupCodes }),
    );
    const count = Math.ceil(Math.max(rps, 100) * DURATION * VERIFY_MARGIN);
    verifyBody.set(side, await prepared(side.url, count, side.phoneField));
  }
  row(
    names.verify,
    await load(ours.url, ours.verify, verifyBody.get(ours)),
    await load(base.url, base.verify, verifyBody.get(base)),
    verifyTarget,
  );
}

/** waotp in a framework (`<framework>-waotp`) next to the bare route (`<framework>-bare`). */
async function frameworkScenarios(framework, label, simulatorUrl) {
  const side = async (kind) => ({
    url: await server(`${framework}-${kind}`, simulatorUrl),
    send: "/otp/send",
    verify: "/otp/verify",
    phoneField: "phone",
  });
  const names = { send: `send over HTTP (${label})`, verify: `verify over HTTP (${label})` };
  await sideBySide(names, await side("waotp"), await side("bare"), {
    warmupCodes: VERIFY_WARMUP_CODES.http,
    sendTarget: 0.85,
    verifyTarget: 0.8,
  });
}

/** better-auth with `whatsappOtp()` next to its `phoneNumber` plugin, on `databases` (or SQLite). */
async function betterAuthScenarios(label, simulatorUrl, databases = {}) {
  const ours = {
    url: await server("ba-waotp", simulatorUrl, databases.ours),
    send: "/api/auth/whatsapp-otp/send",
    verify: "/api/auth/whatsapp-otp/verify",
    phoneField: "phoneNumber",
  };
  const builtin = {
    url: await server("ba-builtin", simulatorUrl, databases.base),
    send: "/api/auth/phone-number/send-otp",
    verify: "/api/auth/phone-number/verify",
    phoneField: "phoneNumber",
  };
  const names = {
    send: `better-auth send (${label})`,
    verify: `better-auth verify, sign-in (${label})`,
  };
  await sideBySide(names, ours, builtin, {
    warmupCodes: VERIFY_WARMUP_CODES.betterAuth,
    sendTarget: 1.0,
    verifyTarget: 1.0,
  });
}

const fmt = (n, digits = 0) =>
  n === undefined ? "" : n.toLocaleString("en-US", { maximumFractionDigits: digits });

let postgres;
try {
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
  console.log(`waotp bench: ${machine}; ${DURATION} s per run, ${CONNECTIONS} connections\n`);
  const { url: simulatorUrl } = await child("sim.mjs");
  if (runs("express")) await frameworkScenarios("express", "Express", simulatorUrl);
  if (runs("fastify")) await frameworkScenarios("fastify", "Fastify", simulatorUrl);
  if (runs("hono")) await frameworkScenarios("hono", "Hono, Web handler", simulatorUrl);
  if (runs("better-auth")) await betterAuthScenarios("SQLite", simulatorUrl);
  if (runs("better-auth-pg")) {
    postgres = await startPostgresServer();
    await betterAuthScenarios("PostgreSQL", simulatorUrl, {
      ours: await postgres.createDatabase("bench_waotp"),
      base: await postgres.createDatabase("bench_builtin"),
    });
  }
  if (runs("in-process")) await inProcessScenarios({ seconds: DURATION, nextPhone, row });
  const memory = [];
  if (runs("memory")) {
    for (const count of [100_000, 1_000_000]) memory.push(await memoryScenario(count, nextPhone));
  }
  const redisMemory = runs("redis-memory") ? await redisMemoryScenario(100_000, nextPhone) : null;

  if (rows.length > 0) {
    console.log(
      "| scenario | waotp req/s | p50 ms | p99 ms | baseline req/s | p50 ms | p99 ms | ratio | target |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  }
  for (const { scenario, ours, base, ratio, target } of rows) {
    const errors =
      ours.errors || base.errors ? ` (errors: ${ours.errors ?? 0} / ${base.errors ?? 0})` : "";
    console.log(
      `| ${scenario}${errors} | ${fmt(ours.rps)} | ${fmt(ours.p50)} | ${fmt(ours.p99)} | ${fmt(base.rps)} | ${fmt(base.p50)} | ${fmt(base.p99)} | ${fmt(ratio, 2)} | ${target === undefined ? "" : `≥ ${target}`} |`,
    );
  }
  if (memory.length > 0) {
    console.log(
      "\n| pending codes (memory store) | memory per code (heap + array buffers) | left after expiry and sweep | target |",
    );
    console.log("| ---: | ---: | ---: | ---: |");
  }
  for (const m of memory) {
    console.log(
      `| ${fmt(m.count)} | ${fmt(m.perCode)} B | ${fmt(m.backToBaseline / 1024)} KiB | < 300 B |`,
    );
  }
  if (redisMemory) {
    const { count, ours, base, keys } = redisMemory;
    console.log(
      "\n| pending codes (Redis) | waotp B/code | baseline B/code (one hash) | ratio | waotp keys per code |",
    );
    console.log("| ---: | ---: | ---: | ---: | ---: |");
    console.log(
      `| ${fmt(count)} | ${fmt(ours)} B | ${fmt(base)} B | ${fmt(ours / base, 2)} | ${fmt(keys / count, 1)} |`,
    );
  }
  console.log("\nWhat each side does:");
  for (const [group, { waotp, baseline }] of Object.entries(GROUPS)) {
    if (!runs(group)) continue;
    console.log(`- ${group}: waotp: ${waotp}${baseline ? `; baseline: ${baseline}` : ""}.`);
  }
  const failed = new Set(warmupErrors);
  for (const r of rows) if (r.ours.errors || r.base.errors) failed.add(r.scenario);
  if (failed.size > 0) {
    console.log(`\nErrors in ${[...failed].join(", ")} (warm-up included): not a valid run.`);
    process.exitCode = 1;
  }
} finally {
  // The servers go first, so none sees PostgreSQL shut down under its pool.
  await Promise.all(
    children.map((proc) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return undefined;
      const exited = new Promise((resolve) => proc.once("exit", resolve));
      proc.kill("SIGTERM");
      return exited;
    }),
  );
  await postgres?.stop();
}

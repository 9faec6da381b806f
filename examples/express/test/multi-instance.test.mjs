import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startRedisServer } from "../../../scripts/redis-server.mjs";

const MAIN = fileURLToPath(new URL("../src/main.mjs", import.meta.url));
const SHARED = {
  WAOTP_SECRET: "multi-instance-secret-0123456789abcdef",
  WAOTP_WEBHOOK_SECRET: "hook-0123456789abcdef",
  // A tripwire that judges at once, after 3 sends: the pause test below needs no more.
  WAOTP_TRIPWIRE_MIN_SENDS: "3",
  WAOTP_TRIPWIRE_SETTLE_SECONDS: "0",
};
let redis;
const instances = [];

/** Starts the demo as its own process; resolves once its first line gives its URL and its simulator's. */
function startInstance(redisUrl) {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...SHARED, PORT: "0", REDIS_URL: redisUrl },
    stdio: ["ignore", "pipe", "inherit"],
  });
  instances.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = out.match(
        /on (http:\/\/localhost:\d+) .* simulator at (http:\/\/127\.0\.0\.1:\d+)\)/,
      );
      if (match) resolve({ url: match[1], simulator: match[2], child, log: () => out });
    });
    child.once("exit", (code) => reject(new Error(`demo exited with ${code}: ${out}`)));
  });
}

const post = async (base, path, body, headers = {}) => {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
};
const lastCode = async (instance, phone) => {
  const { messages } = await (await fetch(`${instance.simulator}/_inbox/${phone}`)).json();
  return messages.at(-1)?.code;
};

let a;
let b;
beforeAll(async () => {
  redis = await startRedisServer();
  [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
}, 600_000);
afterAll(async () => {
  for (const child of instances) child.kill("SIGTERM");
  await redis?.stop();
});

it("verifies on one instance a code sent by the other", async () => {
  await expect.poll(() => a.log()).toMatch(/kept in Redis/);
  expect((await post(a.url, "/otp/send", { phone: "+14155550101" })).status).toBe(200);
  const code = await lastCode(a, "14155550101");
  expect(await post(b.url, "/otp/verify", { phone: "+14155550101", code })).toMatchObject({
    status: 200,
  });
  // Nothing is accepted twice, whichever instance is asked.
  expect((await post(a.url, "/otp/verify", { phone: "+14155550101", code })).body.error.code).toBe(
    "INVALID_CODE",
  );
});

it("stops guesses split across both instances at the cap", async () => {
  await post(a.url, "/otp/send", { phone: "+14155550102" });
  const code = await lastCode(a, "14155550102");
  const wrong = code === "000000" ? "111111" : "000000";
  const results = await Promise.all(
    Array.from({ length: 16 }, (_, i) =>
      post(i % 2 ? a.url : b.url, "/otp/verify", { phone: "+14155550102", code: wrong }),
    ),
  );
  // Every answer is the same generic one, so the count is read where it is kept: in Redis.
  expect(new Set(results.map((r) => r.body.error.code))).toEqual(new Set(["INVALID_CODE"]));
  const client = await createClient({ url: redis.url }).connect();
  try {
    expect(await client.hGet("waotp:c:login:14155550102", "a")).toBe("5");
  } finally {
    await client.quit();
  }
  // The code is dead: even the right one fails.
  expect((await post(b.url, "/otp/verify", { phone: "+14155550102", code })).status).toBe(400);
});

it("keeps the per-phone send limit across both instances", async () => {
  expect((await post(a.url, "/otp/send", { phone: "+14155550103" })).status).toBe(200);
  const second = await post(b.url, "/otp/send", { phone: "+14155550103" });
  expect(second.status).toBe(429);
  expect(second.body.error).toMatchObject({ code: "RATE_LIMITED", limit: "phone_cooldown" });
});

it("shares the tripwire's pause, and its lift, between both instances through Redis", async () => {
  const send = (instance, i) =>
    post(
      instance.url,
      "/otp/send",
      { phone: `+4915123456${700 + i}` },
      {
        "x-forwarded-for": `203.0.113.${i}`,
      },
    );
  expect((await send(a, 0)).status).toBe(200);
  expect((await send(b, 1)).status).toBe(200);
  expect((await send(a, 2)).status).toBe(200);
  // Three sends to Germany, none verified: the tripwire (counting as the events come, a moment
  // after each answer) pauses it for both.
  const germany = async (instance) => {
    const view = await (await fetch(`${instance.url}/admin/api/metrics`)).json();
    return view.tripwire.countries.find((c) => c.country === "DE")?.paused;
  };
  await expect.poll(() => germany(b)).toBe(true);
  const refused = await send(b, 3);
  expect(refused.status).toBe(403);
  expect(refused.body.error).toMatchObject({ code: "SEND_REFUSED", reason: "country_paused" });
  expect((await send(a, 4)).status).toBe(403);
  expect(await germany(a)).toBe(true);
  // One instance tripped it, and only that one says so.
  const tripped = () => [a, b].filter((i) => /Tripwire: sends to DE paused/.test(i.log())).length;
  await expect.poll(tripped).toBe(1);

  expect((await post(b.url, "/admin/api/tripwire/lift", { country: "DE" })).status).toBe(200);
  expect((await send(a, 5)).status).toBe(200);
});

it("answers 503 while Redis is down, recovers when it returns, and never crashes", async () => {
  await redis.stop();
  const down = await Promise.all([
    post(a.url, "/otp/send", { phone: "+14155550104" }),
    post(b.url, "/otp/verify", { phone: "+14155550104", code: "123456" }),
  ]);
  expect(down.map((r) => [r.status, r.body.error.code])).toEqual([
    [503, "STORE_UNAVAILABLE"],
    [503, "STORE_UNAVAILABLE"],
  ]);
  await redis.start();
  let sent;
  for (let i = 0; i < 100; i++) {
    sent = await post(a.url, "/otp/send", { phone: "+14155550104" });
    if (sent.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(sent.status).toBe(200);
  const code = await lastCode(a, "14155550104");
  expect((await post(b.url, "/otp/verify", { phone: "+14155550104", code })).status).toBe(200);
  expect((await post(a.url, "/otp/verify", { phone: "+14155550104", code })).status).toBe(400);
  expect(a.child.exitCode).toBeNull();
  expect(b.child.exitCode).toBeNull();
}, 60_000);

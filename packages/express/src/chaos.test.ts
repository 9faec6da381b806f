/**
 * Chaos: the router under concurrent load while 1MSG answers a mix of 5xx, 429 with Retry-After,
 * answers slower than the timeout, `sent: false` and garbage. Every request gets a proper answer,
 * an accepted send is exactly one message, the per-phone limit holds, no code verifies twice, and
 * the process is left as it was.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createOtp, oneMsg } from "@waotp/core";
import { type FakeFault, type OneMsgSimulator, startOneMsgSimulator } from "@waotp/core/simulator";
import express from "express";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { otpRouter } from "./router.js";

vi.setConfig({ testTimeout: 120_000 });

let sim: OneMsgSimulator;
let server: Server;
let base: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  sim = await startOneMsgSimulator({ acks: { sent: false, delivered: false } });
  const otp = createOtp({
    secret: "chaos-secret-0123456789abcdef0123456789",
    channel: oneMsg({
      baseUrl: sim.url,
      channelId: sim.channelId,
      token: sim.token,
      template: sim.template,
      timeoutMs: 300,
      retry: { baseDelayMs: 5, maxDelayMs: 200 },
    }),
    limits: { sendsPerIp: false },
  });
  const app = express();
  app.use("/otp", otpRouter(otp, { secret: "chaos-cookie-secret-0123456789abcdef" }));
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/otp`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sim.close();
  process.off("unhandledRejection", onUnhandled);
});

const FAULTS: (FakeFault | undefined)[] = [
  { kind: "http", status: 500 },
  { kind: "http", status: 503 },
  { kind: "http", status: 429, retryAfter: 0 },
  { kind: "slow", ms: 600 },
  { kind: "sent_false", message: "not opted in" },
  { kind: "garbage" },
  undefined,
  undefined,
];

interface Answer {
  status: number;
  body: { messageId?: string; error?: { code: string } };
}

const post = async (path: string, body: unknown): Promise<Answer> => {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer["body"] };
};

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

it("answers correctly, sends at most one message per accepted send, and stays healthy", async () => {
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const timersBefore = timers();
  const phones = Array.from({ length: 150 }, (_, i) => `+1415${2100000 + i}`);
  let injected = 0;
  // Two concurrent sends per phone, 30 in flight, with faults injected as they go.
  const jobs = phones.flatMap((phone) => [phone, phone]);
  const results: {
    phone: string;
    status: number;
    body: { messageId?: string; error?: { code: string } };
  }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 30 }, async () => {
      while (next < jobs.length) {
        const phone = jobs[next++] as string;
        const fault = FAULTS[next % FAULTS.length];
        if (fault) {
          sim.inject(fault);
          injected += 1;
        }
        results.push({ phone, ...(await post("/send", { phone })) });
      }
    }),
  );

  // Every answer is a success or a coded refusal: never a 500.
  const statuses = new Set(results.map((r) => r.status));
  for (const status of statuses) expect([200, 429, 502]).toContain(status);
  for (const r of results.filter((r) => r.status !== 200))
    expect(r.body.error?.code).toMatch(/^(RATE_LIMITED|SEND_FAILED)$/);

  // An accepted send is exactly one message; the per-phone cooldown allows one per phone.
  const accepted = results.filter((r) => r.status === 200);
  const ids = accepted.map((r) => r.body.messageId);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(sim.messages.filter((m) => m.id === id)).toHaveLength(1);
  for (const phone of phones)
    expect(accepted.filter((r) => r.phone === phone).length).toBeLessThanOrEqual(1);
  // Messages beyond the accepted sends come only from sends that failed after 1MSG took them
  // (an answer that came after the timeout): at most one per failed send.
  const failed = results.filter((r) => r.status === 502).length;
  expect(sim.messages.length).toBeLessThanOrEqual(accepted.length + failed);

  // Each delivered code verifies once, on the phone it was sent to, and never again.
  let twice = 0;
  for (const r of accepted) {
    const message = sim.messages.find((m) => m.id === r.body.messageId);
    const first = await post("/verify", { phone: r.phone, code: message?.code });
    const again = await post("/verify", { phone: r.phone, code: message?.code });
    expect(first.status).toBe(200);
    if (again.status === 200) twice += 1;
  }
  expect(twice).toBe(0);

  await new Promise((resolve) => setTimeout(resolve, 700)); // let slow answers finish
  expect(unhandled).toEqual([]);
  // No timer left behind by timeouts, retries or backoffs.
  expect(timers()).toBeLessThanOrEqual(timersBefore);
  globalThis.gc?.();
  const growth = process.memoryUsage().heapUsed - heapBefore;
  console.log(
    `chaos: ${results.length} sends and ${accepted.length * 2} verifies served, ${injected} faults injected, ${accepted.length} accepted, ${sim.messages.length} messages, statuses ${[...statuses].sort().join("/")}, codes accepted twice: ${twice}, heap growth ${Math.round(growth / 1024)} KiB`,
  );
  // Bounded, not zero: the simulator's inbox lives in this process. (Exact with --expose-gc.)
  expect(growth).toBeLessThan(96 * 1024 * 1024);
});

/**
 * The whole flow, with everything an operator could log captured: events, errors (printed as a
 * logger prints them, causes included), every response body and header, and the CLI's output. No
 * code, stored hash, 1MSG token, webhook secret or HMAC secret may appear in any of it.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { createOtp, memoryStore, type OtpEvent, oneMsg } from "@waotp/core";
import { type OneMsgSimulator, startOneMsgSimulator } from "@waotp/core/simulator";
import express from "express";
import { afterAll, beforeAll, expect, it } from "vitest";
import { otpErrorHandler } from "./errors.js";
import { otpRouter } from "./router.js";

const SECRET = "audit-hmac-secret-0123456789abcdef0123";
const COOKIE_SECRET = "audit-cookie-secret-0123456789abcdef01";
const WEBHOOK_SECRET = "audit-webhook-secret-0123456789";
const TOKEN = "audit-1msg-token-0123456789abcdef";

let sim: OneMsgSimulator;
let server: Server;
let base: string;
const logged: string[] = [];
const hashes: string[] = [];
// Every code the engine makes, sent or not, known in advance (and not found by chance in a timestamp).
const codes: string[] = [];
let drawn = 0;
const random = () => {
  const code = 739_100 + drawn++;
  codes.push(String(code));
  return code;
};

beforeAll(async () => {
  sim = await startOneMsgSimulator({ token: TOKEN });
  const store = memoryStore();
  const put = store.putChallenge.bind(store);
  store.putChallenge = async (key, challenge, now, ifHash) => {
    hashes.push(challenge.hash);
    return put(key, challenge, now, ifHash);
  };
  const otp = createOtp({
    secret: SECRET,
    random,
    store,
    channel: oneMsg({
      baseUrl: sim.url,
      channelId: sim.channelId,
      token: TOKEN,
      template: sim.template,
      retry: { baseDelayMs: 1 },
    }),
    // Events, as verbose as they come, into the "log".
    onEvent: (event: OtpEvent) => {
      logged.push(JSON.stringify(event));
    },
    limits: { sendsPerPhone: { cooldownSeconds: 0, max: 100 } },
  });
  const app = express();
  app.use(
    "/otp",
    otpRouter(otp, {
      secret: COOKIE_SECRET,
      webhookSecret: WEBHOOK_SECRET,
      onError: (e) => logged.push(inspect(e, { depth: 10 })),
    }),
  );
  app.use(otpErrorHandler({ onError: (e) => logged.push(inspect(e, { depth: 10 })) }));
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/otp`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sim.close();
});

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const headers = [...response.headers].filter(([name]) => name !== "set-cookie");
  const text = await response.text();
  logged.push(`${response.status} ${JSON.stringify(headers)} ${text}`);
  // The verification cookie is signed, not secret, but must not carry a code either.
  for (const cookie of response.headers.getSetCookie())
    logged.push(
      `cookie-check ${Buffer.from(cookie.split("=")[1]?.split(".")[0] ?? "", "base64url").toString()}`,
    );
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

it("lets no code, hash, token or secret into events, errors or responses", async () => {
  const phone = "+14155550101";
  // The happy path, a wrong guess, a lockout.
  const sent = await call("POST", "/send", { phone });
  const code = sim.lastCode(phone) as string;
  await call("POST", "/verify", { phone, code: code === "000000" ? "111111" : "000000" });
  await call("POST", "/verify", { phone, code });
  await call("POST", "/verify", { phone, code });
  await call("GET", `/status/${sent.body.messageId}`);
  // Delivery updates, with and without the right webhook secret.
  await call("POST", `/webhook/${WEBHOOK_SECRET}`, {
    ack: [{ id: sent.body.messageId, status: "failed", error: "bad" }],
  });
  await call("POST", "/webhook/wrong", { ack: [] });
  // Every class of 1MSG failure, with 1MSG echoing the token back.
  for (const fault of [
    { kind: "http" as const, status: 401, body: { error: `Wrong token ${TOKEN}` } },
    {
      kind: "http" as const,
      status: 422,
      body: { error: { message: `bad param CODE with token ${TOKEN}` } },
    },
    { kind: "http" as const, status: 500, echo: true },
    { kind: "http" as const, status: 422, echo: true },
    { kind: "sent_false" as const, message: "not opted in CODE" },
    { kind: "garbage" as const },
  ]) {
    sim.inject(fault, 3);
    await call("POST", "/send", { phone: "+14155550102" });
  }
  // Bad input of every kind.
  await call("POST", "/send", { phone: "not a phone" });
  await call("POST", "/verify", { phone, code: "abc" });

  expect(sim.messages.every((m) => codes.includes(m.code))).toBe(true);
  const secrets = [...codes, ...hashes, SECRET, COOKIE_SECRET, WEBHOOK_SECRET, TOKEN];
  expect(codes.length).toBeGreaterThan(0);
  expect(hashes.length).toBeGreaterThan(0);
  const everything = logged.join("\n");
  const leaks = secrets.filter((secret) => everything.includes(secret));
  console.log(
    `secrets audit: ${logged.length} log lines, responses and errors checked against ${secrets.length} secrets; ${leaks.length} seen`,
  );
  expect(leaks).toEqual([]);
  // Phones are masked in events.
  expect(logged.filter((line) => line.startsWith('{"type"')).join("\n")).not.toContain(
    "4155550101",
  );
});

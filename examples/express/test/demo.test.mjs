import { startOneMsgSimulator } from "@waotp/core/simulator";
import { afterEach, describe, expect, it } from "vitest";
import { startDemo } from "../src/main.mjs";

const PHONE = "+14155550101";
const running = [];
afterEach(async () => {
  while (running.length > 0) await running.pop().close();
});

async function demo(env = {}, otpOptions = {}) {
  const lines = [];
  const started = await startDemo({ PORT: "0", ...env }, (line) => lines.push(line), otpOptions);
  running.push(started);
  return { ...started, lines };
}

/** A browser-like client: JSON in and out, cookies kept. */
function client(base) {
  let cookies = {};
  return async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        cookie: Object.entries(cookies)
          .map(([k, v]) => `${k}=${v}`)
          .join("; "),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const [name, value] = pair.split("=");
      if (/Max-Age=0|Expires=Thu, 01 Jan 1970/.test(header)) delete cookies[name];
      else cookies = { ...cookies, [name]: value };
    }
    return { status: response.status, body: await response.json().catch(() => null) };
  };
}

async function until(read, done, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("the demo over HTTP, on the embedded simulator", () => {
  it("says on its first line that it runs on the simulator, with its URL", async () => {
    const d = await demo();
    expect(d.lines[0]).toMatch(
      /^waotp demo on http:\/\/localhost:\d+ \(simulator mode: no ONEMSG_TOKEN, so codes go to the embedded 1MSG simulator at http:\/\/127\.0\.0\.1:\d+\)$/,
    );
    const page = await fetch(d.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('autocomplete="one-time-code"');
  });

  it("signs in with a code read from the simulated phone, and tracks delivery through the webhook", async () => {
    const d = await demo();
    const call = client(d.url);
    expect((await call("GET", "/api/me")).body).toEqual({ signedIn: false });

    const sent = await call("POST", "/otp/send", { phone: "+1 (415) 555-0101" });
    expect(sent.status).toBe(200);
    const inbox = await call("GET", `/api/inbox?phone=${encodeURIComponent(PHONE)}`);
    const [message] = inbox.body.messages;
    expect(message.text).toBe(
      `${message.code} is your verification code. For your security, do not share this code with anyone.`,
    );
    expect(message.button).toBe("Copy code");

    const status = await until(
      () => call("GET", `/otp/status/${sent.body.messageId}`),
      (r) => r.body.status === "delivered",
    );
    expect(status.body.status).toBe("delivered");

    const verified = await call("POST", "/otp/verify", { phone: PHONE, code: message.code });
    expect(verified).toEqual({ status: 200, body: { verified: true, phone: PHONE } });
    expect((await call("GET", "/api/me")).body).toMatchObject({ signedIn: true, phone: PHONE });

    const forged = await fetch(`${d.url}/api/logout`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "x=1",
    });
    expect(forged.status).toBe(415);
    await call("POST", "/api/logout", {});
    expect((await call("GET", "/api/me")).body).toEqual({ signedIn: false });
  });

  it("guards the transfer with a step-up code for the signed-in phone", async () => {
    const d = await demo({}, { limits: { sendsPerPhone: { cooldownSeconds: 0 } } });
    const call = client(d.url);
    expect((await call("POST", "/api/transfer", {})).status).toBe(401);

    await call("POST", "/otp/send", { phone: PHONE });
    await call("POST", "/otp/verify", { phone: PHONE, code: d.simulator.lastCode(PHONE) });
    const refused = await call("POST", "/api/transfer", {});
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe("STEP_UP_REQUIRED");

    // A step-up code for another phone does not unlock this user's action.
    await call("POST", "/otp/send", { phone: "+14155550102", purpose: "step-up" });
    await call("POST", "/otp/verify", {
      phone: "+14155550102",
      code: d.simulator.lastCode("+14155550102"),
      purpose: "step-up",
    });
    expect((await call("POST", "/api/transfer", {})).status).toBe(401);

    await call("POST", "/otp/send", { phone: PHONE, purpose: "step-up" });
    await call("POST", "/otp/verify", {
      phone: PHONE,
      code: d.simulator.lastCode(PHONE),
      purpose: "step-up",
    });
    const approved = await call("POST", "/api/transfer", {});
    expect(approved.status).toBe(200);
    expect(approved.body.message).toMatch(/Transfer of \$100 approved/);
  });

  it("answers bad input with 4xx codes, never 500", async () => {
    const d = await demo();
    const post = (body, type = "application/json") =>
      fetch(`${d.url}/otp/send`, { method: "POST", headers: { "content-type": type }, body });
    expect((await post("{bad")).status).toBe(400);
    expect((await post("x".repeat(100_000))).status).toBe(413);
    expect((await post("phone=1", "application/x-www-form-urlencoded")).status).toBe(415);
    expect((await post(JSON.stringify({ phone: "hello" }))).status).toBe(400);
  });
});

describe("the demo against a 1MSG endpoint", () => {
  it("uses the ONEMSG_* settings, ONEMSG_API_URL included, and says so", async () => {
    const endpoint = await startOneMsgSimulator({ token: "live-token-0123456789" });
    running.push(endpoint);
    const d = await demo({
      ONEMSG_API_URL: endpoint.url,
      ONEMSG_CHANNEL_ID: endpoint.channelId,
      ONEMSG_TOKEN: "live-token-0123456789",
      ONEMSG_TEMPLATE: endpoint.template.name,
      ONEMSG_NAMESPACE: endpoint.template.namespace,
      WAOTP_WEBHOOK_SECRET: "webhook-secret-0123456789",
    });
    expect(d.lines[0]).toMatch(
      /^waotp demo on http:\/\/localhost:\d+ \(1MSG mode: channel sim-channel at http:\/\/127/,
    );
    expect(d.lines.join("\n")).not.toContain("live-token-0123456789");
    const call = client(d.url);
    expect((await call("GET", "/api/demo")).body).toMatchObject({ mode: "1msg" });
    expect((await call("GET", `/api/inbox?phone=${PHONE}`)).status).toBe(404);
    await call("POST", "/otp/send", { phone: PHONE });
    const code = endpoint.lastCode(PHONE);
    expect((await call("POST", "/otp/verify", { phone: PHONE, code })).status).toBe(200);
  });

  it("refuses to start with ONEMSG_TOKEN but no channel settings", async () => {
    await expect(startDemo({ PORT: "0", ONEMSG_TOKEN: "t" }, () => {})).rejects.toThrow(
      /WAOTP_WEBHOOK_SECRET is required/,
    );
    await expect(
      startDemo({ PORT: "0", ONEMSG_TOKEN: "t", WAOTP_WEBHOOK_SECRET: "w".repeat(20) }, () => {}),
    ).rejects.toThrow(/Set ONEMSG_CHANNEL_ID/);
  });
});

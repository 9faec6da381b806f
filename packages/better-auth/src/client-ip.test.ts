import { afterEach, describe, expect, it } from "vitest";

// better-auth reads NODE_ENV once, as it loads, and only outside development and test does its
// getIP() answer null for a request without a usable address header. Each test file loads its
// own modules, so this one runs better-auth as production.
process.env.NODE_ENV = "production";
delete process.env.TEST;
const { setupAuth } = await import("./test-setup.js");

let t: Awaited<ReturnType<typeof setupAuth>>;
afterEach(async () => {
  await t?.close();
});

/** The 100 numbers +1 415 555 0100 .. 0199, so sends are never limited per phone. */
const phone = (i: number) => `+1415555${String(100 + i).padStart(4, "0")}`;

function send(i: number, headers: Record<string, string> = {}) {
  return t.auth.handler(
    new Request("http://localhost:3000/api/auth/whatsapp-otp/send", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:3000", ...headers },
      body: JSON.stringify({ phoneNumber: phone(i) }),
    }),
  );
}

function delivered() {
  return Array.from({ length: 100 }, (_, i) => t.sim.inbox(phone(i)).length).reduce(
    (a, b) => a + b,
    0,
  );
}

describe("whatsappOtp in production, where better-auth may not know the client's address", () => {
  it("sends no code to a client it cannot tell apart from others (no address header)", async () => {
    const logged: string[] = [];
    t = await setupAuth(
      {},
      { logger: { log: (level, message) => void logged.push(`${level} ${message}`) } },
    );
    const answers = [];
    for (let i = 0; i < 25; i++) answers.push(await send(i));
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(await answer.json()).toEqual({
        code: "CLIENT_UNKNOWN",
        message: expect.stringMatching(/address/),
      });
    }
    expect(delivered()).toBe(0);
    // The operator is told once, in the server's log, what to set.
    expect(logged.filter((line) => line.includes("whatsapp-otp"))).toEqual([
      expect.stringMatching(/^warn /),
    ]);
  });

  it("counts a client by its address header: the 21st send in the window is refused", async () => {
    t = await setupAuth();
    for (let i = 0; i < 20; i++) {
      expect((await send(i, { "x-forwarded-for": "203.0.113.7" })).status).toBe(200);
    }
    const limited = await send(20, { "x-forwarded-for": "203.0.113.7" });
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ code: "RATE_LIMITED", limit: "ip_window" });
    expect((await send(21, { "x-forwarded-for": "203.0.113.8" })).status).toBe(200);
    expect(delivered()).toBe(21);
  });

  it("refuses a proxy chain it was not told to trust, and reads it once trustedProxies is set", async () => {
    t = await setupAuth();
    const chain = { "x-forwarded-for": "198.51.100.9, 10.0.0.2" };
    expect(await (await send(0, chain)).json()).toMatchObject({ code: "CLIENT_UNKNOWN" });
    await t.close();

    t = await setupAuth(
      { limits: { sendsPerIp: { max: 1 } } },
      { advanced: { ipAddress: { trustedProxies: ["10.0.0.0/24"] } } },
    );
    expect((await send(0, chain)).status).toBe(200);
    // The client's own address decides, whatever it forged to the left of it.
    const forged = { "x-forwarded-for": "192.0.2.1, 198.51.100.9, 10.0.0.2" };
    expect(await (await send(1, forged)).json()).toMatchObject({
      code: "RATE_LIMITED",
      limit: "ip_window",
    });
  });

  it("reads a CDN's header when ipAddressHeaders names it", async () => {
    t = await setupAuth(
      { limits: { sendsPerIp: { max: 1 } } },
      { advanced: { ipAddress: { ipAddressHeaders: ["cf-connecting-ip"] } } },
    );
    expect((await send(0, { "cf-connecting-ip": "198.51.100.9" })).status).toBe(200);
    expect((await send(1, { "cf-connecting-ip": "198.51.100.9" })).status).toBe(429);
    expect((await send(2, { "x-forwarded-for": "198.51.100.10" })).status).toBe(403);
  });

  it("with unknownIp: 'shared', puts every unknown client in one bucket instead", async () => {
    t = await setupAuth({ limits: { sendsPerIp: { unknownIp: "shared" } } });
    for (let i = 0; i < 20; i++) expect((await send(i)).status).toBe(200);
    expect(await (await send(20)).json()).toMatchObject({ code: "RATE_LIMITED" });
  });

  it("lists CLIENT_UNKNOWN among the plugin's error codes", async () => {
    const { WHATSAPP_OTP_ERROR_CODES } = await import("./error-codes.js");
    expect(WHATSAPP_OTP_ERROR_CODES.CLIENT_UNKNOWN).toMatchObject({ code: "CLIENT_UNKNOWN" });
  });
});

import { request as httpRequest } from "node:http";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, honoHarness, nodeHarness, type Served } from "../../test/web-harness.js";
import { createOtp } from "../otp.js";
import { createTestChannel } from "../testing/test-channel.js";
import { type OtpHandlerOptions, otpHandler } from "./handler.js";
import { requireOtp, verifiedFor } from "./step-up.js";

const SECRET = "web-handler-test-secret-0123456789abcdef";
const OTHER_SECRET = "another-app-secret-0123456789abcdef0123";
const WEBHOOK_SECRET = "hook-secret-0123456789";
const PHONE = "+14155550101";

function setup(options: OtpHandlerOptions = {}) {
  const channel = createTestChannel();
  const otp = createOtp({ secret: SECRET, channel });
  const errors: unknown[] = [];
  const handler = otpHandler(otp, {
    secret: SECRET,
    webhookSecret: WEBHOOK_SECRET,
    clientIp: (request) => request.headers.get("x-client-ip") ?? "127.0.0.1",
    onError: (error) => errors.push(error),
    ...options,
  });
  return { channel, otp, handler, errors };
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

const cookiePair = (res: Response, name: string) =>
  res.headers
    .getSetCookie()
    .find((line) => line.startsWith(`${name}=`))
    ?.split(";")[0] ?? "";

describe("otpHandler, called directly", () => {
  it("keeps the per-client guess budget without clientIp: unknown guessers share one", async () => {
    const channel = createTestChannel();
    const otp = createOtp({ secret: SECRET, channel, limits: { sendsPerIp: false } });
    const handler = otpHandler(otp, { secret: SECRET });
    const phones = Array.from({ length: 10 }, (_, i) => `+1415555${String(2000 + i)}`);
    for (const phone of phones) await otp.send({ phone });
    const statuses: number[] = [];
    for (const phone of phones) {
      const right = channel.lastCode(phone) as string;
      const wrong = right === "000000" ? "111111" : "000000";
      for (let guess = 0; guess < 5; guess += 1) {
        const res = await handler(
          new Request("http://localhost/otp/verify", json({ phone, code: wrong })),
        );
        statuses.push(res.status);
      }
    }
    // 20 wrong guesses across phones, then the shared budget refuses (as Express and Fastify do).
    expect(statuses.filter((status) => status === 400)).toHaveLength(20);
    expect(statuses.slice(20).every((status) => status === 429)).toBe(true);
  });

  it("never holds more than the limit of a chunked body with no content-length", async () => {
    const { handler, channel } = setup();
    let pulled = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 512;
        controller.enqueue(new Uint8Array(512).fill(0x20));
      },
      cancel() {
        cancelled = true;
      },
    });
    const res = await handler(
      new Request("http://localhost/otp/send", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: endless,
        duplex: "half",
      } as RequestInit),
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as Json).error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(cancelled).toBe(true);
    // The stream may have queued a chunk or two ahead; nothing near an endless body was read.
    expect(pulled).toBeLessThanOrEqual(2048 + 4 * 512);
    expect(channel.messages).toHaveLength(0);
  });

  it("refuses a body longer than its declared length, read whole or not", async () => {
    const { handler, channel } = setup();
    const res = await handler(
      new Request("http://localhost/otp/send", {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": "40" },
        body: JSON.stringify({ phone: "+14155550101", padding: " ".repeat(4000) }),
      }),
    );
    expect(res.status).toBe(413);
    expect(((await res.json()) as Json).error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(channel.messages).toHaveLength(0);
  });

  it("refuses by content-length before reading a byte", async () => {
    const { handler } = setup();
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new TextEncoder().encode("{}"));
        controller.close();
      },
    });
    const request = new Request("http://localhost/otp/send", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": "999999" },
      body,
      duplex: "half",
    } as RequestInit);
    const res = await handler(request);
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThanOrEqual(1); // a ReadableStream pulls its first chunk on creation
  });

  it("mounts under basePath, and answers 404 NOT_FOUND elsewhere", async () => {
    const { handler, channel } = setup({ basePath: "/api/otp/" });
    const ok = await handler(new Request("http://x/api/otp/send", json({ phone: PHONE })));
    expect(ok.status).toBe(200);
    expect(channel.messages).toHaveLength(1);
    for (const [url, method] of [
      ["http://x/otp/send", "POST"],
      ["http://x/api/otp/send", "GET"],
      ["http://x/api/otp/status/", "GET"],
      ["http://x/api/otp/status/a/b", "GET"],
      ["http://x/api/otpsend", "POST"],
      ["http://x/api/otp", "GET"],
    ] as const) {
      const res = await handler(new Request(url, { method }));
      expect({ url, method, status: res.status }).toEqual({ url, method, status: 404 });
      expect(((await res.json()) as Json).error.code).toBe("NOT_FOUND");
    }
  });

  it("sends a Response from onVerified as is, remembering nothing", async () => {
    const { handler, channel } = setup({
      onVerified: (result) => Response.json({ welcome: result.phone }, { status: 201 }),
    });
    await handler(new Request("http://x/otp/send", json({ phone: PHONE })));
    const res = await handler(
      new Request("http://x/otp/verify", json({ phone: PHONE, code: channel.lastCode(PHONE) })),
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ welcome: PHONE });
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("answers a throwing onVerified with a bare 500 and reports it", async () => {
    const { handler, channel, errors } = setup({
      onVerified: () => {
        throw new Error("database password is hunter2");
      },
    });
    await handler(new Request("http://x/otp/send", json({ phone: PHONE })));
    const code = channel.lastCode(PHONE) as string;
    const res = await handler(new Request("http://x/otp/verify", json({ phone: PHONE, code })));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain(code);
    expect(errors).toHaveLength(1);
  });

  it("refuses a bad webhook secret before reading the body, and a malformed parameter with 400", async () => {
    const { handler } = setup();
    const wrong = await handler(
      new Request("http://x/otp/webhook/guess", { method: "POST", body: "x".repeat(10) }),
    );
    expect(wrong.status).toBe(401);
    const bad = await handler(new Request("http://x/otp/status/%E0%A4%A", { method: "GET" }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error.code).toBe("INVALID_BODY");
  });
});

// biome-ignore lint/suspicious/noExplicitAny: a JSON body, read as loosely as tests read JSON.
type Json = any;

/**
 * POSTs `size` bytes of spaces as a chunked JSON body (no content-length) on a connection of its
 * own, stopping as soon as the answer comes; the server may close the connection after it.
 */
function postChunked(url: string, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(url, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
    });
    req.on("response", (res) => {
      answered = true;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(1024, 0x20);
    let sent = 0;
    const write = () => {
      while (sent < size && !answered) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", write);
      }
      if (!answered) req.end();
    };
    write();
  });
}

const harnesses: [string, Harness][] = [
  ["Node", nodeHarness],
  ["Hono", honoHarness],
];

for (const [name, harness] of harnesses) {
  describe(`otpHandler over HTTP (${name})`, () => {
    const running: Served[] = [];
    afterEach(async () => {
      await Promise.all(running.splice(0).map((served) => served.close()));
    });
    async function serve(options: OtpHandlerOptions = {}) {
      const context = setup(options);
      const served = await harness(context.handler);
      running.push(served);
      const at = (path: string, init?: RequestInit) => fetch(`${served.url}${path}`, init);
      return { ...context, at, url: served.url };
    }
    async function signIn(
      at: (path: string, init?: RequestInit) => Promise<Response>,
      channel: ReturnType<typeof createTestChannel>,
      purpose = "step-up",
      headers: Record<string, string> = {},
    ) {
      await at("/otp/send", json({ phone: PHONE, purpose }, headers));
      return at(
        "/otp/verify",
        json({ phone: PHONE, purpose, code: channel.lastCode(PHONE) }, headers),
      );
    }

    it("cuts a chunked body off at the limit, and a chunked webhook body at 256 kB", async () => {
      const { url, channel } = await serve();
      const post = (path: string, size: number) => postChunked(`${url}${path}`, size);
      const small = await post("/otp/send", 1024 * 1024);
      expect(small.status).toBe(413);
      expect(JSON.parse(small.body).error.code).toBe("PAYLOAD_TOO_LARGE");
      expect((await post(`/otp/webhook/${WEBHOOK_SECRET}`, 300 * 1024)).status).toBe(413);
      // Under the limit, spaces are empty JSON: INVALID_JSON, not a 413.
      expect((await post(`/otp/webhook/${WEBHOOK_SECRET}`, 100 * 1024)).status).toBe(400);
      expect(channel.messages).toHaveLength(0);
    });

    it("answers hostile bodies with a 4xx, never a 5xx or a code", async () => {
      const { at, channel } = await serve();
      await at("/otp/send", json({ phone: PHONE }));
      const code = channel.lastCode(PHONE) as string;
      const raw = (body: string | Uint8Array, headers: Record<string, string>) =>
        at("/otp/verify", { method: "POST", headers, body });
      const cases: [Promise<Response>, number, string][] = [
        [raw("{}", { "content-type": "text/json" }), 415, "UNSUPPORTED_MEDIA_TYPE"],
        [raw("{}", { "content-type": "application/jsonx" }), 415, "UNSUPPORTED_MEDIA_TYPE"],
        [
          raw("{}", { "content-type": "application/json; charset=utf-9" }),
          415,
          "UNSUPPORTED_MEDIA_TYPE",
        ],
        [
          raw("{}", { "content-type": "application/json", "content-encoding": "br2" }),
          415,
          "UNSUPPORTED_MEDIA_TYPE",
        ],
        [raw("{".repeat(2000), { "content-type": "application/json" }), 400, "INVALID_JSON"],
        [raw("[".repeat(2048), { "content-type": "application/json" }), 400, "INVALID_JSON"],
        [
          raw(`{"phone":"${PHONE}","code":{"$ne":""}}`, { "content-type": "application/json" }),
          400,
          "INVALID_INPUT",
        ],
        [
          raw(`{"__proto__":{"ok":true},"phone":"${PHONE}","code":"1"}`, {
            "content-type": "application/json",
          }),
          400,
          "INVALID_INPUT",
        ],
        [raw("\uFEFF{}", { "content-type": "application/json" }), 400, "INVALID_PHONE"],
        [
          raw(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), { "content-type": "application/json" }),
          400,
          "INVALID_JSON",
        ],
        // A gzip bomb (1 MB of spaces in 1 kB) is never inflated: compressed bodies are refused.
        [
          raw(gzipSync(Buffer.alloc(1024 * 1024, 0x20)), {
            "content-type": "application/json",
            "content-encoding": "gzip",
          }),
          415,
          "UNSUPPORTED_MEDIA_TYPE",
        ],
      ];
      for (const [pending, status, errorCode] of cases) {
        const res = await pending;
        const text = await res.text();
        expect({ status: res.status, code: JSON.parse(text).error.code }).toEqual({
          status,
          code: errorCode,
        });
        expect(text).not.toContain(code);
      }
      // Nor is a small, well-formed one: the code in it stays unused.
      const gz = await raw(gzipSync(JSON.stringify({ phone: PHONE, code })), {
        "content-type": "application/json",
        "content-encoding": "gzip",
      });
      expect(gz.status).toBe(415);
    });

    it("keeps a verified cookie signed with another secret out, and marks cookies Secure on HTTPS", async () => {
      const { at, channel } = await serve();
      const other = await serve({ secret: OTHER_SECRET });
      const foreign = cookiePair(await signIn(other.at, other.channel), "waotp_step-up");
      expect(foreign).toMatch(/^waotp_step-up=/);
      const request = (cookie: string) => new Request("http://x/transfer", { headers: { cookie } });
      const options = { secret: SECRET, phone: PHONE };
      expect((await verifiedFor(request(foreign), options)).ok).toBe(false);
      const own = cookiePair(await signIn(at, channel), "waotp_step-up");
      expect((await verifiedFor(request(own), options)).ok).toBe(true);

      const fresh = await serve();
      const https = await signIn(fresh.at, fresh.channel, "login", {
        "x-forwarded-proto": "https",
      });
      const lines = https.headers.getSetCookie();
      expect(lines.find((l) => l.startsWith("waotp_login="))).toMatch(/; Secure; SameSite=Lax$/);
      expect(lines.find((l) => l.startsWith("__Host-waotp_client="))).toMatch(/; Secure/);
    });

    it("answers HEAD on a status like GET, without a body", async () => {
      const { at } = await serve();
      const res = await at("/otp/status/wamid.none", { method: "HEAD" });
      expect(res.status).toBe(404);
      expect(await res.text()).toBe("");
    });
  });
}

describe("requireOtp / verifiedFor", () => {
  async function verifiedCookie(purpose = "step-up") {
    const { handler, channel } = setup();
    await handler(new Request("http://x/otp/send", json({ phone: PHONE, purpose })));
    const res = await handler(
      new Request(
        "http://x/otp/verify",
        json({ phone: PHONE, purpose, code: channel.lastCode(PHONE) }),
      ),
    );
    return cookiePair(res, `waotp_${purpose}`);
  }
  const withCookie = (cookie: string) => new Request("http://x/", { headers: { cookie } });

  it("answers 401 STEP_UP_REQUIRED without a fresh verification of the user's phone", async () => {
    const check = await verifiedFor(withCookie(""), { secret: SECRET, phone: PHONE });
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.response.status).toBe(401);
    expect(await check.response.json()).toEqual({
      error: {
        code: "STEP_UP_REQUIRED",
        message: expect.any(String),
        purpose: "step-up",
        maxAgeSeconds: 300,
      },
    });
    const cookie = await verifiedCookie();
    expect((await verifiedFor(withCookie(cookie), { secret: SECRET, phone: PHONE })).ok).toBe(true);
    for (const phone of ["+14155550102", undefined]) {
      expect((await verifiedFor(withCookie(cookie), { secret: SECRET, phone })).ok).toBe(false);
    }
    const login = (await verifiedCookie("login")).replace("waotp_login", "waotp_step-up");
    expect((await verifiedFor(withCookie(login), { secret: SECRET, phone: PHONE })).ok).toBe(false);
  });

  it("reads the phone from the request, and clears a single-use verification", async () => {
    const guard = requireOtp({
      secret: SECRET,
      singleUse: true,
      phone: (request) => request.headers.get("x-user-phone") ?? undefined,
    });
    const cookie = await verifiedCookie();
    const request = new Request("http://x/", { headers: { cookie, "x-user-phone": PHONE } });
    const check = await guard(request);
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(check.verification).toMatchObject({ phone: PHONE, purpose: "step-up" });
    expect(check.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^waotp_step-up=; Max-Age=0; Path=\/; /),
    ]);
  });

  it("must be told whose phone counts", () => {
    expect(() => requireOtp({ secret: SECRET })).toThrow(/needs `phone/);
    expect(() => requireOtp({ secret: SECRET, anyPhone: true, purpose: "step up" })).toThrow(
      /`purpose` must be 1 to 32/,
    );
    expect(() => requireOtp({ secret: "short", anyPhone: true })).toThrow(/at least 32 bytes/);
  });
});

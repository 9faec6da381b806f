import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { createOtp, type OtpOptions } from "@waotp/core";
import { createTestChannel } from "@waotp/core/testing";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import {
  type OtpPluginOptions,
  otpErrorHandler,
  requireOtp,
  verifiedState,
  waotp,
} from "./index.js";

const SECRET = "fastify-test-secret-0123456789abcdef0123";
const WEBHOOK_SECRET = "hook-secret-0123456789";
const PHONE = "+14155550101";

// biome-ignore lint/suspicious/noExplicitAny: a JSON body, read as loosely as tests read JSON.
type Json = any;

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(
  options: {
    plugin?: Partial<OtpPluginOptions>;
    otp?: Partial<OtpOptions>;
    server?: FastifyServerOptions;
    before?: (app: FastifyInstance) => void;
    after?: (app: FastifyInstance) => void;
  } = {},
) {
  const channel = createTestChannel();
  const otp = createOtp({ secret: SECRET, channel, ...options.otp });
  const app = Fastify(options.server);
  apps.push(app);
  options.before?.(app);
  await app.register(waotp, {
    otp,
    prefix: "/otp",
    secret: SECRET,
    webhookSecret: WEBHOOK_SECRET,
    ...options.plugin,
  });
  options.after?.(app);
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${origin}${path}`, init);
    const text = await res.text();
    let body: Json;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return {
      status: res.status,
      body,
      text,
      headers: res.headers,
      cookies: res.headers.getSetCookie(),
    };
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    call(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  return { app, otp, channel, origin, port, call, post };
}

/** The `name=value` pairs of `Set-Cookie` lines, as a browser sends them back. */
const cookieHeader = (lines: string[]) => lines.map((line) => line.split(";")[0]).join("; ");

describe("the waotp plugin", () => {
  it("sends, verifies with the signed cookie, and lets requireOtp through", async () => {
    const { post, call, channel } = await start({
      after: (app) => {
        app.get(
          "/account",
          {
            preHandler: requireOtp({
              secret: SECRET,
              purpose: "login",
              phone: (req) => req.headers["x-user-phone"] as string,
            }),
          },
          async (request) => ({ ok: true, verified: request.otpVerification?.phone }),
        );
      },
    });
    const sent = await post("/otp/send", { phone: PHONE });
    expect(sent.status).toBe(200);
    expect(sent.cookies[0]).toMatch(
      /^waotp_client=[\w-]{22}; Max-Age=31536000; Path=\/; Expires=.+; HttpOnly; SameSite=Lax$/,
    );
    const verified = await post(
      "/otp/verify",
      { phone: PHONE, code: channel.lastCode(PHONE) },
      { cookie: cookieHeader(sent.cookies) },
    );
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({ verified: true, phone: PHONE });
    expect(verified.cookies.map((line) => line.split("=")[0])).toEqual([
      "waotp_login",
      "waotp_client",
    ]);
    const cookie = cookieHeader(verified.cookies);
    expect((await call("/account", { headers: { cookie, "x-user-phone": PHONE } })).body).toEqual({
      ok: true,
      verified: PHONE,
    });
    const other = await call("/account", { headers: { cookie, "x-user-phone": "+14155550199" } });
    expect(other.status).toBe(401);
    expect(other.body.error).toMatchObject({
      code: "STEP_UP_REQUIRED",
      purpose: "login",
      maxAgeSeconds: 300,
    });
    expect((await call("/account", { headers: { "x-user-phone": PHONE } })).status).toBe(401);
  });

  it("writes the same cookies as Express, Secure and __Host- over HTTPS behind a trusted proxy", async () => {
    const { post, channel } = await start({ server: { trustProxy: true } });
    const https = { "x-forwarded-proto": "https" };
    const sent = await post("/otp/send", { phone: PHONE }, https);
    expect(sent.cookies[0]).toMatch(
      /^__Host-waotp_client=[\w-]{22}; .*; HttpOnly; Secure; SameSite=Lax$/,
    );
    const verified = await post(
      "/otp/verify",
      { phone: PHONE, code: channel.lastCode(PHONE) },
      https,
    );
    expect(verified.cookies[0]).toMatch(
      /^waotp_login=[\w-]+\.[\w-]+; Max-Age=86400; Path=\/; Expires=.+; HttpOnly; Secure; SameSite=Lax$/,
    );
  });

  it("counts per request.ip, which honours the app's trustProxy", async () => {
    const trusting = await start({
      server: { trustProxy: true },
      otp: { limits: { sendsPerIp: { max: 1 } } },
    });
    const from = (ip: string, phone: string) =>
      trusting.post("/otp/send", { phone }, { "x-forwarded-for": ip });
    expect((await from("203.0.113.1", "+14155550101")).status).toBe(200);
    expect((await from("203.0.113.2", "+14155550102")).status).toBe(200);
    expect((await from("203.0.113.1", "+14155550103")).status).toBe(429);
    // Without trustProxy, a forged X-Forwarded-For changes nothing: every send is from 127.0.0.1.
    const plain = await start({ otp: { limits: { sendsPerIp: { max: 1 } } } });
    expect(
      (await plain.post("/otp/send", { phone: PHONE }, { "x-forwarded-for": "203.0.113.1" }))
        .status,
    ).toBe(200);
    const forged = await plain.post(
      "/otp/send",
      { phone: "+14155550102" },
      { "x-forwarded-for": "203.0.113.2" },
    );
    expect(forged.status).toBe(429);
    expect(forged.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("lets onVerified answer the request itself, remembering nothing", async () => {
    const { post, channel } = await start({
      plugin: {
        onVerified: (result, _request, reply) => reply.code(201).send({ welcome: result.phone }),
      },
    });
    await post("/otp/send", { phone: PHONE });
    const res = await post("/otp/verify", { phone: PHONE, code: channel.lastCode(PHONE) });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ welcome: PHONE });
    expect(res.cookies).toEqual([]);
  });

  it("reports 5xx to onError, with no detail to the client", async () => {
    const seen: unknown[] = [];
    const { post, channel } = await start({ plugin: { onError: (error) => seen.push(error) } });
    channel.failNext(new Error("1MSG refused token tok_123"));
    const res = await post("/otp/send", { phone: PHONE });
    expect(res.status).toBe(502);
    expect(res.text).not.toContain("tok_123");
    expect(seen).toHaveLength(1);
  });

  it("stays in its own scope: the app's parsers, validator and error handler are untouched", async () => {
    const { post, call } = await start({
      before: (app) => {
        app.addContentTypeParser("text/plain", { parseAs: "string" }, (_req, body, done) =>
          done(null, { text: body }),
        );
        // A validator compiler that reads no JSON schema (as Zod's or TypeBox's would not).
        app.setValidatorCompiler(() => () => {
          throw new Error("the app's validator ran");
        });
        app.setErrorHandler((_error, _request, reply) => reply.code(418).send({ app: true }));
        app.post("/echo", async (request) => request.body);
        app.post("/validated", { schema: { body: { type: "object" } } }, async () => ({}));
      },
    });
    expect(
      (
        await call("/echo", {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: "hi",
        })
      ).body,
    ).toEqual({ text: "hi" });
    expect((await post("/echo", "{oops")).status).toBe(418);
    expect((await post("/validated", {})).status).toBe(418);
    // The plugin's own routes answer the contract.
    expect((await post("/otp/send", [1])).body.error.code).toBe("INVALID_BODY");
    expect((await post("/otp/send", "{oops")).body.error.code).toBe("INVALID_JSON");
    const text = await call("/otp/send", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}",
    });
    expect(text.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect((await post("/otp/send", { phone: PHONE })).status).toBe(200);
  });

  it("mounts under any prefix, and twice with two engines", async () => {
    const channel = createTestChannel();
    const app = Fastify();
    apps.push(app);
    await app.register(waotp, {
      otp: createOtp({ secret: SECRET, channel }),
      secret: SECRET,
      prefix: "/a/otp",
    });
    await app.register(waotp, {
      otp: createOtp({ secret: SECRET, channel }),
      secret: SECRET,
      prefix: "/b",
    });
    const send = (path: string) =>
      app
        .inject({ method: "POST", url: path, payload: { phone: PHONE } })
        .then((res) => res.statusCode);
    expect(await send("/a/otp/send")).toBe(200);
    expect(await send("/b/send")).toBe(200);
    expect(await send("/otp/send")).toBe(404);
  });

  it("refuses bad options when registered", async () => {
    const app = Fastify();
    apps.push(app);
    await expect(app.register(waotp, { otp: undefined as never })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
    });
    const again = Fastify();
    apps.push(again);
    await expect(
      again.register(waotp, {
        otp: createOtp({ secret: SECRET, channel: createTestChannel() }),
        webhookSecret: "short",
      }),
    ).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });
});

describe("requireOtp", () => {
  async function guarded(options: Parameters<typeof requireOtp>[0]) {
    const started = await start({
      after: (app) => {
        app.get("/guarded", { preHandler: requireOtp(options) }, async () => ({ ok: true }));
        app.get("/unguarded", async () => ({ ok: true }));
      },
    });
    const { post, channel } = started;
    await post("/otp/send", { phone: PHONE, purpose: "step-up" });
    const signIn = await post("/otp/verify", {
      phone: PHONE,
      code: channel.lastCode(PHONE),
      purpose: "step-up",
    });
    return { ...started, cookie: cookieHeader(signIn.cookies) };
  }

  it("refuses to start without a phone or anyPhone", () => {
    expect(() => requireOtp({ secret: SECRET })).toThrow(/phone/);
    expect(() => requireOtp({ secret: SECRET, anyPhone: true, maxAgeSeconds: 0 })).toThrow(
      /maxAgeSeconds/,
    );
  });

  it("forgets a single-use verification as the route runs", async () => {
    const { call, cookie } = await guarded({ secret: SECRET, anyPhone: true, singleUse: true });
    const first = await call("/guarded", { headers: { cookie } });
    expect(first.body).toEqual({ ok: true });
    expect(first.cookies[0]).toMatch(/^waotp_step-up=; Max-Age=0;/);
    expect((await call("/guarded")).status).toBe(401);
  });

  it("calls onRequired instead of the 401, and answers 401 if onRequired does not answer", async () => {
    const redirects = await guarded({
      secret: SECRET,
      anyPhone: true,
      onRequired: (_request, reply) => reply.redirect("/verify-page", 303),
    });
    const res = await redirects.call("/guarded", { redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/verify-page");
    const silent = await guarded({ secret: SECRET, anyPhone: true, onRequired: () => undefined });
    expect((await silent.call("/guarded")).status).toBe(401);
  });

  it("does not trust a verification from another secret, or a tampered cookie", async () => {
    const { call, cookie } = await guarded({ secret: SECRET, anyPhone: true });
    expect((await call("/guarded", { headers: { cookie } })).status).toBe(200);
    // One character of the signature changed (to another one, whatever it was).
    const forged = cookie.replace(
      /(waotp_step-up=[\w-]+\.)([\w-])/,
      (_, head, c) => head + (c === "A" ? "B" : "A"),
    );
    expect((await call("/guarded", { headers: { cookie: forged } })).status).toBe(401);
    const otherKey = await guarded({ secret: `${SECRET}-other`, anyPhone: true });
    expect((await otherKey.call("/guarded", { headers: { cookie } })).status).toBe(401);
  });

  it("works with a state of the app's own, as the plugin does", async () => {
    const remembered = new Map<string, unknown>();
    const state = {
      save: (_req: unknown, _reply: unknown, v: { purpose: string }) =>
        void remembered.set(v.purpose, v),
      load: (_req: unknown, purpose: string) => remembered.get(purpose) as never,
      clear: (_req: unknown, _reply: unknown, purpose?: string) =>
        void remembered.delete(String(purpose)),
    };
    const { call, post, channel } = await start({
      plugin: { state, secret: undefined },
      after: (app) => {
        app.get(
          "/g",
          { preHandler: requireOtp({ state, purpose: "login", anyPhone: true, singleUse: true }) },
          async () => ({ ok: 1 }),
        );
      },
    });
    await post("/otp/send", { phone: PHONE });
    const res = await post("/otp/verify", { phone: PHONE, code: channel.lastCode(PHONE) });
    expect(res.cookies.map((c) => c.split("=")[0])).toEqual(["waotp_client"]);
    expect((await call("/g")).status).toBe(200);
    expect((await call("/g")).status).toBe(401);
  });

  it("answers the app's error handler with the contract through otpErrorHandler", async () => {
    const { call } = await start({
      after: (app) => {
        app.register(async (scope) => {
          scope.setErrorHandler(otpErrorHandler());
          scope.get(
            "/boom",
            {
              preHandler: requireOtp({
                anyPhone: true,
                state: {
                  ...verifiedState(),
                  load: () => {
                    throw new Error("db password hunter2");
                  },
                },
              }),
            },
            async () => ({}),
          );
        });
      },
    });
    const res = await call("/boom");
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe("INTERNAL_ERROR");
    expect(res.text).not.toContain("hunter2");
  });
});

/**
 * A raw HTTP/1.1 request over a socket, for what fetch will not send (lying lengths, chunked
 * bodies); the server may answer and close before the body is all sent.
 */
function raw(port: number, head: string, body = ""): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const chunked = /transfer-encoding: chunked/i.test(head);
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      received += chunk;
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      const status = Number(received.split(" ")[1]);
      resolve({ status, text: received.slice(received.indexOf("\r\n\r\n") + 4) });
    });
    const [first, ...headers] = head.split("\n");
    socket.write(
      `${first} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n${headers.join("\r\n")}\r\n\r\n`,
    );
    socket.end(chunked ? `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n` : body);
  });
}

describe("attacks", () => {
  it("answers every bad body with a 4xx code of the contract, never a 5xx, never a code", async () => {
    const { post, call, channel } = await start();
    await post("/otp/send", { phone: PHONE });
    const code = channel.lastCode(PHONE) as string;
    const json = (body: string, headers: Record<string, string> = {}) =>
      post("/otp/send", body, headers);
    const cases: [Promise<{ status: number; body: Json; text: string }>, number, string][] = [
      [json("{not json"), 400, "INVALID_JSON"],
      [json("true"), 400, "INVALID_JSON"],
      [json("12"), 400, "INVALID_JSON"],
      [json("   "), 400, "INVALID_JSON"],
      [json('{"phone":"+14155550101"} trailing'), 400, "INVALID_JSON"],
      [json('{"__proto__":{"polluted":1},"phone":"+1"}'), 400, "INVALID_PHONE"],
      [json('{"constructor":{"prototype":{"x":1}}}'), 400, "INVALID_PHONE"],
      [json(`{"phone":"${"9".repeat(1900)}"}`), 400, "INVALID_PHONE"],
      [json("\uFEFF{}"), 400, "INVALID_JSON"],
      [
        json("{}", { "content-type": "application/json; charset=utf-16" }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      ],
      [
        json("{}", { "content-type": "application/json-patch+json" }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      ],
      [json("{}", { "content-type": "application/jsonx" }), 415, "UNSUPPORTED_MEDIA_TYPE"],
      [json("{}", { "content-type": "application/json;;;===" }), 400, "INVALID_PHONE"],
      [
        json("{}", { "content-type": "multipart/form-data; boundary=x" }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      ],
      [json("{}", { "content-encoding": "gzip" }), 415, "UNSUPPORTED_MEDIA_TYPE"],
      [json(JSON.stringify({ phone: PHONE, code: { $ne: "" } })), 429, "RATE_LIMITED"],
      [post("/otp/verify", { phone: PHONE, code: [code] }), 400, "INVALID_INPUT"],
      [post("/otp/verify", { phone: PHONE, code: Number(code) }), 400, "INVALID_INPUT"],
      [post("/otp/verify", { phone: [PHONE], code }), 400, "INVALID_PHONE"],
      [post("/otp/verify", { phone: PHONE, code, purpose: "../../etc" }), 400, "INVALID_INPUT"],
      [post("/otp/verify", `[${"1,".repeat(900)}1]`), 400, "INVALID_BODY"],
      [post(`/otp/webhook/${WEBHOOK_SECRET}`, "null"), 400, "INVALID_JSON"],
      [post(`/otp/webhook/${WEBHOOK_SECRET.toUpperCase()}`, {}), 401, "UNAUTHORIZED"],
      [post(`/otp/webhook/${WEBHOOK_SECRET}x`, {}), 401, "UNAUTHORIZED"],
      [
        call(`/otp/webhook/${WEBHOOK_SECRET}`, {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: "{}",
        }),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
      ],
      [call("/otp/status/%00"), 404, "NOT_FOUND"],
      [call(`/otp/status/${"x".repeat(90)}`), 404, "NOT_FOUND"],
    ];
    const seen = [];
    for (const [pending] of cases) {
      const res = await pending;
      expect(res.text).not.toContain(code);
      seen.push({ status: res.status, code: res.body?.error?.code });
      expect(res.status).toBeLessThan(500);
    }
    expect(seen).toEqual(cases.map(([, status, errorCode]) => ({ status, code: errorCode })));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // After all that, the right code still works.
    expect((await post("/otp/verify", { phone: PHONE, code })).status).toBe(200);
  });

  it("holds the body limits whatever the declared length says", async () => {
    const { port } = await start();
    const big = JSON.stringify({ phone: PHONE, pad: "x".repeat(5000) });
    // Chunked, with no length: counted as it arrives.
    const chunked = await raw(
      port,
      "POST /otp/send\ncontent-type: application/json\ntransfer-encoding: chunked",
      big,
    );
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.text).error.code).toBe("PAYLOAD_TOO_LARGE");
    // A declared length over the limit is refused before the body is read.
    const declared = await raw(
      port,
      `POST /otp/send\ncontent-type: application/json\ncontent-length: 999999`,
      "{}",
    );
    expect(declared.status).toBe(413);
    // A length that is not a number.
    const nonsense = await raw(
      port,
      "POST /otp/send\ncontent-type: application/json\ncontent-length: abc",
      "{}",
    );
    expect(nonsense.status).toBe(400);
    // Webhooks take 256 kB, chunked too.
    const hook = await raw(
      port,
      `POST /otp/webhook/${WEBHOOK_SECRET}\ncontent-type: application/json\ntransfer-encoding: chunked`,
      JSON.stringify({ ack: [], pad: "x".repeat(300_000) }),
    );
    expect(hook.status).toBe(413);
    expect(JSON.parse(hook.text).error.code).toBe("PAYLOAD_TOO_LARGE");
    // A declared length shorter than the body sent, and one longer.
    const short = await raw(
      port,
      "POST /otp/send\ncontent-type: application/json\ncontent-length: 2",
      '{"phone":"+14155550101"}',
    );
    expect(short.status).toBeLessThan(500);
    const long = await raw(
      port,
      "POST /otp/send\ncontent-type: application/json\ncontent-length: 100",
      "{}",
    );
    expect(long.status === 0 || (long.status >= 400 && long.status < 500)).toBe(true);
  });

  it("answers a flood of concurrent bad requests without a 5xx", async () => {
    const { post } = await start();
    const bodies = [
      "{",
      "[]",
      "null",
      '"x"',
      "{}",
      '{"phone":{}}',
      "{".repeat(3000),
      "[".repeat(1000) + "]".repeat(1000),
    ];
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        post(i % 2 ? "/otp/send" : "/otp/verify", bodies[i % bodies.length] as string),
      ),
    );
    for (const res of results) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof res.body.error.code).toBe("string");
    }
  });
});

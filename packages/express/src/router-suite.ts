/**
 * The router's behaviour over real HTTP, run once per Express major: `router.test.ts` (Express 5)
 * and `router.express4.test.ts` (Express 4, by swapping the module the router imports).
 */
import {
  createOtp,
  errorAnswer,
  type HttpAnswer,
  memoryStore,
  OtpError,
  type OtpEvent,
  type OtpOptions,
  type Store,
  thrownAnswer,
  verifyFailureAnswer,
} from "@waotp/core";
import { createTestChannel } from "@waotp/core/testing";
import type { Express } from "express";
import session from "express-session";
import request from "supertest";
import { afterEach, describe, expect, it, vi } from "vitest";
import { otpErrorHandler } from "./errors.js";
import { requireOtp } from "./require-otp.js";
import { type OtpRouterOptions, otpRouter } from "./router.js";
import { verifiedState } from "./verified-state.js";

type ExpressFactory = (() => Express) & { json: (options?: unknown) => unknown };

const SECRET = "router-test-secret-0123456789abcdef0123";
const WEBHOOK_SECRET = "hook-secret-0123456789";
const PHONE = "+14155550101";

/** The `name=value` of the cookie a response sets under `name`, among all it sets. */
function cookieNamed(res: { headers: Record<string, unknown> }, name: string): string {
  const all = (res.headers["set-cookie"] as string[] | undefined) ?? [];
  const found = all.find((c) => c.startsWith(`${name}=`));
  return found === undefined ? "" : (found.split(";")[0] as string);
}

/** The whole `Set-Cookie` line for `name`. */
function setCookieLine(res: { headers: Record<string, unknown> }, name: string): string {
  const all = (res.headers["set-cookie"] as string[] | undefined) ?? [];
  return all.find((c) => c.startsWith(`${name}=`)) ?? "";
}

export function describeRouter(name: string, express: ExpressFactory) {
  function app(
    options: {
      otp?: Partial<OtpOptions>;
      router?: OtpRouterOptions;
      session?: boolean;
      appJson?: boolean;
    } = {},
  ) {
    let now = Date.UTC(2026, 0, 1);
    const channel = createTestChannel();
    const events: OtpEvent[] = [];
    const otp = createOtp({
      secret: SECRET,
      channel,
      now: () => now,
      onEvent: (e) => {
        events.push(e);
      },
      ...options.otp,
    });
    const server = express();
    server.set("trust proxy", "loopback");
    if (options.appJson) server.use(express.json({ limit: "1mb" }) as never);
    if (options.session) {
      server.use(session({ secret: SECRET, resave: false, saveUninitialized: false }));
      server.post("/touch", (req, res) => {
        (req.session as unknown as Record<string, unknown>).seen = true;
        res.json({ ok: true });
      });
      server.get(
        "/signed-in",
        requireOtp({ purpose: "login", anyPhone: true, maxAgeSeconds: 3600 }),
        (_req, res) => {
          res.json({ ok: true });
        },
      );
    }
    server.use(
      "/otp",
      otpRouter(otp, { secret: SECRET, webhookSecret: WEBHOOK_SECRET, ...options.router }),
    );
    server.get(
      "/protected",
      requireOtp({ secret: SECRET, phone: (req) => req.get("x-user-phone") }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    server.get(
      "/redirects",
      requireOtp({
        secret: SECRET,
        anyPhone: true,
        onRequired: (_req, res) => {
          res.redirect(303, "/verify-page");
        },
      }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    server.get("/throws", () => {
      throw new OtpError("INVALID_PHONE", "nope");
    });
    server.get("/teapot", () => {
      throw Object.assign(new Error("short and stout"), { status: 418 });
    });
    server.get("/bug", () => {
      throw new Error("internal detail");
    });
    const logged: unknown[] = [];
    server.use(otpErrorHandler({ onError: (error) => logged.push(error) }));
    return {
      server,
      channel,
      events,
      otp,
      logged,
      advance: (seconds: number) => {
        now += seconds * 1000;
      },
    };
  }

  const send = (server: Express, body: unknown = { phone: PHONE }) =>
    request(server)
      .post("/otp/send")
      .set("content-type", "application/json")
      .send(JSON.stringify(body));
  const verify = (server: Express, body: unknown) =>
    request(server)
      .post("/otp/verify")
      .set("content-type", "application/json")
      .send(JSON.stringify(body));

  describe(`otpRouter on ${name}`, () => {
    describe("POST /send", () => {
      it("sends a code and answers with the message id, expiry and resend time", async () => {
        const { server, channel } = app();
        const res = await send(server, { phone: "+1 (415) 555-0101" });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          phone: PHONE,
          messageId: channel.messages[0]?.messageId,
          expiresAt: "2026-01-01T00:05:00.000Z",
          resendAt: "2026-01-01T00:01:00.000Z",
        });
        expect(JSON.stringify(res.body)).not.toContain(channel.messages[0]?.code);
      });

      it("answers INVALID_PHONE with 400", async () => {
        const res = await send(app().server, { phone: "+1 555 123 4567" });
        expect(res.status).toBe(400);
        expect(res.body.error).toMatchObject({ code: "INVALID_PHONE" });
      });

      it("answers RATE_LIMITED with 429 and Retry-After", async () => {
        const { server } = app();
        await send(server);
        const res = await send(server);
        expect(res.status).toBe(429);
        expect(res.headers["retry-after"]).toBe("60");
        expect(res.body.error).toMatchObject({
          code: "RATE_LIMITED",
          retryAfter: 60,
          limit: "phone_cooldown",
        });
      });

      it("counts per client IP as Express sees it, behind a trusted proxy", async () => {
        const { server } = app({ otp: { limits: { sendsPerIp: { max: 1 } } } });
        const from = (ip: string, phone: string) =>
          request(server)
            .post("/otp/send")
            .set("content-type", "application/json")
            .set("x-forwarded-for", ip)
            .send({ phone });
        expect((await from("203.0.113.1", "+14155550101")).status).toBe(200);
        expect((await from("203.0.113.2", "+14155550102")).status).toBe(200);
        const limited = await from("203.0.113.1", "+14155550103");
        expect(limited.status).toBe(429);
        expect(limited.body.error.limit).toBe("ip_window");
      });

      it("answers SEND_FAILED with 502 and no internal detail", async () => {
        const { server, channel } = app();
        channel.failNext(new Error("1MSG refused token tok_123 for channel ch"));
        const res = await send(server);
        expect(res.status).toBe(502);
        expect(res.body).toEqual({
          error: {
            code: "SEND_FAILED",
            message: "The code could not be sent right now. Try again in a moment.",
          },
        });
      });

      it("tells a client whose message may still arrive to wait for it, and when to ask again", async () => {
        const { server, channel } = app();
        // 1MSG failed after taking the message: the phone has the code, the send has no answer.
        const uncertain = Object.assign(new Error("1MSG answered HTTP 502 for token tok_123"), {
          uncertain: true,
        });
        const originalSend = channel.send.bind(channel);
        channel.send = async (message) => {
          await originalSend(message);
          throw uncertain;
        };
        const res = await send(server);
        expect(res.status).toBe(502);
        expect(res.body).toEqual({
          error: {
            code: "SEND_FAILED",
            delivery: "unknown",
            retryAfter: 60,
            message: expect.stringMatching(/may still arrive: its code will work/),
          },
        });
        expect(JSON.stringify(res.body)).not.toContain("tok_123");
        // The late message's code works, and asking again waits for the cooldown.
        expect((await send(server)).status).toBe(429);
        const verified = await request(server)
          .post("/otp/verify")
          .send({ phone: PHONE, code: channel.lastCode(PHONE) });
        expect(verified.status).toBe(200);
      });

      it("caps sends from clients whose address it cannot see in one shared bucket", async () => {
        // Behind a Unix socket or an untrusted proxy, req.ip is undefined: that must not mean no limit.
        const { server } = app({ router: { clientIp: () => undefined } });
        const statuses = [];
        for (let i = 0; i < 21; i++) {
          const res = await send(server, { phone: `+1415555${String(1000 + i)}` });
          statuses.push(res.status);
        }
        expect(statuses.slice(0, 20)).toEqual(Array(20).fill(200));
        expect(statuses[20]).toBe(429);
      });

      it("keeps the owner's browser signing in while strangers fill the phone's guess budget", async () => {
        const { server, channel, advance } = app();
        const owner = request.agent(server);
        const json = (agent: ReturnType<typeof request.agent>, path: string, body: unknown) =>
          agent.post(path).set("content-type", "application/json").send(JSON.stringify(body));
        // The owner's browser signed in once; its cookie makes it known to the phone.
        expect(
          (await json(owner, "/otp/send", { phone: PHONE })).headers["set-cookie"]?.[0],
        ).toMatch(/^waotp_client=[\w-]{22}; .*HttpOnly; SameSite=Lax$/);
        const first = channel.lastCode(PHONE);
        expect((await json(owner, "/otp/verify", { phone: PHONE, code: first })).status).toBe(200);
        // Strangers, each a new browser from a new address, spend the phone's 20 wrong guesses.
        for (let i = 0; i < 4; i++) {
          advance(60);
          const stranger = request.agent(server);
          const ip = `203.0.113.${i}`;
          await json(stranger, "/otp/send", { phone: PHONE }).set("x-forwarded-for", ip);
          for (let g = 0; g < 5; g++) {
            await json(stranger, "/otp/verify", { phone: PHONE, code: "000000" }).set(
              "x-forwarded-for",
              ip,
            );
          }
        }
        // The owner gets a code at once and signs in with it.
        expect((await json(owner, "/otp/send", { phone: PHONE })).status).toBe(200);
        const res = await json(owner, "/otp/verify", {
          phone: PHONE,
          code: channel.lastCode(PHONE),
        });
        expect(res.status).toBe(200);
      });

      it("gives the browser a new client id at sign-in, so an id planted in it stays a stranger", async () => {
        const { server, channel, advance } = app();
        const planted = "waotp_client=PlantedByTheAttacker_0";
        const post = (path: string, body: unknown) =>
          request(server)
            .post(path)
            .set("content-type", "application/json")
            .set("cookie", planted)
            .send(JSON.stringify(body));
        await post("/otp/send", { phone: PHONE });
        const signIn = await post("/otp/verify", { phone: PHONE, code: channel.lastCode(PHONE) });
        expect(signIn.status).toBe(200);
        const issued = cookieNamed(signIn, "waotp_client");
        expect(issued).toMatch(/^waotp_client=[\w-]{22}$/);
        expect(issued).not.toBe(planted);
        // The planted id shares the phone's cooldown like any stranger; the issued one does not.
        advance(30);
        expect((await post("/otp/send", { phone: PHONE })).status).toBe(429);
        const owner = await request(server)
          .post("/otp/send")
          .set("content-type", "application/json")
          .set("cookie", issued)
          .send(JSON.stringify({ phone: PHONE }));
        expect(owner.status).toBe(200);
      });

      it("answers STORE_UNAVAILABLE with 503", async () => {
        const store = memoryStore();
        store.take = async () => {
          throw new Error("redis down");
        };
        const res = await send(app({ otp: { store: store as Store } }).server);
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe("STORE_UNAVAILABLE");
        expect(JSON.stringify(res.body)).not.toContain("redis");
      });

      it("passes the Idempotency-Key header on", async () => {
        const { server, channel } = app();
        const first = await send(server).set("idempotency-key", "abc");
        const again = await send(server).set("idempotency-key", "abc");
        expect(again.body).toEqual(first.body);
        expect(channel.messages).toHaveLength(1);
      });
    });

    describe("bad input", () => {
      it("answers malformed JSON, wrong types, wrong content types and huge bodies with a 4xx code", async () => {
        const { server, channel } = app();
        const raw = (body: string, type = "application/json") =>
          request(server).post("/otp/send").set("content-type", type).send(body);
        const cases: [request.Test, number, string][] = [
          [raw("{not json"), 400, "INVALID_JSON"],
          [raw('"just a string"'), 400, "INVALID_JSON"],
          [raw("[1,2,3]"), 400, "INVALID_BODY"],
          [raw("null"), 400, "INVALID_JSON"],
          [
            raw("phone=+14155550101", "application/x-www-form-urlencoded"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
          ],
          [raw(JSON.stringify({ phone: PHONE }), "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE"],
          [request(server).post("/otp/send"), 415, "UNSUPPORTED_MEDIA_TYPE"],
          [raw(JSON.stringify({ phone: "1".repeat(5000) })), 413, "PAYLOAD_TOO_LARGE"],
          [raw(`${"[".repeat(500)}${"]".repeat(500)}`), 400, "INVALID_BODY"],
          [raw(JSON.stringify({ phone: 14155550101 })), 400, "INVALID_PHONE"],
          [raw(JSON.stringify({ phone: { $gt: "" } })), 400, "INVALID_PHONE"],
          [raw(JSON.stringify({ phone: PHONE, purpose: ["login"] })), 400, "INVALID_INPUT"],
          [raw("{}", "application/json; charset=latin-9"), 415, "UNSUPPORTED_MEDIA_TYPE"],
        ];
        for (const [pending, status, code] of cases) {
          const res = await pending;
          expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
        }
        const wrongCode = await verify(server, { phone: PHONE, code: "12ab56" });
        expect(wrongCode.status).toBe(400);
        expect(wrongCode.body.error.code).toBe("INVALID_INPUT");
        expect(channel.messages).toHaveLength(0);
      });
    });

    describe("POST /verify", () => {
      it("verifies a code, remembers it in a signed cookie, and answers once", async () => {
        const { server, channel } = app();
        await send(server);
        const code = channel.lastCode(PHONE) as string;
        const res = await verify(server, { phone: PHONE, code });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ verified: true, phone: PHONE });
        expect(setCookieLine(res, "waotp_login")).toMatch(
          /^waotp_login=[\w-]+\.[\w-]+; Max-Age=86400; Path=\/; Expires=.*; HttpOnly; SameSite=Lax$/,
        );
        // The browser gets a new client id at sign-in.
        expect(setCookieLine(res, "waotp_client")).toMatch(/^waotp_client=[\w-]{22}; .*HttpOnly/);
        const again = await verify(server, { phone: PHONE, code });
        expect(again.status).toBe(400);
        expect(again.body.error.code).toBe("INVALID_CODE");
      });

      it("answers a wrong, an expired and a missing code alike by default, telling the server why", async () => {
        const { server, channel, advance, events } = app();
        const answers = [];
        answers.push((await verify(server, { phone: PHONE, code: "123456" })).body);
        await send(server);
        const right = channel.lastCode(PHONE) as string;
        answers.push(
          (await verify(server, { phone: PHONE, code: right === "000000" ? "111111" : "000000" }))
            .body,
        );
        advance(301);
        answers.push((await verify(server, { phone: PHONE, code: right })).body);
        expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
        expect(answers[0]).toEqual({
          error: { code: "INVALID_CODE", message: expect.stringMatching(/not right/) },
        });
        const reasons = events
          .filter((e) => e.type === "rejected")
          .map((e) => e.type === "rejected" && e.reason);
        expect(reasons).toEqual(["NO_PENDING_CODE", "INVALID_CODE", "EXPIRED"]);
      });

      it("answers a wrong code with 400 INVALID_CODE and the guesses left, then 429", async () => {
        const { server, channel } = app({
          otp: { limits: { attemptsPerCode: 2 } },
          router: { verifyFailures: "precise" },
        });
        await send(server);
        const wrong = channel.lastCode(PHONE) === "000000" ? "111111" : "000000";
        const first = await verify(server, { phone: PHONE, code: wrong });
        expect(first.status).toBe(400);
        expect(first.body.error).toMatchObject({ code: "INVALID_CODE", attemptsLeft: 1 });
        await verify(server, { phone: PHONE, code: wrong });
        const locked = await verify(server, { phone: PHONE, code: channel.lastCode(PHONE) });
        expect(locked.status).toBe(429);
        expect(locked.body.error.code).toBe("TOO_MANY_ATTEMPTS");
        expect(locked.headers["retry-after"]).toBe("0");
      });

      it("answers EXPIRED and NO_PENDING_CODE with 400 when told to be precise", async () => {
        const { server, channel, advance } = app({ router: { verifyFailures: "precise" } });
        expect((await verify(server, { phone: PHONE, code: "123456" })).body.error.code).toBe(
          "NO_PENDING_CODE",
        );
        await send(server);
        advance(301);
        const res = await verify(server, { phone: PHONE, code: channel.lastCode(PHONE) });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe("EXPIRED");
      });

      it("answers the phone's spent failure budget with 429 and its Retry-After", async () => {
        const { server, channel } = app({ otp: { limits: { failuresPerPhone: { max: 1 } } } });
        await send(server);
        await verify(server, {
          phone: PHONE,
          code: "000000" === channel.lastCode(PHONE) ? "111111" : "000000",
        });
        const res = await verify(server, { phone: PHONE, code: channel.lastCode(PHONE) });
        expect(res.status).toBe(429);
        expect(res.headers["retry-after"]).toBe("86400");
      });

      it("lets onVerified refuse a user before anything is remembered", async () => {
        const { server, channel } = app({ router: { onVerified: () => false } });
        await send(server);
        const res = await verify(server, { phone: PHONE, code: channel.lastCode(PHONE) });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe("VERIFICATION_REFUSED");
        expect(res.headers["set-cookie"]).toBeUndefined();
      });

      it("lets the app sign the user in through onVerified", async () => {
        const seen: unknown[] = [];
        const { server, channel } = app({
          router: {
            onVerified: (result, _req, res) => {
              seen.push(result);
              res.status(201).json({ welcome: result.phone });
            },
          },
        });
        await send(server, { phone: PHONE, purpose: "register" });
        const res = await verify(server, {
          phone: PHONE,
          code: channel.lastCode(PHONE),
          purpose: "register",
        });
        expect(res.status).toBe(201);
        expect(res.body).toEqual({ welcome: PHONE });
        expect(seen).toEqual([{ phone: PHONE, purpose: "register" }]);
      });
    });

    describe("POST /webhook/:secret", () => {
      it("applies delivery acks with the right secret", async () => {
        const { server } = app();
        const browser = request.agent(server);
        const { body } = await browser
          .post("/otp/send")
          .set("content-type", "application/json")
          .send(JSON.stringify({ phone: PHONE }));
        const res = await request(server)
          .post(`/otp/webhook/${WEBHOOK_SECRET}`)
          .send({ instanceId: "1", ack: [{ id: body.messageId, status: "delivered" }] });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ updated: 1, ignored: 0 });
        const status = await browser.get(`/otp/status/${body.messageId}`);
        expect(status.body).toMatchObject({ status: "delivered" });
      });

      it("refuses a wrong secret with 401 and a malformed body with 400", async () => {
        const { server } = app();
        const wrong = await request(server).post("/otp/webhook/guess").send({ ack: [] });
        expect(wrong.status).toBe(401);
        expect(wrong.body.error.code).toBe("UNAUTHORIZED");
        const malformed = await request(server)
          .post(`/otp/webhook/${WEBHOOK_SECRET}`)
          .set("content-type", "application/json")
          .send("{oops");
        expect(malformed.status).toBe(400);
        const notObject = await request(server).post(`/otp/webhook/${WEBHOOK_SECRET}`).send([1, 2]);
        expect(notObject.status).toBe(400);
        expect(notObject.body.error.code).toBe("WEBHOOK_INVALID");
      });

      it("is not mounted without a webhook secret", async () => {
        const { server } = app({ router: { webhookSecret: undefined } });
        const res = await request(server).post("/otp/webhook/anything").send({ ack: [] });
        expect(res.status).toBe(404);
      });
    });

    describe("GET /status/:messageId", () => {
      it("answers 404 NOT_FOUND for an unknown message", async () => {
        const res = await request(app().server).get("/otp/status/wamid.nope");
        expect(res.status).toBe(404);
        expect(res.body.error.code).toBe("NOT_FOUND");
      });

      it("answers a known message's state to the browser that asked for it, and to nobody else", async () => {
        const { server, otp } = app();
        const browser = request.agent(server);
        const { body } = await browser
          .post("/otp/send")
          .set("content-type", "application/json")
          .send(JSON.stringify({ phone: PHONE }));
        const res = await browser.get(`/otp/status/${body.messageId}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ status: "accepted", updatedAt: "2026-01-01T00:00:00.000Z" });
        // Another browser (or a script with the id alone) learns nothing, not even that it exists.
        expect((await request(server).get(`/otp/status/${body.messageId}`)).status).toBe(404);
        // Whether it was read, and why a message failed, stay on the server.
        await otp.handleWebhook({ ack: [{ id: body.messageId, status: "read" }] });
        expect((await browser.get(`/otp/status/${body.messageId}`)).body.status).toBe("delivered");
        const failed = await browser
          .post("/otp/send")
          .set("content-type", "application/json")
          .send(JSON.stringify({ phone: "+14155550102" }));
        await otp.handleWebhook({
          ack: [
            {
              id: failed.body.messageId,
              status: "failed",
              error: "(#131026) Message undeliverable",
            },
          ],
        });
        expect((await browser.get(`/otp/status/${failed.body.messageId}`)).body).toEqual({
          status: "failed",
          updatedAt: "2026-01-01T00:00:00.000Z",
        });
      });
    });

    describe("requireOtp", () => {
      async function stepUp(
        server: Express,
        channel: ReturnType<typeof createTestChannel>,
        phone = PHONE,
      ) {
        await send(server, { phone, purpose: "step-up" });
        const res = await verify(server, {
          phone,
          code: channel.lastCode(phone),
          purpose: "step-up",
        });
        return cookieNamed(res, "waotp_step-up");
      }

      it("lets a single-use step-up through once, and a logout revokes a session's login", async () => {
        const { server, channel } = app({ session: true });
        server.get(
          "/transfer",
          requireOtp({ purpose: "step-up", anyPhone: true, singleUse: true }),
          (_req, res) => {
            res.json({ moved: true });
          },
        );
        server.post("/logout", (req, res) => {
          (req as unknown as { session: { destroy(cb: () => void): void } }).session.destroy(() =>
            res.json({ ok: true }),
          );
        });
        const browser = request.agent(server);
        const post = (path: string, body: unknown) =>
          browser.post(path).set("content-type", "application/json").send(JSON.stringify(body));
        await post("/otp/send", { phone: PHONE, purpose: "step-up" });
        await post("/otp/verify", {
          phone: PHONE,
          code: channel.lastCode(PHONE),
          purpose: "step-up",
        });
        expect((await browser.get("/transfer")).status).toBe(200);
        // The verification was used: the next transfer needs a new code.
        expect((await browser.get("/transfer")).status).toBe(401);

        await post("/otp/send", { phone: PHONE });
        const login = await post("/otp/verify", { phone: PHONE, code: channel.lastCode(PHONE) });
        const sid = cookieNamed(login, "connect.sid");
        expect(sid).toMatch(/^connect\.sid=/);
        expect((await request(server).get("/signed-in").set("cookie", sid)).status).toBe(200);
        await post("/logout", {});
        // The old session cookie, replayed, carries no login any more.
        expect((await request(server).get("/signed-in").set("cookie", sid)).status).toBe(401);
      });

      it("answers 401 STEP_UP_REQUIRED without a fresh verification", async () => {
        const res = await request(app().server).get("/protected").set("x-user-phone", PHONE);
        expect(res.status).toBe(401);
        expect(res.body.error).toMatchObject({
          code: "STEP_UP_REQUIRED",
          purpose: "step-up",
          maxAgeSeconds: 300,
        });
      });

      it("lets a fresh step-up verification of the user's own phone through", async () => {
        const { server, channel } = app();
        const cookie = await stepUp(server, channel);
        const res = await request(server)
          .get("/protected")
          .set("cookie", cookie)
          .set("x-user-phone", PHONE);
        expect(res.status).toBe(200);
        const other = await request(server)
          .get("/protected")
          .set("cookie", cookie)
          .set("x-user-phone", "+14155550102");
        expect(other.status).toBe(401);
      });

      it("refuses a login verification, a tampered cookie and a stale one", async () => {
        const { server, channel } = app();
        await send(server);
        const login = await verify(server, { phone: PHONE, code: channel.lastCode(PHONE) });
        const loginCookie = cookieNamed(login, "waotp_login");
        const asStepUp = loginCookie.replace("waotp_login", "waotp_step-up");
        for (const cookie of [loginCookie, asStepUp]) {
          expect(
            (
              await request(server)
                .get("/protected")
                .set("cookie", cookie)
                .set("x-user-phone", PHONE)
            ).status,
          ).toBe(401);
        }
        const good = await stepUp(server, channel, "+14155550102");
        const [payload, signature] = good.split("=")[1]?.split(".") ?? [];
        const forged = JSON.parse(Buffer.from(payload as string, "base64url").toString());
        forged.phone = PHONE;
        const tampered = `waotp_step-up=${Buffer.from(JSON.stringify(forged)).toString("base64url")}.${signature}`;
        expect(
          (
            await request(server)
              .get("/protected")
              .set("cookie", tampered)
              .set("x-user-phone", PHONE)
          ).status,
        ).toBe(401);
      });

      afterEach(() => {
        vi.useRealTimers();
      });

      it("refuses a verification older than maxAgeSeconds, or stamped in the future", async () => {
        vi.useFakeTimers({ toFake: ["Date"] });
        vi.setSystemTime(Date.UTC(2026, 5, 1, 12, 0, 0));
        const { server, channel } = app();
        const cookie = await stepUp(server, channel);
        const check = () =>
          request(server).get("/protected").set("cookie", cookie).set("x-user-phone", PHONE);
        vi.setSystemTime(Date.UTC(2026, 5, 1, 12, 5, 0));
        expect((await check()).status).toBe(200);
        vi.setSystemTime(Date.UTC(2026, 5, 1, 12, 5, 1));
        expect((await check()).status).toBe(401);
        vi.setSystemTime(Date.UTC(2026, 5, 1, 11, 58, 59));
        expect((await check()).status).toBe(401);
      });

      it("hands a missing verification to onRequired", async () => {
        const res = await request(app().server).get("/redirects");
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe("/verify-page");
      });

      it("must be told whose phone counts", () => {
        expect(() => requireOtp({ secret: SECRET })).toThrow(/needs `phone/);
        expect(() => requireOtp({ secret: SECRET, maxAgeSeconds: 0, anyPhone: true })).toThrow(
          /maxAgeSeconds/,
        );
        // A purpose no code can have would lock the route for good: refused up front, as the core would.
        expect(() => requireOtp({ secret: SECRET, anyPhone: true, purpose: "step up" })).toThrow(
          /`purpose` must be 1 to 32/,
        );
        expect(() => verifiedState({ secret: "too short" })).toThrow(/at least 32 bytes/);
      });

      it("marks the cookie Secure on HTTPS", async () => {
        const { server, channel } = app();
        await send(server, { phone: PHONE, purpose: "step-up" });
        const res = await verify(server, {
          phone: PHONE,
          code: channel.lastCode(PHONE),
          purpose: "step-up",
        }).set("x-forwarded-proto", "https");
        expect(setCookieLine(res, "waotp_step-up")).toMatch(/; Secure/);
        // Over HTTPS the client id takes the __Host- prefix: no sibling subdomain can plant it.
        expect(setCookieLine(res, "__Host-waotp_client")).toMatch(/; Path=\/; .*HttpOnly; Secure/);
      });

      it("gives the session a new id on sign-in, so a planted id is worth nothing", async () => {
        const { server, channel } = app({ session: true });
        const attacker = await request(server).post("/touch");
        const planted = String(attacker.headers["set-cookie"]).split(";")[0] as string;
        await send(server);
        const victim = await verify(server, { phone: PHONE, code: channel.lastCode(PHONE) }).set(
          "cookie",
          planted,
        );
        const issued = cookieNamed(victim, "connect.sid");
        expect(issued).toMatch(/^connect\.sid=/);
        expect(issued).not.toBe(planted);
        expect((await request(server).get("/signed-in").set("cookie", issued)).status).toBe(200);
        expect((await request(server).get("/signed-in").set("cookie", planted)).status).toBe(401);
      });

      it("uses req.session when express-session runs first", async () => {
        const { server, channel } = app({ session: true });
        const agent = request.agent(server);
        await agent.post("/otp/send").send({ phone: PHONE, purpose: "step-up" });
        const res = await agent
          .post("/otp/verify")
          .send({ phone: PHONE, code: channel.lastCode(PHONE), purpose: "step-up" });
        expect(cookieNamed(res, "connect.sid")).toMatch(/^connect\.sid=/);
        expect((await agent.get("/protected").set("x-user-phone", PHONE)).status).toBe(200);
      });
    });

    describe("limits and setup", () => {
      it("holds its body limit even behind an app-wide JSON parser", async () => {
        const { server, channel } = app({ appJson: true });
        const res = await send(server, { phone: PHONE, pad: "x".repeat(90_000) });
        expect(res.status).toBe(413);
        expect(res.body.error.code).toBe("PAYLOAD_TOO_LARGE");
        expect(channel.messages).toHaveLength(0);
      });

      it("caps webhook bodies at 256 kB", async () => {
        const res = await request(app().server)
          .post(`/otp/webhook/${WEBHOOK_SECRET}`)
          .set("content-type", "application/json")
          .send(JSON.stringify({ ack: [], pad: "x".repeat(300_000) }));
        expect(res.status).toBe(413);
      });

      it("does not use up a code it could not remember", async () => {
        const { server, channel, otp } = app({ router: { secret: undefined } });
        await send(server);
        const res = await verify(server, { phone: PHONE, code: channel.lastCode(PHONE) });
        expect(res.status).toBe(500);
        expect(res.body.error.code).toBe("CONFIG_INVALID");
        const code = channel.lastCode(PHONE) as string;
        expect((await otp.verify({ phone: PHONE, code })).ok).toBe(true);
      });
    });

    describe("the core's HTTP contract", () => {
      it("is what every failure answers: its status, body and Retry-After", async () => {
        const { server, channel, otp } = app();
        const seen = async (pending: request.Test) => {
          const res = await pending;
          return { status: res.status, body: res.body, retryAfter: res.headers["retry-after"] };
        };
        const expected = (answer: HttpAnswer) => ({
          status: answer.status,
          body: answer.body,
          retryAfter: answer.headers["Retry-After"],
        });
        const raw = (body: string, type = "application/json") =>
          request(server).post("/otp/send").set("content-type", type).send(body);
        const cases: [request.Test, HttpAnswer][] = [
          [request(server).post("/otp/send"), errorAnswer("UNSUPPORTED_MEDIA_TYPE")],
          [raw("{not json"), errorAnswer("INVALID_JSON")],
          [raw("[1]"), errorAnswer("INVALID_BODY")],
          [raw(JSON.stringify({ phone: "1".repeat(5000) })), errorAnswer("PAYLOAD_TOO_LARGE")],
          [
            verify(server, { phone: PHONE, code: "123456" }),
            verifyFailureAnswer({ ok: false, reason: "NO_PENDING_CODE" }),
          ],
          [
            request(server)
              .post("/otp/webhook/not-the-secret")
              .set("content-type", "application/json")
              .send("{}"),
            errorAnswer("UNAUTHORIZED"),
          ],
          [request(server).get("/otp/status/wamid.none"), errorAnswer("NOT_FOUND")],
          [
            request(server).get("/protected"),
            errorAnswer("STEP_UP_REQUIRED", { purpose: "step-up", maxAgeSeconds: 300 }),
          ],
          [request(server).get("/bug"), thrownAnswer(new Error("internal detail"))],
          [request(server).get("/teapot"), thrownAnswer({ status: 418 })],
        ];
        for (const [pending, answer] of cases)
          expect(await seen(pending)).toEqual(expected(answer));

        channel.failNext(new Error("1MSG refused token tok_123"));
        expect(await seen(send(server))).toEqual(
          expected(thrownAnswer(new OtpError("SEND_FAILED", "1MSG refused token tok_123"))),
        );
        // A refused send: the router answers what the core's contract makes of the engine's error.
        expect((await send(server, { phone: "+14155550102" })).status).toBe(200);
        let refused: unknown;
        await otp.send({ phone: "+14155550102" }).catch((error: unknown) => {
          refused = error;
        });
        expect(await seen(send(server, { phone: "+14155550102" }))).toEqual(
          expected(thrownAnswer(refused)),
        );
      });
    });

    describe("otpErrorHandler", () => {
      it("answers other 4xx errors with their status, and anything else with a bare 500 it reports", async () => {
        const { server, logged } = app();
        const teapot = await request(server).get("/teapot");
        expect(teapot.status).toBe(418);
        expect(teapot.body.error.code).toBe("INVALID_BODY");
        const bug = await request(server).get("/bug");
        expect(bug.status).toBe(500);
        expect(bug.body).toEqual({
          error: { code: "INTERNAL_ERROR", message: "Something went wrong on our side." },
        });
        expect(logged).toHaveLength(1);
      });

      it("answers an OtpError thrown by any route with its status and code", async () => {
        const res = await request(app().server).get("/throws");
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ error: { code: "INVALID_PHONE", message: "nope" } });
      });
    });
  });
}

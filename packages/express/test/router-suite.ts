/**
 * What only Express has, over real HTTP, run once per Express major: `router.test.ts` (Express 5)
 * and `router.express4.test.ts` (Express 4, by swapping the module the router imports). Both also
 * run the core's HTTP contract suite (`describeHttpContract`), which holds everything the router
 * shares with the other adapters; this file keeps `requireOtp` and express-session, the error
 * handler on the app's own routes, an app-wide JSON parser in front, `trust proxy`, and `onVerified`
 * answering through Express's `res`.
 */
import {
  createOtp,
  errorAnswer,
  type HttpAnswer,
  OtpError,
  type OtpEvent,
  type OtpOptions,
  thrownAnswer,
} from "@waotp/core";
import { createTestChannel } from "@waotp/core/testing";
import type { Express } from "express";
import session from "express-session";
import request from "supertest";
import { afterEach, describe, expect, it, vi } from "vitest";
import { otpErrorHandler } from "../src/errors.js";
import { requireOtp } from "../src/require-otp.js";
import { type OtpRouterOptions, otpRouter } from "../src/router.js";
import { verifiedState } from "../src/verified-state.js";

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
    describe("the client address", () => {
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
    });

    describe("onVerified", () => {
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
    });

    describe("the core's HTTP contract", () => {
      it("is what requireOtp and the error handler answer on the app's own routes", async () => {
        const { server } = app();
        const seen = async (pending: request.Test) => {
          const res = await pending;
          return { status: res.status, body: res.body, retryAfter: res.headers["retry-after"] };
        };
        const expected = (answer: HttpAnswer) => ({
          status: answer.status,
          body: answer.body,
          retryAfter: answer.headers["Retry-After"],
        });
        const cases: [request.Test, HttpAnswer][] = [
          [
            request(server).get("/protected"),
            errorAnswer("STEP_UP_REQUIRED", { purpose: "step-up", maxAgeSeconds: 300 }),
          ],
          [request(server).get("/bug"), thrownAnswer(new Error("internal detail"))],
          [request(server).get("/teapot"), thrownAnswer({ status: 418 })],
        ];
        for (const [pending, answer] of cases)
          expect(await seen(pending)).toEqual(expected(answer));
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

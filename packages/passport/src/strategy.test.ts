import { createRequire } from "node:module";
import {
  createOtp,
  errorAnswer,
  type HttpAnswer,
  memoryStore,
  type Otp,
  type OtpOptions,
  type Store,
  verifyFailureAnswer,
} from "@waotp/core";
import { createTestChannel } from "@waotp/core/testing";
import express, { type NextFunction, type Request, type Response } from "express";
import session from "express-session";
import { Passport } from "passport";
import request from "supertest";
import { describe, expect, it, vi } from "vitest";
import {
  type WhatsAppOtpFailure,
  WhatsAppOtpStrategy,
  type WhatsAppOtpStrategyOptions,
} from "./strategy.js";

const SECRET = "passport-test-secret-0123456789abcdef0123";
const PHONE = "+14155550101";
interface User {
  id: string;
  phone: string;
}

function setup(
  options: { otp?: Partial<OtpOptions>; strategy?: Partial<WhatsAppOtpStrategyOptions<User>> } = {},
) {
  const channel = createTestChannel();
  const otp: Otp = createOtp({ secret: SECRET, channel, ...options.otp });
  const users = new Map<string, User>();
  const passport = new Passport();
  passport.use(
    new WhatsAppOtpStrategy<User>({
      otp,
      verify: async (phone) => {
        const user = users.get(phone) ?? { id: `u${users.size + 1}`, phone };
        users.set(phone, user);
        return user;
      },
      ...options.strategy,
    } as WhatsAppOtpStrategyOptions<User>),
  );
  passport.serializeUser((user, done) => done(null, (user as User).phone));
  passport.deserializeUser((phone: string, done) => done(null, users.get(phone) ?? false));

  const app = express();
  app.use(express.json());
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: false }));
  app.use(passport.session());
  // The default Passport flow: failures answer with their status.
  app.post("/login", passport.authenticate("whatsapp-otp"), (req, res) => {
    res.json({ user: req.user });
  });
  // A custom callback, to show the reason to the client.
  app.post("/login-json", (req, res, next) => {
    passport.authenticate(
      "whatsapp-otp",
      (error: unknown, user: User | false, info: WhatsAppOtpFailure) => {
        if (error) return next(error);
        if (!user) return res.status(info.status).json({ error: info });
        req.login(user, (loginError) => (loginError ? next(loginError) : res.json({ user })));
      },
    )(req, res, next);
  });
  app.get("/me", (req, res) => {
    res.status(req.user ? 200 : 401).json({ user: req.user ?? null });
  });
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: error.message });
  });
  const code = async (phone = PHONE) => {
    await otp.send({ phone });
    return channel.lastCode(phone) as string;
  };
  return { app, otp, channel, users, code, passport };
}

const passport_ = (t: ReturnType<typeof setup>) => t.passport;
const wrong = (code: string) => (code === "000000" ? "111111" : "000000");

describe("WhatsAppOtpStrategy with real passport and express-session", () => {
  it("signs in, and the session survives the next request", async () => {
    const t = setup();
    const agent = request.agent(t.app);
    const code = await t.code();
    const res = await agent.post("/login").send({ phone: "+1 (415) 555-0101", code });
    expect(res.status).toBe(200);
    expect(res.body.user).toEqual({ id: "u1", phone: PHONE });
    expect((await agent.get("/me")).body.user).toEqual({ id: "u1", phone: PHONE });
    // Single use: the same code does not sign in twice.
    expect((await request(t.app).post("/login").send({ phone: PHONE, code })).status).toBe(400);
  });

  it("fails a wrong, an expired and a missing code with one 400 answer by default", async () => {
    let now = Date.now();
    const t = setup({ otp: { now: () => now } });
    const code = await t.code();
    const answers = [];
    answers.push(
      (
        await request(t.app)
          .post("/login-json")
          .send({ phone: PHONE, code: wrong(code) })
      ).body,
    );
    now += 300_000;
    answers.push((await request(t.app).post("/login-json").send({ phone: PHONE, code })).body);
    answers.push(
      (await request(t.app).post("/login-json").send({ phone: "+14155550102", code: "123456" }))
        .body,
    );
    expect(answers.map((a) => JSON.stringify(a))).toEqual(
      Array(3).fill(JSON.stringify(answers[0])),
    );
    expect(answers[0].error).toEqual({
      reason: "INVALID_CODE",
      message: "The code is not right, or no longer valid. Check it, or ask for a new one.",
      status: 400,
    });
  });

  it("fails a wrong code with 400 and tells the reason and the guesses left", async () => {
    const t = setup({ strategy: { verifyFailures: "precise" } });
    const code = await t.code();
    expect(
      (
        await request(t.app)
          .post("/login")
          .send({ phone: PHONE, code: wrong(code) })
      ).status,
    ).toBe(400);
    const res = await request(t.app)
      .post("/login-json")
      .send({ phone: PHONE, code: wrong(code) });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ reason: "INVALID_CODE", attemptsLeft: 3 });
  });

  it("answers a code that took its last wrong guess like a wrong one by default", async () => {
    const t = setup();
    const code = await t.code();
    for (let i = 0; i < 5; i++)
      await request(t.app)
        .post("/login")
        .send({ phone: PHONE, code: wrong(code) });
    const dead = await request(t.app).post("/login-json").send({ phone: PHONE, code });
    expect(dead.status).toBe(400);
    expect(dead.body.error).toMatchObject({ reason: "INVALID_CODE" });
  });

  it("locks out after too many wrong codes with 429, and Retry-After 0: a new code helps at once", async () => {
    const t = setup({ strategy: { verifyFailures: "precise" } });
    const code = await t.code();
    for (let i = 0; i < 5; i++)
      await request(t.app)
        .post("/login")
        .send({ phone: PHONE, code: wrong(code) });
    const locked = await request(t.app).post("/login").send({ phone: PHONE, code });
    expect(locked.status).toBe(429);
    expect(locked.headers["retry-after"]).toBe("0");
    const told = await request(t.app).post("/login-json").send({ phone: PHONE, code });
    expect(told.body.error).toMatchObject({ reason: "TOO_MANY_ATTEMPTS", status: 429 });
  });

  it("tells expired and missing codes apart when told to be precise", async () => {
    let now = Date.now();
    const t = setup({ otp: { now: () => now }, strategy: { verifyFailures: "precise" } });
    const code = await t.code();
    now += 300_000;
    const expired = await request(t.app).post("/login-json").send({ phone: PHONE, code });
    expect(expired.body.error.reason).toBe("EXPIRED");
    const none = await request(t.app)
      .post("/login-json")
      .send({ phone: "+14155550102", code: "123456" });
    expect(none.body.error.reason).toBe("NO_PENDING_CODE");
  });

  it("answers bad input with 400 failures, not errors", async () => {
    const t = setup();
    for (const body of [
      {},
      { phone: PHONE },
      { phone: 5, code: "123456" },
      { phone: PHONE, code: ["1"] },
    ]) {
      const res = await request(t.app).post("/login-json").send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.reason).toBe("INVALID_INPUT");
    }
    const phone = await request(t.app)
      .post("/login-json")
      .send({ phone: "+1 555 123 4567", code: "123456" });
    expect(phone.body.error).toMatchObject({ reason: "INVALID_PHONE", status: 400 });
    const code = await request(t.app).post("/login-json").send({ phone: PHONE, code: "12ab56" });
    expect(code.body.error.reason).toBe("INVALID_INPUT");
  });

  it("fails as the core's HTTP contract says: its status, code, message and Retry-After", async () => {
    const t = setup({
      strategy: { verifyFailures: "precise", verify: async () => false as const },
    });
    const info = (answer: HttpAnswer) => {
      const { code, message, ...fields } = answer.body.error;
      return { reason: code, message, status: answer.status, ...fields };
    };
    const login = async (body: object) => {
      const res = await request(t.app).post("/login-json").send(body);
      return { status: res.status, error: res.body.error, retryAfter: res.headers["retry-after"] };
    };
    const expected = (answer: HttpAnswer) => ({
      status: answer.status,
      error: info(answer),
      retryAfter: answer.headers["Retry-After"],
    });
    expect(await login({ phone: PHONE })).toEqual(expected(errorAnswer("INVALID_INPUT")));
    expect(await login({ phone: PHONE, code: "123456" })).toEqual(
      expected(verifyFailureAnswer({ ok: false, reason: "NO_PENDING_CODE" }, "precise")),
    );
    const code = await t.code();
    expect(await login({ phone: PHONE, code: wrong(code) })).toEqual(
      expected(
        verifyFailureAnswer({ ok: false, reason: "INVALID_CODE", attemptsLeft: 4 }, "precise"),
      ),
    );
    expect(await login({ phone: PHONE, code })).toEqual(expected(errorAnswer("USER_NOT_FOUND")));
  });

  it("turns a rejected promise from verify into a Passport error, with no unhandled rejection", async () => {
    const unhandled = vi.fn();
    process.on("unhandledRejection", unhandled);
    const t = setup({
      strategy: {
        verify: async (): Promise<User> => {
          throw new Error("users db down");
        },
      },
    });
    const res = await request(t.app)
      .post("/login")
      .send({ phone: PHONE, code: await t.code() });
    await new Promise((resolve) => setTimeout(resolve, 10));
    process.off("unhandledRejection", unhandled);
    expect(res.status).toBe(500);
    expect(res.body.error).toBe("users db down");
    expect(unhandled).not.toHaveBeenCalled();
  });

  it("takes a done-style verify, with the request when asked, and its errors", async () => {
    const seen: string[] = [];
    const t = setup({
      strategy: {
        passReqToCallback: true,
        verify: (
          req: { ip?: string },
          phone: string,
          done: (e: unknown, u?: User | false) => void,
        ) => {
          seen.push(`${typeof req.ip}:${phone}`);
          if (phone.endsWith("02")) return done(new Error("nope"));
          done(null, phone.endsWith("03") ? false : { id: "x", phone });
        },
      } as never,
    });
    expect(
      (
        await request(t.app)
          .post("/login")
          .send({ phone: PHONE, code: await t.code() })
      ).status,
    ).toBe(200);
    expect(seen).toEqual([`string:${PHONE}`]);
    const failing = await request(t.app)
      .post("/login")
      .send({ phone: "+14155550102", code: await t.code("+14155550102") });
    expect(failing.status).toBe(500);
    const unknown = await request(t.app)
      .post("/login-json")
      .send({ phone: "+14155550103", code: await t.code("+14155550103") });
    expect(unknown.body.error).toMatchObject({ reason: "USER_NOT_FOUND", status: 400 });
  });

  it("reports an error thrown by the app's own callback once, to Express", async () => {
    const t = setup();
    const calls: unknown[] = [];
    t.app.post("/throwing", (req, res, next) => {
      passport_(t).authenticate("whatsapp-otp", (error: unknown, user: unknown) => {
        calls.push(error ?? user);
        throw new Error("callback bug");
      })(req, res, next);
    });
    t.app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).json({ late: error.message });
    });
    const res = await request(t.app)
      .post("/throwing")
      .send({ phone: PHONE, code: await t.code() });
    expect(res.status).toBe(500);
    expect(calls).toHaveLength(1);
  });

  it("takes verify functions whatever their declared parameters", async () => {
    const helpers = [
      async (phone: string, _context?: unknown) => ({ id: "a", phone }),
      (...args: unknown[]) =>
        (args[1] as (e: unknown, u: User) => void)(null, { id: "b", phone: args[0] as string }),
      (phone: string, done: (e: unknown, u?: User) => void = () => {}) =>
        done(null, { id: "c", phone }),
    ];
    for (const verify of helpers) {
      const t = setup({ strategy: { verify: verify as never } });
      const res = await request(t.app)
        .post("/login")
        .send({ phone: PHONE, code: await t.code() });
      expect(res.status).toBe(200);
    }
  });

  it("checks the code against its purpose, and refuses a malformed purpose up front", async () => {
    const t = setup({ strategy: { purpose: "step-up" } });
    const loginCode = await t.code();
    expect(
      (await request(t.app).post("/login").send({ phone: PHONE, code: loginCode })).status,
    ).toBe(400);
    await t.otp.send({ phone: "+14155550102", purpose: "step-up" });
    const stepUp = t.channel.lastCode("+14155550102") as string;
    expect(
      (await request(t.app).post("/login").send({ phone: "+14155550102", code: stepUp })).status,
    ).toBe(200);
    expect(() => setup({ strategy: { purpose: "step up" } })).toThrow(/purpose/);
  });

  it("sends Retry-After with the phone's lockout", async () => {
    const t = setup({ otp: { limits: { failuresPerPhone: { max: 1 } } } });
    const code = await t.code();
    await request(t.app)
      .post("/login")
      .send({ phone: PHONE, code: wrong(code) });
    const blocked = await request(t.app).post("/login").send({ phone: PHONE, code });
    expect(blocked.status).toBe(429);
    expect(blocked.headers["retry-after"]).toBe("86400");
  });

  it("makes a store outage an error, not a failure", async () => {
    const store = memoryStore();
    const t = setup({ otp: { store: store as Store } });
    const code = await t.code();
    store.attempt = async () => {
      throw new Error("redis gone");
    };
    const res = await request(t.app).post("/login").send({ phone: PHONE, code });
    expect(res.status).toBe(500);
    expect(res.body.error).toMatch(/unavailable/);
  });

  it("reads configurable field names, and registers under another name on request", async () => {
    const channel = createTestChannel();
    const otp = createOtp({ secret: SECRET, channel });
    const strategy = new WhatsAppOtpStrategy({
      otp,
      name: "wa",
      phoneField: "tel",
      codeField: "otp",
      verify: async (phone) => ({ phone }),
    });
    expect(strategy.name).toBe("wa");
    const passport = new Passport();
    passport.use(strategy);
    const app = express().use(express.json());
    app.post("/in", passport.authenticate("wa", { session: false }), (req, res) => {
      res.json(req.user);
    });
    await otp.send({ phone: PHONE });
    const res = await request(app)
      .post("/in")
      .send({ tel: PHONE, otp: channel.lastCode(PHONE) });
    expect(res.body).toEqual({ phone: PHONE });
  });

  it("is usable from CommonJS", () => {
    const require = createRequire(import.meta.url);
    const cjs = require("../dist/index.cjs") as { WhatsAppOtpStrategy: typeof WhatsAppOtpStrategy };
    const otp = createOtp({ secret: SECRET, channel: createTestChannel() });
    const strategy = new cjs.WhatsAppOtpStrategy({ otp, verify: async (phone) => ({ phone }) });
    expect(strategy.name).toBe("whatsapp-otp");
  });

  it("refuses to be built without the engine or verify", () => {
    expect(() => new WhatsAppOtpStrategy({} as never)).toThrow(/needs `otp`/);
  });
});

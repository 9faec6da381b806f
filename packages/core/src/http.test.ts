import { describe, expect, it } from "vitest";
import { PHONE_US, SECRET, setup } from "../test/helpers.js";
import { assertPurpose, secretBytes, webhookSecretMatches } from "./config-rules.js";
import { ERROR_CODES, type ErrorCode, VERIFY_FAILURE_STATUS } from "./error-codes.js";
import { OtpError } from "./errors.js";
import {
  deliveryStatusAnswer,
  errorAnswer,
  type HttpAnswer,
  thrownAnswer,
  verifyFailureAnswer,
} from "./http.js";
import { HTTP_ERRORS, type HttpErrorCode, isHttpErrorCode } from "./http-errors.js";
import { memoryStore } from "./store/memory.js";
import type { Store } from "./store/types.js";

const CODES = Object.keys(HTTP_ERRORS) as HttpErrorCode[];

describe("HTTP_ERRORS", () => {
  it("holds every core error code and verify reason, with the core's status", () => {
    for (const [code, status] of Object.entries({ ...ERROR_CODES, ...VERIFY_FAILURE_STATUS })) {
      expect(HTTP_ERRORS[code as HttpErrorCode]?.status, code).toBe(status);
    }
  });

  it("gives each HTTP-only and account code its status", () => {
    expect(
      Object.fromEntries(
        CODES.filter((c) => !(c in ERROR_CODES) && !(c in VERIFY_FAILURE_STATUS)).map((c) => [
          c,
          HTTP_ERRORS[c].status,
        ]),
      ),
    ).toEqual({
      INVALID_JSON: 400,
      INVALID_BODY: 400,
      UNSUPPORTED_MEDIA_TYPE: 415,
      PAYLOAD_TOO_LARGE: 413,
      UNAUTHORIZED: 401,
      STEP_UP_REQUIRED: 401,
      VERIFICATION_REFUSED: 403,
      NOT_FOUND: 404,
      INTERNAL_ERROR: 500,
      USER_NOT_FOUND: 400,
      PHONE_NUMBER_EXIST: 400,
      CURRENT_PHONE_PROOF_REQUIRED: 403,
    });
  });

  it("has a message written for people for each code", () => {
    for (const code of CODES) expect(HTTP_ERRORS[code].message, code).toMatch(/^[A-Z].+\.$/);
    expect(isHttpErrorCode("INVALID_JSON")).toBe(true);
    expect(isHttpErrorCode("toString")).toBe(false);
  });
});

describe("errorAnswer", () => {
  it("answers each code with its status, code and message", () => {
    for (const code of CODES) {
      const { status, message } = HTTP_ERRORS[code];
      const answer = errorAnswer(code);
      expect(answer).toMatchObject({ ok: false, status, body: { error: { code, message } } });
      expect(Object.keys(answer.body.error)).toEqual(["code", "message"]);
      expect(answer.headers).toEqual(status === 429 ? { "Retry-After": "0" } : {});
    }
  });

  it("adds safe fields, which cannot replace the code or the message", () => {
    const answer = errorAnswer("STEP_UP_REQUIRED", {
      purpose: "step-up",
      maxAgeSeconds: 300,
      code: "FORGED",
      message: "forged",
    });
    expect(answer.body).toEqual({
      error: {
        purpose: "step-up",
        maxAgeSeconds: 300,
        code: "STEP_UP_REQUIRED",
        message: HTTP_ERRORS.STEP_UP_REQUIRED.message,
      },
    });
  });

  it("shares answers that never change, and nobody can alter them", () => {
    const answer = errorAnswer("NOT_FOUND");
    expect(errorAnswer("NOT_FOUND")).toBe(answer);
    expect(() => {
      (answer.body.error as Record<string, unknown>).message = "changed";
    }).toThrow(TypeError);
    expect(() => {
      (answer.headers as Record<string, string>)["Retry-After"] = "1";
    }).toThrow(TypeError);
  });
});

describe("thrownAnswer", () => {
  it("shows a 4xx OtpError's message and details, with Retry-After when it says when", () => {
    const limited = thrownAnswer(
      new OtpError("RATE_LIMITED", "Wait 60 s.", {
        retryAfter: 60,
        details: { limit: "ip_window" },
      }),
    );
    expect(limited).toEqual({
      ok: false,
      status: 429,
      headers: { "Retry-After": "60" },
      body: {
        error: { limit: "ip_window", retryAfter: 60, code: "RATE_LIMITED", message: "Wait 60 s." },
      },
    });
    const phone = thrownAnswer(new OtpError("INVALID_PHONE", "Not a phone."));
    expect(phone).toMatchObject({ status: 400, headers: {} });
    expect(phone.body).toEqual({ error: { code: "INVALID_PHONE", message: "Not a phone." } });
  });

  it("hides a 5xx OtpError's words and details; only retryAfter and delivery survive", () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      if (ERROR_CODES[code] < 500) continue;
      const answer = thrownAnswer(
        new OtpError(code, "redis at 10.0.0.7 refused token tok_secret", {
          details: { host: "10.0.0.7", token: "tok_secret" },
          cause: new Error("tok_secret"),
        }),
      );
      expect(answer.status).toBe(ERROR_CODES[code]);
      expect(answer.body).toEqual({ error: { code, message: HTTP_ERRORS[code].message } });
    }
    const failed = thrownAnswer(
      new OtpError("SEND_FAILED", "1MSG said 'bad token tok_secret'", {
        retryAfter: 60,
        details: { delivery: "failed", providerCode: 7 },
      }),
    );
    expect(failed).toEqual({
      ok: false,
      status: 502,
      headers: { "Retry-After": "60" },
      body: {
        error: {
          delivery: "failed",
          retryAfter: 60,
          code: "SEND_FAILED",
          message: HTTP_ERRORS.SEND_FAILED.message,
        },
      },
    });
  });

  it("tells a client whose message may still arrive to wait for it", () => {
    const answer = thrownAnswer(
      new OtpError("SEND_FAILED", "HTTP 502 from 1MSG", {
        retryAfter: 60,
        details: { delivery: "unknown" },
      }),
    );
    expect(answer.body.error).toMatchObject({ delivery: "unknown", retryAfter: 60 });
    expect(answer.body.error.message).toMatch(/may still arrive: its code will work/);
  });

  it("answers an error naming its own 4xx status with INVALID_BODY and that status", () => {
    const answer = thrownAnswer(Object.assign(new Error("short and stout"), { status: 418 }));
    expect(answer).toMatchObject({ status: 418, headers: {} });
    expect(answer.body).toEqual({
      error: { code: "INVALID_BODY", message: HTTP_ERRORS.INVALID_BODY.message },
    });
  });

  it("answers anything else with a bare 500, whatever it says", () => {
    const internal = {
      error: { code: "INTERNAL_ERROR", message: "Something went wrong on our side." },
    };
    for (const thrown of [
      new Error("internal detail"),
      Object.assign(new Error("x"), { status: 503 }),
      Object.assign(new Error("x"), { status: "400" }),
      // Looks like an OtpError, but its code is no code of the core's.
      Object.assign(new Error("forged"), { name: "OtpError", code: "INVALID_JSON" }),
      "a string",
      null,
      undefined,
    ]) {
      expect(thrownAnswer(thrown)).toMatchObject({ status: 500, body: internal });
    }
  });

  it("reads an OtpError from another copy of the package by its code", () => {
    const copy = Object.assign(new Error("Not a phone."), {
      name: "OtpError",
      code: "INVALID_PHONE",
    });
    expect(thrownAnswer(copy)).toMatchObject({
      status: 400,
      body: { error: { code: "INVALID_PHONE" } },
    });
  });
});

describe("verifyFailureAnswer", () => {
  const failures = [
    { ok: false, reason: "INVALID_CODE", attemptsLeft: 3 },
    { ok: false, reason: "EXPIRED" },
    { ok: false, reason: "NO_PENDING_CODE" },
    { ok: false, reason: "TOO_MANY_ATTEMPTS" },
  ] as const;

  it("answers a wrong, an expired, a missing and a dead code alike when generic", () => {
    const answers = failures.map((failure) => verifyFailureAnswer(failure));
    for (const answer of answers) expect(answer).toBe(answers[0]);
    expect(answers[0]).toEqual({
      ok: false,
      status: 400,
      headers: {},
      body: {
        error: {
          code: "INVALID_CODE",
          message: expect.stringMatching(/not right, or no longer valid/),
        },
      },
    });
  });

  it("keeps a failure budget's refusal apart, with its wait, even when generic", () => {
    const answer = verifyFailureAnswer({
      ok: false,
      reason: "TOO_MANY_ATTEMPTS",
      retryAfter: 86_400,
    });
    expect(answer).toEqual({
      ok: false,
      status: 429,
      headers: { "Retry-After": "86400" },
      body: {
        error: {
          retryAfter: 86_400,
          code: "TOO_MANY_ATTEMPTS",
          message: HTTP_ERRORS.TOO_MANY_ATTEMPTS.message,
        },
      },
    });
  });

  it("tells the reasons apart when precise, with the guesses left", () => {
    const [wrong, expired, none, dead] = failures.map((f) => verifyFailureAnswer(f, "precise"));
    expect(wrong).toMatchObject({
      status: 400,
      body: { error: { code: "INVALID_CODE", attemptsLeft: 3 } },
    });
    expect(wrong?.body.error.message).toBe(HTTP_ERRORS.INVALID_CODE.message);
    expect(expired).toMatchObject({ status: 400, body: { error: { code: "EXPIRED" } } });
    expect(none).toMatchObject({ status: 400, body: { error: { code: "NO_PENDING_CODE" } } });
    expect(dead).toMatchObject({ status: 429, headers: { "Retry-After": "0" } });
    expect(dead?.body.error.code).toBe("TOO_MANY_ATTEMPTS");
  });
});

describe("deliveryStatusAnswer", () => {
  it("shows a read message as delivered, keeps a failure's reason on the server, and 404s the unknown", () => {
    const updatedAt = new Date(Date.UTC(2026, 0, 1));
    expect(deliveryStatusAnswer({ status: "read", updatedAt, channel: "1msg" })).toEqual({
      ok: true,
      status: 200,
      headers: {},
      body: { status: "delivered", updatedAt: "2026-01-01T00:00:00.000Z", channel: "1msg" },
    });
    expect(
      deliveryStatusAnswer({
        status: "failed",
        updatedAt,
        channel: "1msg",
        error: "user blocked us",
        fallback: { messageId: "SM1", channel: "twilio-sms", why: "failed" },
      }).body,
    ).toEqual({
      status: "failed",
      updatedAt: "2026-01-01T00:00:00.000Z",
      channel: "1msg",
      fallback: { messageId: "SM1", channel: "twilio-sms" },
    });
    expect(deliveryStatusAnswer(null)).toBe(errorAnswer("NOT_FOUND"));
  });
});

describe("answers from a real engine", () => {
  it("never carry a code, a hash, the secret or a channel's token", async () => {
    const store = memoryStore();
    const { otp, channel } = setup({ store: store as Store, limits: { attemptsPerCode: 2 } });
    const answers: HttpAnswer[] = [];
    const caught = async (call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (error) {
        answers.push(thrownAnswer(error));
      }
    };
    await otp.send({ phone: PHONE_US });
    const code = channel.lastCode(PHONE_US) as string;
    const wrong = code === "000000" ? "111111" : "000000";
    for (const detail of ["generic", "precise"] as const) {
      const result = await otp.verify({ phone: PHONE_US, code: wrong });
      if (!result.ok) answers.push(verifyFailureAnswer(result, detail));
    }
    await caught(() => otp.send({ phone: PHONE_US }));
    await caught(() => otp.verify({ phone: PHONE_US, code: "12ab56" }));
    channel.failNext(new Error(`1MSG refused token tok_123 while sending ${code}`));
    await caught(() => otp.send({ phone: "+14155550102" }));
    store.take = async () => {
      throw new Error(`redis down holding ${code}`);
    };
    await caught(() => otp.send({ phone: "+14155550103" }));
    expect(answers.map((a) => a.status)).toEqual([400, 400, 429, 400, 502, 503]);
    for (const answer of answers) {
      const text = JSON.stringify(answer);
      expect(text).not.toContain(code);
      expect(text).not.toContain(SECRET);
      expect(text).not.toMatch(/tok_123|redis|1MSG/);
      // An HMAC-SHA256 in base64url is 43 characters.
      expect(text).not.toMatch(/[A-Za-z0-9_-]{43}/);
    }
  });
});

describe("adapter rules", () => {
  it("checks a purpose as the engine does", () => {
    expect(() => assertPurpose("step-up")).not.toThrow();
    for (const bad of ["step up", "", "-x", "a".repeat(33), 42]) {
      expect(() => assertPurpose(bad)).toThrow(/`purpose` must be 1 to 32/);
    }
    expect(() => assertPurpose("no way", "options.purpose")).toThrow(/`options.purpose`/);
  });

  it("needs signing secrets of at least 32 bytes", () => {
    expect(secretBytes("x".repeat(32))).toHaveLength(32);
    expect(secretBytes(new Uint8Array(40))).toHaveLength(40);
    for (const bad of ["x".repeat(31), new Uint8Array(31), undefined, 42]) {
      expect(() => secretBytes(bad)).toThrow(/`secret` .*at least 32 bytes/);
    }
    expect(() => secretBytes("hunter2")).not.toThrow(/hunter2/);
  });

  it("lets a webhook pass only with a configured secret, given exactly", () => {
    const secret = "hook-secret-0123456789";
    expect(webhookSecretMatches(secret, secret)).toBe(true);
    expect(webhookSecretMatches(`${secret}x`, secret)).toBe(false);
    expect(webhookSecretMatches(undefined, secret)).toBe(false);
    expect(webhookSecretMatches(["hook"], secret)).toBe(false);
    expect(webhookSecretMatches(secret, undefined)).toBe(false);
  });
});

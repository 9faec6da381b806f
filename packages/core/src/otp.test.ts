import { createHash, createHmac } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { PHONE_GB, PHONE_US, PHONE_US_2, SECRET, setup, wrong } from "../test/helpers.js";
import { OtpError } from "./errors.js";
import { memoryStore } from "./store/memory.js";
import type { ChallengeRecord, Store } from "./store/types.js";

describe("send and verify", () => {
  it("sends a 6-digit code that verifies once for the normalized phone", async () => {
    const t = setup();
    const sent = await t.otp.send({ phone: "+1 (415) 555-0101" });
    expect(sent.phone).toBe(PHONE_US);
    expect(sent.messageId).toMatch(/^test\./);
    const [message] = t.channel.messages;
    expect(message?.phone).toBe("14155550101");
    expect(message?.code).toMatch(/^\d{6}$/);
    expect(await t.otp.verify({ phone: "001 415 555 0101", code: t.code(PHONE_US) })).toEqual({
      ok: true,
      phone: PHONE_US,
      purpose: "login",
    });
    expect(await t.otp.verify({ phone: PHONE_US, code: t.code(PHONE_US) })).toEqual({
      ok: false,
      reason: "NO_PENDING_CODE",
    });
  });

  it("reads national numbers with a default country", async () => {
    const t = setup({ defaultCountry: "GB" });
    const sent = await t.otp.send({ phone: "020 7946 0958" });
    expect(sent.phone).toBe(PHONE_GB);
    expect((await t.otp.verify({ phone: "+44 20 7946 0958", code: t.code(PHONE_GB) })).ok).toBe(
      true,
    );
  });

  it("reads phones stored as 1MSG takes them (bare international digits) as the same number", async () => {
    const t = setup();
    const sent = await t.otp.send({ phone: "14155550101" });
    expect(sent.phone).toBe(PHONE_US);
    expect((await t.otp.verify({ phone: "+1 415 555 0101", code: t.code(PHONE_US) })).ok).toBe(
      true,
    );
  });

  it("accepts a code typed with spaces or a dash", async () => {
    const t = setup({ random: () => 123456 });
    await t.otp.send({ phone: PHONE_US });
    expect((await t.otp.verify({ phone: PHONE_US, code: " 123-456 " })).ok).toBe(true);
  });

  it("draws codes from the random source, zero-padded to the configured length", async () => {
    const draws: number[] = [];
    const t = setup({
      code: { length: 8 },
      random: (max) => {
        draws.push(max);
        return 42;
      },
    });
    await t.otp.send({ phone: PHONE_US });
    expect(draws).toEqual([100_000_000]);
    expect(t.code(PHONE_US)).toBe("00000042");
  });

  it("draws well-spread codes by default", async () => {
    const t = setup({ limits: { sendsPerPhone: false, sendsPerIp: false, sendsPerPrefix: false } });
    for (let i = 0; i < 200; i++) await t.otp.send({ phone: PHONE_US });
    const codes = t.channel.messages.map((m) => m.code);
    expect(codes.every((c) => /^\d{6}$/.test(c))).toBe(true);
    expect(new Set(codes).size).toBeGreaterThan(190);
    // Every leading digit shows up: codes are not biased to a part of the range.
    expect(new Set(codes.map((c) => c[0])).size).toBe(10);
  });

  it("gives the channel the code's lifetime and returns when it expires and when to resend", async () => {
    const t = setup();
    const sent = await t.otp.send({ phone: PHONE_US });
    expect(t.channel.messages[0]).toMatchObject({ ttlSeconds: 300, purpose: "login" });
    expect(sent.expiresAt).toEqual(new Date(t.now() + 300_000));
    expect(t.channel.messages[0]?.expiresAt).toEqual(sent.expiresAt);
    expect(sent.resendAt).toEqual(new Date(t.now() + 60_000));
  });
});

describe("lifetime", () => {
  it("accepts a code until 300 s by default, and calls it expired from then on", async () => {
    const t = setup({ limits: { sendsPerPhone: false } });
    await t.otp.send({ phone: PHONE_US, purpose: "login" });
    const login = t.code(PHONE_US);
    await t.otp.send({ phone: PHONE_US, purpose: "step-up" });
    const stepUp = t.code(PHONE_US);
    t.advance(299.999);
    expect((await t.otp.verify({ phone: PHONE_US, code: stepUp, purpose: "step-up" })).ok).toBe(
      true,
    );
    t.advance(0.001);
    expect(await t.otp.verify({ phone: PHONE_US, code: login })).toEqual({
      ok: false,
      reason: "EXPIRED",
    });
    // An expired code is gone, not waiting for more guesses.
    expect(await t.otp.verify({ phone: PHONE_US, code: login })).toEqual({
      ok: false,
      reason: "NO_PENDING_CODE",
    });
  });

  it("follows a configured lifetime", async () => {
    const t = setup({ code: { ttlSeconds: 60 } });
    await t.otp.send({ phone: PHONE_US });
    expect(t.channel.messages[0]?.ttlSeconds).toBe(60);
    t.advance(60);
    expect((await t.otp.verify({ phone: PHONE_US, code: t.code(PHONE_US) })).ok).toBe(false);
  });
});

describe("storage", () => {
  function recordingStore() {
    const store = memoryStore();
    const saved: ChallengeRecord[] = [];
    const put = store.putChallenge.bind(store);
    store.putChallenge = async (key, challenge, now) => {
      saved.push({ ...challenge });
      return put(key, challenge, now);
    };
    return { store, saved };
  }

  it("stores an HMAC keyed with the secret over purpose, phone and code, never the code", async () => {
    const { store, saved } = recordingStore();
    const t = setup({ store });
    await t.otp.send({ phone: PHONE_US, purpose: "register" });
    const code = t.code(PHONE_US);
    const [record] = saved;
    expect(JSON.stringify(record)).not.toContain(code);
    const expected = createHmac("sha256", SECRET)
      .update(`waotp:v1\0register\x0014155550101\0${code}`)
      .digest("base64url");
    expect(record?.hash).toBe(expected);
    // Not an unkeyed hash that a leaked store would give up in a million tries.
    expect(record?.hash).not.toBe(createHash("sha256").update(code).digest("base64url"));
  });

  it("binds the stored hash to its phone: a record moved to another number is worthless", async () => {
    const { store, saved } = recordingStore();
    const t = setup({ store, random: () => 111111 });
    await t.otp.send({ phone: PHONE_US });
    const [record] = saved;
    await store.putChallenge("login:14155550102", record as ChallengeRecord, t.now());
    expect(await t.otp.verify({ phone: PHONE_US_2, code: "111111" })).toMatchObject({
      reason: "INVALID_CODE",
    });
    expect((await t.otp.verify({ phone: PHONE_US, code: "111111" })).ok).toBe(true);
  });

  it("makes a store written under one secret useless under another", async () => {
    const store = memoryStore();
    const a = setup({ store, random: () => 424242 });
    await a.otp.send({ phone: PHONE_US });
    const b = setup({
      store,
      secret: "another-secret-0123456789abcdef0123456789",
      random: () => 424242,
    });
    expect(await b.otp.verify({ phone: PHONE_US, code: "424242" })).toEqual({
      ok: false,
      reason: "INVALID_CODE",
      attemptsLeft: 4,
    });
  });
});

describe("purpose", () => {
  it("never lets a login code pass a step-up check", async () => {
    const t = setup();
    await t.otp.send({ phone: PHONE_US, purpose: "login" });
    const code = t.code(PHONE_US);
    expect(await t.otp.verify({ phone: PHONE_US, code, purpose: "step-up" })).toEqual({
      ok: false,
      reason: "NO_PENDING_CODE",
    });
    expect((await t.otp.verify({ phone: PHONE_US, code, purpose: "login" })).ok).toBe(true);
  });

  it("keeps a pending code per purpose", async () => {
    const t = setup({ limits: { sendsPerPhone: false } });
    await t.otp.send({ phone: PHONE_US, purpose: "login" });
    const login = t.code(PHONE_US);
    await t.otp.send({ phone: PHONE_US, purpose: "step-up" });
    const stepUp = t.code(PHONE_US);
    expect((await t.otp.verify({ phone: PHONE_US, code: stepUp, purpose: "step-up" })).ok).toBe(
      true,
    );
    expect((await t.otp.verify({ phone: PHONE_US, code: login })).ok).toBe(true);
  });

  it("refuses a purpose that is not a short name", async () => {
    const t = setup();
    for (const purpose of ["", "a b", "x".repeat(33), 5, "login\0"]) {
      await expect(
        t.otp.send({ phone: PHONE_US, purpose: purpose as string }),
      ).rejects.toMatchObject({ code: "INVALID_INPUT" });
    }
    expect(t.channel.messages).toHaveLength(0);
  });
});

describe("codes bound to whoever asked for them", () => {
  it("keeps the owner's pending code when a stranger asks for another, and out of the stranger's reach", async () => {
    const t = setup();
    const owner = { phone: PHONE_US, client: "owner-browser" };
    const stranger = { phone: PHONE_US, client: "stranger-browser" };
    // The owner's browser signed in once: the phone knows it from then on.
    await t.otp.send(owner);
    expect((await t.otp.verify({ ...owner, code: t.code(PHONE_US) })).ok).toBe(true);
    t.advance(60);
    await t.otp.send(owner);
    const ownerCode = t.code(PHONE_US);
    // The stranger's send neither waits for the owner's cooldown nor replaces the owner's code.
    await t.otp.send(stranger);
    // A client the phone does not know shares the phone's code, as before any sign-in.
    expect(t.channel.messages).toHaveLength(3);
    const strangerCode = t.code(PHONE_US);
    // Guesses from another client, or from none, never reach the owner's code.
    expect(await t.otp.verify({ ...stranger, code: ownerCode })).toMatchObject({ ok: false });
    expect(await t.otp.verify({ phone: PHONE_US, code: ownerCode })).toMatchObject({
      reason: "INVALID_CODE",
    });
    expect((await t.otp.verify({ ...owner, code: ownerCode })).ok).toBe(true);
    expect((await t.otp.verify({ ...stranger, code: strangerCode })).ok).toBe(true);
  });

  it("never stores the client id itself", async () => {
    const store = memoryStore();
    const keys: string[] = [];
    const put = store.putChallenge.bind(store);
    store.putChallenge = (key, ...rest) => {
      keys.push(key);
      return put(key, ...rest);
    };
    const t = setup({ store });
    const client = { phone: PHONE_US, client: "cookie-value-0123456789" };
    await t.otp.send(client);
    await t.otp.verify({ ...client, code: t.code(PHONE_US) });
    t.advance(60);
    await t.otp.send(client);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toMatch(/^login:14155550101:.{22}$/);
    expect(keys.join()).not.toContain("cookie-value");
  });
});

describe("resend", () => {
  it("replaces the earlier code", async () => {
    const t = setup({ limits: { sendsPerPhone: false } });
    await t.otp.send({ phone: PHONE_US });
    const first = t.code(PHONE_US);
    await t.otp.send({ phone: PHONE_US });
    const second = t.code(PHONE_US);
    if (first !== second) {
      expect(await t.otp.verify({ phone: PHONE_US, code: first })).toMatchObject({
        ok: false,
        reason: "INVALID_CODE",
      });
    }
    expect((await t.otp.verify({ phone: PHONE_US, code: second })).ok).toBe(true);
  });

  it("replaces the earlier code even when both draws are equal, giving the new one a full budget", async () => {
    const t = setup({ limits: { sendsPerPhone: false }, random: () => 777777 });
    await t.otp.send({ phone: PHONE_US });
    for (let i = 0; i < 4; i++) await t.otp.verify({ phone: PHONE_US, code: "777778" });
    await t.otp.send({ phone: PHONE_US });
    expect(await t.otp.verify({ phone: PHONE_US, code: "777778" })).toMatchObject({
      attemptsLeft: 4,
    });
  });
});

describe("wrong guesses", () => {
  it("allows 5 wrong guesses per code, then the code is dead even for the right guess", async () => {
    const t = setup();
    await t.otp.send({ phone: PHONE_US });
    const code = t.code(PHONE_US);
    const left = [];
    for (let i = 0; i < 5; i++) {
      const result = await t.otp.verify({ phone: PHONE_US, code: wrong(code) });
      expect(result).toMatchObject({ ok: false, reason: "INVALID_CODE" });
      left.push(result.ok ? -1 : result.attemptsLeft);
    }
    expect(left).toEqual([4, 3, 2, 1, 0]);
    expect(await t.otp.verify({ phone: PHONE_US, code })).toEqual({
      ok: false,
      reason: "TOO_MANY_ATTEMPTS",
    });
  });

  it("follows a configured cap", async () => {
    const t = setup({ limits: { attemptsPerCode: 2 } });
    await t.otp.send({ phone: PHONE_US });
    const code = t.code(PHONE_US);
    await t.otp.verify({ phone: PHONE_US, code: wrong(code) });
    await t.otp.verify({ phone: PHONE_US, code: wrong(code) });
    expect((await t.otp.verify({ phone: PHONE_US, code })).ok).toBe(false);
  });

  it("counts exactly 5 of 50 concurrent wrong guesses, and the code is dead after", async () => {
    const t = setup();
    await t.otp.send({ phone: PHONE_US });
    const code = t.code(PHONE_US);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => t.otp.verify({ phone: PHONE_US, code: wrong(code) })),
    );
    const reasons = results.map((r) => (r.ok ? "ok" : r.reason));
    expect(reasons.filter((r) => r === "INVALID_CODE")).toHaveLength(5);
    expect(reasons.filter((r) => r === "TOO_MANY_ATTEMPTS")).toHaveLength(45);
    expect(await t.otp.verify({ phone: PHONE_US, code })).toMatchObject({
      reason: "TOO_MANY_ATTEMPTS",
    });
  });

  it("lets exactly one of 20 concurrent right guesses succeed", async () => {
    const t = setup();
    await t.otp.send({ phone: PHONE_US });
    const code = t.code(PHONE_US);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => t.otp.verify({ phone: PHONE_US, code })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.reason === "NO_PENDING_CODE")).toHaveLength(19);
  });

  it("refuses malformed codes without spending a guess", async () => {
    const t = setup();
    await t.otp.send({ phone: PHONE_US });
    for (const code of [
      "12345",
      "1234567",
      "12a456",
      "",
      "１２３４５６",
      123456,
      null,
      "1".repeat(10_000),
    ]) {
      await expect(t.otp.verify({ phone: PHONE_US, code: code as string })).rejects.toMatchObject({
        code: "INVALID_INPUT",
        status: 400,
      });
    }
    expect(await t.otp.verify({ phone: PHONE_US, code: wrong(t.code(PHONE_US)) })).toMatchObject({
      attemptsLeft: 4,
    });
  });
});

describe("phone numbers", () => {
  it("answers INVALID_PHONE for anything that cannot be a real number, before any limit or send", async () => {
    const t = setup();
    for (const phone of [
      "+1 555 123 4567",
      "hello",
      "",
      "+",
      "12",
      "+44 7700 900123",
      14155550101,
      undefined,
    ]) {
      await expect(t.otp.send({ phone: phone as string })).rejects.toMatchObject({
        code: "INVALID_PHONE",
        status: 400,
      });
      await expect(t.otp.verify({ phone: phone as string, code: "123456" })).rejects.toMatchObject({
        code: "INVALID_PHONE",
      });
    }
    expect(t.channel.messages).toHaveLength(0);
  });
});

describe("channel failures", () => {
  it("turns a channel error into SEND_FAILED without the code in the message or the answer", async () => {
    const t = setup({ random: () => 987654 });
    t.channel.failNext(new Error("upstream said no to 987654"));
    const error = await t.otp.send({ phone: PHONE_US }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OtpError);
    expect(error).toMatchObject({ code: "SEND_FAILED", status: 502 });
    expect((error as OtpError).message).not.toContain("987654");
    expect(JSON.stringify(error)).not.toContain("987654");
    expect(t.events.at(-1)).toMatchObject({ type: "send_failed", error: "SEND_FAILED" });
  });

  it("keeps the code out of the cause that loggers print", async () => {
    const t = setup({ random: () => 987654 });
    t.channel.failNext(new Error("upstream said no to 987654"));
    const error = await t.otp.send({ phone: PHONE_US }).catch((e: unknown) => e);
    expect(inspect(error, { depth: 5 })).not.toContain("987654");
    expect(inspect(error, { depth: 5 })).toContain("upstream said no to [redacted]");
  });

  it("rewrites a channel's OtpError that mentions the code", async () => {
    const t = setup({ random: () => 987654 });
    t.channel.failNext(new OtpError("SEND_FAILED", "template refused 987654", { retryAfter: 7 }));
    const error = await t.otp.send({ phone: PHONE_US }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "SEND_FAILED",
      message: "template refused [redacted]",
      retryAfter: 7,
    });
    expect(JSON.stringify(t.events)).not.toContain("987654");
  });

  it("passes an OtpError from the channel through unchanged", async () => {
    const t = setup();
    const own = new OtpError("SEND_FAILED", "1MSG refused the template", {
      details: { hint: "namespace" },
    });
    t.channel.failNext(own);
    await expect(t.otp.send({ phone: PHONE_US })).rejects.toBe(own);
  });

  it("refuses a channel answer without a message id", async () => {
    const t = setup({
      channel: { name: "broken", send: async () => ({ messageId: "" }) },
    });
    await expect(t.otp.send({ phone: PHONE_US })).rejects.toMatchObject({ code: "SEND_FAILED" });
  });
});

describe("a store failure after the message went out", () => {
  it("is not an error: the user has a code that works, only its delivery is not tracked", async () => {
    const store = memoryStore();
    store.putDelivery = async () => {
      throw new Error("connection lost");
    };
    const t = setup({ store });
    const sent = await t.otp.send({ phone: PHONE_US });
    expect(await t.otp.status(sent.messageId)).toBeNull();
    expect((await t.otp.verify({ phone: PHONE_US, code: t.code(PHONE_US) })).ok).toBe(true);
  });
});

describe("store outage", () => {
  function brokenStore(): Store {
    const fail = async () => {
      throw new Error("connection refused 10.0.0.5:6379");
    };
    return {
      putChallenge: fail,
      attempt: fail,
      take: fail,
      putDelivery: fail,
      advanceDelivery: fail,
      getDelivery: fail,
      setIfAbsent: fail,
      get: fail,
      set: fail,
      delete: fail,
    };
  }

  it("fails closed: send and verify refuse with STORE_UNAVAILABLE and nothing is sent", async () => {
    const t = setup({ store: brokenStore() });
    const sendError = await t.otp.send({ phone: PHONE_US }).catch((e: unknown) => e);
    expect(sendError).toMatchObject({ code: "STORE_UNAVAILABLE", status: 503 });
    expect((sendError as Error).message).not.toContain("10.0.0.5");
    await expect(t.otp.verify({ phone: PHONE_US, code: "123456" })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
    await expect(t.otp.status("wamid.1")).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    expect(t.channel.messages).toHaveLength(0);
  });

  it("does not send when only the challenge cannot be saved", async () => {
    const store = memoryStore();
    store.putChallenge = async () => {
      throw new Error("timeout");
    };
    const t = setup({ store });
    await expect(t.otp.send({ phone: PHONE_US })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
    expect(t.channel.messages).toHaveLength(0);
  });
});

describe("idempotency", () => {
  it("answers a retried send with the first result and sends one message", async () => {
    const t = setup();
    const first = await t.otp.send({ phone: PHONE_US, idempotencyKey: "req-1" });
    t.advance(5);
    const again = await t.otp.send({ phone: PHONE_US, idempotencyKey: "req-1" });
    expect(again).toEqual(first);
    expect(t.channel.messages).toHaveLength(1);
    // Another key is another request, and meets the cooldown.
    await expect(t.otp.send({ phone: PHONE_US, idempotencyKey: "req-2" })).rejects.toMatchObject({
      code: "RATE_LIMITED",
    });
  });

  it("sends once when the same key arrives twice at the same time", async () => {
    const t = setup();
    const results = await Promise.allSettled([
      t.otp.send({ phone: PHONE_US, idempotencyKey: "k" }),
      t.otp.send({ phone: PHONE_US, idempotencyKey: "k" }),
    ]);
    expect(t.channel.messages).toHaveLength(1);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: "IDEMPOTENCY_CONFLICT", status: 409 });
  });

  it("lets a failed send be retried with the same key", async () => {
    const t = setup({ limits: { sendsPerPhone: false } });
    t.channel.failNext();
    await expect(t.otp.send({ phone: PHONE_US, idempotencyKey: "k" })).rejects.toMatchObject({
      code: "SEND_FAILED",
    });
    await t.otp.send({ phone: PHONE_US, idempotencyKey: "k" });
    expect(t.channel.messages).toHaveLength(1);
  });

  it("answers a send that went out even when its result cannot be remembered", async () => {
    const store = memoryStore();
    store.set = async () => {
      throw new Error("store hiccup");
    };
    const t = setup({ store });
    const result = await t.otp.send({ phone: PHONE_US, idempotencyKey: "k" });
    expect(result.messageId).toBe(t.channel.messages[0]?.messageId);
    // The key was let go rather than left pending: a retry is judged on its own.
    await expect(t.otp.send({ phone: PHONE_US, idempotencyKey: "k" })).rejects.toMatchObject({
      code: "RATE_LIMITED",
    });
  });

  it("forgets a key when the code's lifetime is over", async () => {
    const t = setup();
    await t.otp.send({ phone: PHONE_US, idempotencyKey: "k" });
    t.advance(300);
    await t.otp.send({ phone: PHONE_US, idempotencyKey: "k" });
    expect(t.channel.messages).toHaveLength(2);
  });
});

describe("events", () => {
  it("reports each outcome with a masked phone and never a code, hash or secret", async () => {
    const hashes: string[] = [];
    const store = memoryStore();
    const put = store.putChallenge.bind(store);
    store.putChallenge = async (key, challenge, now) => {
      hashes.push(challenge.hash);
      return put(key, challenge, now);
    };
    const t = setup({ store, limits: { sendsPerPhone: { cooldownSeconds: 0, max: 2 } } });
    await t.otp.send({ phone: PHONE_US });
    const code = t.code(PHONE_US);
    await t.otp.verify({ phone: PHONE_US, code: wrong(code) });
    await t.otp.verify({ phone: PHONE_US, code });
    await t.otp.send({ phone: PHONE_US });
    await t.otp.send({ phone: PHONE_US }).catch(() => {});
    t.channel.failNext();
    await t.otp.send({ phone: PHONE_US_2 }).catch(() => {});

    expect(t.events.map((e) => e.type)).toEqual([
      "sent",
      "rejected",
      "verified",
      "sent",
      "limited",
      "send_failed",
    ]);
    expect(t.events[0]).toMatchObject({ phone: "+14*******01", purpose: "login" });
    const text = JSON.stringify(t.events);
    for (const secret of [
      ...t.channel.messages.map((m) => m.code),
      ...hashes,
      SECRET,
      "4155550101",
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it("keeps working when the observer throws or rejects", async () => {
    const t = setup({
      onEvent: () => {
        throw new Error("observer broke");
      },
    });
    await t.otp.send({ phone: PHONE_US });
    const u = setup({ onEvent: async () => Promise.reject(new Error("observer broke")) });
    const unhandled = vi.fn();
    process.on("unhandledRejection", unhandled);
    await u.otp.send({ phone: PHONE_US });
    expect((await u.otp.verify({ phone: PHONE_US, code: u.code(PHONE_US) })).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 10));
    process.off("unhandledRejection", unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });
});

describe("input shape", () => {
  it("answers INVALID_INPUT for calls that are not objects or carry bad fields", async () => {
    const t = setup();
    await expect(t.otp.send(null as never)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(t.otp.verify("x" as never)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(t.otp.send({ phone: PHONE_US, ip: "not-an-ip" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(
      t.otp.send({ phone: PHONE_US, idempotencyKey: "x".repeat(201) }),
    ).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(t.otp.status(42 as never)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(t.channel.messages).toHaveLength(0);
  });
});

describe("one handset, one budget", () => {
  // One São Paulo mobile, typed in the pre-2016 8-digit form and in today's 9-digit form.
  const BR_8 = "+55 11 8765-4321";
  const BR_9 = "+55 11 98765-4321";
  const BR = "+5511987654321";

  it("sends to the 8-digit Brazilian form and verifies with the 9-digit form", async () => {
    const t = setup();
    const sent = await t.otp.send({ phone: BR_8 });
    expect(sent.phone).toBe(BR);
    expect(t.channel.messages[0]?.phone).toBe("5511987654321");
    expect(await t.otp.verify({ phone: BR_9, code: t.code(BR) })).toMatchObject({
      ok: true,
      phone: BR,
    });
  });

  it("shares a phone's send limits across both forms", async () => {
    const t = setup();
    await t.otp.send({ phone: BR_8 });
    // The cooldown holds the other form too.
    await expect(t.otp.send({ phone: BR_9 })).rejects.toMatchObject({
      code: "RATE_LIMITED",
      details: { limit: "phone_cooldown" },
    });
    // And the window cap counts both: 5 sends in 10 minutes, whichever form each used.
    for (const phone of [BR_9, BR_8, BR_9, BR_8]) {
      t.advance(61);
      await t.otp.send({ phone });
    }
    t.advance(61);
    await expect(t.otp.send({ phone: BR_9 })).rejects.toMatchObject({
      code: "RATE_LIMITED",
      details: { limit: "phone_window" },
    });
    expect(new Set(t.channel.messages.map((m) => m.phone))).toEqual(new Set(["5511987654321"]));
  });

  it("treats an Argentine mobile with and without the 9 as one phone", async () => {
    const t = setup();
    const sent = await t.otp.send({ phone: "+54 11 2345-6789" });
    expect(sent.phone).toBe("+5491123456789");
    await expect(t.otp.send({ phone: "+54 9 11 2345-6789" })).rejects.toMatchObject({
      code: "RATE_LIMITED",
    });
    expect(
      (await t.otp.verify({ phone: "+54 9 11 2345-6789", code: t.code("+5491123456789") })).ok,
    ).toBe(true);
  });
});

describe("send({ deliver: false })", () => {
  it("counts and stores like a send, but sends, tracks and tells nothing", async () => {
    const t = setup({ random: () => 7 }); // the hidden code is 777777
    const quiet = await t.otp.send({ phone: PHONE_US, deliver: false });
    expect(quiet).toMatchObject({ phone: PHONE_US, channel: "test" });
    expect(t.channel.messages).toHaveLength(0);
    expect(t.events.filter((e) => e.type !== "limited")).toHaveLength(0);
    expect(await t.otp.status(quiet.messageId)).toBeNull();
    // Its limits are a real send's: the cooldown holds the next one, quiet or not.
    await expect(t.otp.send({ phone: PHONE_US })).rejects.toMatchObject({
      code: "RATE_LIMITED",
      details: { limit: "phone_cooldown" },
    });
    // A code nobody saw is pending: a guess fails as a wrong one, counted.
    const guess = await t.otp.verify({ phone: PHONE_US, code: "000000" });
    expect(guess).toMatchObject({ ok: false, reason: "INVALID_CODE", attemptsLeft: 4 });
    await expect(
      t.otp.send({ phone: PHONE_US_2, deliver: "no" as unknown as boolean }),
    ).rejects.toMatchObject({
      code: "INVALID_INPUT",
      details: { field: "deliver" },
    });
  });
});

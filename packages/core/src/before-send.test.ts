/**
 * `beforeSend`: the app's own check (a CAPTCHA, a risk score) before a send counts in any limit.
 */
import { describe, expect, it, vi } from "vitest";
import { PHONE_US, setup } from "../test/helpers.js";
import { createMetrics } from "./metrics.js";
import type { BeforeSend } from "./options.js";
import { createTestChannel } from "./testing/test-channel.js";

const IP = "203.0.113.7";

/** A hook that lets through sends whose context carries the token a person got. */
const captcha: BeforeSend = ({ context }) =>
  (context as { token?: string } | undefined)?.token === "human"
    ? undefined
    : { refuse: "captcha_failed" };

describe("a bot without a CAPTCHA token asking for codes to someone's phone", () => {
  it("is refused with SEND_REFUSED before any limit counts, so the owner still gets a code at once", async () => {
    const t = setup({ beforeSend: captcha, limits: { sendsPerIp: { max: 2 } } });
    for (let i = 0; i < 10; i++) {
      await expect(t.otp.send({ phone: PHONE_US, ip: IP, context: {} })).rejects.toMatchObject({
        code: "SEND_REFUSED",
        status: 403,
        details: { reason: "captcha_failed" },
      });
    }
    expect(t.channel.messages).toHaveLength(0);
    // Neither the phone's cooldown nor the address's window was touched by the bot.
    await t.otp.send({ phone: PHONE_US, ip: IP, context: { token: "human" } });
    await t.otp.send({ phone: "+14155550102", ip: IP, context: { token: "human" } });
    expect(t.channel.messages).toHaveLength(2);
  });
});

describe("beforeSend", () => {
  it("sees the send as the engine read it, and the caller's context as given", async () => {
    const sms = createTestChannel({ name: "sms-test", kind: "sms" });
    const hook = vi.fn<BeforeSend>(() => undefined);
    const t = setup({ beforeSend: hook, delivery: { fallback: sms } });
    const context = { body: { captchaToken: "t" }, headers: { "user-agent": "test" } };
    await t.otp.send({
      phone: "+1 (415) 555-0101",
      ip: IP,
      purpose: "register",
      client: "browser-1",
      locale: "pt-BR",
      context,
    });
    await t.otp.send({ phone: "+44 20 7946 0958", channel: "sms", deliver: false });
    expect(hook.mock.calls.map(([send]) => send)).toEqual([
      {
        phone: PHONE_US,
        country: "US",
        numberType: "FIXED_LINE_OR_MOBILE",
        purpose: "register",
        ip: IP,
        client: "browser-1",
        locale: "pt-BR",
        channel: "test",
        deliver: true,
        test: false,
        context,
      },
      {
        phone: "+442079460958",
        country: "GB",
        numberType: "FIXED_LINE",
        purpose: "login",
        ip: undefined,
        client: undefined,
        locale: undefined,
        channel: "sms-test",
        deliver: false,
        test: false,
        context: undefined,
      },
    ]);
  });

  it("runs after the request is read, and not for a retried request answered from its key", async () => {
    const hook = vi.fn<BeforeSend>(() => undefined);
    const t = setup({ beforeSend: hook });
    await expect(t.otp.send({ phone: "+1 555 0101" })).rejects.toMatchObject({
      code: "INVALID_PHONE",
    });
    await expect(t.otp.send({ phone: "+19002345678" })).rejects.toMatchObject({
      code: "NUMBER_TYPE_NOT_ALLOWED",
    });
    await expect(t.otp.send({ phone: PHONE_US, purpose: "no spaces" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    expect(hook).not.toHaveBeenCalled();
    const first = await t.otp.send({ phone: PHONE_US, idempotencyKey: "k1" });
    // A CAPTCHA token is good once: the retry must not need a second one.
    expect(await t.otp.send({ phone: PHONE_US, idempotencyKey: "k1" })).toEqual(first);
    expect(hook).toHaveBeenCalledTimes(1);
  });

  it("frees the idempotency key of a refused send, so a retry with a token goes out", async () => {
    const t = setup({ beforeSend: captcha });
    await expect(t.otp.send({ phone: PHONE_US, idempotencyKey: "k1" })).rejects.toMatchObject({
      code: "SEND_REFUSED",
    });
    await t.otp.send({ phone: PHONE_US, idempotencyKey: "k1", context: { token: "human" } });
    expect(t.channel.messages).toHaveLength(1);
  });

  it("fails closed with BEFORE_SEND_FAILED when it throws or answers anything but nothing or { refuse }", async () => {
    const outage = new Error("siteverify timed out");
    const answers: (() => unknown)[] = [
      () => Promise.reject(outage),
      () => ({ refuse: "Bots are not welcome here!" }),
      () => ({ refuse: "" }),
      () => ({ refuse: 7 }),
      () => false,
      () => true,
      () => "no",
    ];
    for (const answer of answers) {
      const t = setup({ beforeSend: answer as BeforeSend });
      const error = await t.otp.send({ phone: PHONE_US }).catch((e: unknown) => e);
      expect(error, String(answer)).toMatchObject({ code: "BEFORE_SEND_FAILED", status: 500 });
      // The app's words never reach the client's fields.
      expect(JSON.stringify(error)).not.toMatch(/Bots|siteverify/);
      expect(t.channel.messages).toHaveLength(0);
    }
    let down = true;
    const t = setup({
      beforeSend: () => {
        if (down) throw outage;
      },
    });
    await expect(t.otp.send({ phone: PHONE_US })).rejects.toMatchObject({
      code: "BEFORE_SEND_FAILED",
      cause: outage,
    });
    // Nothing was counted: once the hook works again, the phone gets its code at once.
    down = false;
    await t.otp.send({ phone: PHONE_US });
    expect(t.channel.messages).toHaveLength(1);
  });

  it("is called for test numbers too, told so", async () => {
    const hook = vi.fn<BeforeSend>(() => undefined);
    const t = setup({ beforeSend: hook, testNumbers: { "+14155550199": "123456" } });
    await t.otp.send({ phone: "+14155550199" });
    expect(hook.mock.calls[0]?.[0]).toMatchObject({ test: true });
  });

  it("must be a function", () => {
    expect(() => setup({ beforeSend: "captcha" as never })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
  });
});

describe("the refused event", () => {
  it("tells onEvent of every send refused before the limits, with beforeSend's reason", async () => {
    const t = setup({
      beforeSend: (send) => (send.context === "bot" ? { refuse: "captcha_failed" } : undefined),
      limits: { sendsPerIp: { max: 20, unknownIp: "refuse" } },
    });
    await t.otp.send({ phone: PHONE_US, ip: "198.51.100.1", context: "bot" }).catch(() => {});
    await t.otp.send({ phone: PHONE_US }).catch(() => {});
    await t.otp.send({ phone: "+19002345678", ip: "198.51.100.1" }).catch(() => {});
    expect(
      t.events.map((e) => (e.type === "refused" ? [e.code, e.reason, e.country] : e.type)),
    ).toEqual([
      ["SEND_REFUSED", "captcha_failed", "US"],
      ["CLIENT_UNKNOWN", undefined, "US"],
      ["NUMBER_TYPE_NOT_ALLOWED", undefined, "US"],
    ]);
    const metrics = createMetrics();
    for (const event of t.events) metrics.onEvent(event);
    expect(metrics.snapshot().refused).toEqual({
      "SEND_REFUSED:captcha_failed": 1,
      CLIENT_UNKNOWN: 1,
      NUMBER_TYPE_NOT_ALLOWED: 1,
    });
    expect(metrics.snapshot().totals.refused).toBe(3);
  });
});

/**
 * Attacks on the fallback channel: each `describe` names the defence an attack runs into (free SMS,
 * a second SMS for one code, a killed code, a forged delivery report, a crash), and each test would
 * fail if that defence were removed.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { PHONE_GB, PHONE_US, PHONE_US_2, SECRET, setup } from "../test/helpers.js";
import type { DeliveryUpdate } from "./delivery-status.js";
import { OtpError } from "./errors.js";
import { oneMsg } from "./one-msg/channel.js";
import { unreachableText } from "./one-msg/errors.js";
import type { FallbackOptions, OtpOptions } from "./options.js";
import { createOtp } from "./otp.js";
import { memoryStore } from "./store/memory.js";
import type { Store } from "./store/types.js";
import { createTestChannel } from "./testing/test-channel.js";
import { twilioSms } from "./twilio/channel.js";
import { ACCOUNT_SID, CREATED_MESSAGE } from "./twilio/fixtures.js";
import { twilioSignature } from "./twilio/signature.js";
import { otpHandler } from "./web/handler.js";

/** Lets work the engine does after answering (a fallback after a webhook or status) finish. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const notOnWhatsApp = () =>
  new OtpError("SEND_FAILED", "WhatsApp cannot reach this phone.", {
    details: { reason: "unreachable" },
  });

/** An engine on a test channel with a test SMS fallback (`twilio-sms`, kind `sms`). */
function policy(options: Omit<FallbackOptions, "channel"> = {}, more: Partial<OtpOptions> = {}) {
  const sms = createTestChannel({ name: "twilio-sms", kind: "sms" });
  const t = setup({ delivery: { fallback: { channel: sms, ...options } }, ...more });
  return {
    t,
    sms,
    limited: () => t.events.filter((e) => e.type === "limited"),
    fallbacks: () => t.events.filter((e) => e.type === "fallback"),
  };
}

describe("a takeover that sends nothing charges no send limit", () => {
  // A takeover (timeout, failure report) for a code already used or replaced sends nothing: it
  // must count nothing either, or the user's next send meets a cooldown or a full window.

  it("a timeout after the user already signed in with the WhatsApp code blocks their next sign-in", async () => {
    const { t, sms } = policy(
      { timeoutSeconds: 20 },
      { limits: { sendsPerPhone: { cooldownSeconds: 60, max: 2, windowSeconds: 600 } } },
    );
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    t.advance(5);
    // The WhatsApp message arrived and the code worked; its `delivered` ack is late (or lost).
    expect(await t.otp.verify({ phone: PHONE_US, code: t.code(PHONE_US) })).toMatchObject({
      ok: true,
    });
    t.advance(16);
    await t.otp.status(messageId); // the client's last poll, or the sending process's timer
    await settle();
    expect(sms.messages).toHaveLength(0); // nothing was sent: the code was used...
    t.advance(61);
    // ...yet the phantom fallback took the phone's second send of the window: the user, who sent
    // one code in ten minutes, is refused.
    const again = await t.otp.send({ phone: PHONE_US }).catch((error: unknown) => error);
    expect(again).toMatchObject({ channel: "test" });
  });

  it("a failure report for a superseded message holds the user's 'send by SMS' for a minute", async () => {
    const { t, sms } = policy();
    const first = await t.otp.send({ phone: PHONE_US });
    t.advance(61);
    await t.otp.send({ phone: PHONE_US }); // a newer WhatsApp code replaces the first one
    // 1MSG reports the first message failed, late. Its code is gone: nothing may be sent for it.
    await t.otp.handleWebhook({ ack: [{ id: first.messageId, status: "failed" }] });
    await settle();
    expect(sms.messages).toHaveLength(0);
    // The user now presses "send by SMS instead": no SMS has ever been sent to this phone.
    const bySms = await t.otp
      .send({ phone: PHONE_US, channel: "sms" })
      .catch((error: unknown) => error);
    expect(bySms).toMatchObject({ channel: "twilio-sms", fallback: "requested" });
  });
});

describe("a phone the main channel refused goes straight to the fallback, limits first", () => {
  // After a refusal, the phone's sends go to the fallback at once: the fallback's limits are
  // counted before any fresh code replaces the pending one, so a full budget cannot kill the SMS
  // code the user already holds.
  it("keeps the user's SMS code when a later send is rate limited", async () => {
    const { t, sms } = policy({ sendsPerPhone: { max: 1, windowSeconds: 3600 } });
    t.channel.failNext(notOnWhatsApp(), 2);
    expect(await t.otp.send({ phone: PHONE_US })).toMatchObject({ fallback: "refused" });
    const code = sms.lastCode(PHONE_US) as string;
    t.advance(61);
    // Another send for the phone (the user's "resend", or anyone's): refused by WhatsApp again,
    // and by the fallback's budget.
    await expect(t.otp.send({ phone: PHONE_US, ip: "203.0.113.9" })).rejects.toMatchObject({
      code: "RATE_LIMITED",
      details: { limit: "fallback_window" },
    });
    expect(sms.messages).toHaveLength(1);
    expect(await t.otp.verify({ phone: PHONE_US, code })).toMatchObject({ ok: true });
  });
});

describe("the timeout timer asks the channel first when delivery.poll is on", () => {
  // With polling instead of webhooks, only asking the channel tells a delivered message apart: the
  // timer must poll before it hands the code on, or an SMS kills the WhatsApp code being typed.
  it("sends an SMS for a message the channel reports delivered, and kills its code", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    // A channel whose poll says what 1MSG's hookInfo would: the message was delivered.
    const whatsapp = Object.assign(createTestChannel(), {
      async poll(messageId: string): Promise<DeliveryUpdate> {
        return { messageId, status: "delivered" };
      },
    });
    const sms = createTestChannel({ name: "twilio-sms", kind: "sms" });
    const t = setup({
      channel: whatsapp,
      delivery: { poll: true, fallback: { channel: sms, timeoutSeconds: 20 } },
    });
    await t.otp.send({ phone: PHONE_US });
    const code = whatsapp.lastCode(PHONE_US) as string;
    t.advance(21);
    await vi.advanceTimersByTimeAsync(20_000);
    vi.useRealTimers();
    await settle();
    expect(sms.messages).toHaveLength(0);
    expect(await t.otp.verify({ phone: PHONE_US, code })).toMatchObject({ ok: true });
  });
});

describe("known clients of one phone share a ceiling on the fallback's budget", () => {
  // Each browser that verified for the phone has its own fallback budget (strangers cannot use up
  // the owner's), and all of them share a ceiling, as the main channel's window does.
  it("sends at most four times `fallback.sendsPerPhone.max` SMS to one phone in an hour", async () => {
    const { t, sms } = policy(); // fallback.sendsPerPhone: the default 3 per hour
    const clients = ["pump-1", "pump-2", "pump-3", "pump-4", "pump-5"];
    for (const [i, client] of clients.entries()) {
      await t.otp.send({ phone: PHONE_US, client, ip: `203.0.113.${i}` });
      await t.otp.verify({ phone: PHONE_US, code: t.code(PHONE_US), client });
      t.advance(61);
    }
    t.advance(3600); // a fresh hour
    for (let round = 0; round < 3; round++) {
      for (const [i, client] of clients.entries()) {
        await t.otp
          .send({ phone: PHONE_US, client, ip: `198.51.100.${i}`, channel: "sms" })
          .catch(() => undefined);
      }
      t.advance(61);
    }
    // Fifteen asks from five known browsers: each has its own three, all share a ceiling of twelve.
    expect(sms.messages).toHaveLength(12);
  });
});

describe("a body in one provider's format cannot move another channel's message", () => {
  // The webhook URL takes every provider's bodies; an update applies only to a message of the
  // channel that read it, so an unsigned 1MSG-shaped ack cannot move a Twilio message whose
  // callbacks must be signed.
  it("applies an unsigned JSON ack to a Twilio message through the webhook route", async () => {
    const token = "twilio-token-very-secret-123";
    const sid = `SM${"cd".repeat(16)}`;
    const webhookSecret = "hook-secret-0123456789abcdef";
    const sms = twilioSms({
      accountSid: ACCOUNT_SID,
      authToken: token,
      from: "+14155550100",
      statusCallback: `https://app.example/otp/webhook/${webhookSecret}`,
      fetch: async () => Response.json({ ...CREATED_MESSAGE, sid }, { status: 201 }),
    });
    const otp = createOtp({
      secret: SECRET,
      channel: createTestChannel(),
      store: memoryStore(),
      delivery: { fallback: sms },
    });
    const sent = await otp.send({ phone: PHONE_US, channel: "sms" });
    expect(sent.messageId).toBe(sid);
    const handler = otpHandler(otp, { secret: SECRET, webhookSecret });
    const forged = await handler(
      new Request(`https://app.example/otp/webhook/${webhookSecret}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ack: [{ id: sid, status: "delivered" }] }),
      }),
    );
    expect(await forged.json()).toEqual({ updated: 0, ignored: 1 });
    expect((await otp.status(sid))?.status).toBe("accepted");
  });
});

describe("a Twilio callback is read from the fields its signature covers", () => {
  // A captured callback re-posted as JSON with numeric fields added keeps its signature valid: what
  // is read must be exactly what was signed (text fields).
  it("takes an ErrorCode the signature does not cover", async () => {
    const token = "twilio-token-very-secret-123";
    const url = "https://app.example/otp/webhook/hook-secret-0123456789abcdef";
    const sid = `SM${"ef".repeat(16)}`;
    const sms = twilioSms({
      accountSid: ACCOUNT_SID,
      authToken: token,
      from: "+14155550100",
      statusCallback: url,
      fetch: async () => Response.json({ ...CREATED_MESSAGE, sid }, { status: 201 }),
    });
    const otp = createOtp({
      secret: SECRET,
      channel: createTestChannel(),
      store: memoryStore(),
      delivery: { fallback: sms },
    });
    await otp.send({ phone: PHONE_US, channel: "sms" });
    // What Twilio signed: an undelivered callback without an error code.
    const signed = {
      AccountSid: ACCOUNT_SID,
      MessageSid: sid,
      MessageStatus: "undelivered",
      To: "+14155550101",
    };
    const headers = { "x-twilio-signature": twilioSignature(token, url, signed) };
    const tampered = { ...signed, ErrorCode: 30006 };
    await otp.handleWebhook(tampered, { url, headers });
    const status = await otp.status(sid);
    expect(status?.status).toBe("undelivered");
    expect(status?.error).toBeUndefined();
  });
});

describe("an idempotency key keeps a send by SMS apart from a WhatsApp send", () => {
  // "Send by SMS instead" reusing the form's idempotency key must send the SMS, not replay the
  // stored WhatsApp answer.
  it("sends by SMS, or refuses the key, when the same key now names the fallback", async () => {
    const { t, sms } = policy();
    const first = await t.otp.send({ phone: PHONE_US, idempotencyKey: "login-form-1" });
    expect(first.channel).toBe("test");
    const bySms = await t.otp
      .send({ phone: PHONE_US, idempotencyKey: "login-form-1", channel: "sms" })
      .catch((error: unknown) => error);
    if (bySms instanceof OtpError) {
      expect(bySms.code).toBe("IDEMPOTENCY_CONFLICT");
    } else {
      expect(bySms).toMatchObject({ channel: "twilio-sms" });
      expect(sms.messages).toHaveLength(1);
    }
  });
});

describe("a store that throws synchronously cannot crash the process from the timer", () => {
  // A custom store (store-kit) that throws synchronously is STORE_UNAVAILABLE everywhere; in the
  // timeout timer's callback it would be an uncaught exception, which ends a Node process.
  it("does not throw out of the timer", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const base = memoryStore();
    let down = false;
    const store: Store = Object.assign(Object.create(base) as Store, {
      getDelivery(messageId: string, now: number) {
        if (down) throw new Error("connection lost");
        return base.getDelivery(messageId, now);
      },
    });
    const { t } = policy({ timeoutSeconds: 20 }, { store });
    await t.otp.send({ phone: PHONE_US });
    down = true;
    // The engine's other calls turn the same failure into STORE_UNAVAILABLE...
    await expect(t.otp.status("anything")).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    // ...the timer lets it escape.
    await expect(vi.advanceTimersByTimeAsync(20_000)).resolves.toBeDefined();
  });
});

describe("sent: false texts about template parameters are not read as 'unreachable'", () => {
  // "Wrong number of parameters" is a template mistake, not a phone WhatsApp cannot reach: read as
  // a refusal, it would silently turn every send into a paid SMS instead of a SEND_FAILED.
  const countErrors = [
    "Wrong number of parameters",
    "Invalid number of parameters",
    "Incorrect number of template parameters",
    "Invalid number of components",
    "Invalid number format in parameter 1",
  ];

  it.each(countErrors)("does not read %j as a phone WhatsApp cannot reach", (text) => {
    expect(unreachableText(text)).toBe(false);
  });

  it("does not send an SMS when 1MSG refuses the template's parameters", async () => {
    const whatsapp = oneMsg({
      baseUrl: "https://api.1msg.test",
      channelId: "ch1",
      token: "onemsg-token-1234567890",
      template: { name: "login_code", namespace: "ns", language: "en" },
      fetch: async () => Response.json({ sent: false, message: "Wrong number of parameters" }),
    });
    const sms = createTestChannel({ name: "twilio-sms", kind: "sms" });
    // A real clock: the 1MSG client gives up once the code's lifetime is over.
    const t = setup({ channel: whatsapp, now: Date.now, delivery: { fallback: sms } });
    const result = await t.otp.send({ phone: PHONE_US }).catch((error: unknown) => error);
    expect(result).toMatchObject({ code: "SEND_FAILED" });
    expect(sms.messages).toHaveLength(0);
  });

  // Holds: Meta's own texts for the template and policy errors the brief lists never match.
  it.each([
    "(#132000) Number of parameters does not match the expected number of params",
    "body: number of localizable_params (0) does not match the expected number of params (1)",
    "(#132001) Template name does not exist in the translation",
    "template name (login_code) does not exist in en_US",
    "(#131047) Re-engagement message",
    "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    "(#131051) Unsupported message type",
    "(#100) Invalid parameter",
    "(#131009) Parameter value is not valid",
    "(#132012) Parameter format does not match format in the created template",
    "(#131008) Required parameter is missing",
    "(#133010) Phone number not registered on the Whatsapp Business Platform.",
    "(#131021) Recipient cannot be sender",
    "(#131042) Business eligibility payment issue",
    "(#130472) User's number is part of an experiment",
  ])("leaves Meta's %j to the app (no SMS)", (text) => {
    expect(unreachableText(text)).toBe(false);
  });
});

describe("two test channels never give the same message id", () => {
  // A main and a fallback test channel sending in the same millisecond must not share an id: the
  // SMS's delivery record would overwrite the WhatsApp one's.
  it("keeps the WhatsApp message's record when an SMS follows in the same millisecond", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.UTC(2026, 0, 1) });
    const { t } = policy();
    const whatsapp = await t.otp.send({ phone: PHONE_US, client: "a" });
    const bySms = await t.otp.send({ phone: PHONE_US, client: "a", channel: "sms" });
    expect(bySms.messageId).not.toBe(whatsapp.messageId);
    expect((await t.otp.status(whatsapp.messageId, { client: "a" }))?.channel).toBe("test");
  });
});

describe("defences that held (regression tests)", () => {
  it("caps every trigger (refused, requested, failed, timeout) with the fallback's global budget", async () => {
    const { t, sms, limited } = policy({ timeoutSeconds: 20, globalSends: { max: 3 } });
    // Refused: not on WhatsApp.
    t.channel.failNext(notOnWhatsApp());
    expect(await t.otp.send({ phone: PHONE_US, ip: "203.0.113.1" })).toMatchObject({
      fallback: "refused",
    });
    // Requested.
    await t.otp.send({ phone: PHONE_US_2, ip: "203.0.113.2", channel: "sms" });
    // Failed.
    const failed = await t.otp.send({ phone: PHONE_GB, ip: "203.0.113.3" });
    await t.otp.handleWebhook({ ack: [{ id: failed.messageId, status: "failed" }] });
    await settle();
    expect(sms.messages).toHaveLength(3);
    // Timeout: over the app's budget, so nothing goes out.
    const overdue = await t.otp.send({ phone: "+14155550103", ip: "203.0.113.4" });
    t.advance(21);
    await t.otp.status(overdue.messageId);
    await settle();
    expect(sms.messages).toHaveLength(3);
    expect(limited().at(-1)).toMatchObject({ limit: "fallback_global_window" });
    // Requested and refused, from fresh addresses and phones: refused too.
    await expect(
      t.otp.send({ phone: "+14155550104", ip: "203.0.113.5", channel: "sms" }),
    ).rejects.toMatchObject({ code: "RATE_LIMITED", details: { limit: "fallback_global_window" } });
    t.channel.failNext(notOnWhatsApp());
    await expect(t.otp.send({ phone: "+14155550105", ip: "203.0.113.6" })).rejects.toMatchObject({
      code: "RATE_LIMITED",
      details: { limit: "fallback_global_window" },
    });
    expect(sms.messages).toHaveLength(3);
  });

  it("lets strangers rotating client ids and addresses have one SMS per cooldown, three an hour", async () => {
    const { t, sms } = policy();
    for (let i = 0; i < 40; i++) {
      await t.otp
        .send({ phone: PHONE_US, client: `stranger-${i}`, ip: `203.0.113.${i}`, channel: "sms" })
        .catch(() => undefined);
      t.advance(i % 10 === 9 ? 61 : 1);
    }
    expect(sms.messages).toHaveLength(3);
  });

  it("sends nothing, and charges nothing, for a failure reported after the code expired", async () => {
    const { t, sms, limited } = policy(
      {},
      { limits: { sendsPerPhone: { cooldownSeconds: 60, max: 2, windowSeconds: 900 } } },
    );
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    t.advance(301); // the code's 300 s are over
    await t.otp.handleWebhook({ ack: [{ id: messageId, status: "failed" }] });
    await settle();
    expect(sms.messages).toHaveLength(0);
    expect(limited()).toHaveLength(0);
    // The phone's window still has its second send, and the fallback its cooldown.
    await t.otp.send({ phone: PHONE_US, channel: "sms" });
    expect(sms.messages).toHaveLength(1);
  });

  it("never lets a late takeover replace a newer code", async () => {
    const { t, sms } = policy({ timeoutSeconds: 120 });
    const first = await t.otp.send({ phone: PHONE_US });
    t.advance(61);
    await t.otp.send({ phone: PHONE_US });
    const newer = t.code(PHONE_US);
    t.advance(60); // the first message is overdue
    await t.otp.status(first.messageId);
    await t.otp.handleWebhook({ ack: [{ id: first.messageId, status: "failed" }] });
    await settle();
    expect(sms.messages).toHaveLength(0);
    expect(await t.otp.verify({ phone: PHONE_US, code: newer })).toMatchObject({ ok: true });
  });

  it("lets neither a stranger's status() see the fallback nor trigger it", async () => {
    const { t, sms } = policy({ timeoutSeconds: 20 });
    const { messageId } = await t.otp.send({ phone: PHONE_US, client: "owner" });
    t.advance(21);
    expect(await t.otp.status(messageId, { client: "stranger" })).toBeNull();
    expect(await t.otp.status(messageId)).toBeNull();
    await settle();
    expect(sms.messages).toHaveLength(0);
    await t.otp.status(messageId, { client: "owner" });
    await settle();
    expect(sms.messages).toHaveLength(1);
    const link = (await t.otp.status(messageId, { client: "owner" }))?.fallback;
    expect(link?.messageId).toBe(sms.messages[0]?.messageId);
    expect(await t.otp.status(link?.messageId as string, { client: "stranger" })).toBeNull();
  });

  it("claims a message once even with no cooldown: concurrent reports and polls spend the budget once", async () => {
    // No cooldown, so no fallback cooldown either: only the per-message claim keeps the racing
    // takeovers from each counting in the fallback's budget (the pending-code check alone would
    // still send one SMS, and charge every racer).
    const { t, sms, limited } = policy(
      { timeoutSeconds: 20, sendsPerPhone: { max: 2, windowSeconds: 3600 } },
      { limits: { sendsPerPhone: { cooldownSeconds: 0, max: 100, windowSeconds: 600 } } },
    );
    const { messageId } = await t.otp.send({ phone: PHONE_US, client: "c" });
    t.advance(21);
    const failed = { ack: [{ id: messageId, status: "failed" }] };
    await Promise.allSettled([
      t.otp.status(messageId, { client: "c" }),
      t.otp.handleWebhook(failed),
      ...Array.from({ length: 10 }, () => t.otp.status(messageId, { client: "c" })),
    ]);
    await settle();
    expect(sms.messages).toHaveLength(1);
    expect(limited()).toHaveLength(0);
    // The fallback's budget has its second SMS left for the user.
    expect(await t.otp.send({ phone: PHONE_US, client: "c", channel: "sms" })).toMatchObject({
      channel: "twilio-sms",
    });
  });

  it("does not keep the process alive with the timeout timer", async () => {
    const spy = vi.spyOn(globalThis, "setTimeout");
    const { t } = policy({ timeoutSeconds: 20 });
    await t.otp.send({ phone: PHONE_US });
    const index = spy.mock.calls.findIndex((call) => call[1] === 20_000);
    expect(index).toBeGreaterThanOrEqual(0);
    const timer = spy.mock.results[index]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    clearTimeout(timer);
  });

  it("lets no failure inside a takeover escape as an unhandled rejection", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
      const base = memoryStore();
      let failing: "take" | "set" | "setIfAbsent" | undefined;
      const store: Store = Object.assign(Object.create(base) as Store, {
        take: (...args: Parameters<Store["take"]>) =>
          failing === "take" ? Promise.reject(new Error("down")) : base.take(...args),
        set: (...args: Parameters<Store["set"]>) =>
          failing === "set" ? Promise.reject(new Error("down")) : base.set(...args),
        setIfAbsent: (...args: Parameters<Store["setIfAbsent"]>) =>
          failing === "setIfAbsent" ? Promise.reject(new Error("down")) : base.setIfAbsent(...args),
      });
      const { t, sms } = policy(
        { timeoutSeconds: 20 },
        {
          store,
          onEvent: () => {
            throw new Error("observer failure");
          },
        },
      );
      const phones = [PHONE_US, PHONE_US_2, PHONE_GB, "+14155550103"];
      const ids: string[] = [];
      for (const phone of phones) ids.push((await t.otp.send({ phone })).messageId);
      t.advance(21);
      failing = "setIfAbsent";
      await t.otp.handleWebhook({ ack: [{ id: ids[0], status: "failed" }] });
      await vi.advanceTimersByTimeAsync(0);
      failing = "take";
      await t.otp.handleWebhook({ ack: [{ id: ids[1], status: "failed" }] });
      await vi.advanceTimersByTimeAsync(0);
      failing = undefined;
      sms.failNext(new Error("SMS provider down"));
      await t.otp.handleWebhook({ ack: [{ id: ids[2], status: "failed" }] });
      await vi.advanceTimersByTimeAsync(0);
      failing = "set";
      await vi.advanceTimersByTimeAsync(20_000); // every timer, the last one with the link unsaved
      vi.useRealTimers();
      await settle();
      expect(rejections).toEqual([]);
      expect(sms.messages).toHaveLength(1);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  });

  it("answers 4xx, never 5xx, to odd `channel` and `locale` values and Accept-Language headers", async () => {
    const sms = createTestChannel({ name: "twilio-sms", kind: "sms" });
    const otp = createOtp({
      secret: SECRET,
      channel: createTestChannel(),
      store: memoryStore(),
      limits: { sendsPerPhone: false, sendsPerIp: false },
      delivery: { fallback: sms },
    });
    const handler = otpHandler(otp, { secret: SECRET });
    const send = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      handler(
        new Request("https://app.example/otp/send", {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ phone: PHONE_US, ...body }),
        }),
      );
    for (const channel of [7, {}, [], null, true, "", "x".repeat(65), "__proto__", "constructor"]) {
      const res = await send({ channel });
      expect(res.status, JSON.stringify(channel)).toBe(400);
      const answer = (await res.json()) as { error: { code: string } };
      expect(answer.error.code).toBe("INVALID_INPUT");
    }
    for (const locale of [7, {}, [], true, "", "x".repeat(65), "en-US;q=1", "../../etc"]) {
      const res = await send({ locale });
      expect(res.status, JSON.stringify(locale)).toBe(400);
    }
    const headers = [
      "*",
      "en;q=abc, pt-BR;q=0.9",
      `${"a".repeat(8000)},pt-BR`,
      "x-klingon, i-default, \u00e9\u00e8-\u00ff",
      `${"en-US,".repeat(1000)}fr`,
      "pt-BR;q=1.999, en",
      ",,,;;;q=,",
    ];
    for (const value of headers) {
      const res = await send({}, { "accept-language": value });
      expect(res.status, value.slice(0, 40)).toBe(200);
    }
    // A tag the body names wins over the header; a header's best tag is used otherwise.
    await send({ channel: "sms" }, { "accept-language": "en;q=0.1, pt-BR;q=0.9" });
    expect(sms.messages.at(-1)?.locale).toBe("pt-BR");
    await send({ channel: "sms", locale: "es" }, { "accept-language": "pt-BR" });
    expect(sms.messages.at(-1)?.locale).toBe("es");
  });
});

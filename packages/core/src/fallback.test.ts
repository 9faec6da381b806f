/**
 * The fallback end to end: WhatsApp through the real 1MSG channel against the 1MSG fake, SMS through
 * the real Twilio and Vonage channels against their documented shapes (see `twilio/fixtures.ts` and
 * `vonage/fixtures.ts` for the sources). Each trigger must put a working code in the user's SMS.
 */
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { PHONE_US, PHONE_US_2, SECRET, setup } from "../test/helpers.js";
import type { Channel } from "./channel.js";
import { OtpError } from "./errors.js";
import type { OtpEvent } from "./events.js";
import { oneMsg } from "./one-msg/channel.js";
import type { FallbackOptions, OtpOptions } from "./options.js";
import { createOtp } from "./otp.js";
import { memoryStore } from "./store/memory.js";
import { createOneMsgFake, oneMsgHandlers } from "./testing/msw.js";
import { createTestChannel } from "./testing/test-channel.js";
import { twilioSms } from "./twilio/channel.js";
import { ACCOUNT_SID, CREATED_MESSAGE, callback } from "./twilio/fixtures.js";
import { twilioSignature } from "./twilio/signature.js";
import { vonageSms } from "./vonage/channel.js";
import { receipt, SEND_OK, SEND_URL } from "./vonage/fixtures.js";

const ONEMSG = "https://api.1msg.test";
const TWILIO = "https://api.twilio.test";
const TWILIO_MESSAGES = `${TWILIO}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
const DIGITS = PHONE_US.slice(1);

const fake = createOneMsgFake({
  channelId: "ch1",
  token: "onemsg-token-1234567890",
  acks: { sent: false, delivered: false },
});
/** Every SMS the providers were asked to send: to whom, and its text. */
const sms: { provider: string; to: string; text: string }[] = [];
let sid = 0;
const server = setupServer(
  ...oneMsgHandlers(fake, ONEMSG),
  // Twilio's create: a form post, a 201 with the new message's sid (API-MSG).
  http.post(TWILIO_MESSAGES, async ({ request }) => {
    const form = new URLSearchParams(await request.text());
    sms.push({ provider: "twilio", to: form.get("To") ?? "", text: form.get("Body") ?? "" });
    sid += 1;
    const id = `SM${String(sid).padStart(32, "0")}`;
    return HttpResponse.json({ ...CREATED_MESSAGE, sid: id, to: form.get("To") }, { status: 201 });
  }),
  // Vonage's send: a form post, a 200 listing each part with its message id (SMS-REF).
  http.post(SEND_URL, async ({ request }) => {
    const form = new URLSearchParams(await request.text());
    sms.push({ provider: "vonage", to: form.get("to") ?? "", text: form.get("text") ?? "" });
    sid += 1;
    const part = { ...SEND_OK.messages[0], to: form.get("to"), "message-id": `0C${sid}` };
    return HttpResponse.json({ ...SEND_OK, messages: [part] });
  }),
);

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  fake.reset();
  sms.length = 0;
  vi.useRealTimers();
});
afterAll(() => {
  server.close();
  fake.close();
});

const providers: { name: string; channel: () => Channel }[] = [
  {
    name: "twilio",
    channel: () =>
      twilioSms({
        baseUrl: TWILIO,
        accountSid: ACCOUNT_SID,
        authToken: "twilio-token-very-secret-123",
        from: "+14155550100",
      }),
  },
  {
    name: "vonage",
    channel: () => vonageSms({ apiKey: "abc123", apiSecret: "vonage-secret-1234", from: "Acme" }),
  },
];

function whatsapp() {
  return oneMsg({
    baseUrl: ONEMSG,
    channelId: "ch1",
    token: "onemsg-token-1234567890",
    template: { name: fake.template.name, namespace: fake.template.namespace, language: "en" },
    retry: { baseDelayMs: 1, maxDelayMs: 20 },
  });
}

/** An engine on 1MSG with `fallback`, a clock that moves when told, and its events. */
function app(
  fallback: Channel,
  options: Omit<FallbackOptions, "channel"> = {},
  more: Partial<OtpOptions> = {},
) {
  let now = Date.now();
  const events: OtpEvent[] = [];
  const otp = createOtp({
    secret: SECRET,
    channel: whatsapp(),
    store: memoryStore(),
    now: () => now,
    onEvent: (event) => {
      events.push(event);
    },
    delivery: { fallback: { channel: fallback, ...options } },
    ...more,
  });
  return {
    otp,
    events,
    advance(seconds: number) {
      now += seconds * 1000;
    },
    fallbacks: () => events.filter((e) => e.type === "fallback"),
  };
}

/** The code in the newest SMS to the phone (the text says it once, with or without a WebOTP line). */
function smsCode(): string {
  const last = sms.at(-1);
  const code = last?.text.match(/\b(\d{6})\b/)?.[1];
  if (code === undefined) throw new Error("no SMS with a code was sent");
  return code;
}

/** Lets work the engine does after answering (a fallback after a webhook) finish. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe.each(providers)("fallback to $name SMS", ({ name, channel }) => {
  it("takes over when WhatsApp reports the message failed, with a code that works", async () => {
    const t = app(channel());
    const sent = await t.otp.send({ phone: PHONE_US });
    expect(sent).toMatchObject({ channel: "1msg" });
    const whatsappCode = fake.lastCode(PHONE_US) as string;
    // 1MSG's failed ack for a phone that is not on WhatsApp (one-msg/fixtures/wire.ts, LIVE).
    await t.otp.handleWebhook({
      ack: [{ id: sent.messageId, status: "failed", error: "(#131026) Message undeliverable" }],
    });
    await settle();
    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatchObject({ provider: name });
    const [event] = t.fallbacks();
    expect(event).toMatchObject({
      why: "failed",
      messageId: sent.messageId,
      channel: `${name}-sms`,
    });
    const status = await t.otp.status(sent.messageId);
    expect(status).toMatchObject({
      status: "failed",
      channel: "1msg",
      fallback: { channel: `${name}-sms`, why: "failed" },
    });
    expect(status?.fallback?.messageId).toBe(
      (event as { fallbackMessageId: string }).fallbackMessageId,
    );
    expect((await t.otp.status(status?.fallback?.messageId as string))?.channel).toBe(
      `${name}-sms`,
    );
    // The SMS code replaced the WhatsApp one.
    if (whatsappCode !== smsCode()) {
      expect(await t.otp.verify({ phone: PHONE_US, code: whatsappCode })).toMatchObject({
        ok: false,
      });
    }
    expect(await t.otp.verify({ phone: PHONE_US, code: smsCode() })).toMatchObject({ ok: true });
  });

  it("takes over at once when 1MSG refuses a phone that is not on WhatsApp", async () => {
    const t = app(channel());
    fake.inject({ kind: "sent_false", message: "(#131026) Message undeliverable" });
    const sent = await t.otp.send({ phone: PHONE_US, locale: "pt-BR" });
    expect(sent).toMatchObject({ channel: `${name}-sms`, fallback: "refused" });
    expect(sms).toHaveLength(1);
    expect(t.fallbacks()).toMatchObject([{ why: "refused", fallbackMessageId: sent.messageId }]);
    expect(t.fallbacks()[0]).not.toHaveProperty("messageId");
    expect(t.events.find((e) => e.type === "send_failed")).toBeDefined();
    expect(await t.otp.verify({ phone: PHONE_US, code: smsCode() })).toMatchObject({ ok: true });
  });

  it("takes over when no delivery report came in time, on the next status()", async () => {
    const t = app(channel(), { timeoutSeconds: 20 });
    const sent = await t.otp.send({ phone: PHONE_US });
    t.advance(19);
    expect((await t.otp.status(sent.messageId))?.fallback).toBeUndefined();
    await settle();
    expect(sms).toHaveLength(0);
    t.advance(1);
    await t.otp.status(sent.messageId);
    await settle();
    expect(sms).toHaveLength(1);
    expect(t.fallbacks()).toMatchObject([{ why: "timeout", messageId: sent.messageId }]);
    expect((await t.otp.status(sent.messageId))?.fallback).toMatchObject({ why: "timeout" });
    expect(await t.otp.verify({ phone: PHONE_US, code: smsCode() })).toMatchObject({ ok: true });
  });

  it("sends by SMS when the user asks, inside WhatsApp's cooldown, once per its own", async () => {
    const t = app(channel());
    const first = await t.otp.send({ phone: PHONE_US });
    t.advance(15);
    const bySms = await t.otp.send({ phone: PHONE_US, channel: "sms" });
    expect(bySms).toMatchObject({ channel: `${name}-sms`, fallback: "requested" });
    expect(t.fallbacks()).toMatchObject([{ why: "requested" }]);
    expect(sms).toHaveLength(1);
    expect(await t.otp.verify({ phone: PHONE_US, code: smsCode() })).toMatchObject({ ok: true });
    // Its cooldown is its own: a second SMS waits, and so does WhatsApp, still.
    const again = await t.otp.send({ phone: PHONE_US, channel: `${name}-sms` }).catch((e) => e);
    expect(again).toMatchObject({ code: "RATE_LIMITED", details: { limit: "phone_cooldown" } });
    expect(first.channel).toBe("1msg");
    expect(sms).toHaveLength(1);
  });
});

describe("the timeout timer", () => {
  it("takes over from the sending instance after the wait, with nobody asking", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const t = app(providers[0]?.channel() as Channel, { timeoutSeconds: 20 });
    const sent = await t.otp.send({ phone: PHONE_US });
    await vi.advanceTimersByTimeAsync(19_000);
    expect(sms).toHaveLength(0);
    t.advance(20);
    await vi.advanceTimersByTimeAsync(1_000);
    vi.useRealTimers();
    await settle();
    expect(sms).toHaveLength(1);
    expect(t.fallbacks()).toMatchObject([{ why: "timeout", messageId: sent.messageId }]);
  });

  it("does nothing for a message reported delivered in time", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const t = app(providers[0]?.channel() as Channel, { timeoutSeconds: 20 });
    const sent = await t.otp.send({ phone: PHONE_US });
    await t.otp.handleWebhook({ ack: [{ id: sent.messageId, status: "delivered" }] });
    t.advance(25);
    await vi.advanceTimersByTimeAsync(21_000);
    vi.useRealTimers();
    await t.otp.status(sent.messageId);
    await settle();
    expect(sms).toHaveLength(0);
  });
});

describe("the fallback policy", () => {
  const notOnWhatsApp = () =>
    new OtpError("SEND_FAILED", "WhatsApp cannot reach this phone.", {
      details: { reason: "unreachable" },
    });

  function policy(options: Omit<FallbackOptions, "channel"> = {}, more: Partial<OtpOptions> = {}) {
    const sms = createTestChannel({ name: "twilio-sms", kind: "sms" });
    const t = setup({ delivery: { fallback: { channel: sms, ...options } }, ...more });
    return { t, sms, fallbacks: () => t.events.filter((e) => e.type === "fallback") };
  }

  it("leaves a refusal as SEND_FAILED when refusals are not handed on, and any other failure always", async () => {
    const off = policy({ onRefused: false });
    off.t.channel.failNext(notOnWhatsApp());
    await expect(off.t.otp.send({ phone: PHONE_US })).rejects.toMatchObject({
      code: "SEND_FAILED",
    });
    const on = policy();
    on.t.channel.failNext(new OtpError("SEND_FAILED", "The template is not approved."));
    await expect(on.t.otp.send({ phone: PHONE_US })).rejects.toMatchObject({
      code: "SEND_FAILED",
    });
    expect([...off.sms.messages, ...on.sms.messages]).toHaveLength(0);
  });

  it("hands nothing on for a failed message when onFailed is off, nor on a timeout unless set", async () => {
    const { t, sms } = policy({ onFailed: false });
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    await t.otp.handleWebhook({ ack: [{ id: messageId, status: "failed" }] });
    const other = await t.otp.send({ phone: PHONE_US_2 });
    t.advance(250);
    await t.otp.status(other.messageId);
    await settle();
    expect(sms.messages).toHaveLength(0);
  });

  it("counts a refused send once in the phone's window, and in the fallback's own budget", async () => {
    const { t, sms } = policy(
      { sendsPerPhone: { max: 2, windowSeconds: 3600 } },
      { limits: { sendsPerPhone: { cooldownSeconds: 60, max: 2, windowSeconds: 600 } } },
    );
    for (let i = 0; i < 2; i++) {
      t.channel.failNext(notOnWhatsApp());
      expect(await t.otp.send({ phone: PHONE_US })).toMatchObject({ fallback: "refused" });
      t.advance(61);
    }
    expect(sms.messages).toHaveLength(2);
    t.advance(600);
    t.channel.failNext(notOnWhatsApp());
    await expect(t.otp.send({ phone: PHONE_US })).rejects.toMatchObject({
      code: "RATE_LIMITED",
      details: { limit: "fallback_window" },
    });
    expect(sms.messages).toHaveLength(2);
  });

  it("caps the fallback for the whole app with its own global budget", async () => {
    const { t, sms } = policy({ globalSends: { max: 1 } });
    await t.otp.send({ phone: PHONE_US, channel: "sms" });
    await expect(t.otp.send({ phone: PHONE_US_2, channel: "sms" })).rejects.toMatchObject({
      code: "RATE_LIMITED",
      details: { limit: "fallback_global_window" },
    });
    // WhatsApp is not held by the fallback's budget.
    expect(await t.otp.send({ phone: PHONE_US_2 })).toMatchObject({ channel: "test" });
    expect(sms.messages).toHaveLength(1);
  });

  it("takes only a channel the app configured, by name or kind", async () => {
    const { t, sms } = policy();
    const refused = await t.otp.send({ phone: PHONE_US, channel: "email" }).catch((e) => e);
    expect(refused).toMatchObject({ code: "INVALID_INPUT", details: { field: "channel" } });
    expect(refused.message).toContain('"twilio-sms"');
    expect(await t.otp.send({ phone: PHONE_US, channel: "test" })).toMatchObject({
      channel: "test",
    });
    t.advance(61);
    expect(await t.otp.send({ phone: PHONE_US, channel: "twilio-sms" })).toMatchObject({
      channel: "twilio-sms",
    });
    const noRequests = policy({ onRequest: false });
    await expect(noRequests.t.otp.send({ phone: PHONE_US, channel: "sms" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    const none = setup();
    await expect(none.otp.send({ phone: PHONE_US, channel: "sms" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    expect(sms.messages).toHaveLength(1);
  });

  it("claims a message once, so a failure report and overdue status calls spend the budget once", async () => {
    const { t, sms } = policy({
      timeoutSeconds: 20,
      sendsPerPhone: { max: 2, windowSeconds: 3600 },
    });
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    t.advance(21);
    await Promise.all([
      t.otp.status(messageId),
      t.otp.handleWebhook({ ack: [{ id: messageId, status: "failed" }] }),
      t.otp.status(messageId),
    ]);
    await settle();
    expect(sms.messages).toHaveLength(1);
    expect(t.events.some((e) => e.type === "limited")).toBe(false);
    t.advance(61);
    expect(await t.otp.send({ phone: PHONE_US, channel: "sms" })).toMatchObject({
      channel: "twilio-sms",
    });
  });

  it("answers a retried refused send with the same channel and reason", async () => {
    const { t, sms } = policy();
    t.channel.failNext(notOnWhatsApp());
    const first = await t.otp.send({ phone: PHONE_US, idempotencyKey: "k1" });
    const again = await t.otp.send({ phone: PHONE_US, idempotencyKey: "k1" });
    expect(again).toEqual(first);
    expect(again).toMatchObject({ channel: "twilio-sms", fallback: "refused" });
    expect(sms.messages).toHaveLength(1);
  });

  it("shows a fallback message to the client that asked for the code, and to nobody else", async () => {
    const { t, sms } = policy();
    const { messageId } = await t.otp.send({ phone: PHONE_US, client: "browser-1" });
    await t.otp.handleWebhook({ ack: [{ id: messageId, status: "failed" }] });
    await settle();
    const link = (await t.otp.status(messageId, { client: "browser-1" }))?.fallback;
    expect(link?.messageId).toBe(sms.messages[0]?.messageId);
    expect(await t.otp.status(link?.messageId as string, { client: "browser-2" })).toBeNull();
    expect(await t.otp.status(link?.messageId as string, { client: "browser-1" })).toMatchObject({
      channel: "twilio-sms",
    });
  });

  it("refuses a timeout the code would not outlive, and flags that are not booleans", () => {
    const sms = createTestChannel({ name: "sms" });
    expect(() =>
      setup({
        code: { ttlSeconds: 60 },
        delivery: { fallback: { channel: sms, timeoutSeconds: 60 } },
      }),
    ).toThrow(/timeoutSeconds.*shorter/);
    expect(() =>
      setup({ delivery: { fallback: { channel: sms, onFailed: "yes" as unknown as boolean } } }),
    ).toThrow(/onFailed/);
    expect(() => setup({ delivery: { fallback: { channel: sms, timeoutSeconds: 2 } } })).toThrow(
      /timeoutSeconds/,
    );
  });
});

describe("delivery reports of the fallback", () => {
  const CALLBACK_URL = "https://app.example/otp/webhook/hook-secret-0123456789";
  const TOKEN = "twilio-token-very-secret-123";

  async function refusedToSms(fallback: Channel) {
    const t = app(fallback);
    fake.inject({ kind: "sent_false", message: "(#131026) Message undeliverable" });
    const sent = await t.otp.send({ phone: PHONE_US });
    return { t, sent };
  }

  it("applies Twilio's status callback only when its signature is Twilio's", async () => {
    const { t, sent } = await refusedToSms(
      twilioSms({
        baseUrl: TWILIO,
        accountSid: ACCOUNT_SID,
        authToken: TOKEN,
        from: "+14155550100",
        statusCallback: CALLBACK_URL,
      }),
    );
    // CALLBACK: a form post naming the message and its new status.
    const fields = { ...callback("delivered"), MessageSid: sent.messageId, SmsSid: sent.messageId };
    const signed = (url: string, token = TOKEN) => ({
      url,
      headers: { "x-twilio-signature": twilioSignature(token, url, fields) },
    });
    expect(await t.otp.handleWebhook(fields)).toEqual({ updated: 0, ignored: 0 });
    expect(await t.otp.handleWebhook(fields, signed(CALLBACK_URL, "another-token"))).toEqual({
      updated: 0,
      ignored: 0,
    });
    expect(await t.otp.handleWebhook(fields, signed(`${CALLBACK_URL}x`))).toEqual({
      updated: 0,
      ignored: 0,
    });
    expect((await t.otp.status(sent.messageId))?.status).toBe("accepted");
    // The configured callback URL is what Twilio signed, whatever the app server saw behind its proxy.
    const seenBehindProxy = { ...signed(CALLBACK_URL), url: "http://10.0.0.5:3000/otp/webhook/x" };
    expect(await t.otp.handleWebhook(fields, seenBehindProxy)).toEqual({ updated: 1, ignored: 0 });
    expect(await t.otp.status(sent.messageId)).toMatchObject({
      status: "delivered",
      channel: "twilio-sms",
    });
  });

  it("checks the request's own URL when no status callback is configured", async () => {
    const { t, sent } = await refusedToSms(providers[0]?.channel() as Channel);
    const fields = { ...callback("sent"), MessageSid: sent.messageId, SmsSid: sent.messageId };
    const url = "https://app.example/otp/webhook/abc?from=twilio";
    const headers = { "x-twilio-signature": twilioSignature(TOKEN, url, fields) };
    expect(await t.otp.handleWebhook(fields, { url, headers })).toEqual({ updated: 1, ignored: 0 });
  });

  it("applies Vonage's delivery receipt for its message, and 1MSG's acks beside it", async () => {
    const { t, sent } = await refusedToSms(providers[1]?.channel() as Channel);
    // DLR: the receipt names the message id it reports on.
    const dlr = { ...receipt("delivered"), messageId: sent.messageId, msisdn: DIGITS };
    expect(await t.otp.handleWebhook(dlr)).toEqual({ updated: 1, ignored: 0 });
    expect(await t.otp.status(sent.messageId)).toMatchObject({
      status: "delivered",
      channel: "vonage-sms",
    });
    const other = await t.otp.send({ phone: PHONE_US_2 });
    expect(
      await t.otp.handleWebhook({ ack: [{ id: other.messageId, status: "delivered" }] }),
    ).toEqual({
      updated: 1,
      ignored: 0,
    });
  });
});

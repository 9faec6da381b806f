import { describe, expect, it } from "vitest";
import { PHONE_US, PHONE_US_2, setup } from "../test/helpers.js";
import { canAdvance, DELIVERY_STATUSES } from "./delivery-status.js";
import { readDeliveryEntry, readOneMsgWebhook } from "./one-msg/webhook.js";
import { createTestChannel } from "./testing/test-channel.js";

async function sentMessage() {
  const t = setup();
  const { messageId } = await t.otp.send({ phone: PHONE_US });
  return { t, messageId };
}

describe("status", () => {
  it("starts as accepted when the channel took the message", async () => {
    const { t, messageId } = await sentMessage();
    expect(await t.otp.status(messageId)).toEqual({
      status: "accepted",
      updatedAt: new Date(t.now()),
      channel: "test",
    });
  });

  it("is null for an unknown message, and for one older than the delivery TTL", async () => {
    const t = setup({ delivery: { ttlSeconds: 120 } });
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    expect(await t.otp.status("wamid.unknown")).toBeNull();
    t.advance(120);
    expect(await t.otp.status(messageId)).toBeNull();
  });
});

describe("handleWebhook", () => {
  it("applies ack[] entries and emits a delivery event per change", async () => {
    const { t, messageId } = await sentMessage();
    t.advance(2);
    const result = await t.otp.handleWebhook({
      instanceId: "123",
      ack: [{ id: messageId, status: "delivered", chatId: "14155550101@c.us" }],
    });
    expect(result).toEqual({ updated: 1, ignored: 0 });
    expect(await t.otp.status(messageId)).toEqual({
      status: "delivered",
      updatedAt: new Date(t.now()),
      channel: "test",
    });
    expect(t.events.at(-1)).toEqual({
      type: "delivery",
      at: new Date(t.now()),
      messageId,
      status: "delivered",
    });
  });

  it("applies hooks[] entries, several per call, from a JSON string too", async () => {
    const t = setup();
    const a = await t.otp.send({ phone: PHONE_US });
    const b = await t.otp.send({ phone: PHONE_US_2 });
    const body = JSON.stringify({
      hooks: [
        { id: a.messageId, status: "sent" },
        { id: b.messageId, status: "read" },
      ],
    });
    expect(await t.otp.handleWebhook(body)).toEqual({ updated: 2, ignored: 0 });
    expect((await t.otp.status(a.messageId))?.status).toBe("sent");
    expect((await t.otp.status(b.messageId))?.status).toBe("read");
  });

  it("never moves a message backwards when acks arrive out of order or twice", async () => {
    const { t, messageId } = await sentMessage();
    const ack = (status: string) => t.otp.handleWebhook({ ack: [{ id: messageId, status }] });
    expect(await ack("read")).toEqual({ updated: 1, ignored: 0 });
    expect(await ack("delivered")).toEqual({ updated: 0, ignored: 1 });
    expect(await ack("sent")).toEqual({ updated: 0, ignored: 1 });
    expect(await ack("read")).toEqual({ updated: 0, ignored: 1 });
    expect((await t.otp.status(messageId))?.status).toBe("read");
    expect(t.events.filter((e) => e.type === "delivery")).toHaveLength(1);
  });

  it("keeps a failure's reason, and nothing moves a failed message", async () => {
    const { t, messageId } = await sentMessage();
    await t.otp.handleWebhook({
      ack: [{ id: messageId, status: "failed", error: "User's number is part of an experiment" }],
    });
    await t.otp.handleWebhook({ ack: [{ id: messageId, status: "delivered" }] });
    expect(await t.otp.status(messageId)).toMatchObject({
      status: "failed",
      error: "User's number is part of an experiment",
    });
    expect(t.events.at(-1)).toMatchObject({ type: "delivery", status: "failed" });
  });

  it("ignores unknown ids, junk entries and other event kinds without throwing", async () => {
    const { t, messageId } = await sentMessage();
    const result = await t.otp.handleWebhook({
      ack: [
        null,
        42,
        "x",
        [],
        {},
        { id: "wamid.nobody", status: "delivered" },
        { id: messageId, status: "exploded" },
        { id: messageId },
        { id: { $ne: 1 }, status: "read" },
        { id: "x".repeat(10_000), status: "read" },
      ],
      hooks: "not a list",
      messages: [{ id: "in.1", body: "hi", fromMe: false }],
    });
    // Only the well-formed update for an unknown message is an update at all; the rest is skipped.
    expect(result).toEqual({ updated: 0, ignored: 1 });
    expect(await t.otp.handleWebhook({ messages: [{ id: "in.2", body: "hello" }] })).toEqual({
      updated: 0,
      ignored: 0,
    });
    expect((await t.otp.status(messageId))?.status).toBe("accepted");
  });

  it("refuses a body that is not a JSON object with WEBHOOK_INVALID", async () => {
    const { t } = await sentMessage();
    for (const body of ["{not json", "[1,2]", "null", 7, null, undefined, [{ ack: [] }]]) {
      await expect(t.otp.handleWebhook(body)).rejects.toMatchObject({
        code: "WEBHOOK_INVALID",
        status: 400,
      });
    }
  });
});

describe("delivery states", () => {
  it("move only forward: accepted < sent < delivered < read, with failures final", () => {
    const allowed = DELIVERY_STATUSES.flatMap((from) =>
      DELIVERY_STATUSES.filter((to) => canAdvance(from, to)).map((to) => `${from}>${to}`),
    );
    expect(allowed).toEqual([
      "accepted>sent",
      "accepted>delivered",
      "accepted>read",
      "accepted>failed",
      "accepted>undelivered",
      "sent>delivered",
      "sent>read",
      "sent>failed",
      "sent>undelivered",
      "delivered>read",
    ]);
  });

  it("reads 1MSG's names, including the older `viewed`, and keeps error text short", () => {
    expect(readDeliveryEntry({ id: "m", status: "viewed" })).toEqual({
      messageId: "m",
      status: "read",
    });
    expect(readDeliveryEntry({ id: "m", status: "DELIVERED" })).toEqual({
      messageId: "m",
      status: "delivered",
    });
    expect(readDeliveryEntry({ id: "m", status: "failed", error: { code: 131026 } })).toEqual({
      messageId: "m",
      status: "failed",
      error: "131026 Message undeliverable (not a WhatsApp user, or an outdated app)",
      errorCode: "131026",
    });
    const long = readDeliveryEntry({ id: "m", status: "undelivered", error: "e".repeat(1000) });
    expect(long?.error).toHaveLength(300);
    // Error text only belongs to failures.
    expect(readDeliveryEntry({ id: "m", status: "sent", error: "noise" })).toEqual({
      messageId: "m",
      status: "sent",
    });
  });
});

describe("fallback", () => {
  function withFallback(options: Parameters<typeof setup>[0] = {}) {
    const fallback = createTestChannel({ name: "sms" });
    const t = setup({ delivery: { fallback }, ...options });
    const fail = (messageId: string) =>
      t.otp.handleWebhook({ ack: [{ id: messageId, status: "failed", error: "undeliverable" }] });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
    return { t, fallback, fail, settle };
  }

  it("sends a fresh code through the fallback once, however often the failure is reported", async () => {
    const { t, fallback, fail, settle } = withFallback();
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    await Promise.all([
      fail(messageId),
      fail(messageId),
      t.otp.handleWebhook({ ack: [{ id: messageId, status: "undelivered" }] }),
    ]);
    await settle();
    expect(fallback.messages).toHaveLength(1);
    expect(
      (await t.otp.verify({ phone: PHONE_US, code: fallback.lastCode(PHONE_US) as string })).ok,
    ).toBe(true);
  });

  it("speaks the send's language in the fallback too", async () => {
    const { t, fallback, fail, settle } = withFallback();
    const { messageId } = await t.otp.send({ phone: PHONE_US, locale: "pt-BR" });
    expect(t.channel.messages.at(-1)?.locale).toBe("pt-BR");
    await fail(messageId);
    await settle();
    expect(fallback.messages.at(-1)?.locale).toBe("pt-BR");
  });

  it("answers the webhook without waiting for the fallback channel", async () => {
    let release: () => void = () => {};
    let started: () => void = () => {};
    const sendStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const slow = {
      name: "slow-sms",
      send: () => {
        started();
        return new Promise<{ messageId: string }>((resolve) => {
          release = () => resolve({ messageId: "sms.1" });
        });
      },
    };
    const t = setup({ delivery: { fallback: slow } });
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    expect(await t.otp.handleWebhook({ ack: [{ id: messageId, status: "failed" }] })).toEqual({
      updated: 1,
      ignored: 0,
    });
    await sendStarted;
    expect(t.events.some((e) => e.type === "fallback")).toBe(false);
    release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(t.events.find((e) => e.type === "fallback")).toMatchObject({
      fallbackMessageId: "sms.1",
    });
  });

  it("does nothing once the failed message's code has expired", async () => {
    const { t, fallback, fail, settle } = withFallback();
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    t.advance(300);
    await fail(messageId);
    await settle();
    expect(fallback.messages).toHaveLength(0);
  });

  it("does not replace a newer code when an older message fails late", async () => {
    const { t, fallback, fail, settle } = withFallback();
    const first = await t.otp.send({ phone: PHONE_US });
    t.advance(61);
    await t.otp.send({ phone: PHONE_US });
    const newer = t.code(PHONE_US);
    await fail(first.messageId);
    await settle();
    expect(fallback.messages).toHaveLength(0);
    expect((await t.otp.verify({ phone: PHONE_US, code: newer })).ok).toBe(true);
  });

  it("does not hand on a fallback message's own failure", async () => {
    const { t, fallback, fail, settle } = withFallback();
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    await fail(messageId);
    await settle();
    const smsId = fallback.messages[0]?.messageId as string;
    await fail(smsId);
    await settle();
    expect(fallback.messages).toHaveLength(1);
    expect((await t.otp.status(smsId))?.status).toBe("failed");
  });

  it("counts against the phone's send window", async () => {
    const { t, fallback, fail, settle } = withFallback({
      limits: { sendsPerPhone: { cooldownSeconds: 60, max: 1, windowSeconds: 600 } },
    });
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    await fail(messageId);
    await settle();
    expect(fallback.messages).toHaveLength(0);
    expect(t.events.at(-1)).toMatchObject({ type: "limited", limit: "phone_window" });
  });

  it("charges a fallback send to the client that asked for the code", async () => {
    const { t, fallback, fail, settle } = withFallback({
      limits: { sendsPerIp: { max: 2, windowSeconds: 600 } },
    });
    const { messageId } = await t.otp.send({ phone: PHONE_US, ip: "198.51.100.7" });
    await t.otp.send({ phone: PHONE_US_2, ip: "198.51.100.7" });
    // The client's window is full, so the failed message's fallback is refused too.
    await fail(messageId);
    await settle();
    expect(fallback.messages).toHaveLength(0);
    expect(t.events.at(-1)).toMatchObject({ type: "limited", limit: "ip_window" });
  });

  it("charges a fallback for a client without an address to the shared unknown bucket", async () => {
    const { t, fallback, fail, settle } = withFallback({
      limits: { sendsPerIp: { max: 1, windowSeconds: 600 } },
    });
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    await fail(messageId);
    await settle();
    expect(fallback.messages).toHaveLength(0);
    expect(t.events.at(-1)).toMatchObject({ type: "limited", limit: "ip_window" });
  });

  it("keeps the webhook answer and the old state when the fallback fails", async () => {
    const { t, fallback, fail, settle } = withFallback();
    fallback.failNext(new Error("sms gateway down"));
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    expect(await fail(messageId)).toEqual({ updated: 1, ignored: 0 });
    await settle();
    expect(t.events.at(-1)).toMatchObject({ type: "send_failed", error: "SEND_FAILED" });
  });
});

describe("polling", () => {
  function polled(options: Parameters<typeof setup>[0] = {}) {
    const asked: string[] = [];
    const channel = {
      name: "pollable",
      readWebhook: readOneMsgWebhook,
      send: async () => ({ messageId: `m.${asked.length}.${Math.random()}` }),
      poll: async (messageId: string) => {
        asked.push(messageId);
        return { messageId, status: "delivered" as const };
      },
    };
    return { asked, t: setup({ channel, delivery: { poll: true }, ...options }) };
  }

  it("asks the channel at most once per interval", async () => {
    const { asked, t } = polled({ delivery: { poll: true, pollIntervalSeconds: 5 } });
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    expect(await t.otp.status(messageId)).toMatchObject({ status: "delivered" });
    await t.otp.status(messageId);
    expect(asked).toHaveLength(1);
  });

  it("does not ask about a message in a final state, or whose code has expired", async () => {
    const { asked, t } = polled();
    const done = await t.otp.send({ phone: PHONE_US });
    await t.otp.handleWebhook({ ack: [{ id: done.messageId, status: "read" }] });
    await t.otp.status(done.messageId);
    const old = await t.otp.send({ phone: PHONE_US_2 });
    t.advance(300);
    expect(await t.otp.status(old.messageId)).toMatchObject({ status: "accepted" });
    expect(asked).toEqual([]);
  });

  it("keeps answering from the store when polling fails", async () => {
    const channel = {
      name: "flaky",
      send: async () => ({ messageId: "m.1" }),
      poll: async () => {
        throw new Error("hookInfo down");
      },
    };
    const t = setup({ channel, delivery: { poll: true } });
    await t.otp.send({ phone: PHONE_US });
    expect(await t.otp.status("m.1")).toMatchObject({ status: "accepted" });
  });
});

import { describe, expect, it } from "vitest";
import { canAdvance, DELIVERY_STATUSES, readDeliveryEntry } from "./delivery.js";
import { PHONE_US, PHONE_US_2, setup } from "./test-utils.js";

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
    expect(result).toEqual({ updated: 0, ignored: 10 });
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
      error: "131026",
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

import { describe, expect, it } from "vitest";
import { PHONE_GB, PHONE_US, setup, wrong } from "../test/helpers.js";
import { createMetrics, OTHER } from "./metrics.js";
import { events, MASKED } from "./metrics-test-events.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MINUTE = 60_000;

/** Metrics on a clock the test moves. */
function clocked(options: Parameters<typeof createMetrics>[0] = {}) {
  let now = T0;
  const metrics = createMetrics({ now: () => now, ...options });
  return {
    metrics,
    at: (ms: number) => {
      now = ms;
    },
  };
}

describe("createMetrics: counts", () => {
  it("counts each kind of event by country, with conversion as verified codes per code", () => {
    const { metrics } = clocked();
    const at = T0;
    for (let i = 0; i < 10; i++)
      metrics.onEvent(events.sent({ country: "US", at, messageId: `u${i}` }));
    for (let i = 0; i < 8; i++) metrics.onEvent(events.verified({ country: "US", at }));
    metrics.onEvent(events.rejected({ country: "US", at, reason: "INVALID_CODE" }));
    metrics.onEvent(events.rejected({ country: "US", at, reason: "EXPIRED" }));
    metrics.onEvent(events.limited({ country: "US", at, limit: "phone_cooldown" }));
    metrics.onEvent(events.sendFailed({ country: "BR", at, error: "SEND_FAILED" }));
    for (let i = 0; i < 4; i++)
      metrics.onEvent(events.sent({ country: "BR", at, messageId: `b${i}` }));
    metrics.onEvent(events.verified({ country: "BR", at }));
    // A takeover of a failed message is the same attempt; a refusal's fallback is a new code.
    metrics.onEvent(
      events.fallback({
        country: "BR",
        at,
        why: "failed",
        messageId: "b0",
        fallbackMessageId: "f0",
      }),
    );
    metrics.onEvent(
      events.fallback({ country: "BR", at, why: "refused", fallbackMessageId: "f1" }),
    );

    const snap = metrics.snapshot();
    expect(snap.countries.US).toMatchObject({
      sent: 10,
      codes: 10,
      verified: 8,
      rejected: 2,
      limited: 1,
      conversion: 0.8,
    });
    expect(snap.countries.BR).toMatchObject({
      sent: 4,
      fallbacks: 2,
      codes: 5,
      verified: 1,
      sendFailed: 1,
      conversion: 0.2,
    });
    expect(snap.totals).toMatchObject({ sent: 14, fallbacks: 2, codes: 15, verified: 9 });
    expect(snap.totals.conversion).toBeCloseTo(9 / 15);
    expect(snap.rejected).toEqual({ INVALID_CODE: 1, EXPIRED: 1 });
    expect(snap.limited).toEqual({ phone_cooldown: 1 });
    expect(snap.fallbacks).toEqual({ failed: 1, refused: 1 });
    expect(snap.sendFailures).toEqual({ SEND_FAILED: 1 });
    expect(snap.channels).toEqual({
      "1msg": { messages: 14, delivered: 0, read: 0, failed: 0 },
      "twilio-sms": { messages: 2, delivered: 0, read: 0, failed: 0 },
    });
  });

  it("has no conversion before a code, and counts events without a country under unknown", () => {
    const { metrics } = clocked();
    metrics.onEvent(events.verified({ country: "not a country!", at: T0 }));
    const snap = metrics.snapshot();
    expect(snap.countries.unknown).toMatchObject({ verified: 1, codes: 0, conversion: null });
    expect(createMetrics().snapshot().totals.conversion).toBeNull();
  });

  it("counts a number of no region under its calling code", () => {
    const { metrics } = clocked();
    metrics.onEvent(events.sent({ country: "+870", at: T0, messageId: "m" }));
    expect(metrics.snapshot().countries["+870"]).toMatchObject({ sent: 1 });
  });

  it("leaves test sends out of every count but their own", () => {
    const { metrics } = clocked();
    metrics.onEvent(events.sent({ country: "US", at: T0, messageId: "t1", test: true }));
    metrics.onEvent(events.verified({ country: "US", at: T0, test: true }));
    const snap = metrics.snapshot();
    expect(snap.testEvents).toBe(2);
    expect(snap.totals).toMatchObject({ sent: 0, verified: 0 });
    expect(snap.countries).toEqual({});
    expect(snap.series.every((m) => m.sent === 0)).toBe(true);
  });

  it("holds no phone number and no code: only counts and labels", () => {
    const { metrics } = clocked();
    metrics.onEvent(events.sent({ country: "US", at: T0, messageId: "m1" }));
    metrics.onEvent(events.rejected({ country: "US", at: T0, reason: "INVALID_CODE" }));
    const json = JSON.stringify(metrics.snapshot());
    expect(json).not.toContain(MASKED);
    expect(json).not.toContain("m1");
  });

  it("never throws from onEvent, even for an event it cannot read", () => {
    const { metrics } = clocked();
    expect(() => metrics.onEvent({ type: "sent" } as never)).not.toThrow();
    expect(() => metrics.onEvent({ type: "something-new", at: new Date() } as never)).not.toThrow();
  });

  it("starts again from zero after reset()", () => {
    const { metrics, at } = clocked();
    metrics.onEvent(events.sent({ country: "US", at: T0, messageId: "m1" }));
    at(T0 + MINUTE);
    metrics.reset();
    const snap = metrics.snapshot();
    expect(snap.totals.sent).toBe(0);
    expect(snap.countries).toEqual({});
    expect(snap.since).toEqual(new Date(T0 + MINUTE));
    // The message was forgotten: its report is no longer attributed.
    metrics.onEvent(events.delivery({ at: T0 + MINUTE, messageId: "m1", status: "delivered" }));
    expect(metrics.snapshot().unattributedDeliveries).toBe(1);
  });
});

describe("createMetrics: delivery reports", () => {
  it("attributes a report to its message's country and channel, counting each message once", () => {
    const { metrics } = clocked();
    metrics.onEvent(events.sent({ country: "IN", at: T0, messageId: "w1" }));
    metrics.onEvent(events.sent({ country: "IN", at: T0, messageId: "w2" }));
    metrics.onEvent(
      events.fallback({
        country: "IN",
        at: T0,
        why: "failed",
        messageId: "w2",
        fallbackMessageId: "s1",
      }),
    );
    metrics.onEvent(events.delivery({ at: T0, messageId: "w1", status: "sent" }));
    metrics.onEvent(events.delivery({ at: T0, messageId: "w1", status: "delivered" }));
    metrics.onEvent(events.delivery({ at: T0, messageId: "w1", status: "read" }));
    metrics.onEvent(
      events.delivery({ at: T0, messageId: "w2", status: "failed", errorCode: "131026" }),
    );
    metrics.onEvent(events.delivery({ at: T0, messageId: "s1", status: "read" }));
    const snap = metrics.snapshot();
    expect(snap.countries.IN).toMatchObject({ delivered: 2, read: 2, failed: 1 });
    expect(snap.channels["1msg"]).toEqual({ messages: 2, delivered: 1, read: 1, failed: 1 });
    expect(snap.channels["twilio-sms"]).toEqual({ messages: 1, delivered: 1, read: 1, failed: 0 });
    expect(snap.deliveries).toEqual({ sent: 1, delivered: 1, read: 2, failed: 1 });
    expect(snap.deliveryErrors).toEqual({ "131026": 1 });
    expect(snap.unattributedDeliveries).toBe(0);
  });

  it("counts a report for a message it never saw under unknown, and says so", () => {
    const { metrics } = clocked();
    metrics.onEvent(events.delivery({ at: T0, messageId: "elsewhere", status: "delivered" }));
    const snap = metrics.snapshot();
    expect(snap.unattributedDeliveries).toBe(1);
    expect(snap.countries.unknown).toMatchObject({ delivered: 1 });
    expect(snap.totals.delivered).toBe(1);
  });
});

describe("createMetrics: cost estimate", () => {
  const prices = {
    currency: "USD",
    channels: {
      "1msg": {
        countries: { "*": 0.03, IN: 0.0014 },
        categories: { authentication_international: { IN: 0.028 } },
      },
      "twilio-sms": { billedOn: "sent" as const, countries: { BR: 0.05 } },
    },
  };

  it("is billable messages times the configured price, once per message", () => {
    const { metrics } = clocked({ prices });
    metrics.onEvent(events.sent({ country: "IN", at: T0, messageId: "a" }));
    metrics.onEvent(events.sent({ country: "IN", at: T0, messageId: "b" }));
    metrics.onEvent(events.sent({ country: "DE", at: T0, messageId: "c" }));
    metrics.onEvent(events.sent({ country: "DE", at: T0, messageId: "never-delivered" }));
    // WhatsApp is billed on delivery: `delivered` then `read` bills once.
    metrics.onEvent(events.delivery({ at: T0, messageId: "a", status: "delivered" }));
    metrics.onEvent(events.delivery({ at: T0, messageId: "a", status: "read" }));
    // The report's category picks its own price.
    metrics.onEvent(
      events.delivery({
        at: T0,
        messageId: "b",
        status: "delivered",
        pricing: { billable: true, category: "authentication_international" },
      }),
    );
    metrics.onEvent(events.delivery({ at: T0, messageId: "c", status: "read" }));
    // SMS is billed when the provider takes it, delivered or not; a country without a price is
    // counted as unpriced.
    metrics.onEvent(
      events.fallback({ country: "BR", at: T0, why: "refused", fallbackMessageId: "s1" }),
    );
    metrics.onEvent(
      events.fallback({ country: "AR", at: T0, why: "refused", fallbackMessageId: "s2" }),
    );
    metrics.onEvent(events.delivery({ at: T0, messageId: "s1", status: "failed" }));

    const cost = metrics.snapshot().cost;
    expect(cost).toEqual({
      currency: "USD",
      total: 0.1094,
      billable: 5,
      unpriced: 1,
      countries: { IN: 0.0294, DE: 0.03, BR: 0.05 },
      channels: { "1msg": 0.0594, "twilio-sms": 0.05 },
    });
  });

  it("leaves out a delivery its report marks not billable", () => {
    const { metrics } = clocked({ prices });
    metrics.onEvent(events.sent({ country: "DE", at: T0, messageId: "free" }));
    metrics.onEvent(
      events.delivery({
        at: T0,
        messageId: "free",
        status: "delivered",
        pricing: { billable: false, category: "authentication" },
      }),
    );
    expect(metrics.snapshot().cost).toMatchObject({ total: 0, billable: 0, unpriced: 0 });
  });

  it("is absent without prices, and rejects a table it cannot use", () => {
    expect(createMetrics().snapshot().cost).toBeUndefined();
    const bad = [
      { currency: "", channels: {} },
      { currency: "USD", channels: { "1msg": { countries: { US: -1 } } } },
      { currency: "USD", channels: { "1msg": { countries: { US: Number.NaN } } } },
      { currency: "USD", channels: { "1msg": { billedOn: "read", countries: {} } } },
      {
        currency: "USD",
        channels: { "1msg": { countries: {}, categories: { authentication: { US: "1" } } } },
      },
    ];
    for (const table of bad) {
      expect(() => createMetrics({ prices: table as never }), JSON.stringify(table)).toThrow(
        expect.objectContaining({ code: "CONFIG_INVALID" }),
      );
    }
  });
});

describe("createMetrics: bounds", () => {
  it("folds countries past maxCountries into other, keeping unknown apart", () => {
    const { metrics } = clocked({ maxCountries: 3 });
    for (const country of ["US", "GB", "DE", "FR", "IT"]) {
      metrics.onEvent(events.sent({ country, at: T0, messageId: country }));
    }
    metrics.onEvent(events.verified({ country: "", at: T0 }));
    const snap = metrics.snapshot();
    expect(Object.keys(snap.countries).sort()).toEqual(["DE", "GB", OTHER, "US", "unknown"].sort());
    expect(snap.countries[OTHER]).toMatchObject({ sent: 2 });
    expect(snap.totals.sent).toBe(5);
  });

  it("folds error codes and channels past maxKeys into other", () => {
    const { metrics } = clocked({ maxKeys: 2 });
    for (let i = 0; i < 5; i++) {
      metrics.onEvent(
        events.sent({ country: "US", at: T0, messageId: `m${i}`, channel: `ch${i}` }),
      );
      metrics.onEvent(
        events.delivery({ at: T0, messageId: `m${i}`, status: "failed", errorCode: String(i) }),
      );
    }
    const snap = metrics.snapshot();
    expect(snap.deliveryErrors).toEqual({ "0": 1, "1": 1, [OTHER]: 3 });
    expect(Object.keys(snap.channels)).toEqual(["ch0", "ch1", OTHER]);
    expect(snap.channels[OTHER]).toEqual({ messages: 3, delivered: 0, read: 0, failed: 3 });
  });

  it("remembers only the last maxMessages messages", () => {
    const { metrics } = clocked({ maxMessages: 2 });
    for (const id of ["m1", "m2", "m3"]) {
      metrics.onEvent(events.sent({ country: "US", at: T0, messageId: id }));
    }
    for (const id of ["m1", "m2", "m3"]) {
      metrics.onEvent(events.delivery({ at: T0, messageId: id, status: "delivered" }));
    }
    const snap = metrics.snapshot();
    expect(snap.unattributedDeliveries).toBe(1);
    expect(snap.countries.US).toMatchObject({ delivered: 2 });
  });

  it("validates its options", () => {
    for (const options of [
      { maxCountries: 0 },
      { maxKeys: 1.5 },
      { seriesMinutes: 1441 },
      { maxMessages: -1 },
    ]) {
      expect(() => createMetrics(options), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: "CONFIG_INVALID" }),
      );
    }
  });
});

describe("createMetrics: per-minute series", () => {
  it("has seriesMinutes minutes ending now, quiet ones as zeros, older ones dropped", () => {
    const { metrics, at } = clocked({ seriesMinutes: 5 });
    metrics.onEvent(events.sent({ country: "US", at: T0 + 10_000, messageId: "a" }));
    metrics.onEvent(events.sent({ country: "US", at: T0 + 20_000, messageId: "b" }));
    metrics.onEvent(events.verified({ country: "US", at: T0 + 2 * MINUTE + 5_000 }));
    at(T0 + 3 * MINUTE + 30_000);
    let series = metrics.snapshot().series;
    expect(series.map((m) => m.at.getTime())).toEqual([
      T0 - MINUTE,
      T0,
      T0 + MINUTE,
      T0 + 2 * MINUTE,
      T0 + 3 * MINUTE,
    ]);
    expect(series.map((m) => [m.sent, m.verified])).toEqual([
      [0, 0],
      [2, 0],
      [0, 0],
      [0, 1],
      [0, 0],
    ]);
    // Six minutes on, the ring's slot for T0 is reused by a new minute and the old counts are gone.
    at(T0 + 5 * MINUTE + 1_000);
    metrics.onEvent(events.sent({ country: "US", at: T0 + 5 * MINUTE + 1_000, messageId: "c" }));
    series = metrics.snapshot().series;
    expect(series.map((m) => m.sent)).toEqual([0, 0, 0, 0, 1]);
    expect(series[0]?.at.getTime()).toBe(T0 + MINUTE);
    // The totals keep everything.
    expect(metrics.snapshot().totals.sent).toBe(3);
  });

  it("keeps a late event out of the series when its minute has gone by", () => {
    const { metrics, at } = clocked({ seriesMinutes: 2 });
    at(T0 + 10 * MINUTE);
    metrics.onEvent(events.sent({ country: "US", at: T0, messageId: "late" }));
    const snap = metrics.snapshot();
    expect(snap.series.map((m) => m.sent)).toEqual([0, 0]);
    expect(snap.totals.sent).toBe(1);
  });
});

describe("createMetrics with createOtp", () => {
  it("counts a real engine's sends, guesses and verifications by the phone's country", async () => {
    const metrics = createMetrics();
    const t = setup({ onEvent: metrics.onEvent });
    await t.otp.send({ phone: PHONE_US });
    await t.otp.send({ phone: PHONE_GB });
    await t.otp.verify({ phone: PHONE_US, code: wrong(t.code(PHONE_US)) });
    await t.otp.verify({ phone: PHONE_US, code: t.code(PHONE_US) });
    const snap = metrics.snapshot();
    expect(snap.countries.US).toMatchObject({ sent: 1, rejected: 1, verified: 1, conversion: 1 });
    expect(snap.countries.GB).toMatchObject({ sent: 1, verified: 0, conversion: 0 });
    expect(snap.channels.test).toMatchObject({ messages: 2 });
    expect(JSON.stringify(snap)).not.toMatch(/4155550101|2079460958/);
  });
});

describe("createMetrics behind createOtp", () => {
  it("prices a WhatsApp message by the category Meta's delivery report gives it", async () => {
    const metrics = createMetrics({
      prices: {
        currency: "USD",
        channels: {
          test: {
            countries: { "*": 0.05 },
            categories: { authentication_international: { US: 0.02 } },
          },
        },
      },
    });
    const t = setup({ onEvent: metrics.onEvent });
    const { messageId } = await t.otp.send({ phone: PHONE_US });
    // Meta's raw status with its pricing (one-msg/fixtures/wire.ts: MCP, N8N, META).
    await t.otp.handleWebhook({
      object: "whatsapp_business_account",
      entry: [
        {
          changes: [
            {
              field: "messages",
              value: {
                statuses: [
                  {
                    id: messageId,
                    status: "delivered",
                    pricing: { billable: true, category: "authentication_international" },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    expect(metrics.snapshot().cost).toMatchObject({ currency: "USD", total: 0.02, billable: 1 });
  });
});

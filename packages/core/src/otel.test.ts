import { describe, expect, it } from "vitest";
import { PHONE_US, setup, wrong } from "../test/helpers.js";
import { events, MASKED } from "./metrics-test-events.js";
import {
  OTEL_INSTRUMENTS,
  type OtelAttributes,
  type OtelMeter,
  type OtelSpan,
  type OtelTracer,
  otelEvents,
} from "./otel.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/**
 * A meter and a tracer that keep what they are given, with the shapes of `@opentelemetry/api`'s
 * (`createCounter(name, { description, unit })`, `add(value, attributes)`, `startSpan(name,
 * { attributes, startTime })`, `addEvent(name, attributes, time)`, `end(time)`).
 */
function recorder(options: { histograms?: boolean } = {}) {
  const instruments = new Map<string, { description?: string; unit?: string }>();
  const points: { name: string; value: number; attributes: OtelAttributes }[] = [];
  const instrument = (name: string) => ({
    add: (value: number, attributes: OtelAttributes = {}) =>
      points.push({ name, value, attributes }),
    record: (value: number, attributes: OtelAttributes = {}) =>
      points.push({ name, value, attributes }),
  });
  const meter: OtelMeter = {
    createCounter(name, opts) {
      instruments.set(name, { ...opts });
      return instrument(name);
    },
    ...(options.histograms === false
      ? {}
      : {
          createHistogram(name: string, opts?: { description?: string; unit?: string }) {
            instruments.set(name, { ...opts });
            return instrument(name);
          },
        }),
  };
  const spans: {
    name: string;
    attributes?: OtelAttributes;
    startTime?: Date;
    endTime?: Date;
  }[] = [];
  const tracer: OtelTracer = {
    startSpan(name, opts) {
      const span = { name, ...opts, endTime: undefined as Date | undefined };
      spans.push(span);
      return {
        addEvent: () => undefined,
        end: (endTime) => {
          span.endTime = endTime;
        },
      };
    },
  };
  const spanEvents: { name: string; attributes?: OtelAttributes; time?: Date }[] = [];
  const active: OtelSpan = {
    addEvent: (name, attributes, time) => spanEvents.push({ name, attributes, time }),
    end: () => undefined,
  };
  return {
    meter,
    tracer,
    active,
    instruments,
    points,
    spans,
    spanEvents,
    of: (name: string) => points.filter((p) => p.name === name),
  };
}

describe("otelEvents", () => {
  it("creates its counters, with descriptions and units, and a delivery-time histogram", () => {
    const r = recorder();
    otelEvents({ meter: r.meter });
    expect([...r.instruments.keys()]).toEqual([
      ...Object.keys(OTEL_INSTRUMENTS),
      "waotp.delivery.duration",
    ]);
    expect(r.instruments.get("waotp.sends")).toEqual({
      description: OTEL_INSTRUMENTS["waotp.sends"],
      unit: "{message}",
    });
    expect(r.instruments.get("waotp.delivery.duration")).toMatchObject({ unit: "s" });
    // A meter without histograms still gets every counter.
    const bare = recorder({ histograms: false });
    otelEvents({ meter: bare.meter });
    expect(bare.instruments.size).toBe(6);
  });

  it("counts each event in its counter, with country, purpose, channel and its cause", () => {
    const r = recorder();
    const onEvent = otelEvents({ meter: r.meter });
    const at = T0;
    void onEvent(events.sent({ country: "US", at, messageId: "m1", purpose: "register" }));
    void onEvent(events.verified({ country: "US", at }));
    void onEvent(events.rejected({ country: "GB", at, reason: "INVALID_CODE" }));
    void onEvent(events.limited({ country: "GB", at, limit: "phone_cooldown" }));
    void onEvent(events.fallback({ country: "BR", at, why: "refused", fallbackMessageId: "s1" }));
    void onEvent(events.sendFailed({ country: "BR", at, error: "SEND_FAILED" }));
    expect(r.of("waotp.sends")).toEqual([
      {
        name: "waotp.sends",
        value: 1,
        attributes: { "waotp.country": "US", "waotp.purpose": "register", "waotp.channel": "1msg" },
      },
    ]);
    expect(r.of("waotp.verifications")[0]?.attributes).toEqual({
      "waotp.country": "US",
      "waotp.purpose": "login",
    });
    expect(r.of("waotp.refusals").map((p) => p.attributes)).toEqual([
      { "waotp.country": "GB", "waotp.purpose": "login", "waotp.reason": "INVALID_CODE" },
      {
        "waotp.country": "GB",
        "waotp.purpose": "login",
        "waotp.reason": "RATE_LIMITED",
        "waotp.limit": "phone_cooldown",
      },
    ]);
    expect(r.of("waotp.fallbacks")[0]?.attributes).toEqual({
      "waotp.country": "BR",
      "waotp.purpose": "login",
      "waotp.channel": "twilio-sms",
      "waotp.why": "refused",
    });
    expect(r.of("waotp.send_failures")[0]?.attributes).toMatchObject({
      "waotp.error": "SEND_FAILED",
    });
    // Never a phone, masked or not, in any attribute.
    expect(JSON.stringify(r.points)).not.toContain(MASKED);
  });

  it("tags a delivery report with its message's country and channel, and times its delivery", () => {
    const r = recorder();
    const onEvent = otelEvents({ meter: r.meter });
    void onEvent(events.sent({ country: "IN", at: T0, messageId: "w1" }));
    void onEvent(events.delivery({ at: T0 + 2_500, messageId: "w1", status: "delivered" }));
    void onEvent(events.delivery({ at: T0 + 9_000, messageId: "w1", status: "read" }));
    void onEvent(
      events.delivery({ at: T0, messageId: "unseen", status: "failed", errorCode: "131026" }),
    );
    expect(r.of("waotp.deliveries").map((p) => p.attributes)).toEqual([
      {
        "waotp.country": "IN",
        "waotp.channel": "1msg",
        "waotp.purpose": "login",
        "waotp.status": "delivered",
      },
      {
        "waotp.country": "IN",
        "waotp.channel": "1msg",
        "waotp.purpose": "login",
        "waotp.status": "read",
      },
      { "waotp.country": "unknown", "waotp.status": "failed", "waotp.error_code": "131026" },
    ]);
    // Timed once, at the first report that it reached the phone.
    expect(r.of("waotp.delivery.duration")).toEqual([
      {
        name: "waotp.delivery.duration",
        value: 2.5,
        attributes: { "waotp.country": "IN", "waotp.channel": "1msg", "waotp.purpose": "login" },
      },
    ]);
  });

  it("marks a test send's events", () => {
    const r = recorder();
    void otelEvents({ meter: r.meter })(
      events.sent({ country: "US", at: T0, messageId: "t", test: true }),
    );
    expect(r.of("waotp.sends")[0]?.attributes).toMatchObject({ "waotp.test": true });
  });

  it("adds each event to the active span, and with a tracer makes a span of it at its time", () => {
    const r = recorder();
    const onEvent = otelEvents({ meter: r.meter, tracer: r.tracer, activeSpan: () => r.active });
    void onEvent(events.sent({ country: "US", at: T0, messageId: "m1" }));
    void onEvent(events.verified({ country: "US", at: T0 + 30_000 }));
    expect(r.spanEvents).toEqual([
      {
        name: "waotp.sent",
        attributes: { "waotp.country": "US", "waotp.purpose": "login", "waotp.channel": "1msg" },
        time: new Date(T0),
      },
      {
        name: "waotp.verified",
        attributes: { "waotp.country": "US", "waotp.purpose": "login" },
        time: new Date(T0 + 30_000),
      },
    ]);
    expect(r.spans).toEqual([
      {
        name: "waotp.sent",
        attributes: { "waotp.country": "US", "waotp.purpose": "login", "waotp.channel": "1msg" },
        startTime: new Date(T0),
        endTime: new Date(T0),
      },
      {
        name: "waotp.verified",
        attributes: { "waotp.country": "US", "waotp.purpose": "login" },
        startTime: new Date(T0 + 30_000),
        endTime: new Date(T0 + 30_000),
      },
    ]);
    // No active span: nothing to add to, nothing breaks.
    const quiet = otelEvents({ meter: r.meter, activeSpan: () => undefined });
    expect(() => quiet(events.verified({ country: "US", at: T0 }))).not.toThrow();
  });

  it("never lets a failing exporter break the call it observes", () => {
    const meter: OtelMeter = {
      createCounter: () => ({
        add: () => {
          throw new Error("exporter down");
        },
      }),
    };
    expect(() => otelEvents({ meter })(events.verified({ country: "US", at: T0 }))).not.toThrow();
    expect(() => otelEvents({ meter: recorder().meter, maxMessages: 0 })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
  });

  it("records a real engine's sends and verifications", async () => {
    const r = recorder();
    const t = setup({ onEvent: otelEvents({ meter: r.meter }) });
    await t.otp.send({ phone: PHONE_US });
    await t.otp.verify({ phone: PHONE_US, code: wrong(t.code(PHONE_US)) });
    await t.otp.verify({ phone: PHONE_US, code: t.code(PHONE_US) });
    expect(r.of("waotp.sends")[0]?.attributes).toEqual({
      "waotp.country": "US",
      "waotp.purpose": "login",
      "waotp.channel": "test",
    });
    expect(r.of("waotp.refusals")[0]?.attributes).toMatchObject({ "waotp.reason": "INVALID_CODE" });
    expect(r.of("waotp.verifications")).toHaveLength(1);
    expect(JSON.stringify(r.points)).not.toMatch(/4155550101/);
  });
});

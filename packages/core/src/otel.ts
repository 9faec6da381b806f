/**
 * `@waotp/core/otel`: waotp's events as OpenTelemetry counters (and, optionally, spans or span
 * events). Written against the few methods it calls, which `@opentelemetry/api`'s `Meter`,
 * `Tracer` and `Span` have: the core depends on no OpenTelemetry package, and the app passes the
 * meter and tracer of the SDK it already runs.
 */
import { OtpError } from "./errors.js";
import type { OnEvent, OtpEvent } from "./events.js";
import {
  eventCountry,
  isTestEvent,
  messageIndex,
  seenMessage,
  UNKNOWN_COUNTRY,
} from "./metrics-events.js";

/** Attribute values, as OpenTelemetry takes them. */
export type OtelAttributes = Record<string, string | number | boolean>;

/** What is used of an OpenTelemetry `Counter`. */
export interface OtelCounter {
  add(value: number, attributes?: OtelAttributes): void;
}

/** What is used of an OpenTelemetry `Histogram`. */
export interface OtelHistogram {
  record(value: number, attributes?: OtelAttributes): void;
}

export interface OtelInstrumentOptions {
  description?: string;
  unit?: string;
}

/** What is used of an OpenTelemetry `Meter` (`metrics.getMeter("waotp")`). */
export interface OtelMeter {
  createCounter(name: string, options?: OtelInstrumentOptions): OtelCounter;
  /** When the meter has it, delivery times are recorded too (`waotp.delivery.duration`). */
  createHistogram?(name: string, options?: OtelInstrumentOptions): OtelHistogram;
}

/** What is used of an OpenTelemetry `Span`. */
export interface OtelSpan {
  addEvent(name: string, attributes?: OtelAttributes, time?: Date): unknown;
  end(endTime?: Date): void;
}

/** What is used of an OpenTelemetry `Tracer` (`trace.getTracer("waotp")`). */
export interface OtelTracer {
  startSpan(name: string, options?: { attributes?: OtelAttributes; startTime?: Date }): OtelSpan;
}

export interface OtelEventsOptions {
  /** Where the counters are created. */
  meter: OtelMeter;
  /**
   * With a tracer, every event also becomes a span of its own, `waotp.<type>` (`waotp.sent`,
   * `waotp.delivery`), starting and ending at the event's time with the same attributes: a mark
   * on the trace of the request that caused it.
   * @default undefined (no spans)
   */
  tracer?: OtelTracer;
  /**
   * Gives the span the event happened under, to add the event to it (`waotp.sent` on the request's
   * span). Events are handed over while the call that caused them runs, so
   * `() => trace.getActiveSpan()` finds the request's span. Delivery reports arrive on the
   * webhook's own request.
   * @default undefined (no span events)
   */
  activeSpan?: () => OtelSpan | undefined;
  /**
   * Message ids remembered, so a delivery report carries its message's country, channel and
   * purpose, and its delivery time is measured. Oldest forgotten first, each after a day.
   * @default 10000
   */
  maxMessages?: number;
}

const MESSAGE_TTL_MS = 24 * 3600_000;

/** The counters `otelEvents` creates, with what each counts. */
export const OTEL_INSTRUMENTS = {
  "waotp.sends": "Codes the main channel took (sent events)",
  "waotp.send_failures": "Sends the channel did not take, by error code",
  "waotp.verifications": "Codes verified",
  "waotp.refusals":
    "Guesses rejected, by reason, and calls a limit refused (reason RATE_LIMITED), by limit",
  "waotp.fallbacks": "Codes the fallback channel carried, by why",
  "waotp.deliveries": "Delivery reports, by status",
} as const;

/**
 * An `onEvent` that records waotp's events as OpenTelemetry metrics: `waotp.sends`,
 * `waotp.send_failures`, `waotp.verifications`, `waotp.refusals`, `waotp.fallbacks` and
 * `waotp.deliveries` counters and, when the meter makes histograms, `waotp.delivery.duration`
 * (seconds from send to delivered). Attributes are `waotp.country`, `waotp.purpose`,
 * `waotp.channel` and what tells an event apart (`waotp.reason`, `waotp.limit`, `waotp.why`,
 * `waotp.status`, `waotp.error`, `waotp.error_code`); a test send's events carry
 * `waotp.test: true`. Never a phone number, never a code.
 *
 * Every instance exports its own counts; the collector sums them, so unlike `createMetrics` this
 * works across processes. A delivery report is tagged with its message's country and channel
 * when this process saw the message go out, `unknown` otherwise.
 *
 * @example
 * import { metrics, trace } from "@opentelemetry/api";
 * import { otelEvents } from "@waotp/core/otel";
 *
 * const otp = createOtp({
 *   secret, channel,
 *   onEvent: otelEvents({ meter: metrics.getMeter("waotp"), activeSpan: () => trace.getActiveSpan() }),
 * });
 */
export function otelEvents(options: OtelEventsOptions): OnEvent {
  const { meter, tracer, activeSpan } = options;
  const maxMessages = options.maxMessages ?? 10_000;
  if (!Number.isInteger(maxMessages) || maxMessages < 1) {
    throw new OtpError("CONFIG_INVALID", "otelEvents: `maxMessages` must be a positive integer.");
  }
  const counter = (name: keyof typeof OTEL_INSTRUMENTS, unit: string) =>
    meter.createCounter(name, { description: OTEL_INSTRUMENTS[name], unit });
  const sends = counter("waotp.sends", "{message}");
  const sendFailures = counter("waotp.send_failures", "{send}");
  const verifications = counter("waotp.verifications", "{verification}");
  const refusals = counter("waotp.refusals", "{call}");
  const fallbacks = counter("waotp.fallbacks", "{message}");
  const deliveries = counter("waotp.deliveries", "{report}");
  const deliveryTime = meter.createHistogram?.("waotp.delivery.duration", {
    description: "Seconds from a send to its first delivered (or read) report",
    unit: "s",
  });
  const messages = messageIndex(maxMessages, MESSAGE_TTL_MS);

  function attributesOf(event: OtpEvent): OtelAttributes {
    const test: OtelAttributes = isTestEvent(event) ? { "waotp.test": true } : {};
    if (event.type === "delivery") {
      const message = messages.find(event.messageId, event.at.getTime());
      return {
        "waotp.country": message?.country ?? UNKNOWN_COUNTRY,
        ...(message === undefined
          ? {}
          : { "waotp.channel": message.channel, "waotp.purpose": message.purpose }),
        "waotp.status": event.status,
        ...(event.errorCode === undefined ? {} : { "waotp.error_code": event.errorCode }),
        ...test,
      };
    }
    const base: OtelAttributes = {
      "waotp.country": eventCountry(event) ?? UNKNOWN_COUNTRY,
      "waotp.purpose": event.purpose,
      ...test,
    };
    switch (event.type) {
      case "sent":
        return { ...base, "waotp.channel": event.channel };
      case "fallback":
        return { ...base, "waotp.channel": event.channel, "waotp.why": event.why };
      case "rejected":
        return { ...base, "waotp.reason": event.reason };
      case "limited":
        return { ...base, "waotp.reason": "RATE_LIMITED", "waotp.limit": event.limit };
      case "refused":
        return {
          ...base,
          "waotp.reason": event.code,
          ...(event.reason === undefined ? {} : { "waotp.refusal": event.reason }),
        };
      case "send_failed":
        return { ...base, "waotp.error": event.error };
      case "verified":
        return base;
    }
  }

  function count(event: OtpEvent, attributes: OtelAttributes): void {
    const at = event.at.getTime();
    // A message sent, by either channel: its delivery reports later count under the same labels.
    const rememberMessage = (messageId: string, channel: string, purpose: string) =>
      messages.remember(
        messageId,
        seenMessage(String(attributes["waotp.country"]), channel, purpose, at),
      );
    switch (event.type) {
      case "sent":
        sends.add(1, attributes);
        rememberMessage(event.messageId, event.channel, event.purpose);
        return;
      case "fallback":
        fallbacks.add(1, attributes);
        rememberMessage(event.fallbackMessageId, event.channel, event.purpose);
        return;
      case "verified":
        verifications.add(1, attributes);
        return;
      case "rejected":
      case "limited":
      case "refused":
        refusals.add(1, attributes);
        return;
      case "send_failed":
        sendFailures.add(1, attributes);
        return;
      case "delivery": {
        deliveries.add(1, attributes);
        const message = messages.find(event.messageId, at);
        const reached = event.status === "delivered" || event.status === "read";
        if (message !== undefined && reached && !message.reached) {
          message.reached = true;
          const { "waotp.status": _status, ...tags } = attributes;
          deliveryTime?.record(Math.max(0, (at - message.sentAt) / 1000), tags);
        }
        return;
      }
    }
  }

  return (event) => {
    try {
      const attributes = attributesOf(event);
      count(event, attributes);
      const name = `waotp.${event.type}`;
      activeSpan?.()?.addEvent(name, attributes, event.at);
      tracer?.startSpan(name, { attributes, startTime: event.at }).end(event.at);
    } catch {
      // A telemetry failure never changes the call it observes.
    }
  };
}

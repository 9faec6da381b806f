/**
 * What the observers (metrics, OpenTelemetry, the tripwire) read from events, in one place: the
 * country an event names, whether it is a test send, and the messages they saw go out, so a
 * delivery report (which names a message only) can be told apart by country and channel.
 */
import type { DeliveryPricing } from "./delivery-status.js";
import type { OtpEvent } from "./events.js";

/** The country given to events that name none, or a value unfit for a label. */
export const UNKNOWN_COUNTRY = "unknown";

// An ISO region ("US"), or a calling code with its plus ("+870") for a number of no region: short,
// letters and digits only. Anything else is not trusted as a label or a store key.
const COUNTRY = /^\+?[A-Za-z0-9]{1,8}$/;

/** `value` as a country label (upper case), or undefined when it cannot be one. */
export function countryLabel(value: unknown): string | undefined {
  return typeof value === "string" && COUNTRY.test(value) ? value.toUpperCase() : undefined;
}

/**
 * The country an event names (an ISO region such as `"US"`, or `"+870"` for a number of no
 * region), or undefined when it names none (delivery reports). Read without assuming the field, so
 * an event from an engine that does not set it passes through.
 */
export function eventCountry(event: OtpEvent): string | undefined {
  return countryLabel((event as { country?: unknown }).country);
}

/** Whether the event comes from a test send (`test: true`): it costs nothing and proves nothing. */
export function isTestEvent(event: OtpEvent): boolean {
  return (event as { test?: unknown }).test === true;
}

/** The `pricing` of a delivery event, when the event carries one. */
export function eventPricing(event: OtpEvent): DeliveryPricing | undefined {
  return event.type === "delivery" ? event.pricing : undefined;
}

/** A message an observer saw go out. */
export interface SeenMessage {
  country: string;
  channel: string;
  purpose: string;
  /** Epoch milliseconds of the `sent` or `fallback` event. */
  sentAt: number;
  /** A delivery report said it reached the phone (`delivered` or `read`). */
  reached: boolean;
  /** A delivery report said it was read. */
  read: boolean;
  /** A delivery report said it failed. */
  failed: boolean;
  /** Its cost was counted (or found not billable): never twice. */
  billed: boolean;
}

/**
 * The last `max` messages seen, by message id, each forgotten `ttlMs` after its send. Oldest go
 * first: a delivery report for a forgotten message still counts, only without its country.
 */
export interface MessageIndex {
  remember(messageId: string, message: SeenMessage): void;
  find(messageId: string, now: number): SeenMessage | undefined;
  readonly size: number;
  clear(): void;
}

export function messageIndex(max: number, ttlMs: number): MessageIndex {
  // A Map keeps insertion order, so its first entry is the oldest send.
  const messages = new Map<string, SeenMessage>();
  return {
    remember(messageId, message) {
      messages.delete(messageId);
      messages.set(messageId, message);
      while (messages.size > max) {
        const oldest = messages.keys().next();
        if (oldest.done) break;
        messages.delete(oldest.value);
      }
    },
    find(messageId, now) {
      const message = messages.get(messageId);
      if (message === undefined) return undefined;
      if (message.sentAt + ttlMs <= now) {
        messages.delete(messageId);
        return undefined;
      }
      return message;
    },
    get size() {
      return messages.size;
    },
    clear() {
      messages.clear();
    },
  };
}

/** A new message record for a `sent` or `fallback` event. */
export function seenMessage(country: string, channel: string, purpose: string, sentAt: number) {
  return {
    country,
    channel,
    purpose,
    sentAt,
    reached: false,
    read: false,
    failed: false,
    billed: false,
  } satisfies SeenMessage;
}

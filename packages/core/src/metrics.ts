/**
 * In-process metrics from `onEvent`: counters by country and channel, conversion, a cost estimate
 * and a per-minute series for a chart. Bounded whatever the traffic: labels past a cap fold into
 * `other`, and only the last `maxMessages` message ids are remembered (to attribute delivery
 * reports). Nothing here holds a phone number or a code: events never carry either.
 */
import type { DeliveryStatus } from "./delivery-status.js";
import type { VerifyFailureReason } from "./error-codes.js";
import { OtpError } from "./errors.js";
import type { LimitName, OtpEvent } from "./events.js";
import {
  eventCountry,
  eventPricing,
  isTestEvent,
  messageIndex,
  type SeenMessage,
  seenMessage,
  UNKNOWN_COUNTRY,
} from "./metrics-events.js";
import type { FallbackReason } from "./options.js";

/** The label counts fold into once a dimension holds its cap of distinct values. */
export const OTHER = "other";

/**
 * What a channel's messages cost, for the estimate. Providers' delivery reports carry no amount
 * (Meta's webhooks say whether a message is `billable` and its `category`, not its price), so the
 * prices are yours to copy from the provider's rate card.
 */
export interface ChannelPrices {
  /**
   * When a message starts to cost: `"delivered"` for WhatsApp (Meta charges a template message
   * once it is delivered), `"sent"` for SMS (charged once the provider takes it).
   * @default "delivered"
   */
  billedOn?: "sent" | "delivered";
  /** Price of one message by country (ISO region or calling code, as events name it); `"*"` for the rest. */
  countries: Readonly<Record<string, number>>;
  /**
   * Prices by the pricing category a delivery report names (Meta's `authentication`,
   * `authentication_international`), then by country (`"*"` for the rest). Used when the delivery
   * event carries `pricing.category`; `countries` otherwise.
   */
  categories?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface PriceTable {
  /** The currency of every price (`"USD"`); only repeated in the snapshot, never converted. */
  currency: string;
  /** Prices by channel name (`"1msg"`, `"twilio-sms"`, `"vonage-sms"`). */
  channels: Readonly<Record<string, ChannelPrices>>;
}

export interface MetricsOptions {
  /** Clock in epoch milliseconds: the series' current minute, the snapshot's time. @default Date.now */
  now?: () => number;
  /**
   * Distinct countries counted apart; events from further countries count under `other`.
   * @default 300 (every region and non-geographic calling code fits)
   */
  maxCountries?: number;
  /**
   * Distinct values kept apart in every other open-ended dimension (channel names, send error
   * codes, providers' delivery error codes); further values count under `other`.
   * @default 50
   */
  maxKeys?: number;
  /** Minutes in the per-minute series, 1 to 1440. @default 60 */
  seriesMinutes?: number;
  /**
   * Message ids remembered, so a delivery report is counted under its message's country and
   * channel (and in the cost). About 200 bytes each; the oldest are forgotten first, and each
   * after a day. @default 10000
   */
  maxMessages?: number;
  /** Prices that turn billable messages into a cost estimate; no `cost` in the snapshot without them. */
  prices?: PriceTable;
}

/** Counts for the whole app, one country or one minute. */
export interface Counts {
  /** Codes the main channel took (`sent` events). */
  sent: number;
  /** Codes the fallback channel took (`fallback` events). */
  fallbacks: number;
  /**
   * Codes a user could type: every `sent`, and every fallback that did not replace a pending
   * message (after a refusal or a request). A fallback taking over a failed or late message is
   * the same attempt, so it is not counted twice.
   */
  codes: number;
  verified: number;
  /** Guesses that failed (`rejected` events). */
  rejected: number;
  /** Calls a limit refused (`limited` events), sends and guesses alike. */
  limited: number;
  /**
   * Sends refused before any limit (`refused` events): a refused number type or country, an
   * unknown client, `beforeSend`.
   */
  refused: number;
  /** Sends the channel did not take (`send_failed` events). */
  sendFailed: number;
  /** Messages that reached the phone (`delivered` or `read`), each once. */
  delivered: number;
  /** Messages read, each once. */
  read: number;
  /** Messages reported `failed` or `undelivered`, each once. */
  failed: number;
}

export interface CountryMetrics extends Counts {
  /** `verified / codes`: the share of codes someone typed in. `null` before any code. */
  conversion: number | null;
}

export interface ChannelMetrics {
  /** Messages the channel took (main sends and fallbacks). */
  messages: number;
  delivered: number;
  read: number;
  failed: number;
}

export interface MinuteMetrics extends Counts {
  /** The minute's start. */
  at: Date;
}

/**
 * The cost estimate: billable messages times the configured price of their channel, category
 * and country. An estimate: prices are yours, the provider's invoice is the truth.
 */
export interface CostEstimate {
  currency: string;
  total: number;
  /** Messages that reached the channel's billing point (`billedOn`) and were not marked free. */
  billable: number;
  /** Billable messages with no price in the table (their channel or country is missing): not in `total`. */
  unpriced: number;
  countries: Record<string, number>;
  channels: Record<string, number>;
}

export interface MetricsSnapshot {
  /** When counting started (creation or the last `reset()`). */
  since: Date;
  at: Date;
  totals: CountryMetrics;
  countries: Record<string, CountryMetrics>;
  channels: Record<string, ChannelMetrics>;
  rejected: Partial<Record<VerifyFailureReason, number>>;
  limited: Partial<Record<LimitName, number>>;
  /** Sends refused before any limit, by code; `SEND_REFUSED` by `beforeSend`'s reason (`SEND_REFUSED:captcha_failed`). */
  refused: Record<string, number>;
  fallbacks: Partial<Record<FallbackReason, number>>;
  /** Failed sends by error code (`SEND_FAILED`, `STORE_UNAVAILABLE`, ...). */
  sendFailures: Record<string, number>;
  /** Delivery reports by status (every report, including later ones for the same message). */
  deliveries: Partial<Record<DeliveryStatus, number>>;
  /** Providers' error codes on delivery reports (Meta's `131026`, ...). */
  deliveryErrors: Record<string, number>;
  /**
   * Delivery reports for a message this process did not see go out (sent by another instance, or
   * forgotten): counted in `deliveries` and the totals under country `unknown`, not in the cost.
   */
  unattributedDeliveries: number;
  /** Events of test sends (`test: true`): counted here only. */
  testEvents: number;
  /** Oldest minute first, `seriesMinutes` of them, ending with the current one; quiet minutes are zeros. */
  series: MinuteMetrics[];
  cost?: CostEstimate;
}

export interface Metrics {
  /** Counts one event. Pass it as `onEvent`, or call it from yours. Never throws. */
  onEvent(event: OtpEvent): void;
  /** The counts so far, as plain data (JSON-ready apart from its dates). */
  snapshot(): MetricsSnapshot;
  /** Starts again from zero. */
  reset(): void;
}

interface ResolvedOptions {
  now: () => number;
  maxCountries: number;
  maxKeys: number;
  seriesMinutes: number;
  maxMessages: number;
  prices: PriceTable | undefined;
}

const MINUTE_MS = 60_000;
const MESSAGE_TTL_MS = 24 * 3600_000;

function fail(message: string): never {
  throw new OtpError("CONFIG_INVALID", message);
}

function positiveInteger(value: number | undefined, fallback: number, name: string, max = 1e7) {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    fail(`metrics: \`${name}\` must be an integer from 1 to ${max}.`);
  }
  return value;
}

function checkPrices(prices: PriceTable): PriceTable {
  if (typeof prices.currency !== "string" || prices.currency.length === 0) {
    fail("metrics: `prices.currency` must name a currency.");
  }
  const checkTable = (table: Readonly<Record<string, number>>, where: string) => {
    for (const [country, price] of Object.entries(table)) {
      if (typeof price !== "number" || !Number.isFinite(price) || price < 0) {
        fail(`metrics: the price for ${country} in ${where} must be a number, 0 or more.`);
      }
    }
  };
  for (const [channel, table] of Object.entries(prices.channels ?? {})) {
    const billedOn = table.billedOn ?? "delivered";
    if (billedOn !== "sent" && billedOn !== "delivered") {
      fail(`metrics: \`prices.channels.${channel}.billedOn\` must be "sent" or "delivered".`);
    }
    checkTable(table.countries ?? {}, `prices.channels.${channel}`);
    for (const [category, byCountry] of Object.entries(table.categories ?? {})) {
      checkTable(byCountry, `prices.channels.${channel}.categories.${category}`);
    }
  }
  return prices;
}

function resolveOptions(options: MetricsOptions): ResolvedOptions {
  return {
    now: options.now ?? Date.now,
    maxCountries: positiveInteger(options.maxCountries, 300, "maxCountries"),
    maxKeys: positiveInteger(options.maxKeys, 50, "maxKeys"),
    seriesMinutes: positiveInteger(options.seriesMinutes, 60, "seriesMinutes", 1440),
    maxMessages: positiveInteger(options.maxMessages, 10_000, "maxMessages"),
    prices: options.prices === undefined ? undefined : checkPrices(options.prices),
  };
}

const zero = (): Counts => ({
  sent: 0,
  fallbacks: 0,
  codes: 0,
  verified: 0,
  rejected: 0,
  limited: 0,
  refused: 0,
  sendFailed: 0,
  delivered: 0,
  read: 0,
  failed: 0,
});

const withConversion = (counts: Counts): CountryMetrics => ({
  ...counts,
  conversion: counts.codes === 0 ? null : counts.verified / counts.codes,
});

// Sums of prices, kept to a millionth so 0.1 + 0.2 reads as 0.3.
const money = (value: number) => Math.round(value * 1e6) / 1e6;

/** Adds to a count in a map holding at most `max` keys; a new key past that counts as `other`. */
function bump(map: Map<string, number>, key: string, max: number, by = 1): void {
  const label = map.has(key) || map.size < max ? key : OTHER;
  map.set(label, (map.get(label) ?? 0) + by);
}

/**
 * Counts what `onEvent` sees, in memory, for one process: sends, deliveries, verifications,
 * refusals by reason and limit, fallbacks by cause, per country and per channel, conversion by
 * country, a per-minute series and, with `prices`, an estimate of what the messages cost. Every
 * structure is bounded (see the options), so a flood of odd countries or error codes cannot grow
 * it. Several processes each count their own; sum their snapshots, or use `@waotp/core/otel`.
 *
 * @example
 * const metrics = createMetrics({
 *   prices: { currency: "USD", channels: { "1msg": { countries: { "*": 0.03, IN: 0.0014 } } } },
 * });
 * const otp = createOtp({ secret, channel, onEvent: metrics.onEvent });
 * app.get("/admin/otp-metrics", (_req, res) => res.json(metrics.snapshot()));
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const config = resolveOptions(options);
  const { now, maxCountries, maxKeys, seriesMinutes, prices } = config;

  let since = now();
  const messages = messageIndex(config.maxMessages, MESSAGE_TTL_MS);
  let totals = zero();
  const countries = new Map<string, Counts>();
  const channels = new Map<string, ChannelMetrics>();
  const rejected = new Map<string, number>();
  const limited = new Map<string, number>();
  const refused = new Map<string, number>();
  const fallbacks = new Map<string, number>();
  const sendFailures = new Map<string, number>();
  const deliveries = new Map<string, number>();
  const deliveryErrors = new Map<string, number>();
  let unattributed = 0;
  let testEvents = 0;
  // The series: one slot per minute, reused as the minutes go round.
  let minutes: { minute: number; counts: Counts }[] = [];
  const cost = {
    total: 0,
    billable: 0,
    unpriced: 0,
    countries: new Map<string, number>(),
    channels: new Map<string, number>(),
  };

  function countryCounts(country: string): Counts {
    let counts = countries.get(country);
    if (counts !== undefined) return counts;
    // `unknown` and `other` always get a row, so the cap never hides them.
    const label = countries.size < maxCountries || country === UNKNOWN_COUNTRY ? country : OTHER;
    counts = countries.get(label);
    if (counts === undefined) {
      counts = zero();
      countries.set(label, counts);
    }
    return counts;
  }

  function channelCounts(channel: string): ChannelMetrics {
    const label = channels.has(channel) || channels.size < maxKeys ? channel : OTHER;
    let counts = channels.get(label);
    if (counts === undefined) {
      counts = { messages: 0, delivered: 0, read: 0, failed: 0 };
      channels.set(label, counts);
    }
    return counts;
  }

  /** The series slot for the minute of `at`, or undefined when `at` is older than the series. */
  function minuteCounts(at: number): Counts | undefined {
    const minute = Math.floor(at / MINUTE_MS);
    if (minute <= Math.floor(now() / MINUTE_MS) - seriesMinutes) return undefined;
    const index = ((minute % seriesMinutes) + seriesMinutes) % seriesMinutes;
    const slot = minutes[index];
    if (slot !== undefined && slot.minute === minute) return slot.counts;
    // A slot holding a later minute keeps it: this event is too late for the series.
    if (slot !== undefined && slot.minute > minute) return undefined;
    const fresh = { minute, counts: zero() };
    minutes[index] = fresh;
    return fresh.counts;
  }

  /** Adds one to `field` in the totals, the country's counts and the event's minute. */
  function count(field: keyof Counts, country: string, at: number): void {
    totals[field]++;
    countryCounts(country)[field]++;
    const slot = minuteCounts(at);
    if (slot !== undefined) slot[field]++;
  }

  function priceOf(message: SeenMessage, category: string | undefined): number | undefined {
    const table = prices?.channels[message.channel];
    if (table === undefined) return undefined;
    const byCategory = category === undefined ? undefined : table.categories?.[category];
    return (
      byCategory?.[message.country] ??
      byCategory?.["*"] ??
      table.countries[message.country] ??
      table.countries["*"]
    );
  }

  /** Counts a message's cost, once, when it reaches its channel's billing point. */
  function bill(message: SeenMessage, stage: "sent" | "delivered", event?: OtpEvent): void {
    if (prices === undefined || message.billed) return;
    const billedOn = prices.channels[message.channel]?.billedOn ?? "delivered";
    if (billedOn !== stage) return;
    message.billed = true;
    const pricing = event === undefined ? undefined : eventPricing(event);
    if (pricing?.billable === false) return;
    cost.billable++;
    const price = priceOf(message, pricing?.category);
    if (price === undefined) {
      cost.unpriced++;
      return;
    }
    cost.total += price;
    bump(cost.countries, message.country, maxCountries, price);
    bump(cost.channels, message.channel, maxKeys, price);
  }

  function onDelivery(event: Extract<OtpEvent, { type: "delivery" }>): void {
    const at = event.at.getTime();
    bump(deliveries, event.status, maxKeys);
    if (event.errorCode !== undefined) bump(deliveryErrors, event.errorCode, maxKeys);
    const message = messages.find(event.messageId, at);
    const reached = event.status === "delivered" || event.status === "read";
    const failed = event.status === "failed" || event.status === "undelivered";
    if (message === undefined) {
      // Without the send, repeats of one message cannot be told apart: each report counts once.
      unattributed++;
      if (event.status === "delivered") count("delivered", UNKNOWN_COUNTRY, at);
      if (event.status === "read") count("read", UNKNOWN_COUNTRY, at);
      if (failed) count("failed", UNKNOWN_COUNTRY, at);
      return;
    }
    const channel = channelCounts(message.channel);
    if (reached && !message.reached) {
      message.reached = true;
      count("delivered", message.country, at);
      channel.delivered++;
      bill(message, "delivered", event);
    }
    if (event.status === "read" && !message.read) {
      message.read = true;
      count("read", message.country, at);
      channel.read++;
    }
    if (failed && !message.failed) {
      message.failed = true;
      count("failed", message.country, at);
      channel.failed++;
    }
  }

  function record(event: OtpEvent): void {
    if (isTestEvent(event)) {
      testEvents++;
      return;
    }
    const at = event.at.getTime();
    if (event.type === "delivery") {
      onDelivery(event);
      return;
    }
    const country = eventCountry(event) ?? UNKNOWN_COUNTRY;
    switch (event.type) {
      case "sent": {
        count("sent", country, at);
        count("codes", country, at);
        channelCounts(event.channel).messages++;
        const message = seenMessage(country, event.channel, event.purpose, at);
        messages.remember(event.messageId, message);
        bill(message, "sent");
        return;
      }
      case "fallback": {
        count("fallbacks", country, at);
        // A takeover replaces the code of the message it names; the user still has one code.
        if (event.messageId === undefined) count("codes", country, at);
        bump(fallbacks, event.why, maxKeys);
        channelCounts(event.channel).messages++;
        const message = seenMessage(country, event.channel, event.purpose, at);
        messages.remember(event.fallbackMessageId, message);
        bill(message, "sent");
        return;
      }
      case "verified":
        count("verified", country, at);
        return;
      case "rejected":
        count("rejected", country, at);
        bump(rejected, event.reason, maxKeys);
        return;
      case "limited":
        count("limited", country, at);
        bump(limited, event.limit, maxKeys);
        return;
      case "refused":
        count("refused", country, at);
        bump(
          refused,
          event.reason === undefined ? event.code : `${event.code}:${event.reason}`,
          maxKeys,
        );
        return;
      case "send_failed":
        count("sendFailed", country, at);
        bump(sendFailures, event.error, maxKeys);
        return;
    }
  }

  function series(current: number): MinuteMetrics[] {
    const last = Math.floor(current / MINUTE_MS);
    const out: MinuteMetrics[] = [];
    for (let minute = last - seriesMinutes + 1; minute <= last; minute++) {
      const slot = minutes[((minute % seriesMinutes) + seriesMinutes) % seriesMinutes];
      const counts = slot !== undefined && slot.minute === minute ? slot.counts : zero();
      out.push({ at: new Date(minute * MINUTE_MS), ...counts });
    }
    return out;
  }

  const plain = <V>(map: Map<string, V>, copy: (value: V) => V) =>
    Object.fromEntries([...map].map(([key, value]) => [key, copy(value)]));

  return {
    onEvent(event) {
      try {
        record(event);
      } catch {
        // An observer never breaks the call it observes; a malformed event is skipped.
      }
    },
    snapshot() {
      const at = now();
      const snapshot: MetricsSnapshot = {
        since: new Date(since),
        at: new Date(at),
        totals: withConversion(totals),
        countries: Object.fromEntries(
          [...countries].map(([country, counts]) => [country, withConversion(counts)]),
        ),
        channels: plain(channels, (c) => ({ ...c })),
        rejected: plain(rejected, (n) => n),
        limited: plain(limited, (n) => n),
        refused: plain(refused, (n) => n),
        fallbacks: plain(fallbacks, (n) => n),
        sendFailures: plain(sendFailures, (n) => n),
        deliveries: plain(deliveries, (n) => n),
        deliveryErrors: plain(deliveryErrors, (n) => n),
        unattributedDeliveries: unattributed,
        testEvents,
        series: series(at),
      };
      if (prices !== undefined) {
        snapshot.cost = {
          currency: prices.currency,
          total: money(cost.total),
          billable: cost.billable,
          unpriced: cost.unpriced,
          countries: plain(cost.countries, money),
          channels: plain(cost.channels, money),
        };
      }
      return snapshot;
    },
    reset() {
      since = now();
      messages.clear();
      totals = zero();
      for (const map of [
        countries,
        channels,
        rejected,
        limited,
        refused,
        fallbacks,
        sendFailures,
        deliveries,
        deliveryErrors,
        cost.countries,
        cost.channels,
      ]) {
        map.clear();
      }
      unattributed = 0;
      testEvents = 0;
      minutes = [];
      cost.total = 0;
      cost.billable = 0;
      cost.unpriced = 0;
    },
  };
}

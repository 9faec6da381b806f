/**
 * The conversion tripwire: pauses sends to a country whose codes stop being typed in. Pumping (an
 * attacker making the app text numbers whose traffic pays them) looks like many sends and almost no
 * verifications; real users type most of their codes. Counts live in the app's store, so every
 * instance counts into, and obeys, the same figures.
 */
import { OtpError } from "./errors.js";
import type { OtpEvent } from "./events.js";
import { countryLabel, eventCountry, isTestEvent } from "./metrics-events.js";
import { LOG_LIMIT } from "./store/rules.js";
import type { Bucket, BucketState, Store } from "./store/types.js";

export interface TripwireOptions {
  /** Where the counts and pauses live: the store `createOtp` uses, so every instance shares them. */
  store: Store;
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number;
  /**
   * Sends to a country the window must hold (settled ones, see `settleSeconds`) before its rate is
   * judged, so a handful of unlucky users never trips it. It is also about how many pumped sends
   * get through before the trip.
   * @default 30
   */
  minSends?: number;
  /**
   * The tripwire trips when verifications per send in the window fall below this. Real traffic
   * verifies well above it (most users type their code; a fallback's second message halves it at
   * worst); pumping verifies close to nothing. Between 0 and 1.
   * @default 0.1
   */
  minVerifyRate?: number;
  /** The window the rate is measured over, in seconds, 60 to 604800 (a week). @default 3600 */
  windowSeconds?: number;
  /**
   * How long a trip pauses sends to the country. Counting starts afresh when it trips, so once the
   * pause is over an attack that goes on trips it again after `minSends` sends.
   * @default 1800
   */
  pauseSeconds?: number;
  /**
   * Sends younger than this are left out of the rate: their users are still typing. It keeps a
   * burst of real sign-ups (a campaign going out) from looking like sends nobody verifies, and it
   * lets about this many seconds' worth of a fast attack through on top of `minSends`. 0 to half
   * the window.
   * @default 30
   */
  settleSeconds?: number;
  /**
   * Countries never paused (your home market, where a pause would lock everyone out): a trip there
   * only calls `onTrip`, with `paused: false`, at most once per `pauseSeconds`.
   * @default []
   */
  exempt?: readonly string[];
  /** Prefix of the tripwire's store keys, apart from the engine's. @default "tripwire:" */
  keyPrefix?: string;
  /** Called once per trip, by the instance that tripped it (alert someone). Errors are ignored. */
  onTrip?: (trip: TripwireTrip) => void | Promise<void>;
  /** Called when the store fails while counting or checking; the tripwire then lets sends go. */
  onError?: (error: unknown) => void;
}

/** What `onTrip` receives. */
export interface TripwireTrip {
  country: string;
  at: Date;
  /** Whether sends to the country are paused now: false for an exempt country. */
  paused: boolean;
  /** When the pause ends (paused only). */
  until?: Date;
  /** Settled sends in the window, rounded. */
  sends: number;
  /** Verifications in the window, rounded. */
  verifications: number;
  /** `verifications / sends`. */
  rate: number;
}

export type TripwireStatus = { paused: false } | { paused: true; until: Date };

/** A country's figures in the window now, as the tripwire judges them. */
export interface TripwireCounts {
  /** Sends in the window (an estimate within one slot, a twelfth of the window). */
  sends: number;
  /** Of them, sends older than `settleSeconds`: the ones judged. */
  settledSends: number;
  verifications: number;
  /** `verifications / settledSends`, or null with no settled send. */
  rate: number | null;
}

/** What `beforeSend` answers for a paused country: `createOtp` refuses the send (`SEND_REFUSED`). */
export interface TripwireRefusal {
  refuse: "country_paused";
}

/** The part of a send `beforeSend` reads. */
export interface TripwireSend {
  country: string;
  /** A test number's send costs nothing: never refused. */
  test?: boolean;
  /** A send that delivers nothing costs nothing: never refused. */
  deliver?: boolean;
}

export interface Tripwire {
  /**
   * Counts `sent` and `fallback` events as sends and `verified` events as verifications, by
   * country, and trips when the rate falls too low. Events of test sends, and events naming no
   * country, are not counted. Never rejects (store failures go to `onError`).
   */
  onEvent(event: OtpEvent): Promise<void>;
  /** Whether sends to `country` are paused, and until when. Throws when the store fails. */
  check(input: { country: string }): Promise<TripwireStatus>;
  /**
   * For `createOtp({ beforeSend })`: refuses a send to a paused country with
   * `{ refuse: "country_paused" }`. Lets the send go when the store fails (the engine refuses it
   * anyway when its own store is down) and reports the failure to `onError`.
   */
  beforeSend(send: TripwireSend): Promise<TripwireRefusal | undefined>;
  /** Ends a country's pause now and starts its counts afresh (for the operator who checked it). */
  lift(country: string): Promise<void>;
  /** The country's figures in the current window. Throws when the store fails. */
  counts(country: string): Promise<TripwireCounts>;
}

interface ResolvedOptions {
  store: Store;
  now: () => number;
  minSends: number;
  minVerifyRate: number;
  windowMs: number;
  pauseMs: number;
  settleMs: number;
  exempt: ReadonlySet<string>;
  keyPrefix: string;
  onTrip: TripwireOptions["onTrip"];
  onError: TripwireOptions["onError"];
}

/** The window is counted in this many slots, plus the one it partly covers at its far end. */
const SLOTS = 12;
/** A limit no count reaches: the buckets only count (and stores keep such counters as one number). */
const NEVER_FULL = 1_000_000_000;
/** How long a country's count epoch is remembered after a trip or a lift. */
const EPOCH_TTL_MS = 30 * 24 * 3600_000;

function fail(message: string): never {
  throw new OtpError("CONFIG_INVALID", `tripwire: ${message}`);
}

function integer(
  value: number | undefined,
  fallback: number,
  name: string,
  min: number,
  max: number,
) {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min || chosen > max) {
    fail(`\`${name}\` must be an integer from ${min} to ${max}.`);
  }
  return chosen;
}

function resolveOptions(options: TripwireOptions): ResolvedOptions {
  const store = options.store;
  if (
    typeof store !== "object" ||
    store === null ||
    typeof store.take !== "function" ||
    typeof store.get !== "function"
  ) {
    fail("`store` must be a waotp store (the one createOtp uses).");
  }
  const minVerifyRate = options.minVerifyRate ?? 0.1;
  if (typeof minVerifyRate !== "number" || !(minVerifyRate > 0 && minVerifyRate < 1)) {
    fail("`minVerifyRate` must be a number between 0 and 1.");
  }
  const windowSeconds = integer(options.windowSeconds, 3600, "windowSeconds", 60, 604_800);
  const exempt = options.exempt ?? [];
  if (!Array.isArray(exempt) || exempt.some((c) => countryLabel(c) === undefined)) {
    fail('`exempt` must list countries ("US", or "+870" for a number of no region).');
  }
  const keyPrefix = options.keyPrefix ?? "tripwire:";
  if (typeof keyPrefix !== "string") fail("`keyPrefix` must be a string.");
  for (const name of ["onTrip", "onError", "now"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function") {
      fail(`\`${name}\` must be a function.`);
    }
  }
  return {
    store,
    now: options.now ?? Date.now,
    minSends: integer(options.minSends, 30, "minSends", 1, 1_000_000),
    minVerifyRate,
    windowMs: windowSeconds * 1000,
    pauseMs: integer(options.pauseSeconds, 1800, "pauseSeconds", 1, 604_800) * 1000,
    settleMs:
      integer(options.settleSeconds, 30, "settleSeconds", 0, Math.floor(windowSeconds / 2)) * 1000,
    exempt: new Set(exempt.map((c) => countryLabel(c) as string)),
    keyPrefix,
    onTrip: options.onTrip,
    onError: options.onError,
  };
}

/**
 * A conversion tripwire: counts sends and verifications per country in the store (so it works
 * across instances) and, once a country's window holds at least `minSends` settled sends of which
 * fewer than `minVerifyRate` were verified, pauses sends to it for `pauseSeconds` and calls
 * `onTrip`. That is the mark of SMS and WhatsApp pumping: many sends, nobody typing the codes.
 *
 * Verifications are counted when they happen, sends when they go out; the rate is the window's
 * verifications over the window's sends, without matching one to the other, and sends of the last
 * `settleSeconds` are left out while their users are still typing.
 *
 * @example
 * const store = redisStore(client);
 * const tripwire = createTripwire({ store, onTrip: (trip) => alert(trip) });
 * const otp = createOtp({
 *   secret, channel, store,
 *   beforeSend: tripwire.beforeSend,
 *   onEvent: tripwire.onEvent,
 * });
 */
export function createTripwire(options: TripwireOptions): Tripwire {
  const config = resolveOptions(options);
  const { store, now, minSends, minVerifyRate, windowMs, pauseMs, settleMs, keyPrefix } = config;
  const slotMs = windowMs / SLOTS;
  // A slot's counter outlives every read that still needs it.
  const counterWindowMs = slotMs * (SLOTS + 2);

  const keys = {
    pause: (country: string) => `${keyPrefix}pause:${country}`,
    alert: (country: string) => `${keyPrefix}alert:${country}`,
    epoch: (country: string) => `${keyPrefix}epoch:${country}`,
    slot: (kind: "s" | "v", country: string, epoch: string, slot: number) =>
      `${keyPrefix}${kind}:${country}:${epoch}:${slot}`,
    recent: (country: string, epoch: string) => `${keyPrefix}recent:${country}:${epoch}`,
  };

  const report = (error: unknown) => {
    try {
      config.onError?.(error);
    } catch {
      // The app's error handler failing changes nothing here.
    }
  };

  /** The epoch a country counts in: it changes when a trip or a lift starts the counts afresh. */
  async function epochOf(country: string, at: number): Promise<string> {
    return (await store.get(keys.epoch(country), at)) ?? "0";
  }

  async function restart(country: string, at: number): Promise<void> {
    await store.set(keys.epoch(country), String(at), EPOCH_TTL_MS, at);
  }

  /**
   * The window's buckets: sends then verifications, oldest slot first (the slot the window partly
   * covers, then the `SLOTS` after it), then the settle log. `hit` counts in the current slot of
   * one kind.
   */
  function windowBuckets(
    country: string,
    epoch: string,
    at: number,
    hit: "send" | "none",
    withRecent: boolean,
  ): Bucket[] {
    const current = Math.floor(at / slotMs);
    const buckets: Bucket[] = [];
    for (const kind of ["s", "v"] as const) {
      for (let slot = current - SLOTS; slot <= current; slot++) {
        buckets.push({
          key: keys.slot(kind, country, epoch, slot),
          limit: NEVER_FULL,
          windowMs: counterWindowMs,
          peek: !(hit === "send" && kind === "s" && slot === current),
        });
      }
    }
    if (withRecent && settleMs > 0) {
      // A sliding log (a limit the stores keep exactly): the sends still settling.
      buckets.push({
        key: keys.recent(country, epoch),
        limit: LOG_LIMIT,
        windowMs: settleMs,
        peek: hit !== "send",
      });
    }
    return buckets;
  }

  /** The window's figures from the states `take` returned for `windowBuckets`. */
  function figures(states: readonly BucketState[], at: number, recent: number): TripwireCounts {
    const counted = (state: BucketState | undefined) =>
      state === undefined ? 0 : NEVER_FULL - state.remaining;
    // The oldest slot is in the window for the part of it the current slot has not used up yet.
    const oldestWeight = 1 - (at - Math.floor(at / slotMs) * slotMs) / slotMs;
    const sum = (from: number) => {
      let total = counted(states[from]) * oldestWeight;
      for (let i = 1; i <= SLOTS; i++) total += counted(states[from + i]);
      return total;
    };
    const sends = sum(0);
    const verifications = sum(SLOTS + 1);
    const settledSends = Math.max(0, sends - recent);
    return {
      sends,
      settledSends,
      verifications,
      rate: settledSends > 0 ? verifications / settledSends : null,
    };
  }

  /** Counts a send (or only reads, for `counts`) and returns the window's figures. */
  async function takeWindow(country: string, at: number, hit: "send" | "none") {
    const epoch = await epochOf(country, at);
    const buckets = windowBuckets(country, epoch, at, hit, true);
    const taken = await store.take(buckets, at);
    if (taken.ok) {
      const recentState = settleMs > 0 ? taken.buckets[buckets.length - 1] : undefined;
      const recent = recentState === undefined ? 0 : LOG_LIMIT - recentState.remaining;
      return figures(taken.buckets, at, recent);
    }
    // The settle log is full: more than LOG_LIMIT sends are settling. Count without it, and take
    // the log's worth as settling (more may be: the rate judged is then, if anything, too low).
    const without = windowBuckets(country, epoch, at, hit, false);
    const again = await store.take(without, at);
    if (!again.ok) throw new Error(`tripwire: the store refused a counter (${again.key})`);
    return figures(again.buckets, at, LOG_LIMIT);
  }

  async function announce(trip: TripwireTrip): Promise<void> {
    try {
      await config.onTrip?.(trip);
    } catch {
      // The alert failing does not undo the trip.
    }
  }

  async function judge(country: string, window: TripwireCounts, at: number): Promise<void> {
    const { settledSends, verifications } = window;
    if (settledSends < minSends || verifications >= minVerifyRate * settledSends) return;
    const trip = {
      country,
      at: new Date(at),
      sends: Math.round(settledSends),
      verifications: Math.round(verifications),
      rate: verifications / settledSends,
    };
    if (config.exempt.has(country)) {
      const first = (await store.setIfAbsent(keys.alert(country), "1", pauseMs, at)) === null;
      if (first) await announce({ ...trip, paused: false });
      return;
    }
    const until = at + pauseMs;
    // One instance wins the trip; the others see the pause already set and say nothing.
    const first =
      (await store.setIfAbsent(keys.pause(country), String(until), pauseMs, at)) === null;
    if (!first) return;
    await restart(country, at);
    await announce({ ...trip, paused: true, until: new Date(until) });
  }

  async function check(input: { country: string }): Promise<TripwireStatus> {
    const country = countryLabel(input?.country);
    // An exempt country is never paused, even by a pause set before it was made exempt.
    if (country === undefined || config.exempt.has(country)) return { paused: false };
    const at = now();
    const value = await store.get(keys.pause(country), at);
    if (value === null) return { paused: false };
    const until = Number(value);
    return Number.isFinite(until) && until > at
      ? { paused: true, until: new Date(until) }
      : { paused: false };
  }

  return {
    async onEvent(event) {
      try {
        if (isTestEvent(event)) return;
        const isSend = event.type === "sent" || event.type === "fallback";
        if (!isSend && event.type !== "verified") return;
        const country = eventCountry(event);
        if (country === undefined) return;
        const at = now();
        if (isSend) {
          await judge(country, await takeWindow(country, at, "send"), at);
          return;
        }
        const epoch = await epochOf(country, at);
        const slot = Math.floor(at / slotMs);
        await store.take(
          [
            {
              key: keys.slot("v", country, epoch, slot),
              limit: NEVER_FULL,
              windowMs: counterWindowMs,
            },
          ],
          at,
        );
      } catch (error) {
        report(error);
      }
    },
    check,
    async beforeSend(send) {
      if (send?.test === true || send?.deliver === false) return undefined;
      try {
        const status = await check({ country: send?.country });
        return status.paused ? { refuse: "country_paused" } : undefined;
      } catch (error) {
        report(error);
        return undefined;
      }
    },
    async lift(input) {
      const country = countryLabel(input);
      if (country === undefined) throw new OtpError("INVALID_INPUT", "tripwire: not a country.");
      const at = now();
      await store.delete(keys.pause(country));
      await store.delete(keys.alert(country));
      await restart(country, at);
    },
    async counts(input) {
      const country = countryLabel(input);
      if (country === undefined) throw new OtpError("INVALID_INPUT", "tripwire: not a country.");
      return takeWindow(country, now(), "none");
    },
  };
}

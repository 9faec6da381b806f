/**
 * The memory store: one process's codes, counters and delivery records. Every decision is a call
 * into `rules.ts`; over 300 lines for what only memory needs: the size bound that refuses writes
 * rather than evict, and the sliced sweeps that keep expiry cheap.
 */
import { constantTimeEqual } from "../code.js";
import {
  bucketState,
  type Counter,
  canAdvance,
  challengeKeptUntil,
  counterExpiresAt,
  counterState,
  judgeAttempt,
  lastToFree,
  mayReplace,
  withHit,
} from "./rules.js";
import type {
  AttemptInput,
  AttemptResult,
  Bucket,
  BucketState,
  ChallengeRecord,
  DeliveryRecord,
  Store,
  TakeResult,
} from "./types.js";

export interface MemoryStoreOptions {
  /**
   * How often expired entries are swept out, in milliseconds. The sweep runs in slices of a few
   * thousand entries, so it never blocks the event loop for long. The timer does not keep the
   * process alive.
   * @default 30000
   */
  sweepIntervalMs?: number;
  /**
   * Entries kept at most, across all kinds (a pending code takes about five: the code, its send
   * counters and its delivery record). Past it, sends are refused (`STORE_UNAVAILABLE`) instead of
   * the store growing without bound or dropping counters; guesses keep a reserve of a tenth more,
   * so codes already sent can still be checked, and when even that is used up a guess is refused
   * before its code is compared. Full at the default, the store holds about 40,000 sends with their
   * counters and delivery records, in about 65 MB of heap (measured on Node 20). Several processes,
   * or more than that in flight: use the Redis store.
   * @default 200000
   */
  maxEntries?: number;
  /** Clock used by the sweep timer. @default Date.now */
  now?: () => number;
}

export interface MemoryStore extends Store {
  /** Entries currently held, expired ones not yet swept included. */
  readonly size: number;
  /** Removes every expired entry now; returns how many went. */
  sweep(now?: number): number;
  /** Stops the sweep timer. */
  close(): void;
}

interface StoredCounter {
  counter: Counter;
  expiresAt: number;
}

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * The store for a single process: plain maps, where each call runs to completion without awaiting
 * anything, which makes every operation atomic. Expired entries are swept on a timer (a code
 * `EXPIRED_GRACE_MS` after its expiry, as every store keeps it), so memory follows the number of
 * live codes and counters, not the number of sends ever made. Its decisions are the store rules.
 *
 * Use the Redis store when several processes serve the same users.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 200_000;
  // Room kept for counting guesses once sends have filled the store.
  const guessReserve = Math.ceil(maxEntries / 10);
  const clock = options.now ?? Date.now;

  const challenges = new Map<string, ChallengeRecord>();
  const counters = new Map<string, StoredCounter>();
  // Delivery records carry their own expiry (`until`), one object per message rather than two.
  const deliveries = new Map<string, DeliveryRecord & { until: number }>();
  const values = new Map<string, Expiring<string>>();

  const size = () => challenges.size + counters.size + deliveries.size + values.size;

  // Every map with the expiry of its entries. Codes and deliveries live a fixed time, so a map's
  // oldest entries are the first to expire; counters and values are only roughly in that order.
  const kind = <T>(map: Map<string, T>, expiry: (entry: T) => number) => ({
    map: map as Map<string, unknown>,
    expired: (entry: unknown, now: number) => expiry(entry as T) <= now,
  });
  const kinds = [
    kind(challenges, challengeKeptUntil),
    kind(counters, (c) => c.expiresAt),
    kind(deliveries, (d) => d.until),
    kind(values, (v) => v.expiresAt),
  ];

  /**
   * Removes expired entries, looking at no more than `budget` of each kind; returns how many went.
   * A budget per kind, so live counters at the front of their map never starve the codes and
   * deliveries behind them.
   */
  function evict(now: number, budget: number, fromOldest: boolean): number {
    let removed = 0;
    for (const { map, expired } of kinds) {
      let seen = 0;
      for (const [key, entry] of map) {
        if (seen++ >= budget) break;
        if (expired(entry, now)) removed += +map.delete(key);
        // From the oldest end, the first live code or delivery means the rest are live too.
        else if (fromOldest && (map === challenges || map === deliveries)) break;
      }
    }
    return removed;
  }

  function sweep(now = clock()): number {
    return evict(now, Number.POSITIVE_INFINITY, false);
  }

  let sweeping = false;
  /**
   * Sweeps in slices, yielding to the event loop between them. Each map is walked once, by one
   * iterator kept across slices (a Map iterator survives deletions), so every sweep ends. `at` is
   * the time a full write saw (stores driven by a virtual clock); the timer's sweeps read the clock.
   */
  function sweepInSlices(at?: number): void {
    if (sweeping) return;
    sweeping = true;
    const walks = kinds.map(({ map, expired }) => ({ map, expired, entries: map.entries() }));
    const step = () => {
      const now = at ?? clock();
      let seen = 0;
      while (walks.length > 0 && seen < SWEEP_SLICE) {
        const walk = walks[0] as (typeof walks)[number];
        const next = walk.entries.next();
        if (next.done) {
          walks.shift();
          continue;
        }
        seen += 1;
        const [key, entry] = next.value;
        if (walk.expired(entry, now)) walk.map.delete(key);
      }
      if (walks.length > 0) setImmediate(step).unref?.();
      else sweeping = false;
    };
    // Never on the caller's turn: a request that found the store full pays only its bounded look.
    setImmediate(step).unref?.();
  }

  /**
   * Makes room for `count` new entries within `limit`, or throws so the core fails closed. A full
   * store looks at a bounded number of its oldest entries for expired ones, never at all of them,
   * and starts a sliced sweep for the rest.
   */
  function reserveRoom(now: number, count = 1, limit = maxEntries): void {
    if (size() + count <= limit) return;
    evict(now, EVICT_ON_WRITE, true);
    if (size() + count <= limit) return;
    sweepInSlices(now);
    throw new Error(`memory store is full (${maxEntries} entries)`);
  }

  /** Hits counted in the bucket's window now, and when the oldest of them leaves it. */
  function state(bucket: Bucket, now: number): { count: number; freeAt: number } {
    const stored = counters.get(bucket.key);
    const { count, freeAt, counter } = counterState(stored?.counter, bucket, now);
    if (counter === undefined) counters.delete(bucket.key);
    else if (stored !== undefined) stored.counter = counter;
    return { count, freeAt };
  }

  /** Counts a hit (unless `peek`) and tells what is left. */
  function hit(bucket: Bucket, now: number): BucketState {
    if (!bucket.peek) {
      const counter = withHit(counters.get(bucket.key)?.counter, bucket, now);
      counters.set(bucket.key, { counter, expiresAt: counterExpiresAt(counter, bucket) });
    }
    return bucketState(bucket, state(bucket, now));
  }

  /** Each bucket with its count before the call. */
  function counts<B extends Bucket>(buckets: readonly B[], now: number) {
    return buckets.map((bucket) => ({ bucket, ...state(bucket, now) }));
  }

  /** New counters that counting in these buckets would create. */
  function newCounters(buckets: readonly Bucket[]): number {
    return buckets.filter((b) => !b.peek && !counters.has(b.key)).length;
  }

  function live<T>(map: Map<string, Expiring<T>>, key: string, now: number): T | undefined {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  function liveDelivery(messageId: string, now: number) {
    const stored = deliveries.get(messageId);
    if (stored === undefined) return undefined;
    if (stored.until <= now) {
      deliveries.delete(messageId);
      return undefined;
    }
    return stored;
  }

  function put<T>(
    map: Map<string, Expiring<T>>,
    key: string,
    value: T,
    expiresAt: number,
    now: number,
  ) {
    if (!map.has(key)) reserveRoom(now);
    map.set(key, { value, expiresAt });
  }

  const timer = setInterval(() => sweepInSlices(), sweepIntervalMs);
  timer.unref?.();

  return {
    get size() {
      return size();
    },
    sweep,
    close() {
      clearInterval(timer);
    },

    async putChallenge(key, challenge, now, ifHash) {
      if (!mayReplace(challenges.get(key), ifHash, now)) return false;
      if (!challenges.has(key)) reserveRoom(now);
      // Delete first so the map's order stays close to expiry order.
      challenges.delete(key);
      challenges.set(key, {
        hash: challenge.hash,
        expiresAt: challenge.expiresAt,
        attempts: challenge.attempts,
        maxAttempts: challenge.maxAttempts,
      });
      return true;
    },

    async attempt({ key, hash, now, failures = [] }: AttemptInput): Promise<AttemptResult> {
      const challenge = challenges.get(key);
      const { result, effect } = judgeAttempt({
        challenge,
        budgets: counts(failures, now),
        matched: challenge !== undefined && constantTimeEqual(challenge.hash, hash),
        now,
      });
      if (result.outcome === "blocked") return result;
      // Room to count a miss is made before any other answer is given: a guess that could not be
      // counted is refused whatever it is, and whether a code is pending at all, or a full store
      // would judge wrong guesses for free, or tell pending codes from missing ones.
      const counted = failures.map((bucket) => ({ ...bucket, peek: false }));
      reserveRoom(now, newCounters(counted), maxEntries + guessReserve);
      if (effect === "consume" || effect === "forget") challenges.delete(key);
      else if (effect === "count" && challenge !== undefined) {
        challenge.attempts += 1;
        for (const bucket of counted) hit(bucket, now);
      }
      return result;
    },

    async take(buckets, now): Promise<TakeResult> {
      const full = lastToFree(counts(buckets, now), now);
      if (full !== undefined) return { ok: false, ...full };
      reserveRoom(now, newCounters(buckets));
      return { ok: true, buckets: buckets.map((bucket) => hit(bucket, now)) };
    },

    async putDelivery(messageId, record, ttlMs) {
      if (!deliveries.has(messageId)) reserveRoom(record.updatedAt);
      // Built field by field: a compact object of fixed shape (a spread copy takes more room).
      const stored: DeliveryRecord & { until: number } = {
        status: record.status,
        updatedAt: record.updatedAt,
        until: record.updatedAt + ttlMs,
      };
      if (record.sentAt !== undefined) stored.sentAt = record.sentAt;
      if (record.expiresAt !== undefined) stored.expiresAt = record.expiresAt;
      if (record.error !== undefined) stored.error = record.error;
      if (record.phone !== undefined) stored.phone = record.phone;
      if (record.purpose !== undefined) stored.purpose = record.purpose;
      if (record.hash !== undefined) stored.hash = record.hash;
      if (record.fallback !== undefined) stored.fallback = record.fallback;
      if (record.ip !== undefined) stored.ip = record.ip;
      if (record.client !== undefined) stored.client = record.client;
      if (record.sender !== undefined) stored.sender = record.sender;
      if (record.locale !== undefined) stored.locale = record.locale;
      deliveries.set(messageId, stored);
    },

    async advanceDelivery(update, now) {
      const record = liveDelivery(update.messageId, now);
      if (record === undefined) return null;
      if (!canAdvance(record.status, update.status))
        return { changed: false, record: withoutExpiry(record) };
      record.status = update.status;
      record.updatedAt = now;
      if (update.error !== undefined) record.error = update.error;
      return { changed: true, record: withoutExpiry(record) };
    },

    async getDelivery(messageId, now) {
      const record = liveDelivery(messageId, now);
      return record === undefined ? null : withoutExpiry(record);
    },

    async setIfAbsent(key, value, ttlMs, now) {
      const existing = live(values, key, now);
      if (existing !== undefined) return existing;
      put(values, key, value, now + ttlMs, now);
      return null;
    },

    async get(key, now) {
      return live(values, key, now) ?? null;
    },

    async set(key, value, ttlMs, now) {
      put(values, key, value, now + ttlMs, now);
    },

    async delete(key) {
      values.delete(key);
    },
  };
}

// Entries a sweep slice looks at before yielding, and a full store's write looks at before refusing.
const SWEEP_SLICE = 5000;
const EVICT_ON_WRITE = 250;

function withoutExpiry({
  until: _until,
  ...record
}: DeliveryRecord & { until: number }): DeliveryRecord {
  return record;
}

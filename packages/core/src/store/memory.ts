import { constantTimeEqual } from "../code.js";
import { canAdvance } from "../delivery.js";
import { type Counter, counterExpiresAt, counterState, withHit } from "./counter.js";
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
   * How often expired entries are swept out, in milliseconds. The timer does not keep the process
   * alive.
   * @default 30000
   */
  sweepIntervalMs?: number;
  /**
   * Entries kept at most, across all kinds. A write that would go past it (after a sweep) fails, so
   * the store refuses service instead of growing without bound or dropping counters.
   * @default 2000000
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
 * anything, which makes every operation atomic. Expired entries are swept on a timer, so memory
 * follows the number of live codes and counters, not the number of sends ever made.
 *
 * Use the Redis store when several processes serve the same users.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 2_000_000;
  const clock = options.now ?? Date.now;

  const challenges = new Map<string, ChallengeRecord>();
  const counters = new Map<string, StoredCounter>();
  // Delivery records carry their own expiry (`until`), one object per message rather than two.
  const deliveries = new Map<string, DeliveryRecord & { until: number }>();
  const values = new Map<string, Expiring<string>>();

  const size = () => challenges.size + counters.size + deliveries.size + values.size;

  function sweep(now = clock()): number {
    let removed = 0;
    for (const [key, challenge] of challenges) {
      if (challenge.expiresAt <= now) removed += +challenges.delete(key);
    }
    for (const [key, counter] of counters) {
      if (counter.expiresAt <= now) removed += +counters.delete(key);
    }
    for (const [key, entry] of deliveries) {
      if (entry.until <= now) removed += +deliveries.delete(key);
    }
    for (const [key, entry] of values) {
      if (entry.expiresAt <= now) removed += +values.delete(key);
    }
    return removed;
  }

  /** Makes room for `count` new entries, or throws so the core fails closed. */
  function reserveRoom(now: number, count = 1): void {
    if (size() + count <= maxEntries) return;
    sweep(now);
    if (size() + count > maxEntries) {
      throw new Error(`memory store is full (${maxEntries} entries)`);
    }
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
    const after = state(bucket, now);
    return { remaining: bucket.limit - after.count, resetAt: after.freeAt };
  }

  /** The full bucket that frees up last, if any. */
  function lastToFree(buckets: readonly Bucket[], now: number) {
    let full: { key: string; retryAfterMs: number } | undefined;
    for (const bucket of buckets) {
      const { count, freeAt } = state(bucket, now);
      if (count < bucket.limit) continue;
      const retryAfterMs = count === 0 ? bucket.windowMs : freeAt - now;
      if (full === undefined || retryAfterMs > full.retryAfterMs) {
        full = { key: bucket.key, retryAfterMs };
      }
    }
    return full;
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

  const timer = setInterval(() => sweep(), sweepIntervalMs);
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
      if (ifHash !== undefined) {
        const current = challenges.get(key);
        if (
          current === undefined ||
          current.expiresAt <= now ||
          !constantTimeEqual(current.hash, ifHash)
        ) {
          return false;
        }
      }
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

    async attempt({ key, hash, now, failures }: AttemptInput): Promise<AttemptResult> {
      if (failures !== undefined) {
        const full = lastToFree([failures], now);
        if (full !== undefined) return { outcome: "blocked", retryAfterMs: full.retryAfterMs };
      }
      const challenge = challenges.get(key);
      if (challenge === undefined) return { outcome: "missing" };
      if (challenge.expiresAt <= now) {
        challenges.delete(key);
        return { outcome: "expired" };
      }
      if (challenge.attempts >= challenge.maxAttempts) return { outcome: "locked" };
      if (constantTimeEqual(challenge.hash, hash)) {
        challenges.delete(key);
        return { outcome: "match" };
      }
      let budgetLeft = Number.POSITIVE_INFINITY;
      if (failures !== undefined) {
        const counted = { ...failures, peek: false };
        reserveRoom(now, newCounters([counted]));
        budgetLeft = hit(counted, now).remaining;
      }
      challenge.attempts += 1;
      const attemptsLeft = Math.min(challenge.maxAttempts - challenge.attempts, budgetLeft);
      return { outcome: "mismatch", attemptsLeft };
    },

    async take(buckets, now): Promise<TakeResult> {
      const full = lastToFree(buckets, now);
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
      if (record.expiresAt !== undefined) stored.expiresAt = record.expiresAt;
      if (record.error !== undefined) stored.error = record.error;
      if (record.phone !== undefined) stored.phone = record.phone;
      if (record.purpose !== undefined) stored.purpose = record.purpose;
      if (record.hash !== undefined) stored.hash = record.hash;
      if (record.fallback !== undefined) stored.fallback = record.fallback;
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

function withoutExpiry({
  until: _until,
  ...record
}: DeliveryRecord & { until: number }): DeliveryRecord {
  return record;
}

/**
 * The memory store: one process's codes, counters and delivery records. Every decision is a call
 * into `rules.ts`; over 300 lines for what only memory needs: the size bound that refuses writes
 * rather than evict, and the sliced sweeps that keep expiry cheap.
 */
import { constantTimeEqual } from "../code.js";
import { DELIVERY_STATUSES, type DeliveryStatus } from "../delivery-status.js";
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

/** A delivery record as kept: its own expiry (`until`) inside it, one object per message. */
type StoredDelivery = DeliveryRecord & { until: number };

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

  // Codes and delivery records are what a store holds one of per pending code, so they are packed
  // (see `packChallenge`, `packDelivery`): one short string each instead of an object, its boxed
  // timestamps and its hash string.
  const challenges = new Map<string, string>();
  const counters = new Map<string, StoredCounter>();
  const deliveries = new Map<string, string | StoredDelivery>();
  const values = new Map<string, Expiring<string>>();

  const size = () => challenges.size + counters.size + deliveries.size + values.size;

  // Every map with the expiry of its entries. Codes and deliveries live a fixed time, so a map's
  // oldest entries are the first to expire; counters and values are only roughly in that order.
  const kind = <T>(map: Map<string, T>, expiry: (entry: T) => number) => ({
    map: map as Map<string, unknown>,
    expired: (entry: unknown, now: number) => expiry(entry as T) <= now,
  });
  const kinds = [
    kind(challenges, (c) => challengeKeptUntil(unpackChallenge(c))),
    kind(counters, (c) => c.expiresAt),
    kind(deliveries, deliveryUntil),
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

  /** Counts a hit (unless `peek`, or `count` says otherwise) and tells what is left. */
  function hit(bucket: Bucket, now: number, count = !bucket.peek): BucketState {
    if (count) {
      const counter = withHit(counters.get(bucket.key)?.counter, bucket, now);
      counters.set(bucket.key, { counter, expiresAt: counterExpiresAt(counter, bucket) });
    }
    return bucketState(bucket, state(bucket, now));
  }

  /** Each bucket with its count before the call. */
  function counts<B extends Bucket>(buckets: readonly B[], now: number) {
    return buckets.map((bucket) => {
      const { count, freeAt } = state(bucket, now);
      return { bucket, count, freeAt };
    });
  }

  /** New counters that counting in these buckets would create (`peek` ones too, with `all`). */
  function newCounters(buckets: readonly Bucket[], all = false): number {
    let count = 0;
    for (const bucket of buckets) if ((all || !bucket.peek) && !counters.has(bucket.key)) count++;
    return count;
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

  function liveDelivery(messageId: string, now: number): StoredDelivery | undefined {
    const stored = deliveries.get(messageId);
    if (stored === undefined) return undefined;
    const record = unpackDelivery(stored);
    if (record.until <= now) {
      deliveries.delete(messageId);
      return undefined;
    }
    return record;
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
      const current = challenges.get(key);
      if (!mayReplace(current === undefined ? undefined : unpackChallenge(current), ifHash, now)) {
        return false;
      }
      if (current === undefined) reserveRoom(now);
      // Delete first so the map's order stays close to expiry order.
      challenges.delete(key);
      challenges.set(key, packChallenge(challenge));
      return true;
    },

    async attempt({ key, hash, now, failures = [] }: AttemptInput): Promise<AttemptResult> {
      const stored = challenges.get(key);
      const challenge = stored === undefined ? undefined : unpackChallenge(stored);
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
      // A miss counts in every failure budget, `peek` or not.
      reserveRoom(now, newCounters(failures, true), maxEntries + guessReserve);
      if (effect === "consume" || effect === "forget") challenges.delete(key);
      else if (effect === "count" && challenge !== undefined) {
        challenges.set(key, packChallenge({ ...challenge, attempts: challenge.attempts + 1 }));
        for (const bucket of failures) hit(bucket, now, true);
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
      deliveries.set(messageId, packDelivery({ ...record, until: record.updatedAt + ttlMs }));
    },

    async advanceDelivery(update, now) {
      const record = liveDelivery(update.messageId, now);
      if (record === undefined) return null;
      if (!canAdvance(record.status, update.status))
        return { changed: false, record: withoutExpiry(record) };
      record.status = update.status;
      record.updatedAt = now;
      if (update.error !== undefined) record.error = update.error;
      deliveries.set(update.messageId, packDelivery(record));
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

function withoutExpiry({ until: _until, ...record }: StoredDelivery): DeliveryRecord {
  return record;
}

// A timestamp in a packed record: base 36 for the whole milliseconds every clock gives (8
// characters for today's epoch), and any other number as written after a `~`.
const packTime = (at: number): string =>
  Number.isSafeInteger(at) ? at.toString(36) : `~${String(at)}`;
const unpackTime = (text: string): number =>
  text.startsWith("~") ? Number(text.slice(1)) : Number.parseInt(text, 36);

/** A challenge as one string, `expiresAt:attempts:maxAttempts:hash` (the hash last, whatever it holds). */
function packChallenge(challenge: ChallengeRecord): string {
  const { expiresAt, attempts, maxAttempts, hash } = challenge;
  // Joined, not concatenated: `join` makes one flat string, where `+` would keep a tree of parts.
  return [packTime(expiresAt), attempts, maxAttempts, hash].join(":");
}

function unpackChallenge(packed: string): ChallengeRecord {
  const first = packed.indexOf(":");
  const second = packed.indexOf(":", first + 1);
  const third = packed.indexOf(":", second + 1);
  return {
    hash: packed.slice(third + 1),
    expiresAt: unpackTime(packed.slice(0, first)),
    attempts: Number(packed.slice(first + 1, second)),
    maxAttempts: Number(packed.slice(second + 1, third)),
  };
}

/**
 * A delivery record as one string when it holds only what every message has (its status, times and
 * code expiry): `<status index><until>:<updatedAt>:<expiresAt>`; any other record stays an object.
 */
function packDelivery(record: StoredDelivery): string | StoredDelivery {
  for (const [field, value] of Object.entries(record)) {
    if (value !== undefined && !PACKED_FIELDS.has(field)) return { ...record };
  }
  const status = DELIVERY_STATUSES.indexOf(record.status);
  const expires = record.expiresAt === undefined ? "" : packTime(record.expiresAt);
  return [`${status}${packTime(record.until)}`, packTime(record.updatedAt), expires].join(":");
}

const PACKED_FIELDS: ReadonlySet<string> = new Set(["status", "updatedAt", "until", "expiresAt"]);

function unpackDelivery(stored: string | StoredDelivery): StoredDelivery {
  if (typeof stored !== "string") return { ...stored };
  const first = stored.indexOf(":");
  const second = stored.indexOf(":", first + 1);
  const record: StoredDelivery = {
    status: DELIVERY_STATUSES[Number(stored[0])] as DeliveryStatus,
    updatedAt: unpackTime(stored.slice(first + 1, second)),
    until: unpackTime(stored.slice(1, first)),
  };
  if (second + 1 < stored.length) record.expiresAt = unpackTime(stored.slice(second + 1));
  return record;
}

/** Until when a delivery record is kept, without unpacking the rest of it. */
function deliveryUntil(stored: string | StoredDelivery): number {
  return typeof stored === "string"
    ? unpackTime(stored.slice(1, stored.indexOf(":")))
    : stored.until;
}

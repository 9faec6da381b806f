/**
 * The memory store: one process's codes, counters and delivery records. Every decision is a call
 * into `rules.ts`; the rest is what only memory needs: the size bound that refuses writes rather
 * than evict, the sliced sweeps that keep expiry cheap, and a compact layout for what a process
 * holds one of per pending code: the code, its delivery record and its send counters.
 */
import { timingSafeEqual } from "node:crypto";
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
  FailureBucket,
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
   * Entries kept at most, across all kinds (a pending code takes about six: the code, its send
   * counters and its delivery record). Past it, sends are refused (`STORE_UNAVAILABLE`) instead of
   * the store growing without bound or dropping counters; guesses keep a reserve of a tenth more,
   * so codes already sent can still be checked, and when even that is used up a guess is refused
   * before its code is compared. Full at the default, the store holds about 33,000 sends with their
   * counters and delivery records, in about 35 MB (heap and array buffers, measured on Node 20).
   * Several processes, or more than that in flight: use the Redis store.
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

/**
 * A counter as the store keeps it: the number of its row in the counter columns for a log of one
 * hit (most counters: a phone's cooldown, a window that saw one send), else the counter with its
 * expiry, itself what the rules read. Fixed windows count limits above `LOG_LIMIT`, which only
 * the few buckets many phones share have.
 */
type StoredCounter = number | (Counter & { expiresAt: number });

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * A code as the store keeps it: the number of its row in the challenge columns, or, for a record
 * the columns cannot hold exactly (a hash that is not a keyed hash as `hashCode` spells it, counts
 * above a byte), the record itself.
 */
type StoredChallenge = number | ChallengeRecord;

/**
 * A delivery record as the store keeps it: the number of its row in the delivery columns, or, when
 * it has text fields, those fields with the number of the row that holds the rest.
 */
type StoredDelivery = number | DeliveryText;

/** A delivery record's fields that are not numbers, beside the row that holds its numbers. */
interface DeliveryText {
  row: number;
  /** A status outside `DELIVERY_STATUSES`, kept as given. */
  status?: string;
  error?: string;
  phone?: string;
  purpose?: string;
  hash?: string;
  ip?: string;
  client?: string;
  sender?: string;
  locale?: string;
}

/**
 * The store for a single process, where each call runs to completion without awaiting anything,
 * which makes every operation atomic. Expired entries are swept on a timer (a code
 * `EXPIRED_GRACE_MS` after its expiry, as every store keeps it), so memory follows the number of
 * live codes and counters, not the number of sends ever made. Its decisions are the store rules.
 *
 * Codes, delivery records and counters of one hit, what a process holds one of per pending code,
 * live in typed-array columns (a code's keyed hash as its 32 bytes, times as numbers, states as
 * small integers), with a map from each key to its row: a pending code costs its keys and a couple
 * of hundred bytes, not an object, boxed numbers and strings for each of its fields.
 *
 * Use the Redis store when several processes serve the same users.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 200_000;
  // Room kept for counting guesses once sends have filled the store.
  const guessReserve = Math.ceil(maxEntries / 10);
  const clock = options.now ?? Date.now;

  const challenges = new Map<string, StoredChallenge>();
  const counters = new Map<string, StoredCounter>();
  // Delivery records carry their own expiry (`until`), one row per message rather than two.
  const deliveries = new Map<string, StoredDelivery>();
  const values = new Map<string, Expiring<string>>();

  const challengeRows = new Rows(challengeColumns, (c) => c.expiresAt);
  const counterRows = new Rows(counterColumns, (c) => c.expiresAt);
  const deliveryRows = new Rows(deliveryColumns, (c) => c.until);

  const size = () => challenges.size + counters.size + deliveries.size + values.size;

  /** The record a rule reads for a code: the stored one, or a view of its row. */
  function challengeAt(entry: StoredChallenge): ChallengeRecord {
    if (typeof entry !== "number") return entry;
    const { expiresAt, attempts, maxAttempts } = challengeRows.columns;
    return new RowChallenge(
      challengeRows,
      entry,
      expiresAt[entry] as number,
      attempts[entry] as number,
      maxAttempts[entry] as number,
    );
  }

  /** The code in a row as a plain record, its hash spelled out. */
  function recordAt(row: number): ChallengeRecord {
    const { hash, expiresAt, attempts, maxAttempts } = challengeRows.columns;
    return {
      hash: hashAt(hash, row),
      expiresAt: expiresAt[row] as number,
      attempts: attempts[row] as number,
      maxAttempts: maxAttempts[row] as number,
    };
  }

  /** Keeps a copy of `challenge`: in a row when the columns hold it exactly, else as a record. */
  function storeChallenge(challenge: ChallengeRecord): StoredChallenge {
    const { hash, expiresAt, attempts, maxAttempts } = challenge;
    if (isByte(attempts) && isByte(maxAttempts)) {
      const row = challengeRows.take();
      const columns = challengeRows.columns;
      if (readHash(hash, columns.hash, row * HASH_BYTES)) {
        columns.expiresAt[row] = expiresAt;
        columns.attempts[row] = attempts;
        columns.maxAttempts[row] = maxAttempts;
        return row;
      }
      challengeRows.release(row);
    }
    return { hash, expiresAt, attempts, maxAttempts };
  }

  /** Removes the code under `key` (which held `entry`); false when it was gone already. */
  function dropChallenge(key: string, entry: StoredChallenge): boolean {
    if (!challenges.delete(key)) return false;
    if (typeof entry === "number") challengeRows.release(entry);
    return true;
  }

  function dropDelivery(messageId: string, entry: StoredDelivery): boolean {
    if (!deliveries.delete(messageId)) return false;
    deliveryRows.release(rowOf(entry));
    return true;
  }

  // One record handed to `challengeKeptUntil` for every row a sweep looks at.
  const swept = new RowChallenge(challengeRows, 0, 0, 0, 0);
  function challengeExpired(entry: StoredChallenge, now: number): boolean {
    if (typeof entry !== "number") return challengeKeptUntil(entry) <= now;
    const { expiresAt, attempts, maxAttempts } = challengeRows.columns;
    swept.row = entry;
    swept.expiresAt = expiresAt[entry] as number;
    swept.attempts = attempts[entry] as number;
    swept.maxAttempts = maxAttempts[entry] as number;
    return challengeKeptUntil(swept) <= now;
  }

  const deliveryUntil = (entry: StoredDelivery) =>
    deliveryRows.columns.until[rowOf(entry)] as number;

  // Every map with the expiry of its entries and how one is dropped. Codes and deliveries live a
  // fixed time, so a map's oldest entries are the first to expire; counters and values are only
  // roughly in that order.
  const kind = <T>(
    map: Map<string, T>,
    inOrder: boolean,
    expired: (entry: T, now: number) => boolean,
    drop: (key: string, entry: T) => boolean = (key) => map.delete(key),
  ) => ({
    map: map as Map<string, unknown>,
    inOrder,
    expired: expired as (entry: unknown, now: number) => boolean,
    drop: drop as (key: string, entry: unknown) => boolean,
  });
  const kinds = [
    kind(challenges, true, challengeExpired, dropChallenge),
    kind(counters, false, (c, now) => counterExpiry(c) <= now, dropCounter),
    kind(deliveries, true, (d, now) => deliveryUntil(d) <= now, dropDelivery),
    kind(values, false, (v, now) => v.expiresAt <= now),
  ];

  /**
   * Removes expired entries, looking at no more than `budget` of each kind; returns how many went.
   * A budget per kind, so live counters at the front of their map never starve the codes and
   * deliveries behind them.
   */
  function evict(now: number, budget: number, fromOldest: boolean): number {
    let removed = 0;
    for (const { map, expired, drop, inOrder } of kinds) {
      let seen = 0;
      for (const [key, entry] of map) {
        if (seen++ >= budget) break;
        if (expired(entry, now)) removed += +drop(key, entry);
        // From the oldest end, the first live code or delivery means the rest are live too.
        else if (fromOldest && inOrder) break;
      }
    }
    return removed;
  }

  /** Gives back the columns' room once a sweep left most rows unused. */
  function shrink(): void {
    counterRows.compact(
      counters,
      (entry) => (typeof entry === "number" ? entry : undefined),
      (key, _entry, row) => counters.set(key, row),
    );
    challengeRows.compact(
      challenges,
      (entry) => (typeof entry === "number" ? entry : undefined),
      (key, _entry, row) => challenges.set(key, row),
    );
    deliveryRows.compact(deliveries, rowOf, (key, entry, row) => {
      if (typeof entry === "number") deliveries.set(key, row);
      else entry.row = row;
    });
  }

  function sweep(now = clock()): number {
    const removed = evict(now, Number.POSITIVE_INFINITY, false);
    shrink();
    return removed;
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
    const walks = kinds.map((k) => ({ ...k, entries: k.map.entries() }));
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
        if (walk.expired(entry, now)) walk.drop(key, entry);
      }
      if (walks.length > 0) setImmediate(step).unref?.();
      else {
        sweeping = false;
        shrink();
      }
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

  /** The counter a rule reads for a stored one. */
  function counterAt(entry: StoredCounter): Counter {
    return typeof entry === "number" ? { log: [counterRows.columns.at[entry] as number] } : entry;
  }

  function counterExpiry(entry: StoredCounter): number {
    return typeof entry === "number"
      ? (counterRows.columns.expiresAt[entry] as number)
      : entry.expiresAt;
  }

  /** Keeps `counter` under `key` (which held `entry`) until `expiresAt`: in a row when it fits one. */
  function keepCounter(
    key: string,
    entry: StoredCounter | undefined,
    counter: Counter,
    expiresAt: number,
  ): void {
    const kept = entry === undefined ? joined(key) : key;
    if (!("log" in counter)) {
      if (typeof entry === "number") counterRows.release(entry);
      counters.set(kept, { count: counter.count, start: counter.start, expiresAt });
    } else if (counter.log.length !== 1) {
      if (typeof entry === "number") counterRows.release(entry);
      // A copy of its exact length: a log the rules built may carry room for more hits.
      counters.set(kept, { log: counter.log.slice(), expiresAt });
    } else {
      const row = typeof entry === "number" ? entry : counterRows.take();
      counterRows.columns.expiresAt[row] = expiresAt;
      counterRows.columns.at[row] = counter.log[0] as number;
      if (entry !== row) counters.set(kept, row);
    }
  }

  function dropCounter(key: string, entry: StoredCounter): boolean {
    if (!counters.delete(key)) return false;
    if (typeof entry === "number") counterRows.release(entry);
    return true;
  }

  /** The bucket's counter read at `now`, pruned in place (dropped once empty). */
  function state(bucket: Bucket, now: number) {
    const entry = counters.get(bucket.key);
    const counter = entry === undefined ? undefined : counterAt(entry);
    const read = counterState(counter, bucket, now);
    if (entry !== undefined && read.counter !== counter) {
      if (read.counter === undefined) dropCounter(bucket.key, entry);
      else keepCounter(bucket.key, entry, read.counter, counterExpiry(entry));
    }
    return read;
  }

  /** Counts a hit in the bucket now, whether or not it is a `peek` one. */
  function countHit(bucket: Bucket, now: number): void {
    const entry = counters.get(bucket.key);
    const counter = withHit(entry === undefined ? undefined : counterAt(entry), bucket, now);
    keepCounter(bucket.key, entry, counter, counterExpiresAt(counter, bucket));
  }

  /** Counts a hit (unless `peek`) and tells what is left. */
  function hit(bucket: Bucket, now: number): BucketState {
    if (!bucket.peek) countHit(bucket, now);
    return bucketState(bucket, state(bucket, now));
  }

  /** Each bucket with its count before the call. */
  function counts<B extends Bucket>(buckets: readonly B[], now: number) {
    const read: { bucket: B; count: number; freeAt: number }[] = [];
    for (const bucket of buckets) {
      const { count, freeAt } = state(bucket, now);
      read.push({ bucket, count, freeAt });
    }
    return read;
  }

  /** New counters that counting in these buckets would create (`peek` ones too, when `all`). */
  function newCounters(buckets: readonly Bucket[], all: boolean): number {
    let missing = 0;
    for (const bucket of buckets) {
      if ((all || !bucket.peek) && !counters.has(bucket.key)) missing += 1;
    }
    return missing;
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
    if (deliveryUntil(stored) <= now) {
      dropDelivery(messageId, stored);
      return undefined;
    }
    return stored;
  }

  /** The text fields of a delivery, made (and kept in place of its bare row) when it had none. */
  function textOf(messageId: string, entry: StoredDelivery): DeliveryText {
    if (typeof entry !== "number") return entry;
    const text: DeliveryText = { row: entry };
    deliveries.set(messageId, text);
    return text;
  }

  /** Sets a delivery's status; returns the entry, which gains text fields for an unknown status. */
  function setStatus(messageId: string, entry: StoredDelivery, status: string): StoredDelivery {
    const known = DELIVERY_STATUSES.indexOf(status as DeliveryStatus);
    const row = rowOf(entry);
    if (known >= 0) {
      deliveryRows.columns.status[row] = known;
      return entry;
    }
    deliveryRows.columns.status[row] = OTHER_STATUS;
    const text = textOf(messageId, entry);
    text.status = status;
    return text;
  }

  function statusOf(entry: StoredDelivery): DeliveryStatus {
    const index = deliveryRows.columns.status[rowOf(entry)] as number;
    return index === OTHER_STATUS
      ? ((entry as DeliveryText).status as DeliveryStatus)
      : (DELIVERY_STATUSES[index] as DeliveryStatus);
  }

  /** A delivery as a plain record, with the fields it was given and nothing more. */
  function deliveryRecord(entry: StoredDelivery): DeliveryRecord {
    const text = typeof entry === "number" ? undefined : entry;
    const row = rowOf(entry);
    const { flags, updatedAt, sentAt, expiresAt } = deliveryRows.columns;
    const marks = flags[row] as number;
    const record: DeliveryRecord = { status: statusOf(entry), updatedAt: updatedAt[row] as number };
    if (marks & HAS_SENT_AT) record.sentAt = sentAt[row] as number;
    if (marks & HAS_EXPIRES_AT) record.expiresAt = expiresAt[row] as number;
    if (text !== undefined) {
      if (text.error !== undefined) record.error = text.error;
      if (text.phone !== undefined) record.phone = text.phone;
      if (text.purpose !== undefined) record.purpose = text.purpose;
      if (text.hash !== undefined) record.hash = text.hash;
    }
    if (marks & HAS_FALLBACK) record.fallback = (marks & FALLBACK) !== 0;
    if (text !== undefined) {
      if (text.ip !== undefined) record.ip = text.ip;
      if (text.client !== undefined) record.client = text.client;
      if (text.sender !== undefined) record.sender = text.sender;
      if (text.locale !== undefined) record.locale = text.locale;
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
    const current = map.get(key);
    if (current === undefined) {
      reserveRoom(now);
      map.set(joined(key), { value, expiresAt });
    } else {
      current.value = value;
      current.expiresAt = expiresAt;
    }
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
      // The hash is spelled out only for a conditional put, the one rule that reads it.
      const record =
        current === undefined
          ? undefined
          : ifHash !== undefined && typeof current === "number"
            ? recordAt(current)
            : challengeAt(current);
      if (!mayReplace(record, ifHash, now)) return false;
      if (current === undefined) reserveRoom(now);
      // Delete first so the map's order stays close to expiry order.
      else dropChallenge(key, current);
      challenges.set(joined(key), storeChallenge(challenge));
      return true;
    },

    async attempt({
      key,
      hash,
      now,
      failures = NO_FAILURES,
    }: AttemptInput): Promise<AttemptResult> {
      const entry = challenges.get(key);
      let challenge: ChallengeRecord | undefined;
      let matched = false;
      if (typeof entry === "number") {
        challenge = challengeAt(entry);
        matched = rowHashIs(challengeRows.columns.hash, entry, hash);
      } else if (entry !== undefined) {
        challenge = entry;
        matched = constantTimeEqual(entry.hash, hash);
      }
      const { result, effect } = judgeAttempt({
        challenge,
        budgets: counts(failures, now),
        matched,
        now,
      });
      if (result.outcome === "blocked") return result;
      // Room to count a miss is made before any other answer is given: a guess that could not be
      // counted is refused whatever it is, and whether a code is pending at all, or a full store
      // would judge wrong guesses for free, or tell pending codes from missing ones.
      reserveRoom(now, newCounters(failures, true), maxEntries + guessReserve);
      if (entry === undefined) return result;
      if (effect === "consume" || effect === "forget") dropChallenge(key, entry);
      else if (effect === "count") {
        countGuess(key, entry);
        for (const bucket of failures) countHit(bucket, now);
      }
      return result;
    },

    async take(buckets, now): Promise<TakeResult> {
      const full = lastToFree(counts(buckets, now), now);
      if (full !== undefined) return { ok: false, ...full };
      reserveRoom(now, newCounters(buckets, false));
      const states: BucketState[] = [];
      for (const bucket of buckets) states.push(hit(bucket, now));
      return { ok: true, buckets: states };
    },

    async putDelivery(messageId, record, ttlMs) {
      const current = deliveries.get(messageId);
      if (current === undefined) reserveRoom(record.updatedAt);
      const row = current === undefined ? deliveryRows.take() : rowOf(current);
      const columns = deliveryRows.columns;
      columns.updatedAt[row] = record.updatedAt;
      columns.until[row] = record.updatedAt + ttlMs;
      let marks = 0;
      if (record.sentAt !== undefined) {
        marks |= HAS_SENT_AT;
        columns.sentAt[row] = record.sentAt;
      }
      if (record.expiresAt !== undefined) {
        marks |= HAS_EXPIRES_AT;
        columns.expiresAt[row] = record.expiresAt;
      }
      if (record.fallback !== undefined) marks |= HAS_FALLBACK | (record.fallback ? FALLBACK : 0);
      columns.flags[row] = marks;
      // Text fields only when there are any: most records are numbers alone.
      let text: DeliveryText | undefined;
      const add = (field: Exclude<keyof DeliveryText, "row">, value: string | undefined) => {
        if (value === undefined) return;
        text ??= { row };
        text[field] = value;
      };
      if (
        record.error !== undefined ||
        record.phone !== undefined ||
        record.purpose !== undefined ||
        record.hash !== undefined ||
        record.ip !== undefined ||
        record.client !== undefined ||
        record.sender !== undefined ||
        record.locale !== undefined
      ) {
        add("error", record.error);
        add("phone", record.phone);
        add("purpose", record.purpose);
        add("hash", record.hash);
        add("ip", record.ip);
        add("client", record.client);
        add("sender", record.sender);
        add("locale", record.locale);
      }
      // Set (not deleted first): a record put again keeps its place, as its expiry order did.
      deliveries.set(current === undefined ? joined(messageId) : messageId, text ?? row);
      setStatus(messageId, text ?? row, record.status);
    },

    async advanceDelivery(update, now) {
      let entry = liveDelivery(update.messageId, now);
      if (entry === undefined) return null;
      if (!canAdvance(statusOf(entry), update.status))
        return { changed: false, record: deliveryRecord(entry) };
      entry = setStatus(update.messageId, entry, update.status);
      deliveryRows.columns.updatedAt[rowOf(entry)] = now;
      if (update.error !== undefined) {
        entry = textOf(update.messageId, entry);
        entry.error = update.error;
      }
      return { changed: true, record: deliveryRecord(entry) };
    },

    async getDelivery(messageId, now) {
      const entry = liveDelivery(messageId, now);
      return entry === undefined ? null : deliveryRecord(entry);
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

  /** One more wrong guess on the code under `key`; a count past a byte moves it to a record. */
  function countGuess(key: string, entry: StoredChallenge): void {
    if (typeof entry !== "number") {
      entry.attempts += 1;
      return;
    }
    const { attempts } = challengeRows.columns;
    const next = (attempts[entry] as number) + 1;
    if (isByte(next)) attempts[entry] = next;
    else {
      const record = recordAt(entry);
      challengeRows.release(entry);
      challenges.set(key, { ...record, attempts: next });
    }
  }
}

// Entries a sweep slice looks at before yielding, and a full store's write looks at before refusing.
const SWEEP_SLICE = 5000;
const EVICT_ON_WRITE = 250;

const NO_FAILURES: readonly FailureBucket[] = [];

/**
 * A key as the store keeps it. A key built by concatenation (`login:` and the digits) is held by V8
 * as a rope of its parts, three strings; reading a character joins it into one string in place,
 * and the garbage collector then keeps that string alone: a kept key costs its characters.
 */
function joined(key: string): string {
  key.charCodeAt(0);
  return key;
}

const rowOf = (entry: StoredDelivery) => (typeof entry === "number" ? entry : entry.row);

const isByte = (n: number) => Number.isInteger(n) && n >= 0 && n <= 255;

/** A row of the challenge columns as the rules read it; the hash is spelled out when asked for. */
class RowChallenge implements ChallengeRecord {
  constructor(
    private readonly rows: Rows<ChallengeColumns>,
    public row: number,
    public expiresAt: number,
    public attempts: number,
    public maxAttempts: number,
  ) {}

  get hash(): string {
    return hashAt(this.rows.columns.hash, this.row);
  }
}

// --- Columns

type Column = Float64Array | Uint8Array;

/** Keyed hashes are HMAC-SHA256: 32 bytes, spelled as 43 base64url characters. */
const HASH_BYTES = 32;
const HASH_CHARS = 43;

type ChallengeColumns = ReturnType<typeof challengeColumns>;
const challengeColumns = (rows: number) => ({
  hash: new Uint8Array(rows * HASH_BYTES),
  expiresAt: new Float64Array(rows),
  attempts: new Uint8Array(rows),
  maxAttempts: new Uint8Array(rows),
});

/** `status` holds an index into `DELIVERY_STATUSES`, or this for a status kept as text. */
const OTHER_STATUS = 255;
// `flags`: which optional numbers a record has, and its `fallback`.
const HAS_SENT_AT = 1;
const HAS_EXPIRES_AT = 2;
const HAS_FALLBACK = 4;
const FALLBACK = 8;

const deliveryColumns = (rows: number) => ({
  until: new Float64Array(rows),
  updatedAt: new Float64Array(rows),
  sentAt: new Float64Array(rows),
  expiresAt: new Float64Array(rows),
  status: new Uint8Array(rows),
  flags: new Uint8Array(rows),
});

/** A counter row: a log of one hit, at `at`. */
const counterColumns = (rows: number) => ({
  expiresAt: new Float64Array(rows),
  at: new Float64Array(rows),
});

const MIN_ROWS = 64;

/**
 * Records of fixed size kept column by column in typed arrays, so a record costs its bytes and no
 * object of its own. Rows are numbered; a released row is reused, the free ones chained through the
 * `link` column (a free row's numbers mean nothing). The columns grow by doubling; `compact` moves
 * the rows in use to the front and shrinks them once most rows are free.
 */
class Rows<C extends Record<string, Column>> {
  columns: C;
  capacity = MIN_ROWS;
  /** Rows in use. */
  live = 0;
  /** Rows below this have been handed out at some time; the rest never were. */
  private used = 0;
  /** The last released row, -1 when there is none. */
  private free = -1;

  constructor(
    private readonly make: (rows: number) => C,
    private readonly link: (columns: C) => Float64Array,
  ) {
    this.columns = make(MIN_ROWS);
  }

  take(): number {
    this.live += 1;
    const row = this.free;
    if (row >= 0) {
      this.free = this.link(this.columns)[row] as number;
      return row;
    }
    if (this.used === this.capacity) {
      const grown = this.make(this.capacity * 2);
      for (const name in grown) (grown[name] as Column).set(this.columns[name] as Column);
      this.columns = grown;
      this.capacity *= 2;
    }
    return this.used++;
  }

  release(row: number): void {
    this.link(this.columns)[row] = this.free;
    this.free = row;
    this.live -= 1;
  }

  /**
   * Once no more than a quarter of the rows are in use, moves them to the front of smaller
   * columns, in the order of `entries` (`rowOf` tells an entry's row, if it has one); `moved`
   * renumbers each entry that has a row.
   */
  compact<K, V>(
    entries: Map<K, V>,
    rowOf: (entry: V) => number | undefined,
    moved: (key: K, entry: V, row: number) => void,
  ): void {
    if (this.capacity <= MIN_ROWS || this.live * 4 > this.capacity) return;
    let capacity = MIN_ROWS;
    while (capacity < this.live * 2) capacity *= 2;
    const columns = this.make(capacity);
    const copies = Object.keys(columns).map((name) => {
      const to = columns[name] as Column;
      return { from: this.columns[name] as Column, to, width: to.length / capacity };
    });
    let next = 0;
    for (const [key, entry] of entries) {
      const row = rowOf(entry);
      if (row === undefined) continue;
      for (const { from, to, width } of copies) {
        for (let i = 0; i < width; i++) to[next * width + i] = from[row * width + i] as number;
      }
      moved(key, entry, next);
      next += 1;
    }
    this.columns = columns;
    this.capacity = capacity;
    this.live = next;
    this.used = next;
    this.free = -1;
  }
}

// --- Keyed hashes as bytes

/** base64url digit values by character code; -1 outside the alphabet. */
const DIGITS = new Int8Array(128).fill(-1);
for (const [value, char] of [
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
].entries()) {
  DIGITS[char.charCodeAt(0)] = value;
}

/**
 * Writes the 32 bytes that `hash` spells at `at`, when it is a keyed hash as `hashCode` spells one:
 * 43 base64url characters whose last one has its two unused bits clear. That spelling is the only
 * one of its bytes, so two such hashes are equal exactly when their bytes are. False otherwise
 * (the bytes at `at` are then undefined).
 */
function readHash(hash: string, into: Uint8Array, at: number): boolean {
  if (hash.length !== HASH_CHARS) return false;
  let buffered = 0;
  let bits = 0;
  let out = at;
  for (let i = 0; i < HASH_CHARS; i++) {
    const char = hash.charCodeAt(i);
    const digit = char < 128 ? (DIGITS[char] as number) : -1;
    if (digit < 0) return false;
    buffered = (buffered << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      into[out++] = buffered >>> bits;
      buffered &= (1 << bits) - 1;
    }
  }
  return buffered === 0;
}

/** The hash a row holds, spelled as `hashCode` spells it. */
function hashAt(hashes: Uint8Array, row: number): string {
  return Buffer.from(hashes.buffer, hashes.byteOffset + row * HASH_BYTES, HASH_BYTES).toString(
    "base64url",
  );
}

// The bytes of a guessed hash, compared with a row's in constant time.
const guessed = new Uint8Array(HASH_BYTES);

/**
 * Whether `hash` is the one in the row, compared in constant time. A guess not spelled as keyed
 * hashes are cannot be it (the row's was); that is told apart by the guess alone.
 */
function rowHashIs(hashes: Uint8Array, row: number, hash: string): boolean {
  if (!readHash(hash, guessed, 0)) return false;
  const at = row * HASH_BYTES;
  return timingSafeEqual(guessed, hashes.subarray(at, at + HASH_BYTES));
}

/**
 * The store on better-auth's own database, for apps that want no other service. Over 300 lines
 * because better-auth's adapter offers single-record writes only: each step is spelled out as
 * reads and conditional writes around the decisions of `@waotp/core/store-kit`, whose rules it calls.
 */
import {
  type AttemptResult,
  type Bucket,
  type BucketCount,
  type BucketState,
  blockingBudget,
  bucketState,
  type ChallengeRecord,
  type Counter,
  type CounterState,
  canAdvance,
  challengeKeptUntil,
  constantTimeEqual,
  counterExpiresAt,
  counterState,
  type DeliveryRecord,
  type FailureBucket,
  isSpared,
  judgeAttempt,
  lastToFree,
  mayReplace,
  retryAfter,
  type Store,
  withHit,
  withoutHit,
} from "@waotp/core/store-kit";

/** The part of better-auth's database adapter this store uses. */
export interface RecordAdapter {
  findOne<T>(args: { model: string; where: Where[] }): Promise<T | null>;
  create<T extends Record<string, unknown>>(args: {
    model: string;
    data: T;
    forceAllowId?: boolean;
  }): Promise<unknown>;
  updateMany(args: {
    model: string;
    where: Where[];
    update: Record<string, unknown>;
  }): Promise<number>;
  deleteMany(args: { model: string; where: Where[] }): Promise<number>;
}

interface Where {
  field: string;
  value: string | number | boolean | Date;
  operator?: "eq" | "lt" | "starts_with";
  connector?: "AND" | "OR";
}

interface Row {
  key: string;
  value: string;
  expiresAt: Date | string | number;
}

interface Entry<T> {
  value: T;
  expiresAt: number;
}

export interface DatabaseStoreOptions {
  /** Attempts at a write that other writers keep beating, before failing closed. @default 60 */
  maxRetries?: number;
}

/** Unique-key refusals as drivers code them: PostgreSQL, SQLite, MySQL, SQL Server, Prisma, Mongo. */
const DUPLICATE_CODES = new Set<unknown>([
  "23505",
  "SQLITE_CONSTRAINT_UNIQUE",
  "SQLITE_CONSTRAINT_PRIMARYKEY",
  "ER_DUP_ENTRY",
  1062,
  2601,
  2627,
  "P2002",
  11000,
]);

/** Whether an insert failed on a unique key: by its error's code or wording, or its causes'. */
function isDuplicateKey(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Object && depth < 5; depth++) {
    const { code, errno, number, message } = cause as Record<string, unknown>;
    if ([code, errno, number].some((value) => DUPLICATE_CODES.has(value))) return true;
    if (typeof message === "string" && /unique constraint|duplicate (key|entry)/i.test(message)) {
      return true;
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/** The plugin's own table: one row per record, `key` unique. */
export const RECORD_MODEL = "waotpRecord";
const MODEL = RECORD_MODEL;

/** A stored code; a matched one is kept, marked used, until its row expires. */
type StoredChallenge = ChallengeRecord & { used?: true };

/** The pending challenge of a row: none when there is no row or its code was used. */
const pending = (entry: Entry<StoredChallenge> | null): ChallengeRecord | undefined =>
  entry === null || entry.value.used ? undefined : entry.value;

/**
 * A `Store` in better-auth's own database, in the plugin's `waotpRecord` table: no other service to
 * run. Each record is one row under a unique key, changed only by compare-and-set (an update that
 * matches the row's previous value), so writers in several processes never both win; writers in
 * one process also queue per record. Its decisions are the core's store rules
 * (`@waotp/core/store-kit`), and it passes the core's conformance suite.
 *
 * **Atomic per record, not across records.** better-auth's adapter has no transaction over several
 * rows, so a call that touches several records (a guess: the code and each failure budget; a send:
 * each of its limits) runs as single-record steps. It holds a hit in every bucket first and gives
 * back, on the way out, what did not count. With several processes, or concurrent requests in one:
 * - a limit is never exceeded: a hit is counted in the same step that checks the limit;
 * - a request near a limit can be refused for a hit that another request holds for a moment and
 *   then gives back: a refusal too many, never a guess or a send too many;
 * - a process that dies between a hold and its give-back leaves that hit counted until its window
 *   ends, so the limit errs toward refusing;
 * - a record that many writers change at once is retried, and after `maxRetries` the call fails
 *   (`STORE_UNAVAILABLE`).
 *
 * Where that is not enough, use the Redis store (`@waotp/core/redis`): each of its calls is atomic.
 */
export function databaseStore(adapter: RecordAdapter, options: DatabaseStoreOptions = {}): Store {
  const maxRetries = options.maxRetries ?? 60;
  const queues = new Map<string, Promise<unknown>>();
  let writes = 0;

  async function read<T>(
    name: string,
    now: number,
  ): Promise<{ row: Row | null; entry: Entry<T> | null }> {
    const row = await adapter.findOne<Row>({
      model: MODEL,
      where: [{ field: "key", value: name }],
    });
    if (row === null) return { row, entry: null };
    const expiresAt = new Date(row.expiresAt).getTime();
    return {
      row,
      entry: expiresAt > now ? { value: JSON.parse(row.value) as T, expiresAt } : null,
    };
  }

  /** Runs one read-change-write of a record, atomically; retried when another writer got there first. */
  function mutate<T, R>(
    name: string,
    now: number,
    change: (current: Entry<T> | null) => { next?: Entry<T> | null; result: R },
  ): Promise<R> {
    const run = async (): Promise<R> => {
      for (let attempt = 0; attempt < maxRetries; attempt++) {
        const { row, entry } = await read<T>(name, now);
        const { next, result } = change(entry);
        if (next === undefined) return result;
        if (await write(name, row, next)) {
          sweepNow(now);
          return result;
        }
        // Jittered backoff, growing to 50 ms, so writers on one busy record take turns.
        await new Promise((resolve) =>
          setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)),
        );
      }
      throw new Error(`waotp store: record kept changing under ${maxRetries} writes`);
    };
    // One writer per record in this process; the database settles it between processes.
    const previous = queues.get(name) ?? Promise.resolve();
    const current = previous.then(run, run);
    const settled = current.catch(() => {});
    queues.set(name, settled);
    void settled.then(() => {
      if (queues.get(name) === settled) queues.delete(name);
    });
    return current;
  }

  async function write<T>(name: string, row: Row | null, next: Entry<T> | null): Promise<boolean> {
    if (row === null) {
      if (next === null) return true;
      try {
        await adapter.create({
          model: MODEL,
          data: {
            key: name,
            value: JSON.stringify(next.value),
            expiresAt: new Date(next.expiresAt),
          },
        });
        return true;
      } catch (error) {
        // The unique key refused it: another writer created the record first (and may have deleted
        // it again by now, so the error itself is the evidence). A driver whose refusal this does
        // not recognise still loses the race when the row is there. Anything else is real.
        if (isDuplicateKey(error) || (await read(name, 0)).row !== null) return false;
        throw error;
      }
    }
    const same: Where[] = [
      { field: "key", value: name },
      { field: "value", value: row.value },
    ];
    if (next === null) return (await adapter.deleteMany({ model: MODEL, where: same })) === 1;
    const updated = await adapter.updateMany({
      model: MODEL,
      where: same,
      update: { value: JSON.stringify(next.value), expiresAt: new Date(next.expiresAt) },
    });
    return updated === 1;
  }

  /** Now and then, drops this store's expired rows. */
  function sweepNow(now: number): void {
    writes += 1;
    if (writes % 200 !== 0) return;
    void adapter
      .deleteMany({
        model: MODEL,
        where: [{ field: "expiresAt", value: new Date(now), operator: "lt" }],
      })
      .catch(() => {});
  }

  const counterKey = (key: string) => `b:${key}`;

  /**
   * Counts a hit if the bucket has room (or regardless, with `force`), in one step on its record.
   * Says how the counter stood before the hit and after it, or how long until it has room.
   */
  function countIn(bucket: Bucket, now: number, force = false) {
    type Counted =
      | { ok: true; before: CounterState; after: CounterState }
      | { ok: false; retryAfterMs: number };
    return mutate<Counter, Counted>(counterKey(bucket.key), now, (entry) => {
      const { count, freeAt } = counterState(entry?.value, bucket, now);
      const retryAfterMs = retryAfter(bucket, { count, freeAt }, now);
      if (retryAfterMs !== undefined && !force) return { result: { ok: false, retryAfterMs } };
      const counter = withHit(entry?.value, bucket, now);
      const after = counterState(counter, bucket, now);
      return {
        next: { value: counter, expiresAt: counterExpiresAt(counter, bucket) },
        result: {
          ok: true,
          before: { count, freeAt },
          after: { count: after.count, freeAt: after.freeAt },
        },
      };
    });
  }

  function giveBack(bucket: Bucket, now: number) {
    return mutate<Counter, void>(counterKey(bucket.key), now, (entry) => {
      const counter = withoutHit(entry?.value, now);
      return {
        next:
          counter === undefined
            ? null
            : { value: counter, expiresAt: counterExpiresAt(counter, bucket) },
        result: undefined,
      };
    });
  }

  async function peek<B extends Bucket>(bucket: B, now: number): Promise<BucketCount<B>> {
    const { entry } = await read<Counter>(counterKey(bucket.key), now);
    const { count, freeAt } = counterState(entry?.value, bucket, now);
    return { bucket, count, freeAt };
  }

  /** Each bucket as it stands, read one after another: one record each, no snapshot of them all. */
  async function peekAll<B extends Bucket>(buckets: readonly B[], now: number) {
    const counts: BucketCount<B>[] = [];
    for (const bucket of buckets) counts.push(await peek(bucket, now));
    return counts;
  }

  return {
    putChallenge(key, challenge, now, ifHash) {
      return mutate<StoredChallenge, boolean>(`c:${key}`, now, (entry) => {
        if (!mayReplace(pending(entry), ifHash, now)) return { result: false };
        // The row outlives the code by its grace, so a late guess hears EXPIRED, not NO_PENDING_CODE.
        const next = { value: { ...challenge }, expiresAt: challengeKeptUntil(challenge) };
        return { next, result: true };
      });
    },

    async attempt({ key, hash, now, failures = [] }): Promise<AttemptResult> {
      // Read apart from the step that judges: only to know whether a budget spares this guess.
      const first = pending((await read<StoredChallenge>(`c:${key}`, now)).entry);
      // Hold a guess in every budget first, so concurrent guesses can never overdraw one. A full
      // budget that spares a fresh code's first guess is counted in all the same.
      const held: BucketCount<FailureBucket>[] = [];
      let result: AttemptResult = { outcome: "missing" };
      try {
        for (const bucket of failures) {
          const hold = await countIn(bucket, now, isSpared(bucket, first, now));
          if (!hold.ok) {
            // Full: give back what this guess holds, then name the full budget that frees up last.
            for (const done of held.splice(0)) await giveBack(done.bucket, now);
            const full = blockingBudget(await peekAll(failures, now), first, now);
            result = {
              outcome: "blocked",
              ...(full ?? { key: bucket.key, retryAfterMs: hold.retryAfterMs }),
            };
            return result;
          }
          held.push({ bucket, ...hold.before });
        }
        // Judged on the budgets as they stood before this guess. Every outcome that judges the
        // guess is a write (a counted miss, or the code marked used), so a database that refuses
        // writes refuses the guess unjudged, whether right or wrong.
        result = await mutate<StoredChallenge, AttemptResult>(`c:${key}`, now, (entry) => {
          const challenge = pending(entry);
          const { result: judged, effect } = judgeAttempt({
            challenge,
            budgets: held,
            matched: challenge !== undefined && constantTimeEqual(challenge.hash, hash),
            now,
          });
          if (entry === null || challenge === undefined || effect === "none") {
            return { result: judged };
          }
          if (effect === "forget") return { next: null, result: judged };
          // A matched code is kept, marked used, until its row expires: a write, not a delete,
          // which a full database would still allow.
          const value =
            effect === "consume"
              ? { ...challenge, used: true as const }
              : { ...challenge, attempts: challenge.attempts + 1 };
          return { next: { value, expiresAt: entry.expiresAt }, result: judged };
        });
      } finally {
        // A hold that did not become a counted miss goes back, error or not.
        if (result.outcome !== "mismatch") {
          for (const done of held) await giveBack(done.bucket, now);
        }
      }
      return result;
    },

    async take(buckets, now) {
      // Read every bucket before counting in any: a send refused by one limit must not hold the
      // others (a phone's cooldown) even for a moment, or refused requests would block other people's.
      const full = lastToFree(await peekAll(buckets, now), now);
      if (full !== undefined) return { ok: false, ...full };
      const counted: Bucket[] = [];
      const states: BucketState[] = [];
      for (const bucket of buckets) {
        if (bucket.peek) {
          states.push(bucketState(bucket, await peek(bucket, now)));
          continue;
        }
        let held: Awaited<ReturnType<typeof countIn>>;
        try {
          held = await countIn(bucket, now);
        } catch (error) {
          for (const done of counted) await giveBack(done, now).catch(() => {});
          throw error;
        }
        if (!held.ok) {
          // Another send filled it meanwhile: give back what this one took.
          for (const done of counted) await giveBack(done, now);
          return { ok: false, key: bucket.key, retryAfterMs: held.retryAfterMs };
        }
        counted.push(bucket);
        states.push(bucketState(bucket, held.after));
      }
      return { ok: true, buckets: states };
    },

    async putDelivery(messageId, record, ttlMs) {
      await mutate<DeliveryRecord, void>(`d:${messageId}`, record.updatedAt, () => ({
        next: { value: { ...record }, expiresAt: record.updatedAt + ttlMs },
        result: undefined,
      }));
    },

    advanceDelivery(update, now) {
      return mutate<DeliveryRecord, { changed: boolean; record: DeliveryRecord } | null>(
        `d:${update.messageId}`,
        now,
        (entry) => {
          if (entry === null) return { result: null };
          if (!canAdvance(entry.value.status, update.status)) {
            return { result: { changed: false, record: entry.value } };
          }
          const record: DeliveryRecord = {
            ...entry.value,
            status: update.status,
            updatedAt: now,
            ...(update.error === undefined ? {} : { error: update.error }),
          };
          return {
            next: { value: record, expiresAt: entry.expiresAt },
            result: { changed: true, record },
          };
        },
      );
    },

    async getDelivery(messageId, now) {
      return (await read<DeliveryRecord>(`d:${messageId}`, now)).entry?.value ?? null;
    },

    setIfAbsent(key, value, ttlMs, now) {
      return mutate<string, string | null>(`v:${key}`, now, (entry) =>
        entry === null
          ? { next: { value, expiresAt: now + ttlMs }, result: null }
          : { result: entry.value },
      );
    },

    async get(key, now) {
      return (await read<string>(`v:${key}`, now)).entry?.value ?? null;
    },

    async set(key, value, ttlMs, now) {
      await mutate<string, void>(`v:${key}`, now, () => ({
        next: { value, expiresAt: now + ttlMs },
        result: undefined,
      }));
    },

    async delete(key) {
      await mutate<string, void>(`v:${key}`, Date.now(), () => ({ next: null, result: undefined }));
    },
  };
}

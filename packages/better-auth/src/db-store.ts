import {
  type AttemptResult,
  type Bucket,
  type ChallengeRecord,
  type Counter,
  canAdvance,
  constantTimeEqual,
  counterExpiresAt,
  counterState,
  type DeliveryRecord,
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

/** The plugin's own table: one row per record, `key` unique. */
export const RECORD_MODEL = "waotpRecord";
const MODEL = RECORD_MODEL;
const EXPIRED_GRACE_MS = 10 * 60_000;

/**
 * A `Store` in better-auth's own database, in the plugin's `waotpRecord` table: no other service to
 * run. Each record is one row under a unique key, changed only by compare-and-set (an update that
 * matches the row's previous value), so writers in several processes never both win; writers in
 * one process also queue per record. Operations that touch two records
 * (an attempt, a send across several limits) reserve first and give back on the way out, so a limit
 * is never exceeded, only briefly held.
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
        // The unique key refused it: another writer created the record first. Anything else is real.
        if ((await read(name, 0)).row !== null) return false;
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

  /** Counts a hit if the bucket has room (or regardless, with `force`). */
  function countIn(bucket: Bucket, now: number, force = false) {
    return mutate<Counter, { ok: boolean; count: number; freeAt: number }>(
      counterKey(bucket.key),
      now,
      (entry) => {
        const { count } = counterState(entry?.value, bucket, now);
        if (count >= bucket.limit && !force)
          return { result: { ok: false, ...counterState(entry?.value, bucket, now) } };
        const counter = withHit(entry?.value, bucket, now);
        const after = counterState(counter, bucket, now);
        return {
          next: { value: counter, expiresAt: counterExpiresAt(counter, bucket) },
          result: { ok: true, count: after.count, freeAt: after.freeAt },
        };
      },
    );
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

  async function peek(bucket: Bucket, now: number) {
    const { entry } = await read<Counter>(counterKey(bucket.key), now);
    return counterState(entry?.value, bucket, now);
  }

  return {
    putChallenge(key, challenge, now, ifHash) {
      return mutate<ChallengeRecord & { used?: true }, boolean>(`c:${key}`, now, (entry) => {
        const live = entry !== null && entry.value.expiresAt > now && !entry.value.used;
        if (ifHash !== undefined && !(live && constantTimeEqual(entry.value.hash, ifHash))) {
          return { result: false };
        }
        // The row outlives the code a little, so a late guess hears EXPIRED, not NO_PENDING_CODE.
        const expiresAt = challenge.expiresAt + EXPIRED_GRACE_MS;
        return { next: { value: { ...challenge }, expiresAt }, result: true };
      });
    },

    async attempt({ key, hash, now, failures = [] }): Promise<AttemptResult> {
      type Stored = ChallengeRecord & { used?: true };
      const current = (await read<Stored>(`c:${key}`, now)).entry?.value;
      const fresh = current !== undefined && !current.used && current.attempts === 0;
      // Hold a guess in every budget first, so concurrent guesses can never overdraw one. A full
      // budget that spares a fresh code's first guess is counted in all the same.
      const held: Bucket[] = [];
      let budgetLeft = Number.POSITIVE_INFINITY;
      let spared: { key: string; freeAt: number } | undefined;
      let result: AttemptResult = { outcome: "missing" };
      try {
        for (const bucket of failures) {
          const spare = bucket.sparesFirstGuess === true && fresh;
          const hold = await countIn(bucket, now, spare);
          if (!hold.ok) {
            result = { outcome: "blocked", key: bucket.key, retryAfterMs: hold.freeAt - now };
            return result;
          }
          held.push(bucket);
          if (hold.count > bucket.limit) spared = { key: bucket.key, freeAt: hold.freeAt };
          budgetLeft = Math.min(budgetLeft, Math.max(0, bucket.limit - hold.count));
        }
        // Every outcome that judges the guess is a write (a counted miss, or the code marked used),
        // so a database that refuses writes refuses the guess unjudged, whether right or wrong.
        result = await mutate<Stored, AttemptResult>(`c:${key}`, now, (entry) => {
          if (entry === null || entry.value.used) return { result: { outcome: "missing" } };
          const challenge = entry.value;
          if (challenge.expiresAt <= now) return { next: null, result: { outcome: "expired" } };
          if (challenge.attempts >= challenge.maxAttempts) return { result: { outcome: "locked" } };
          // Spared as a first guess, but another guess got there first: the budget is full.
          if (spared !== undefined && challenge.attempts > 0) {
            const retryAfterMs = spared.freeAt - now;
            return { result: { outcome: "blocked", key: spared.key, retryAfterMs } };
          }
          if (constantTimeEqual(challenge.hash, hash)) {
            // Kept as used until it expires (no delete, which a full database would still allow).
            const used = { ...challenge, used: true as const };
            return {
              next: { value: used, expiresAt: entry.expiresAt },
              result: { outcome: "match" },
            };
          }
          const attempts = challenge.attempts + 1;
          return {
            next: { value: { ...challenge, attempts }, expiresAt: entry.expiresAt },
            result: { outcome: "mismatch", attemptsLeft: challenge.maxAttempts - attempts },
          };
        });
      } finally {
        // A hold that did not become a counted miss goes back, error or not.
        if (result.outcome !== "mismatch") {
          for (const bucket of held) await giveBack(bucket, now);
        }
      }
      if (result.outcome === "mismatch") {
        return { outcome: "mismatch", attemptsLeft: Math.min(result.attemptsLeft, budgetLeft) };
      }
      return result;
    },

    async take(buckets, now) {
      // Read every bucket before counting in any: a send refused by one limit must not hold the
      // others (a phone's cooldown) even for a moment, or refused requests would block other people's.
      let full: { key: string; retryAfterMs: number } | undefined;
      for (const bucket of buckets) {
        const state = await peek(bucket, now);
        if (state.count >= bucket.limit) {
          const retryAfterMs = state.count === 0 ? bucket.windowMs : state.freeAt - now;
          if (full === undefined || retryAfterMs > full.retryAfterMs)
            full = { key: bucket.key, retryAfterMs };
        }
      }
      if (full !== undefined) return { ok: false, ...full };
      const counted: Bucket[] = [];
      const states = [];
      for (const bucket of buckets) {
        if (bucket.peek) {
          const state = await peek(bucket, now);
          states.push({ remaining: bucket.limit - state.count, resetAt: state.freeAt });
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
          return { ok: false, key: bucket.key, retryAfterMs: Math.max(1, held.freeAt - now) };
        }
        counted.push(bucket);
        states.push({ remaining: bucket.limit - held.count, resetAt: held.freeAt });
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

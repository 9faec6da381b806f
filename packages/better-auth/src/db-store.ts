/**
 * The store on better-auth's own database, for apps that want no other service. Over 700 lines
 * because better-auth's adapter offers single-record writes only: each step is spelled out as
 * reads and conditional writes around the decisions of `@waotp/core/store-kit`, whose rules it
 * calls, and each process queues its steps per record, so that steps queued together on a record
 * make one write and a row it has just written is not read again.
 */
import { randomUUID } from "node:crypto";
import {
  type AttemptResult,
  type Bucket,
  type BucketCount,
  type BucketState,
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
  /**
   * Several rows in one query (better-auth's adapters all have it). Without it, the store reads
   * them one after another.
   */
  findMany?<T>(args: { model: string; where: Where[]; limit?: number }): Promise<T[]>;
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
  value: string | number | boolean | Date | string[];
  operator?: "eq" | "lt" | "starts_with" | "in";
  connector?: "AND" | "OR";
}

interface Row {
  key: string;
  value: string;
  expiresAt: Date | string | number;
}

/**
 * A row as the store knows it: its value as stored (what a compare-and-set matches) and when it
 * expires. `null` stands for no row.
 */
interface Known {
  value: string;
  expiresAt: number;
  /** `value` parsed, once it was; shared by whoever reads the row, so never changed in place. */
  parsed?: unknown;
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

/** The row's entry, live or not: its value parsed once. */
function entryIn<T>(known: Known | null | undefined): Entry<T> | null {
  if (known == null) return null;
  if (!("parsed" in known)) known.parsed = JSON.parse(known.value);
  return { value: known.parsed as T, expiresAt: known.expiresAt };
}

/** The entry if it is live at `now`, else null. */
const live = <T>(entry: Entry<T> | null, now: number): Entry<T> | null =>
  entry !== null && entry.expiresAt > now ? entry : null;

/** The live entry of a row at `now`, or null. */
const entryOf = <T>(known: Known | null | undefined, now: number): Entry<T> | null =>
  known == null || known.expiresAt <= now ? null : entryIn<T>(known);

/** A write that another writer beat: the row was not as it was read. */
const LOST = Symbol("lost");

/** What a change to a record says: what to write (an entry, null to delete, nothing), and its answer. */
type Change<T, R> = (current: Entry<T> | null) => { next?: Entry<T> | null; result: R };

/** A read-change-write of a record, waiting for its turn. */
interface Mutation {
  now: number;
  change: Change<unknown, unknown>;
  /** The caller's reading of the row in this call. */
  seen: Known | null | undefined;
  /** Starts from a row read in its own turn, never one this process knew from before. */
  fresh: boolean;
  done(outcome: { result: unknown; row: Known | null }): void;
  fail(error: unknown): void;
}

/** Any other step on a record (a put, a delete): it settles its own caller. */
type Job = (turn: Turns) => Promise<void>;

/** The steps one process has queued on a record, and the row as the last of them left it. */
interface Turns {
  queue: (Mutation | Job)[];
  /**
   * The row as the last step on this record wrote or read it, while steps follow one another (a
   * record many requests change at once, like a country's send window, is then read once, not by
   * each). `undefined`: not known.
   */
  row: Known | null | undefined;
}

/** Read-change-writes of one record applied in one write, at most. */
const MAX_BATCH = 100;

/** The expired rows are swept after this many writes, and this long after the last sweep. */
const SWEEP_WRITES = 200;
const SWEEP_INTERVAL_MS = 30_000;

/**
 * A `Store` in better-auth's own database, in the plugin's `waotpRecord` table: no other service to
 * run. Each record is one row under a unique key, changed only by compare-and-set (an update that
 * matches the row's previous value), so writers in several processes never both win; writers in
 * one process also queue per record, and the changes queued together on a record go in one write.
 * Its decisions are the core's store rules (`@waotp/core/store-kit`), and it passes the core's
 * conformance suite.
 *
 * A send with the default limits costs one read of all its limits, one write to each, and one
 * insert each for the code and its delivery record; a wrong guess one read of the code and both
 * failure budgets and three writes, a right guess two more (the budgets' give-backs); a guess at
 * no code, or against a full budget, the read alone.
 *
 * **Atomic per record, not across records.** better-auth's adapter has no transaction over several
 * rows, so a call that touches several records (a guess: the code and each failure budget; a send:
 * each of its limits) reads them all in one query, answers from that reading what writes nothing (a
 * full limit, no code), and otherwise runs as single-record steps, each a compare-and-set against
 * the row as read. It holds a hit in every bucket first and gives back, on the way out, what did not
 * count. With several processes, or concurrent requests in one:
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
  const turns = new Map<string, Turns>();
  let writes = 0;
  let sweptAt = Number.NEGATIVE_INFINITY;

  const known = (row: Row): Known => ({
    value: row.value,
    expiresAt: new Date(row.expiresAt).getTime(),
  });

  async function read(name: string): Promise<Known | null> {
    const row = await adapter.findOne<Row>({
      model: MODEL,
      where: [{ field: "key", value: name }],
    });
    return row === null ? null : known(row);
  }

  /**
   * Several records' rows, in one query when the adapter has `findMany` (one reading of them all,
   * as they stood at one moment), else one by one.
   */
  async function readAll(names: readonly string[]): Promise<Map<string, Known | null>> {
    const rows = new Map<string, Known | null>();
    if (adapter.findMany === undefined || names.length === 1) {
      for (const name of names) rows.set(name, await read(name));
      return rows;
    }
    const unique = [...new Set(names)];
    const found = await adapter.findMany<Row>({
      model: MODEL,
      where: [{ field: "key", value: unique, operator: "in" }],
      limit: unique.length,
    });
    for (const name of unique) rows.set(name, null);
    for (const row of found) rows.set(row.key, known(row));
    return rows;
  }

  /**
   * Queues a step on the record; steps run one at a time per record, in order. Read-change-writes
   * queued one after another run as one batch: each change sees the entry as the ones before it
   * left it, and the batch makes one write (one compare-and-set for a record that many requests
   * change at once, not one each).
   */
  function enqueue(name: string, step: Mutation | Job): void {
    const turn = turns.get(name);
    if (turn !== undefined) {
      turn.queue.push(step);
      return;
    }
    const started: Turns = { queue: [step], row: undefined };
    turns.set(name, started);
    void drain(name, started);
  }

  async function drain(name: string, turn: Turns): Promise<void> {
    // Steps start on a later tick, so those queued together go in one batch.
    await Promise.resolve();
    while (turn.queue.length > 0) {
      const head = turn.queue[0];
      if (typeof head === "function") {
        turn.queue.shift();
        await head(turn);
        continue;
      }
      let size = 1;
      while (
        size < turn.queue.length &&
        size < MAX_BATCH &&
        typeof turn.queue[size] !== "function"
      ) {
        size++;
      }
      await applyBatch(name, turn, turn.queue.splice(0, size) as Mutation[]);
    }
    turns.delete(name);
  }

  /**
   * Runs read-change-writes of a record, atomically, as one: each change sees the live entry as
   * the changes before it left it, and says what to write. The row they start from is the last one
   * this process wrote or read while steps queued on the record, else the first caller's reading
   * of it in this call, else a fresh read; a write that finds the row changed reads it again and
   * runs every change anew. What writes nothing is only decided on a row read in this turn, so it
   * never rests on a row from before the call.
   */
  async function applyBatch(name: string, turn: Turns, batch: Mutation[]): Promise<void> {
    const fresh = batch.some((mutation) => mutation.fresh);
    let row = fresh ? undefined : turn.row !== undefined ? turn.row : batch[0]?.seen;
    let readNow = false;
    try {
      for (let attempt = 0; attempt < maxRetries; attempt++) {
        if (row === undefined) {
          row = await read(name);
          readNow = true;
        }
        let entry = entryIn<unknown>(row);
        let changed = false;
        const results: unknown[] = [];
        for (const { change, now } of batch) {
          const { next, result } = change(live(entry, now));
          results.push(result);
          if (next !== undefined && !(next === null && entry === null)) {
            entry = next;
            changed = true;
          }
        }
        if (!changed) {
          if (!readNow) {
            row = undefined;
            continue;
          }
          turn.row = row;
          settle(batch, results, row);
          return;
        }
        const written = await write(name, row, entry);
        if (written !== LOST) {
          turn.row = written;
          sweepNow(batch[batch.length - 1]?.now ?? Date.now());
          settle(batch, results, written);
          return;
        }
        // Jittered backoff, growing to 50 ms, so writers on one busy record take turns; none when
        // the row was one this process knew from before, which another process may well have changed.
        if (readNow) {
          await new Promise((resolve) =>
            setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)),
          );
        }
        row = undefined;
        readNow = false;
        turn.row = undefined;
      }
      throw new Error(`waotp store: record kept changing under ${maxRetries} writes`);
    } catch (error) {
      // The row is not known any more: the next step reads it.
      turn.row = undefined;
      for (const mutation of batch) mutation.fail(error);
    }
  }

  function settle(batch: Mutation[], results: unknown[], row: Known | null): void {
    for (const [i, mutation] of batch.entries()) mutation.done({ result: results[i], row });
  }

  /**
   * One read-change-write of a record, atomically (see `applyBatch`): `change` sees the live entry
   * and says what to write (`next`: an entry, null to delete, undefined for nothing). `seen` is the
   * caller's reading of the row in this call; `fresh` starts from a row read in this turn only.
   * Resolves to the result and the row as it is left.
   */
  function mutate<T, R>(
    name: string,
    now: number,
    change: Change<T, R>,
    seen?: Known | null,
    fresh = false,
  ): Promise<{ result: R; row: Known | null }> {
    return new Promise((resolve, reject) =>
      enqueue(name, {
        now,
        change: change as Change<unknown, unknown>,
        seen,
        fresh,
        done: resolve as (outcome: { result: unknown; row: Known | null }) => void,
        fail: reject,
      }),
    );
  }

  /** Runs `run` in the record's turn, after the steps queued before it. */
  function inTurn<R>(name: string, run: (turn: Turns) => Promise<R>): Promise<R> {
    return new Promise((resolve, reject) =>
      enqueue(name, async (turn) => {
        try {
          resolve(await run(turn));
        } catch (error) {
          turn.row = undefined;
          reject(error);
        }
      }),
    );
  }

  /** Writes `next` over `row` if the record still holds it: the row as written, or `LOST`. */
  async function write<T>(
    name: string,
    row: Known | null,
    next: Entry<T> | null,
  ): Promise<Known | null | typeof LOST> {
    if (row === null) {
      if (next === null) return null;
      const created = {
        value: JSON.stringify(next.value),
        expiresAt: next.expiresAt,
        parsed: next.value,
      };
      return (await create(name, created)) ? created : LOST;
    }
    const same: Where[] = [
      { field: "key", value: name },
      { field: "value", value: row.value },
    ];
    if (next === null) {
      return (await adapter.deleteMany({ model: MODEL, where: same })) === 1 ? null : LOST;
    }
    const written = {
      value: JSON.stringify(next.value),
      expiresAt: next.expiresAt,
      parsed: next.value,
    };
    const updated = await adapter.updateMany({
      model: MODEL,
      where: same,
      update: { value: written.value, expiresAt: new Date(written.expiresAt) },
    });
    return updated === 1 ? written : LOST;
  }

  /** Creates the record's row: false when it already has one (another writer got there first). */
  async function create(name: string, row: Known): Promise<boolean> {
    try {
      await adapter.create({
        model: MODEL,
        data: { key: name, value: row.value, expiresAt: new Date(row.expiresAt) },
      });
      return true;
    } catch (error) {
      // The unique key refused it: another writer created the record first (and may have deleted
      // it again by now, so the error itself is the evidence). A driver whose refusal this does
      // not recognise still loses the race when the row is there. Anything else is real.
      if (isDuplicateKey(error) || (await read(name)) !== null) return false;
      throw error;
    }
  }

  /**
   * Whether the table refuses a second row under one key, as the unique index better-auth's
   * migrations create does (better-auth's memory adapter has none). Learnt once, by inserting a
   * marker row twice; while that fails for another reason (a database refusing writes) it is not
   * known, and the store does not count on it.
   */
  let uniqueKeys: boolean | Promise<boolean> | undefined;
  function refusesDuplicates(now: number): boolean | Promise<boolean> {
    uniqueKeys ??= (async () => {
      const data = { key: `u:${randomUUID()}`, value: "null", expiresAt: new Date(now) };
      await adapter.create({ model: MODEL, data });
      try {
        await adapter.create({ model: MODEL, data });
        return false;
      } catch (error) {
        if (isDuplicateKey(error)) return true;
        throw error;
      } finally {
        await adapter
          .deleteMany({ model: MODEL, where: [{ field: "key", value: data.key }] })
          .catch(() => {});
      }
    })().then(
      (known) => {
        uniqueKeys = known;
        return known;
      },
      () => {
        uniqueKeys = undefined;
        return false;
      },
    );
    return uniqueKeys;
  }

  /**
   * Sets the record to `value` whatever it held, in one statement when it goes as expected: an
   * update of whatever row is there when this process knows there is one, else an insert (most
   * records set this way are new: a code for a phone, a delivery, a client's first sign-in), or an
   * update first where the table would take a second row under the key. The other statement
   * follows when the first finds the row otherwise.
   */
  function put(name: string, value: unknown, expiresAt: number, now: number): Promise<void> {
    return inTurn(name, async (turn) => {
      const row: Known = { value: JSON.stringify(value), expiresAt };
      let insert = turn.row !== undefined ? turn.row === null : await refusesDuplicates(now);
      for (let attempt = 0; attempt < maxRetries; attempt++) {
        const done = insert
          ? await create(name, row)
          : (await adapter.updateMany({
              model: MODEL,
              where: [{ field: "key", value: name }],
              update: { value: row.value, expiresAt: new Date(expiresAt) },
            })) === 1;
        if (done) {
          turn.row = row;
          sweepNow(now);
          return;
        }
        insert = !insert;
        // An insert refused and an update that found nothing: another writer is deleting and
        // creating the row meanwhile.
        if (attempt % 2 === 1) {
          await new Promise((resolve) =>
            setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)),
          );
        }
      }
      throw new Error(`waotp store: record kept changing under ${maxRetries} writes`);
    });
  }

  /**
   * Now and then, drops this store's expired rows: after 200 writes, and no more often than every
   * half minute, since the delete looks at every row of the table.
   */
  function sweepNow(now: number): void {
    writes += 1;
    if (writes < SWEEP_WRITES || now - sweptAt < SWEEP_INTERVAL_MS) return;
    writes = 0;
    sweptAt = now;
    void adapter
      .deleteMany({
        model: MODEL,
        where: [{ field: "expiresAt", value: new Date(now), operator: "lt" }],
      })
      .catch(() => {});
  }

  const counterKey = (key: string) => `b:${key}`;

  /** A bucket as its row stands at `now`. */
  function countOf<B extends Bucket>(bucket: B, row: Known | null | undefined, now: number) {
    const { count, freeAt } = counterState(entryOf<Counter>(row, now)?.value, bucket, now);
    return { bucket, count, freeAt } as BucketCount<B>;
  }

  type Counted =
    | { ok: true; before: CounterState; after: CounterState; row: Known | null }
    | { ok: false; retryAfterMs: number };

  /**
   * Counts a hit if the bucket has room (or regardless, with `force`), in one step on its record,
   * from `seen` when the caller read it. Says how the counter stood before the hit and after it,
   * or how long until it has room.
   */
  async function countIn(
    bucket: Bucket,
    now: number,
    force: boolean,
    seen: Known | null | undefined,
  ): Promise<Counted> {
    const { result, row } = await mutate<Counter, Counted>(
      counterKey(bucket.key),
      now,
      (entry) => {
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
            row: null,
          },
        };
      },
      seen,
    );
    return result.ok ? { ...result, row } : result;
  }

  /** Takes back the hit made at `now`, from `seen`: the row as the hit left it. */
  async function giveBack(bucket: Bucket, now: number, seen: Known | null): Promise<void> {
    await mutate<Counter, void>(
      counterKey(bucket.key),
      now,
      (entry) => {
        const counter = withoutHit(entry?.value, now);
        return {
          next:
            counter === undefined
              ? null
              : { value: counter, expiresAt: counterExpiresAt(counter, bucket) },
          result: undefined,
        };
      },
      seen,
    );
  }

  /** Gives back every hit held, one after another; the first error is thrown once all were tried. */
  async function giveBackAll(
    held: readonly { bucket: Bucket; row: Known | null }[],
    now: number,
  ): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (const { bucket, row } of held) {
      await giveBack(bucket, now, row).catch((error: unknown) => {
        failure ??= { error };
      });
    }
    if (failure !== undefined) throw failure.error;
  }

  return {
    async putChallenge(key, challenge, now, ifHash) {
      // The row outlives the code by its grace, so a late guess hears EXPIRED, not NO_PENDING_CODE.
      const expiresAt = challengeKeptUntil(challenge);
      if (ifHash === undefined) {
        await put(`c:${key}`, challenge, expiresAt, now);
        return true;
      }
      const { result } = await mutate<StoredChallenge, boolean>(`c:${key}`, now, (entry) => {
        if (!mayReplace(pending(entry), ifHash, now)) return { result: false };
        return { next: { value: { ...challenge }, expiresAt }, result: true };
      });
      return result;
    },

    async attempt({ key, hash, now, failures = [] }): Promise<AttemptResult> {
      const name = `c:${key}`;
      const names = failures.map((bucket) => counterKey(bucket.key));
      // The code and every budget, read at once: what needs no comparison (a full budget, no code,
      // a locked one) is answered from that reading alone, and writes nothing.
      const rows = await readAll([name, ...names]);
      const stored = rows.get(name);
      const first = pending(entryOf<StoredChallenge>(stored, now));
      const budgets = failures.map((bucket, i) =>
        countOf(bucket, rows.get(names[i] as string), now),
      );
      const unseen = judgeAttempt({ challenge: first, budgets, matched: false, now });
      if (unseen.effect === "none") return unseen.result;
      if (unseen.effect === "forget") {
        // An expired code: forgotten in one step, unless it changed meanwhile (then judged below).
        const { result } = await mutate<StoredChallenge, AttemptResult | undefined>(
          name,
          now,
          (entry) => {
            const { result, effect } = judgeAttempt({
              challenge: pending(entry),
              budgets,
              matched: false,
              now,
            });
            return effect === "forget" ? { next: null, result } : { result: undefined };
          },
          stored,
        );
        if (result !== undefined) return result;
      }
      // A code to compare against: hold a guess in every budget first, so concurrent guesses can
      // never overdraw one. A full budget that spares a fresh code's first guess is counted in all
      // the same.
      const held: (BucketCount<FailureBucket> & { row: Known | null })[] = [];
      let result: AttemptResult = { outcome: "missing" };
      try {
        for (const [i, bucket] of failures.entries()) {
          const hold = await countIn(
            bucket,
            now,
            isSpared(bucket, first, now),
            rows.get(names[i] as string),
          );
          if (!hold.ok) {
            // Full: give back what this guess holds, then name the full budget that frees up last.
            await giveBackAll(held.splice(0), now);
            const again = await readAll([name, ...names]);
            const { result: judged } = judgeAttempt({
              challenge: pending(entryOf<StoredChallenge>(again.get(name), now)),
              budgets: failures.map((b, j) => countOf(b, again.get(names[j] as string), now)),
              matched: false,
              now,
            });
            result =
              judged.outcome === "blocked"
                ? judged
                : { outcome: "blocked", key: bucket.key, retryAfterMs: hold.retryAfterMs };
            return result;
          }
          held.push({ bucket, ...hold.before, row: hold.row });
        }
        // Judged on the budgets as they stood before this guess. Every outcome that judges the
        // guess is a write (a counted miss, or the code marked used), so a database that refuses
        // writes refuses the guess unjudged, whether right or wrong.
        ({ result } = await mutate<StoredChallenge, AttemptResult>(
          name,
          now,
          (entry) => {
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
          },
          stored,
        ));
      } finally {
        // A hold that did not become a counted miss goes back, error or not. One whose give-back
        // fails stays counted, as if this process had died then: the answer stands (a matched code
        // is used up either way), and the budget errs toward refusing.
        if (result.outcome !== "mismatch") await giveBackAll(held, now).catch(() => {});
      }
      return result;
    },

    async take(buckets, now) {
      // Read every bucket before counting in any: a send refused by one limit must not hold the
      // others (a phone's cooldown) even for a moment, or refused requests would block other people's.
      const names = buckets.map((bucket) => counterKey(bucket.key));
      const rows = await readAll(names);
      const counts = buckets.map((bucket, i) => countOf(bucket, rows.get(names[i] as string), now));
      const full = lastToFree(counts, now);
      if (full !== undefined) return { ok: false, ...full };
      const counted: { bucket: Bucket; row: Known | null }[] = [];
      const states: BucketState[] = [];
      for (const [i, bucket] of buckets.entries()) {
        if (bucket.peek) {
          states.push(bucketState(bucket, counts[i] as BucketCount));
          continue;
        }
        let held: Counted;
        try {
          held = await countIn(bucket, now, false, rows.get(names[i] as string));
        } catch (error) {
          await giveBackAll(counted, now).catch(() => {});
          throw error;
        }
        if (!held.ok) {
          // Another send filled it meanwhile: give back what this one took.
          await giveBackAll(counted, now);
          return { ok: false, key: bucket.key, retryAfterMs: held.retryAfterMs };
        }
        counted.push({ bucket, row: held.row });
        states.push(bucketState(bucket, held.after));
      }
      return { ok: true, buckets: states };
    },

    async putDelivery(messageId, record, ttlMs) {
      await put(`d:${messageId}`, record, record.updatedAt + ttlMs, record.updatedAt);
    },

    async advanceDelivery(update, now) {
      // The records it answers are copies: the one it keeps is shared by the steps on the record.
      const { result } = await mutate<
        DeliveryRecord,
        { changed: boolean; record: DeliveryRecord } | null
      >(`d:${update.messageId}`, now, (entry) => {
        if (entry === null) return { result: null };
        if (!canAdvance(entry.value.status, update.status)) {
          return { result: { changed: false, record: { ...entry.value } } };
        }
        const record: DeliveryRecord = {
          ...entry.value,
          status: update.status,
          updatedAt: now,
          ...(update.error === undefined ? {} : { error: update.error }),
        };
        return {
          next: { value: record, expiresAt: entry.expiresAt },
          result: { changed: true, record: { ...record } },
        };
      });
      return result;
    },

    async getDelivery(messageId, now) {
      return entryOf<DeliveryRecord>(await read(`d:${messageId}`), now)?.value ?? null;
    },

    async setIfAbsent(key, value, ttlMs, now) {
      // From a row read in its turn: a value says nothing of its expiry (the same value may have
      // been set again since, to live longer), so a row known from before could pass for expired.
      const { result } = await mutate<string, string | null>(
        `v:${key}`,
        now,
        (entry) =>
          entry === null
            ? { next: { value, expiresAt: now + ttlMs }, result: null }
            : { result: entry.value },
        undefined,
        true,
      );
      return result;
    },

    async get(key, now) {
      return entryOf<string>(await read(`v:${key}`), now)?.value ?? null;
    },

    async set(key, value, ttlMs, now) {
      await put(`v:${key}`, value, now + ttlMs, now);
    },

    async delete(key) {
      const name = `v:${key}`;
      await inTurn(name, async (turn) => {
        await adapter.deleteMany({ model: MODEL, where: [{ field: "key", value: name }] });
        turn.row = null;
      });
    },
  };
}

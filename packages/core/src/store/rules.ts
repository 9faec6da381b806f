/**
 * The store rules: every decision a waotp store makes, written once as pure functions over plain
 * records. A store keeps the records and makes each call atomic; these functions say what the call
 * decides. The memory and database stores call them, the Redis store's Lua mirrors them (its
 * constants come from here), and the conformance suite (`@waotp/core/testing/store-suite`) pins
 * each one, so a store that drifts from them fails it.
 *
 * - Buckets: `counterState`, `withHit`, `withoutHit`, `counterExpiresAt` keep a counter;
 *   `retryAfter` and `lastToFree` decide whether a call may count in it; `bucketState` reports it.
 * - Challenges: `judgeAttempt` decides a guess (with `blockingBudget` and `isSpared`);
 *   `challengeKeptUntil` says how long a code is remembered; `mayReplace` guards a conditional put.
 * - Deliveries: `canAdvance`.
 */
import { constantTimeEqual } from "../code.js";
import type {
  AttemptResult,
  Bucket,
  BucketState,
  ChallengeRecord,
  FailureBucket,
} from "./types.js";

export { canAdvance } from "../delivery-status.js";

/**
 * How long a store remembers a code after it expired, so a late guess hears `expired` (the user
 * asks for a new code) rather than `missing`. Past it the code is forgotten.
 */
export const EXPIRED_GRACE_MS = 10 * 60_000;

/** Limits up to this many hits per window are kept exactly, as a log of hit times. */
export const LOG_LIMIT = 1000;

/**
 * A rate-limit counter as stores keep it. Up to `LOG_LIMIT` hits per window it is a log of hit
 * times (a sliding window: never more than `limit` hits in any `windowMs`); above that, one count
 * per fixed window that starts at its first hit, to bound memory.
 */
export type Counter = { log: number[] } | { count: number; start: number };

/** Hits that count at some moment, and when the oldest of them that holds the bucket full leaves. */
export interface CounterState {
  count: number;
  /** Epoch milliseconds; `now` for an empty counter. */
  freeAt: number;
}

/** A bucket with its counter's state, as read before the call counts anything. */
export interface BucketCount<B extends Bucket = Bucket> extends CounterState {
  bucket: B;
}

/** A bucket that has no room: which one, and how long until it has. */
export interface FullBucket {
  key: string;
  retryAfterMs: number;
}

/**
 * The hits that still count at `now`, and when the oldest of them leaves the window. The counter
 * comes back pruned (`undefined` once empty), for the store to save.
 */
export function counterState(
  counter: Counter | undefined,
  bucket: Bucket,
  now: number,
): CounterState & { counter: Counter | undefined } {
  if (counter === undefined) return { count: 0, freeAt: now, counter };
  if ("log" in counter) {
    // Hits are in time order: drop the ones that left the window, copying only when some did.
    let first = 0;
    while (first < counter.log.length && (counter.log[first] as number) + bucket.windowMs <= now)
      first++;
    const log = first === 0 ? counter.log : counter.log.slice(first);
    if (log.length === 0) return { count: 0, freeAt: now, counter: undefined };
    const oldest = log[Math.max(0, log.length - bucket.limit)] as number;
    return {
      count: log.length,
      freeAt: oldest + bucket.windowMs,
      counter: first === 0 ? counter : { log },
    };
  }
  if (counter.start + bucket.windowMs <= now) return { count: 0, freeAt: now, counter: undefined };
  return { count: counter.count, freeAt: counter.start + bucket.windowMs, counter };
}

/** The counter with one more hit at `now`. */
export function withHit(counter: Counter | undefined, bucket: Bucket, now: number): Counter {
  const current = counterState(counter, bucket, now).counter;
  if (bucket.limit > LOG_LIMIT) {
    return current !== undefined && "count" in current
      ? { count: current.count + 1, start: current.start }
      : { count: 1, start: now };
  }
  // Kept in time order even when calls arrive out of order (clocks of several instances, awaits).
  const log = [...(current !== undefined && "log" in current ? current.log : [])];
  let at = log.length;
  while (at > 0 && (log[at - 1] as number) > now) at--;
  log.splice(at, 0, now);
  return { log };
}

/** The counter without the hit made at `at` (to give back a hit that turned out not to count). */
export function withoutHit(counter: Counter | undefined, at: number): Counter | undefined {
  if (counter === undefined) return undefined;
  if ("log" in counter) {
    const index = counter.log.lastIndexOf(at);
    if (index < 0) return counter;
    const log = counter.log.filter((_, i) => i !== index);
    return log.length === 0 ? undefined : { log };
  }
  return counter.count <= 1 ? undefined : { count: counter.count - 1, start: counter.start };
}

/** When the counter stops mattering (its newest hit leaves the window), for the store's own expiry. */
export function counterExpiresAt(counter: Counter, bucket: Bucket): number {
  return "log" in counter
    ? Math.max(...counter.log) + bucket.windowMs
    : counter.start + bucket.windowMs;
}

/**
 * Whether the bucket can take a hit: `undefined` when it has room, else the milliseconds until it
 * has (the whole window for a bucket whose limit is 0).
 */
export function retryAfter(bucket: Bucket, state: CounterState, now: number): number | undefined {
  if (state.count < bucket.limit) return undefined;
  return state.count === 0 ? bucket.windowMs : state.freeAt - now;
}

/**
 * The take decision: `undefined` when every bucket has room, so the call counts in each (but the
 * `peek` ones); else the full bucket that frees up last (the first of equals), and the call counts
 * nothing.
 */
export function lastToFree(counts: readonly BucketCount[], now: number): FullBucket | undefined {
  let full: FullBucket | undefined;
  for (const count of counts) {
    const retryAfterMs = retryAfter(count.bucket, count, now);
    if (retryAfterMs !== undefined && (full === undefined || retryAfterMs > full.retryAfterMs)) {
      full = { key: count.bucket.key, retryAfterMs };
    }
  }
  return full;
}

/** What a call reports of a bucket, from its counter's state after the call. */
export function bucketState(bucket: Bucket, after: CounterState): BucketState {
  return { remaining: bucket.limit - after.count, resetAt: after.freeAt };
}

/** Until when a store keeps a challenge: its expiry plus `EXPIRED_GRACE_MS`. */
export function challengeKeptUntil(challenge: ChallengeRecord): number {
  return challenge.expiresAt + EXPIRED_GRACE_MS;
}

/**
 * Whether `putChallenge` may write: always without `ifHash`; with it, only over a live challenge
 * (not expired, not used) whose hash is `ifHash`. `current` is the stored challenge, `undefined`
 * when there is none or it was used.
 */
export function mayReplace(
  current: ChallengeRecord | undefined,
  ifHash: string | undefined,
  now: number,
): boolean {
  if (ifHash === undefined) return true;
  return (
    current !== undefined && current.expiresAt > now && constantTimeEqual(current.hash, ifHash)
  );
}

/**
 * Whether a full `bucket` still lets this guess through: it spares first guesses and the code has
 * taken none (a code past its grace counts as none at all).
 */
export function isSpared(
  bucket: FailureBucket,
  challenge: ChallengeRecord | undefined,
  now: number,
): boolean {
  return (
    bucket.sparesFirstGuess === true &&
    challenge !== undefined &&
    challengeKeptUntil(challenge) > now &&
    challenge.attempts === 0
  );
}

/** The failure budget that refuses this guess (the full one that frees up last), if any. */
export function blockingBudget(
  budgets: readonly BucketCount<FailureBucket>[],
  challenge: ChallengeRecord | undefined,
  now: number,
): FullBucket | undefined {
  return lastToFree(
    budgets.filter((budget) => !isSpared(budget.bucket, challenge, now)),
    now,
  );
}

/**
 * What the store writes after judging a guess:
 * - `count`: a miss; one more wrong guess on the code, and a hit in every failure budget.
 * - `consume`: a match; the code is used up (single use), and no budget keeps a hit for it.
 * - `forget`: the code is dropped (it expired: the next guess hears `missing`).
 * - `none`: nothing.
 */
export type AttemptEffect = "count" | "consume" | "forget" | "none";

export interface AttemptJudgement {
  result: AttemptResult;
  effect: AttemptEffect;
}

/**
 * The judgement of one guess. In order: a full failure budget refuses it (`blocked`, unless it
 * spares this code's first guess); no code, or one past its grace, is `missing`; an expired code is
 * `expired` and forgotten; a code that took its last wrong guess is `locked`; then the hashes
 * decide between `match` and `mismatch`, whose `attemptsLeft` is the smaller of the code's and
 * every budget's guesses left after this one.
 */
export function judgeAttempt(input: {
  /** The stored challenge; `undefined` when there is none or it was used. */
  challenge: ChallengeRecord | undefined;
  /** The failure budgets, as counted before this guess. */
  budgets?: readonly BucketCount<FailureBucket>[];
  /** Whether the guess's hash is the challenge's (compared in constant time). */
  matched: boolean;
  now: number;
}): AttemptJudgement {
  const { challenge, budgets = [], matched, now } = input;
  const full = blockingBudget(budgets, challenge, now);
  if (full !== undefined) return { result: { outcome: "blocked", ...full }, effect: "none" };
  if (challenge === undefined) return { result: { outcome: "missing" }, effect: "none" };
  if (challengeKeptUntil(challenge) <= now)
    return { result: { outcome: "missing" }, effect: "forget" };
  if (challenge.expiresAt <= now) return { result: { outcome: "expired" }, effect: "forget" };
  if (challenge.attempts >= challenge.maxAttempts)
    return { result: { outcome: "locked" }, effect: "none" };
  if (matched) return { result: { outcome: "match" }, effect: "consume" };
  let attemptsLeft = challenge.maxAttempts - challenge.attempts - 1;
  for (const { bucket, count } of budgets) {
    attemptsLeft = Math.min(attemptsLeft, Math.max(0, bucket.limit - count - 1));
  }
  return { result: { outcome: "mismatch", attemptsLeft }, effect: "count" };
}

import type { DeliveryStatus, DeliveryUpdate } from "../delivery-status.js";

/**
 * A stored code. It holds the keyed hash only: the code itself is never stored.
 */
export interface ChallengeRecord {
  /** Keyed hash of the code (see `hashCode`). */
  hash: string;
  /** Epoch milliseconds after which the code is dead. */
  expiresAt: number;
  /** Wrong guesses so far. */
  attempts: number;
  /** Wrong guesses after which the code is dead. */
  maxAttempts: number;
}

/**
 * A rate limit: at most `limit` hits in any `windowMs` (a sliding window). Stores may count limits
 * above 1000 in fixed windows that start at the first hit instead, to bound memory.
 */
export interface Bucket {
  key: string;
  limit: number;
  windowMs: number;
  /** Only check that the bucket has room; do not count this call. */
  peek?: boolean;
}

export interface BucketState {
  /** Hits still allowed in the current window, after this call. */
  remaining: number;
  /** Epoch milliseconds when the oldest counted hit leaves the window; `now` for an empty bucket. */
  resetAt: number;
}

export type TakeResult =
  | { ok: true; buckets: BucketState[] }
  | { ok: false; key: string; retryAfterMs: number };

/** A failure budget a guess is counted in. */
export interface FailureBucket extends Bucket {
  /**
   * A full bucket still lets a code take its first guess. The phone's ceiling is spared so: an
   * attacker who filled it with guesses at codes of their own cannot stop the owner from using a
   * fresh code of theirs, while every further guess stays bounded.
   */
  sparesFirstGuess?: boolean;
}

export interface AttemptInput {
  key: string;
  /** Keyed hash of the guessed code. */
  hash: string;
  now: number;
  /**
   * Failure budgets (the phone's, the client's). A wrong guess counts in each; while one is full
   * (and does not spare this guess) the attempt is refused before any comparison.
   */
  failures?: readonly FailureBucket[];
}

export type AttemptResult =
  /** The hash matched; the challenge is gone (single use). */
  | { outcome: "match" }
  /** A wrong guess, now counted. */
  | { outcome: "mismatch"; attemptsLeft: number }
  /** The challenge took its last wrong guess earlier. */
  | { outcome: "locked" }
  /** A failure budget (`key`, the one that frees up last) is used up. */
  | { outcome: "blocked"; key: string; retryAfterMs: number }
  /** The code expired less than `EXPIRED_GRACE_MS` ago; it is forgotten now. */
  | { outcome: "expired" }
  /** No code, a used one, or one expired longer ago than the grace. */
  | { outcome: "missing" };

export interface DeliveryRecord {
  status: DeliveryStatus;
  /** Epoch milliseconds of the last change. */
  updatedAt: number;
  /** Epoch milliseconds of the send, for the fallback's delivery timeout. */
  sentAt?: number;
  error?: string;
  /** Digits of the phone the code went to, for the fallback channel. */
  phone?: string;
  purpose?: string;
  /** Epoch milliseconds when the message's code expires. */
  expiresAt?: number;
  /** Keyed hash of the message's code: a fallback replaces that code only if it is still pending. */
  hash?: string;
  /** Sent by the fallback channel (a failure then hands nothing on). */
  fallback?: boolean;
  /** The per-IP bucket of the client that asked for the code, for charging its fallback. */
  ip?: string;
  /** The requester the code is bound to (a keyed hash of `client`), when it is bound. */
  client?: string;
  /** The requester who asked for the message (a keyed hash of `client`): only it sees the status. */
  sender?: string;
  /** The language the send asked for, so a fallback speaks it too. */
  locale?: string;
}

/**
 * Where waotp keeps its state. Every method is one atomic step: whatever several processes do at
 * once, each call sees and leaves a consistent record. A store that can only make each record
 * atomic, not a call across several, says so (the better-auth database store). Implementations:
 * `memoryStore()` for one process, the Redis store for several. What each call decides is written
 * once, in the store rules (`./rules.ts`, published as `@waotp/core/store-kit`).
 *
 * A store throws only when it cannot answer (connection lost, timeout); the core then refuses the
 * call with `STORE_UNAVAILABLE` rather than skip a limit.
 */
export interface Store {
  /**
   * Saves the challenge under `key`, replacing any earlier one; it lives until `expiresAt`. With
   * `ifHash`, only replaces a live challenge whose hash is `ifHash`, and says whether it did.
   */
  putChallenge(
    key: string,
    challenge: ChallengeRecord,
    now: number,
    ifHash?: string,
  ): Promise<boolean>;
  /**
   * One verification attempt, atomically: refuse when a failure budget is full (unless it spares
   * a fresh code's first guess), find the live challenge, count the guess, compare hashes in
   * constant time, then consume the challenge on a match (giving the count back) or keep the miss.
   * A store that cannot count the guess must refuse it before comparing.
   */
  attempt(input: AttemptInput): Promise<AttemptResult>;
  /**
   * Counts a hit in every bucket (except `peek` ones) if all have room; otherwise counts nothing and
   * says which bucket was full and when it frees up.
   */
  take(buckets: readonly Bucket[], now: number): Promise<TakeResult>;
  /** Starts tracking a message's delivery. */
  putDelivery(messageId: string, record: DeliveryRecord, ttlMs: number): Promise<void>;
  /**
   * Applies an update if it moves the message forward (see `canAdvance`). Returns the record after
   * the call and whether it changed, or null for an unknown message.
   */
  advanceDelivery(
    update: DeliveryUpdate,
    now: number,
  ): Promise<{ changed: boolean; record: DeliveryRecord } | null>;
  getDelivery(messageId: string, now: number): Promise<DeliveryRecord | null>;
  /** Sets `key` to `value` unless it holds a live value; returns that value if so. */
  setIfAbsent(key: string, value: string, ttlMs: number, now: number): Promise<string | null>;
  /** The live value of `key`, or null. */
  get(key: string, now: number): Promise<string | null>;
  /** Sets `key` to `value`, replacing what it held. */
  set(key: string, value: string, ttlMs: number, now: number): Promise<void>;
  delete(key: string): Promise<void>;
}

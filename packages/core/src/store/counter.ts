import type { Bucket } from "./types.js";

/**
 * A rate-limit counter as stores keep it. Up to `LOG_LIMIT` hits per window it is a log of hit
 * times (a sliding window: never more than `limit` hits in any `windowMs`); above that, one count
 * per fixed window that starts at its first hit, to bound memory.
 */
export type Counter = { log: number[] } | { count: number; start: number };

/** Limits up to this many hits per window are kept exactly, as a log of hit times. */
export const LOG_LIMIT = 1000;

/**
 * The hits that still count at `now`, and when the oldest of them leaves the window. The counter
 * comes back pruned (`undefined` once empty), for the store to save.
 */
export function counterState(
  counter: Counter | undefined,
  bucket: Bucket,
  now: number,
): { count: number; freeAt: number; counter: Counter | undefined } {
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

/** When the counter stops mattering, for the store's own expiry. */
export function counterExpiresAt(counter: Counter, bucket: Bucket): number {
  return "log" in counter
    ? Math.max(...counter.log) + bucket.windowMs
    : counter.start + bucket.windowMs;
}

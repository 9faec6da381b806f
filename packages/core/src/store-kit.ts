/**
 * `@waotp/core/store-kit`: what an author of a `Store` needs beyond the interface. The store rules
 * decide every call the way each waotp store does: keep a bucket's counter (`counterState`,
 * `withHit`, `withoutHit`, `counterExpiresAt`), decide whether a call may count in its buckets
 * (`lastToFree`, `retryAfter`) and report them (`bucketState`), judge a guess (`judgeAttempt`),
 * keep an expired code for `EXPIRED_GRACE_MS`, guard a conditional put (`mayReplace`) and move a
 * delivery forward (`canAdvance`). A store keeps the records and makes each call atomic. Run the
 * conformance suite, `@waotp/core/testing/store-suite`, against a new store.
 */
export { constantTimeEqual } from "./code.js";
export {
  type AttemptEffect,
  type AttemptJudgement,
  type BucketCount,
  blockingBudget,
  bucketState,
  type Counter,
  type CounterState,
  canAdvance,
  challengeKeptUntil,
  counterExpiresAt,
  counterState,
  EXPIRED_GRACE_MS,
  type FullBucket,
  isSpared,
  judgeAttempt,
  LOG_LIMIT,
  lastToFree,
  mayReplace,
  retryAfter,
  withHit,
  withoutHit,
} from "./store/rules.js";
export type {
  AttemptInput,
  AttemptResult,
  Bucket,
  BucketState,
  ChallengeRecord,
  DeliveryRecord,
  FailureBucket,
  Store,
  TakeResult,
} from "./store/types.js";

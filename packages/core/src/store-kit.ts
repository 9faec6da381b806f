/**
 * `@waotp/core/store-kit`: what an author of a `Store` needs beyond the interface. The counter
 * helpers keep a rate-limit bucket the way every waotp store does (a sliding log up to
 * `LOG_LIMIT` hits per window, fixed windows above), `canAdvance` is the delivery-state rule, and
 * `constantTimeEqual` compares stored hashes. Run the shared conformance suite,
 * `@waotp/core/testing/store-suite`, against a new store.
 */
export { constantTimeEqual } from "./code.js";
export { canAdvance } from "./delivery-status.js";
export {
  type Counter,
  counterExpiresAt,
  counterState,
  LOG_LIMIT,
  withHit,
  withoutHit,
} from "./store/counter.js";
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

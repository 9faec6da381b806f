import { randomFillSync } from "node:crypto";
import type { DeliveryStatus } from "./delivery-status.js";
import { VERIFY_FAILURE_STATUS, type VerifyFailureReason } from "./error-codes.js";
import type { StatusResult, VerifyResult } from "./otp.js";

/**
 * How much a failed verification tells the client. `"generic"`: a wrong, an expired and a missing
 * code get one answer (`INVALID_CODE`, no `attemptsLeft`), so nobody learns whether a code is
 * pending for a phone; `TOO_MANY_ATTEMPTS` from a full budget stays apart, with its wait.
 * `"precise"`: the reason as
 * the core found it. The server always sees the precise reason (the `rejected` event).
 */
export type VerifyFailureDetail = "generic" | "precise";

export interface PublicVerifyFailure {
  reason: VerifyFailureReason;
  /** The HTTP status an adapter answers with. */
  status: number;
  attemptsLeft?: number;
  retryAfter?: number;
}

/**
 * What a client is told about a failed verification (see `VerifyFailureDetail`). Adapters send it
 * through `verifyFailureAnswer`, which adds the message and headers of the HTTP contract.
 */
export function publicVerifyFailure(
  result: Extract<VerifyResult, { ok: false }>,
  detail: VerifyFailureDetail = "generic",
): PublicVerifyFailure {
  const { reason, attemptsLeft, retryAfter } = result;
  // A code that took its last wrong guess answers like a wrong one: telling them apart would tell
  // a stranger that a code is pending. Only a budget's refusal, which carries its wait, stands out.
  if (detail === "generic" && !(reason === "TOO_MANY_ATTEMPTS" && retryAfter !== undefined)) {
    return { reason: "INVALID_CODE", status: VERIFY_FAILURE_STATUS.INVALID_CODE };
  }
  return {
    reason,
    status: VERIFY_FAILURE_STATUS[reason],
    ...(attemptsLeft === undefined ? {} : { attemptsLeft }),
    ...(retryAfter === undefined ? {} : { retryAfter }),
  };
}

/**
 * What a client may learn about a message it asked for: whether it went out and arrived. Whether it
 * was read, and why it failed (a provider's words), are for the server.
 */
export function publicStatus(status: StatusResult): {
  status: Exclude<DeliveryStatus, "read">;
  updatedAt: Date;
  channel: string;
  fallback?: { messageId: string; channel: string };
} {
  const { fallback } = status;
  return {
    status: status.status === "read" ? "delivered" : status.status,
    updatedAt: status.updatedAt,
    channel: status.channel,
    ...(fallback === undefined
      ? {}
      : { fallback: { messageId: fallback.messageId, channel: fallback.channel } }),
  };
}

/**
 * How long an adapter keeps a browser's client id (`SendInput.client`) in its cookie: a year, so a
 * browser stays known to the phones it signed in to (the core remembers each for 30 days).
 */
export const CLIENT_ID_MAX_AGE_SECONDS = 365 * 86_400;

const ID_BYTES = 16;
// Random bytes drawn 256 ids at a time from the system's CSPRNG: one call per 256 sign-ins instead
// of one per id (the way Node's own `randomUUID` batches). Each id's bytes are used once, then wiped.
const idPool = Buffer.alloc(ID_BYTES * 256);
let idAt = idPool.length;

/** A new client id for a browser: 128 random bits, base64url (22 characters). */
export function newClientId(): string {
  if (idAt === idPool.length) {
    randomFillSync(idPool);
    idAt = 0;
  }
  const id = idPool.toString("base64url", idAt, idAt + ID_BYTES);
  idPool.fill(0, idAt, idAt + ID_BYTES);
  idAt += ID_BYTES;
  return id;
}

/** Whether a value read back from a cookie has the form `newClientId` gives. */
export function isClientId(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9_-]{22}$/.test(value);
}

/**
 * The rules for a purpose, a signing secret and a webhook secret, written once: `createOtp` checks
 * its options with them, the engine reads each call's `purpose` with them, and every adapter checks
 * its own options and webhook requests with them, so no copy can drift.
 */

import { secretMatches } from "./code.js";
import type { ErrorCode } from "./error-codes.js";
import { OtpError } from "./errors.js";

/** The shortest signing secret, in bytes (the engine's `secret`, an adapter's cookie secret). */
export const MIN_SECRET_BYTES = 32;

const PURPOSE = /^[a-z0-9][a-z0-9_.-]{0,31}$/i;

/** Whether `value` is a purpose: 1 to 32 letters, digits, `_`, `.` or `-`, not led by a sign. */
export function isPurpose(value: unknown): value is string {
  return typeof value === "string" && PURPOSE.test(value);
}

/**
 * Throws unless `value` is a purpose: `CONFIG_INVALID` for an option (the default), or the code
 * given (`INVALID_INPUT` for a call's argument).
 */
export function assertPurpose(
  value: unknown,
  name = "purpose",
  code: ErrorCode = "CONFIG_INVALID",
): asserts value is string {
  if (!isPurpose(value)) {
    throw new OtpError(code, `\`${name}\` must be 1 to 32 letters, digits, '_', '.' or '-'.`);
  }
}

/**
 * The bytes of a signing secret (a string is read as UTF-8), which must be at least
 * `MIN_SECRET_BYTES` long; anything else throws `CONFIG_INVALID`. The message never repeats the
 * secret.
 */
export function secretBytes(value: unknown, name = "secret"): Buffer {
  const hint = "Generate one with `openssl rand -hex 32` and keep it in an environment variable.";
  const fail = (problem: string) =>
    new OtpError("CONFIG_INVALID", `\`${name}\` ${problem} ${hint}`);
  if (value === undefined || value === null || value === "") {
    throw fail(`is required: at least ${MIN_SECRET_BYTES} bytes.`);
  }
  let bytes: Buffer;
  if (typeof value === "string") bytes = Buffer.from(value, "utf8");
  else if (value instanceof Uint8Array) bytes = Buffer.from(value);
  else throw fail(`must be a string or a Uint8Array of at least ${MIN_SECRET_BYTES} bytes.`);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw fail(
      `is too short: ${bytes.length} bytes, at least ${MIN_SECRET_BYTES} bytes are needed.`,
    );
  }
  return bytes;
}

/** The shortest webhook secret any adapter accepts: the URL's secret is all that guards the route. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

/** Throws `CONFIG_INVALID` unless `value` (when given) is a string of at least 16 characters. */
export function assertWebhookSecret(value: unknown, name = "webhookSecret"): void {
  if (value === undefined) return;
  if (typeof value !== "string" || value.length < MIN_WEBHOOK_SECRET_LENGTH) {
    throw new OtpError(
      "CONFIG_INVALID",
      `\`${name}\` must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters (openssl rand -hex 16).`,
    );
  }
}

/**
 * Whether a webhook request may pass: a secret is configured, and the one in the request's URL is
 * it (compared as `secretMatches` does). Adapters answer anything else with 401 `UNAUTHORIZED`.
 */
export function webhookSecretMatches(given: unknown, expected: string | undefined): boolean {
  if (expected === undefined) return false;
  return secretMatches(typeof given === "string" ? given : "", expected);
}

import { createHash, createHmac, randomInt, timingSafeEqual } from "node:crypto";

/** Returns a uniformly random integer in `[0, max)`. Injected so tests can fix the codes. */
export type RandomInt = (max: number) => number;

export const cryptoRandomInt: RandomInt = (max) => randomInt(0, max);

/**
 * A code of `length` decimal digits, uniformly drawn and zero-padded ("000042" is as likely as
 * "930311").
 */
export function generateCode(length: number, random: RandomInt = cryptoRandomInt): string {
  const value = random(10 ** length);
  if (!Number.isSafeInteger(value) || value < 0 || value >= 10 ** length) {
    throw new RangeError("random source returned a value outside [0, 10^length)");
  }
  return value.toString().padStart(length, "0");
}

/**
 * The keyed hash that is stored in place of a code: HMAC-SHA256 over a versioned, unambiguous
 * encoding of (purpose, phone, code). Binding purpose and phone means a stored hash is worthless
 * for any other phone or purpose, and the key means a leaked store cannot be brute-forced offline.
 */
export function hashCode(key: Buffer, purpose: string, phone: string, code: string): string {
  return createHmac("sha256", key)
    .update(`waotp:v1\0${purpose}\0${phone}\0${code}`)
    .digest("base64url");
}

/** Compares two strings in time that depends only on their length. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/**
 * Whether a secret given in a request (a webhook URL's path segment) is the expected one, in time
 * that tells nothing about either: both are hashed first, so not even their lengths show.
 */
export function secretMatches(given: string, expected: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

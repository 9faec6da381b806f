/**
 * Reading what callers pass in. Anything of the wrong type or shape becomes `INVALID_INPUT` (or the
 * phone's own errors) before the store or the channel is touched.
 */
import { createHmac } from "node:crypto";
import { assertPurpose } from "../config-rules.js";
import { OtpError } from "../errors.js";
import { ipKey } from "../ip.js";
import type { ResolvedOptions } from "../options.js";
import { type NumberType, type Phone, parsePhone } from "../phone.js";

/** How a refusal names a number type, for people. */
const NUMBER_TYPE_NAMES: Record<NumberType, string> = {
  FIXED_LINE: "landline",
  MOBILE: "mobile",
  FIXED_LINE_OR_MOBILE: "landline or mobile",
  TOLL_FREE: "toll-free",
  PREMIUM_RATE: "premium-rate",
  SHARED_COST: "shared-cost",
  VOIP: "VoIP",
  PERSONAL_NUMBER: "personal (forwarding)",
  PAGER: "pager",
  UAN: "universal access",
  VOICEMAIL: "voicemail",
};

/** The per-IP bucket of every client whose address is unknown; no address can take this form. */
export const UNKNOWN_CLIENT = "unknown";
const MAX_IDEMPOTENCY_KEY = 200;
const MAX_CLIENT = 200;
const MAX_IP = 64;

export function readObject<T extends object>(input: T, method: string): Record<keyof T, unknown> {
  if (typeof input !== "object" || input === null) {
    throw new OtpError("INVALID_INPUT", `${method}() takes an object such as { phone }.`);
  }
  return input as Record<keyof T, unknown>;
}

export function readString(value: unknown, name: string, maxLength: number): string {
  if (typeof value !== "string" || value.length === 0 || value.length > maxLength) {
    throw new OtpError(
      "INVALID_INPUT",
      `\`${name}\` must be a string of 1 to ${maxLength} characters.`,
    );
  }
  return value;
}

export function readIdempotencyKey(value: unknown): string {
  return readString(value, "idempotencyKey", MAX_IDEMPOTENCY_KEY);
}

/** A code as typed, without the spaces or dashes people add; anything but `length` digits is refused. */
export function readCode(value: unknown, length: number): string {
  const code = typeof value === "string" && value.length <= 64 ? value.replace(/[\s-]/g, "") : "";
  if (code.length !== length || !/^[0-9]+$/.test(code)) {
    throw new OtpError("INVALID_INPUT", `\`code\` must be ${length} digits.`);
  }
  return code;
}

export function readPurpose(config: ResolvedOptions, value: unknown): string {
  if (value === undefined) return config.defaultPurpose;
  assertPurpose(value, "purpose", "INVALID_INPUT");
  return value;
}

/**
 * A phone codes may be sent to: valid, in an allowed country when there is an allowlist, and not
 * of a refused type. A test number is neither: nothing is ever sent to it.
 */
export function readAllowedPhone(config: ResolvedOptions, value: unknown): Phone {
  const phone = parsePhone(value, config.defaultCountry);
  assertAllowedPhone(config, phone);
  return phone;
}

/** Throws `COUNTRY_NOT_ALLOWED` or `NUMBER_TYPE_NOT_ALLOWED` for a phone codes may not go to. */
export function assertAllowedPhone(config: ResolvedOptions, phone: Phone): void {
  if (config.testNumbers.has(phone.digits)) return;
  const allowed = config.countries;
  if (
    allowed !== undefined &&
    !allowed.callingCodes.has(phone.callingCode) &&
    !(phone.country !== undefined && allowed.regions.has(phone.country))
  ) {
    throw new OtpError("COUNTRY_NOT_ALLOWED", "Codes cannot be sent to numbers in this country.");
  }
  if (phone.type !== undefined && config.refusedNumberTypes.has(phone.type)) {
    throw new OtpError(
      "NUMBER_TYPE_NOT_ALLOWED",
      `Codes cannot be sent to ${NUMBER_TYPE_NAMES[phone.type]} numbers.`,
      { details: { numberType: phone.type } },
    );
  }
}

/**
 * The per-IP send bucket's key for a client: its address (IPv6 by prefix), or one shared key for
 * every client whose address the server could not read; undefined without a per-IP send limit.
 */
export function readSenderIp(config: ResolvedOptions, value: unknown): string | undefined {
  const limit = config.sendsPerIp;
  if (limit === undefined) return undefined;
  if (value !== undefined && value !== null) {
    return ipKey(readString(value, "ip", MAX_IP), limit.ipv6PrefixLength);
  }
  if (limit.unknownIp === "refuse") {
    throw new OtpError(
      "CLIENT_UNKNOWN",
      "The client's address is unknown, so no code is sent. The server must be set up to read it behind its proxy.",
    );
  }
  return UNKNOWN_CLIENT;
}

/**
 * The per-IP failure bucket's key for a guessing client: its address, or, as for sends, one shared
 * key for every client whose address the server could not read (an adapter that cannot see
 * addresses must not switch the budget off); undefined without a per-IP failure limit.
 */
export function readGuesserIp(config: ResolvedOptions, value: unknown): string | undefined {
  const limit = config.failuresPerIp;
  if (limit === undefined) return undefined;
  if (value === undefined || value === null) return UNKNOWN_CLIENT;
  return ipKey(readString(value, "ip", MAX_IP), limit.ipv6PrefixLength);
}

/** A requester id as the store sees it: keyed, so a cookie's value never becomes a store key. */
export function readClient(config: ResolvedOptions, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const client = readString(value, "client", MAX_CLIENT);
  return createHmac("sha256", config.key)
    .update(`waotp:client\0${client}`)
    .digest("base64url")
    .slice(0, 22);
}

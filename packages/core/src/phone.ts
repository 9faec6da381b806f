// Full ("max") metadata: it knows each country's number ranges and types, where the default
// ("min") metadata checks only lengths and so accepts numbers that were never handed out.
import {
  type CountryCode,
  type PhoneNumber,
  parsePhoneNumberFromString,
} from "libphonenumber-js/max";
import { OtpError } from "./errors.js";

export type { CountryCode };

/**
 * What a number is, by libphonenumber's full metadata. Many countries' plans do not tell mobiles
 * from landlines (`FIXED_LINE_OR_MOBILE`, the whole of +1).
 */
export type NumberType =
  | "FIXED_LINE"
  | "MOBILE"
  | "FIXED_LINE_OR_MOBILE"
  | "TOLL_FREE"
  | "PREMIUM_RATE"
  | "SHARED_COST"
  | "VOIP"
  | "PERSONAL_NUMBER"
  | "PAGER"
  | "UAN"
  | "VOICEMAIL";

/** Every `NumberType`, for checking a configured list. */
export const NUMBER_TYPES: readonly NumberType[] = [
  "FIXED_LINE",
  "MOBILE",
  "FIXED_LINE_OR_MOBILE",
  "TOLL_FREE",
  "PREMIUM_RATE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
];

/** A phone number in the forms waotp uses. */
export interface Phone {
  /** E.164 with the plus sign: `+14155550101`. What results and events carry. */
  readonly e164: string;
  /** International digits without the plus: `14155550101`. What 1MSG and store keys take. */
  readonly digits: string;
  /** Country calling code without the plus: `1`. */
  readonly callingCode: string;
  /** ISO 3166-1 alpha-2 region, when the number belongs to one (`US`); undefined for global numbers. */
  readonly country: CountryCode | undefined;
  /** What the number is (`MOBILE`, `PREMIUM_RATE`, ...); undefined when the metadata cannot tell. */
  readonly type: NumberType | undefined;
}

const MAX_INPUT_LENGTH = 64;
// What people type around the digits: spaces, dashes, dots, slashes, brackets, one leading plus.
const TYPED_PHONE = /^\+?[0-9\s().\-/]+$/;

// International digits with no plus, as 1MSG takes and stores them: `14155550101`.
const BARE_DIGITS = /^[1-9][0-9]{6,14}$/;

/**
 * Turns a phone number as people type it or apps store it into a validated international number:
 * - with `+` or `00`: international (`+1 (415) 555-0101`, `00 44 20 7946 0958`);
 * - bare digits (`14155550101`, the form 1MSG takes, so many databases hold it): international
 *   when there is no `defaultCountry`; with one, national first (`4155550101` with `US`), and
 *   international only when that is not a valid national number (`14155550101` with `GB`);
 * - anything else with `defaultCountry`: national in that country (`(415) 555-0101`, `020 7946 0958`).
 * Brazilian and Argentine mobiles come back in the one form WhatsApp uses, whichever form was typed
 * (`+55 11 8765-4321` is `+5511987654321`, `011 15 2345-6789` in `AR` is `+5491123456789`).
 * Anything that cannot be a real number throws `INVALID_PHONE`; nothing else is ever thrown.
 */
export function parsePhone(input: unknown, defaultCountry?: CountryCode): Phone {
  if (typeof input !== "string") {
    throw new OtpError("INVALID_PHONE", "The phone number must be a string.");
  }
  // A verify usually follows its send with the same text: reading a number once is enough.
  const key = defaultCountry === undefined ? input : `${defaultCountry}\u0000${input}`;
  const known = PARSED.get(key);
  if (known !== undefined) return known;
  const phone = Object.freeze(parseNew(input, defaultCountry));
  if (PARSED.size >= PARSED_MAX) PARSED.delete(PARSED.keys().next().value as string);
  PARSED.set(key, phone);
  return phone;
}

// The numbers read last, by the text and default country they were read from (oldest dropped
// first); only valid numbers, so a flood of invalid input cannot push them out for nothing.
const PARSED = new Map<string, Phone>();
const PARSED_MAX = 1024;

function parseNew(input: string, defaultCountry: CountryCode | undefined): Phone {
  let text = input.trim();
  if (text.length === 0 || text.length > MAX_INPUT_LENGTH || !TYPED_PHONE.test(text)) {
    throw invalid();
  }
  // "00" is the international call prefix in most of the world; read it as "+".
  if (text.startsWith("00")) text = `+${text.slice(2)}`;
  const bare = BARE_DIGITS.test(text);
  let found = bare && defaultCountry === undefined ? read(`+${text}`) : read(text, defaultCountry);
  if (bare && defaultCountry !== undefined && found === undefined) found = read(`+${text}`);
  if (found === undefined) throw invalid();
  const { parsed, type } = found;
  return {
    e164: parsed.number,
    digits: parsed.number.slice(1),
    callingCode: parsed.countryCallingCode,
    country: parsed.country,
    type,
  };
}

// E.164 as a send answers it: a plus, a calling code and a subscriber number, 15 digits at most.
const E164 = /^\+[1-9][0-9]{6,14}$/;

/**
 * The digits of a number written in E.164 form (`+14155550101`), not validated: for looking up
 * what is kept under a number that was validated when it was stored. Undefined for any other form.
 */
export function e164Digits(input: unknown): string | undefined {
  return typeof input === "string" && E164.test(input) ? input.slice(1) : undefined;
}

/**
 * The country events and per-country limits name a phone by: its ISO region (`"US"`), or its
 * calling code with a plus (`"+870"`) for numbers of no region (satellite, international services).
 */
export function countryOf(phone: Pick<Phone, "country" | "callingCode">): string {
  return phone.country ?? `+${phone.callingCode}`;
}

/** A number read and typed: `type` is undefined when the metadata cannot tell. */
interface Read {
  parsed: PhoneNumber;
  type: NumberType | undefined;
}

/** A valid number without an extension, in the one form WhatsApp knows it by, or undefined. */
function read(text: string, defaultCountry?: CountryCode): Read | undefined {
  const parsed = parse(text, defaultCountry);
  if (parsed === undefined || parsed.ext) return undefined;
  const typed = validity(parsed);
  return (
    whatsAppForm(parsed, typed.valid) ?? (typed.valid ? { parsed, type: typed.type } : undefined)
  );
}

/**
 * Whether a number is valid, and its type. A number of a known type is valid (libphonenumber's own
 * validity check is that same type match when the country's metadata has types), so the patterns
 * run once; the full check runs only for a number of no known type.
 */
function validity(parsed: PhoneNumber): { valid: boolean; type: NumberType | undefined } {
  const type = parsed.getType();
  return { valid: type !== undefined || parsed.isValid(), type };
}

function parse(text: string, defaultCountry?: CountryCode): PhoneNumber | undefined {
  try {
    return parsePhoneNumberFromString(
      text,
      defaultCountry === undefined ? undefined : { defaultCountry },
    );
  } catch {
    return undefined;
  }
}

// Area code (two digits, no zero) and an 8-digit subscriber number starting 6-9: a mobile number
// from before Brazil's ninth digit.
const BR_OLD_MOBILE = /^[1-9]{2}[6-9][0-9]{7}$/;

/**
 * Store keys, limits and 1MSG all take the number, so one handset must have one form, or it gets
 * two budgets. Two countries have a second form people still type for the same mobile:
 * - Brazil: ANATEL put a 9 in front of every 8-digit mobile number, area by area, the last areas
 *   in 2016; since then the 8-digit form of those numbers reaches nothing. The specialised mobile
 *   (trunked radio) numbers and landlines kept 8 digits, so an 8-digit number that full metadata
 *   still calls valid is left alone; an invalid one starting 6-9 gets its 9 back when that makes
 *   a valid mobile.
 * - Argentina: mobiles are dialled from abroad as +54 9, area code, number, without the 15 that
 *   marks a mobile in national dialling; without the 9 the same digits read as a fixed-line
 *   number. WhatsApp's FAQ asks for numbers in full international form (plus, country code,
 *   number with no trunk 0) and, for Argentina, for the 9 after 54 and no 15. So the mobile form
 *   with the 9 is the key whenever it is a valid mobile.
 * Returns the WhatsApp form when it differs from `parsed`, else undefined.
 */
function whatsAppForm(parsed: PhoneNumber, valid: boolean): Read | undefined {
  const national = parsed.nationalNumber;
  if (parsed.countryCallingCode === "55") {
    if (valid || !BR_OLD_MOBILE.test(national)) return undefined;
    return mobile(`+55${national.slice(0, 2)}9${national.slice(2)}`);
  }
  if (parsed.countryCallingCode === "54") {
    if (!national.startsWith("9")) return mobile(`+549${national}`);
    // "+54 9 11 15 ...": the 15 is national dialling; read the rest as a national number, which
    // drops it.
    return valid ? undefined : mobile(`0${national.slice(1)}`, "AR");
  }
  return undefined;
}

function mobile(text: string, defaultCountry?: CountryCode): Read | undefined {
  const parsed = parse(text, defaultCountry);
  return parsed?.getType() === "MOBILE" ? { parsed, type: "MOBILE" } : undefined;
}

function invalid(): OtpError {
  return new OtpError(
    "INVALID_PHONE",
    "The phone number is not valid. Use the international format, for example +14155550101.",
  );
}

/**
 * Masks a phone number for logs and events: the calling code's first digits and the last two
 * digits stay, the rest becomes `*` (`+14*******01`).
 */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, "");
  if (digits.length <= 4) return `+${"*".repeat(digits.length)}`;
  return `+${digits.slice(0, 2)}${"*".repeat(digits.length - 4)}${digits.slice(-2)}`;
}

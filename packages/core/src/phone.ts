import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js";
import { OtpError } from "./errors.js";

export type { CountryCode };

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
 * Anything that cannot be a real number throws `INVALID_PHONE`; nothing else is ever thrown.
 */
export function parsePhone(input: unknown, defaultCountry?: CountryCode): Phone {
  if (typeof input !== "string") {
    throw new OtpError("INVALID_PHONE", "The phone number must be a string.");
  }
  let text = input.trim();
  if (text.length === 0 || text.length > MAX_INPUT_LENGTH || !TYPED_PHONE.test(text)) {
    throw invalid();
  }
  // "00" is the international call prefix in most of the world; read it as "+".
  if (text.startsWith("00")) text = `+${text.slice(2)}`;
  const bare = BARE_DIGITS.test(text);
  let parsed = bare && defaultCountry === undefined ? read(`+${text}`) : read(text, defaultCountry);
  if (bare && defaultCountry !== undefined && parsed === undefined) parsed = read(`+${text}`);
  if (parsed === undefined) throw invalid();
  return {
    e164: parsed.number,
    digits: parsed.number.slice(1),
    callingCode: parsed.countryCallingCode,
    country: parsed.country,
  };
}

/** A valid number without an extension, or undefined. */
function read(text: string, defaultCountry?: CountryCode) {
  try {
    const parsed = parsePhoneNumberFromString(
      text,
      defaultCountry === undefined ? undefined : { defaultCountry },
    );
    return parsed?.isValid() && !parsed.ext ? parsed : undefined;
  } catch {
    return undefined;
  }
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

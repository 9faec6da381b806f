import type { GenericEndpointContext } from "@better-auth/core";
import {
  type Channel,
  type CountryCode,
  errorAnswer,
  isOtpError,
  maskPhone,
  OtpError,
  type OtpMessage,
  type Phone,
  parsePhone,
  preferredLocale,
} from "@waotp/core";
import { APIError } from "better-auth/api";
import type { TwoFactorOptions, UserWithTwoFactor } from "better-auth/plugins";
import { apiError } from "./api-error.js";
import type { RawErrorCode } from "./error-codes.js";

/** The `purpose` the channel is given for a second-factor code. */
export const TWO_FACTOR_PURPOSE = "two-factor";

/** Shortest code sent: with fewer digits, better-auth's five guesses per code are too good a bet. */
export const TWO_FACTOR_MIN_DIGITS = 6;
/** Longest code a WhatsApp authentication template carries. */
export const TWO_FACTOR_MAX_DIGITS = 15;

/** better-auth's default `otpOptions.period`, in minutes. */
const DEFAULT_PERIOD_MINUTES = 3;

/**
 * The user as better-auth's twoFactor hands it to `sendOTP`, with the phone fields that the
 * whatsappOtp plugin (and better-auth's phoneNumber plugin) add.
 */
export type TwoFactorUser = UserWithTwoFactor & {
  phoneNumber?: string | null;
  phoneNumberVerified?: boolean | null;
} & Record<string, unknown>;

export interface WhatsappTwoFactorOtpOptions {
  /** Delivers the code: `oneMsg({ ... })`, or the same channel the whatsappOtp plugin uses. */
  channel: Channel;
  /**
   * The number to send the user's code to, or null/undefined when they have none. It must return
   * only a number the user proved is theirs: a code sent to any other number lets whoever holds
   * that number pass the second factor. It runs before the request is answered, so it is
   * synchronous: read the user object, not the database.
   * @default the user's `phoneNumber` when `phoneNumberVerified` is true, else none
   */
  phoneOf?: (user: TwoFactorUser) => string | null | undefined;
  /** Country for numbers that `phoneOf` gives without a country code. @default none: international only */
  defaultCountry?: CountryCode;
  /**
   * The user's language (`pt-BR`), for the template's translation; when it gives none, the
   * browser's `Accept-Language`.
   * @default none: `Accept-Language` only
   */
  localeOf?: (user: TwoFactorUser) => string | null | undefined;
}

/** What `sendOTP` in better-auth's `twoFactor({ otpOptions })` is given. */
export interface TwoFactorOtpInput {
  user: UserWithTwoFactor;
  otp: string;
}

/** The errors a WhatsApp second factor adds to better-auth's twoFactor ones. */
export const WHATSAPP_TWO_FACTOR_ERROR_CODES = {
  PHONE_NUMBER_NOT_VERIFIED: {
    code: "PHONE_NUMBER_NOT_VERIFIED",
    message:
      "This account has no verified phone number to send a code to. Use another way to confirm it is you.",
    toString: () => "PHONE_NUMBER_NOT_VERIFIED",
  },
} as const satisfies Record<string, RawErrorCode>;

/**
 * Delivers better-auth's two-factor codes over WhatsApp: `twoFactor({ otpOptions: { sendOTP:
 * whatsappTwoFactorOtp({ channel }), storeOTP: "hashed" } })`. better-auth makes, stores and checks
 * the code with its own rules; this only sends it, to the user's verified number, with purpose
 * `"two-factor"`, for as long as `otpOptions.period` (read from the twoFactor plugin) and in the
 * user's language.
 *
 * A user with no verified number gets `PHONE_NUMBER_NOT_VERIFIED` (400) from
 * `/two-factor/send-otp`, and nothing is sent. A code shorter than 6 or longer than 15 digits
 * (`otpOptions.digits`) is refused as `CONFIG_INVALID` (500). A failed delivery cannot reach the
 * client (better-auth answers `{ status: true }` and logs it): the error it logs names the phone
 * masked and never carries the code.
 */
export function whatsappTwoFactorOtp(
  options: WhatsappTwoFactorOtpOptions,
): (input: TwoFactorOtpInput, ctx?: GenericEndpointContext) => Promise<void> {
  const { channel } = options;
  const phoneOf = options.phoneOf ?? verifiedPhone;
  // Not `async`: better-auth answers only what this throws before returning; a rejected promise
  // is logged and the client is told the code was sent.
  return (input, ctx) => {
    const user = input.user as TwoFactorUser;
    assertCodeFits(input.otp, ctx);
    const phone = phoneToReach(phoneOf(user), options.defaultCountry, ctx);
    const ttlSeconds = periodSeconds(ctx);
    const locale =
      options.localeOf?.(user) || preferredLocale(headersOf(ctx)?.get("accept-language"));
    const message: OtpMessage = {
      phone: phone.digits,
      code: input.otp,
      purpose: TWO_FACTOR_PURPOSE,
      expiresAt: new Date(Date.now() + ttlSeconds * 1000),
      ttlSeconds,
      ...(locale ? { locale } : {}),
    };
    return deliver(channel, message, phone);
  };
}

function verifiedPhone(user: TwoFactorUser): string | null {
  return user.phoneNumberVerified === true && typeof user.phoneNumber === "string"
    ? user.phoneNumber
    : null;
}

function assertCodeFits(code: string, ctx: GenericEndpointContext | undefined): void {
  if (
    /^[0-9]+$/.test(code) &&
    code.length >= TWO_FACTOR_MIN_DIGITS &&
    code.length <= TWO_FACTOR_MAX_DIGITS
  ) {
    return;
  }
  ctx?.context.logger.error(
    `whatsappTwoFactorOtp: twoFactor's otpOptions.digits must be between ${TWO_FACTOR_MIN_DIGITS} and ${TWO_FACTOR_MAX_DIGITS} (a WhatsApp authentication template carries at most ${TWO_FACTOR_MAX_DIGITS} characters); no code was sent.`,
  );
  throw apiError(errorAnswer("CONFIG_INVALID"));
}

function phoneToReach(
  given: string | null | undefined,
  defaultCountry: CountryCode | undefined,
  ctx: GenericEndpointContext | undefined,
): Phone {
  if (typeof given === "string" && given.trim() !== "") {
    try {
      return parsePhone(given, defaultCountry);
    } catch {
      ctx?.context.logger.warn(
        "whatsappTwoFactorOtp: a user's phone number is not a valid international number; no code was sent. Store numbers in E.164 (+14155550101) or set defaultCountry.",
      );
    }
  }
  throw new APIError("BAD_REQUEST", {
    code: WHATSAPP_TWO_FACTOR_ERROR_CODES.PHONE_NUMBER_NOT_VERIFIED.code,
    message: WHATSAPP_TWO_FACTOR_ERROR_CODES.PHONE_NUMBER_NOT_VERIFIED.message,
  });
}

/** The code's lifetime as better-auth's twoFactor sets it: `otpOptions.period` minutes, 3 when unset or 0. */
function periodSeconds(ctx: GenericEndpointContext | undefined): number {
  const plugin = ctx?.context.getPlugin?.("two-factor") as
    | { options?: TwoFactorOptions }
    | null
    | undefined;
  const minutes = plugin?.options?.otpOptions?.period;
  return (minutes || DEFAULT_PERIOD_MINUTES) * 60;
}

function headersOf(ctx: GenericEndpointContext | undefined): Headers | undefined {
  return ctx?.request?.headers ?? ctx?.headers;
}

async function deliver(channel: Channel, message: OtpMessage, phone: Phone): Promise<void> {
  try {
    await channel.send(message);
  } catch (error) {
    throw sendFailure(error, channel.name, phone, message.code);
  }
}

/**
 * The error better-auth logs for a failed send: the channel's reason, with the phone masked and the
 * code removed wherever the channel or its provider repeated them, and no `cause` to carry them.
 */
function sendFailure(error: unknown, channelName: string, phone: Phone, code: string): OtpError {
  const masked = maskPhone(phone.digits);
  const national = phone.digits.slice(phone.callingCode.length);
  let said = error instanceof Error ? error.message : "";
  said = said.split(phone.digits).join(masked);
  if (national.length >= 6) said = said.split(national).join(masked);
  said = said.split(code).join("[redacted]");
  const reason = isOtpError(error) ? error.details?.reason : undefined;
  const uncertain = (error as { uncertain?: unknown } | null)?.uncertain === true;
  return new OtpError(
    "SEND_FAILED",
    `The two-factor code to ${masked} was not sent through ${channelName}${said ? `: ${said}` : "."}`,
    {
      details: {
        channel: channelName,
        ...(typeof reason === "string" ? { reason } : {}),
        ...(uncertain ? { uncertain: true } : {}),
      },
    },
  );
}

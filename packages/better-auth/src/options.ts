import type { GenericEndpointContext } from "@better-auth/core";
import type { LimitOptions, OtpOptions, Store, VerifyFailureDetail } from "@waotp/core";
import type { User } from "better-auth";

/** A user as this plugin leaves it: with the number it proved. */
export type UserWithPhoneNumber = User & { phoneNumber: string; phoneNumberVerified: boolean };

export interface WhatsappOtpOptions
  extends Omit<OtpOptions, "secret" | "store" | "defaultPurpose"> {
  /** HMAC key for stored codes, at least 32 bytes. @default better-auth's secret */
  secret?: string | Uint8Array;
  /** Where codes and counters live. @default the better-auth database (the plugin's `waotpRecord` table) */
  store?: Store;
  /**
   * Creates the user on the first verified code. `true` gives a placeholder email
   * (`<digits>.<random>@phone.invalid`) and the phone as name; pass functions to choose them.
   * @default true
   */
  signUpOnVerification?:
    | boolean
    | {
        getTempEmail?: (phoneNumber: string) => string;
        getTempName?: (phoneNumber: string) => string;
      };
  /**
   * The secret path segment of the delivery webhook (`/whatsapp-otp/webhook/:secret`), at least
   * 16 characters (`openssl rand -hex 16`); without it, no webhook.
   */
  webhookSecret?: string;
  /**
   * Called after a user's sign-in number is added (`oldPhone: null`) or changed, with full E.164
   * numbers. WhatsApp authentication messages can only carry a code, so tell the user here: email
   * them, or message the old number through another channel. Its failures are logged and never
   * undo the change.
   */
  onPhoneChanged?: (change: PhoneChange) => void | Promise<void>;
  /**
   * Called once a code proved a number: on sign-in (after the user is found or created, before
   * the session) and on `verify-phone` (after the number is saved). Awaited, and what it throws is
   * the answer: throw better-auth's `APIError` to refuse a sign-in.
   */
  callbackOnVerification?: (
    data: { phoneNumber: string; user: UserWithPhoneNumber },
    ctx?: GenericEndpointContext,
  ) => void | Promise<void>;
  /**
   * Signs out every session of a user whose password was reset by a WhatsApp code, so whoever
   * knew the old password is out too. @default true
   */
  revokeSessionsOnPasswordReset?: boolean;
  /**
   * Called after a password was reset by a WhatsApp code (better-auth's own
   * `emailAndPassword.onPasswordReset` runs too). Its failures are logged and never undo the reset.
   */
  onPasswordReset?: (data: { user: User }, request?: Request) => void | Promise<void>;
  /** What a failed verification tells the client (the core's `VerifyFailureDetail`). @default "generic" */
  verifyFailures?: VerifyFailureDetail;
  /**
   * Other names for the plugin's table and columns, merged into better-auth's schema: the user's
   * `phoneNumber` and `phoneNumberVerified` columns, and the `waotpRecord` table (name and
   * columns). The names the code uses stay the same; only the database sees these.
   *
   * @example
   * schema: { user: { fields: { phoneNumber: "phone" } }, waotpRecord: { modelName: "otp_records" } }
   */
  schema?: WhatsappOtpSchema;
}

/** Database names for the plugin's fields, as better-auth plugins take them (`mergeSchema`). */
export interface WhatsappOtpSchema {
  /** The user table keeps better-auth's own name (`user.modelName`); only its columns here. */
  user?: { fields?: { phoneNumber?: string; phoneNumberVerified?: string } };
  waotpRecord?: {
    modelName?: string;
    fields?: { key?: string; value?: string; expiresAt?: string };
  };
}

export interface PhoneChange {
  /** The user after the change. */
  user: UserWithPhoneNumber;
  /** The number that signed in until now; null when this is the user's first number. */
  oldPhone: string | null;
  newPhone: string;
}

/** The purposes of the plugin's codes: each passes only for its own. */
export const PURPOSES = {
  signIn: "sign-in",
  verifyPhone: "verify-phone",
  changePhone: "change-phone",
  resetPassword: "reset-password",
} as const;

/**
 * The core's limits, where a send whose client better-auth could not identify is refused rather
 * than counted with every other unidentified client (unless the app chose otherwise).
 */
export function failClosed(limits: LimitOptions | undefined): LimitOptions {
  if (limits?.sendsPerIp === false) return limits;
  return { ...limits, sendsPerIp: { unknownIp: "refuse", ...limits?.sendsPerIp } };
}

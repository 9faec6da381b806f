import { assertWebhookSecret, createOtp, errorAnswer, type Otp } from "@waotp/core";
import type { BetterAuthPlugin } from "better-auth";
import { mergeSchema } from "better-auth/db";
import { apiError } from "./api-error.js";
import { databaseStore, RECORD_MODEL, type RecordAdapter } from "./db-store.js";
import { statusEndpoint, webhookEndpoint } from "./endpoints/delivery.js";
import { requestPasswordResetEndpoint, resetPasswordEndpoint } from "./endpoints/password-reset.js";
import { sendEndpoint } from "./endpoints/send.js";
import { signInEndpoint } from "./endpoints/sign-in.js";
import { verifyPhoneEndpoint } from "./endpoints/verify-phone.js";
import { type Engine, sendTiming } from "./engine.js";
import { WHATSAPP_OTP_ERROR_CODES } from "./error-codes.js";
import { failClosed, PURPOSES, type WhatsappOtpOptions } from "./options.js";

export type {
  PhoneChange,
  UserWithPhoneNumber,
  WhatsappOtpOptions,
  WhatsappOtpSchema,
} from "./options.js";

/** The plugin's tables and fields, before `options.schema` renames them. */
const schema = {
  [RECORD_MODEL]: {
    fields: {
      key: { type: "string", required: true, unique: true },
      value: { type: "string", required: true },
      expiresAt: { type: "date", required: true },
    },
  },
  user: {
    fields: {
      // Not writable through better-auth's user endpoints: a phone is only ever set by proving it.
      phoneNumber: {
        type: "string",
        required: false,
        unique: true,
        sortable: true,
        returned: true,
        input: false,
      },
      phoneNumberVerified: { type: "boolean", required: false, returned: true, input: false },
    },
  },
} satisfies BetterAuthPlugin["schema"];

/**
 * Sign in with WhatsApp codes in better-auth. Adds `phoneNumber` (unique) and `phoneNumberVerified`
 * to the user, as better-auth's phone-number plugin does, and these endpoints:
 * `POST /whatsapp-otp/send`, `POST /whatsapp-otp/verify` (signs in, creating the user on first
 * use), `POST /whatsapp-otp/verify-phone` (adds or changes a signed-in user's number),
 * `POST /whatsapp-otp/request-password-reset` and `POST /whatsapp-otp/reset-password`,
 * `POST /whatsapp-otp/webhook/:secret` and `GET /whatsapp-otp/status?messageId=`. Every failure
 * is answered as the core's HTTP contract says (`HTTP_ERRORS`).
 *
 * @example
 * betterAuth({ plugins: [whatsappOtp({ channel: oneMsg({ ... }), webhookSecret: process.env.WAOTP_WEBHOOK_SECRET })] })
 */
export function whatsappOtp(options: WhatsappOtpOptions) {
  assertWebhookSecret(options.webhookSecret);
  const {
    webhookSecret: _webhookSecret,
    onPhoneChanged: _onPhoneChanged,
    signUpOnVerification: _signUp,
    verifyFailures: _verifyFailures,
    callbackOnVerification: _callbackOnVerification,
    revokeSessionsOnPasswordReset: _revokeSessions,
    onPasswordReset: _onPasswordReset,
    schema: _schema,
    ...otpOptions
  } = options;
  let otp: Otp | undefined;
  const ready = (engine: Otp | undefined) => {
    if (engine === undefined) throw apiError(errorAnswer("CONFIG_INVALID"));
    return engine;
  };
  const engine: Engine = {
    options,
    otp: () => ready(otp),
    timing: sendTiming(),
  };

  return {
    id: "whatsapp-otp",
    init(ctx) {
      const resolved = {
        ...otpOptions,
        limits: failClosed(otpOptions.limits),
        secret: options.secret ?? ctx.secret,
        store: options.store ?? databaseStore(ctx.adapter as unknown as RecordAdapter),
        defaultPurpose: PURPOSES.signIn,
      };
      otp = createOtp(resolved);
    },
    schema: mergeSchema(schema, options.schema),
    endpoints: {
      sendWhatsappOtp: sendEndpoint(engine),
      verifyWhatsappOtp: signInEndpoint(engine),
      verifyWhatsappPhone: verifyPhoneEndpoint(engine),
      requestWhatsappPasswordReset: requestPasswordResetEndpoint(engine),
      resetWhatsappPassword: resetPasswordEndpoint(engine),
      whatsappOtpWebhook: webhookEndpoint(engine),
      whatsappOtpStatus: statusEndpoint(engine),
    },
    $ERROR_CODES: WHATSAPP_OTP_ERROR_CODES,
    options,
  } satisfies BetterAuthPlugin;
}

declare module "@better-auth/core" {
  interface BetterAuthPluginRegistry<AuthOptions, Options> {
    "whatsapp-otp": { creator: typeof whatsappOtp };
  }
}

import { OtpError } from "../errors.js";
import type { TwilioSmsOptions } from "./channel.js";
import { TWILIO_API_URL } from "./client.js";

/** The Twilio settings of an environment. */
export type TwilioEnv = Partial<
  Record<
    | "TWILIO_ACCOUNT_SID"
    | "TWILIO_AUTH_TOKEN"
    | "TWILIO_API_KEY"
    | "TWILIO_API_SECRET"
    | "TWILIO_FROM"
    | "TWILIO_MESSAGING_SERVICE_SID"
    | "TWILIO_STATUS_CALLBACK"
    | "TWILIO_API_URL",
    string
  >
>;

export interface TwilioEnvSettings {
  /** The variables to set, by name; never their values. */
  missing: string[];
  options: TwilioSmsOptions;
}

/**
 * Reads the `TWILIO_*` variables without judging them, for callers that report every missing one.
 * Credentials: `TWILIO_AUTH_TOKEN`, or `TWILIO_API_KEY` with `TWILIO_API_SECRET`. Sender:
 * `TWILIO_FROM` or `TWILIO_MESSAGING_SERVICE_SID`.
 */
export function readTwilioEnv(env: TwilioEnv): TwilioEnvSettings {
  const value = (name: keyof TwilioEnv) => env[name]?.trim() || undefined;
  const missing: string[] = [];
  if (!value("TWILIO_ACCOUNT_SID")) missing.push("TWILIO_ACCOUNT_SID");
  const usesKey = value("TWILIO_API_KEY") !== undefined || value("TWILIO_API_SECRET") !== undefined;
  if (usesKey) {
    if (!value("TWILIO_API_KEY")) missing.push("TWILIO_API_KEY");
    if (!value("TWILIO_API_SECRET")) missing.push("TWILIO_API_SECRET");
  } else if (!value("TWILIO_AUTH_TOKEN")) {
    missing.push("TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)");
  }
  if (!value("TWILIO_FROM") && !value("TWILIO_MESSAGING_SERVICE_SID")) {
    missing.push("TWILIO_FROM (or TWILIO_MESSAGING_SERVICE_SID)");
  }
  const from = value("TWILIO_FROM");
  const service = value("TWILIO_MESSAGING_SERVICE_SID");
  const callback = value("TWILIO_STATUS_CALLBACK");
  return {
    missing,
    options: {
      accountSid: value("TWILIO_ACCOUNT_SID") ?? "",
      ...(usesKey
        ? { apiKey: value("TWILIO_API_KEY") ?? "", apiSecret: value("TWILIO_API_SECRET") ?? "" }
        : { authToken: value("TWILIO_AUTH_TOKEN") ?? "" }),
      ...(from === undefined ? {} : { from }),
      ...(service === undefined ? {} : { messagingServiceSid: service }),
      ...(callback === undefined ? {} : { statusCallback: callback }),
      baseUrl: value("TWILIO_API_URL") ?? TWILIO_API_URL,
    },
  };
}

/**
 * `twilioSms()` options from `TWILIO_*` variables (see `readTwilioEnv`). Missing ones are a
 * `CONFIG_INVALID` error that names them, never their values. Add `text` and `webOtpDomain` yourself.
 */
export function twilioOptionsFromEnv(env: TwilioEnv): TwilioSmsOptions {
  const { missing, options } = readTwilioEnv(env);
  if (missing.length > 0) {
    throw new OtpError("CONFIG_INVALID", `Set ${missing.join(", ")} (from the Twilio Console).`);
  }
  return options;
}

import type { TwilioFailure } from "./errors.js";

/**
 * Twilio error codes waotp tells apart, with what the operator or the user can do. Each code's
 * meaning is from Twilio's error dictionary (`https://www.twilio.com/docs/api/errors/<code>`); the
 * list is in `fixtures.ts` with its sources. Codes not listed fall back to the HTTP status.
 */
export const TWILIO_ERROR_CODES: Record<number, { reason: TwilioFailure; fix: string }> = {
  20003: {
    reason: "unauthorized",
    fix: "Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET, a key of the same account).",
  },
  20404: {
    reason: "config",
    fix: "Check TWILIO_ACCOUNT_SID (an AC... SID of the account that owns the sender) and the base URL.",
  },
  20429: { reason: "rate_limited", fix: "Twilio is limiting this account's requests." },
  21211: { reason: "unreachable", fix: "The phone number is not a valid number for SMS." },
  21408: {
    reason: "unreachable",
    fix: "The account may not send SMS to this country: enable it in the Twilio Console's messaging geographic permissions.",
  },
  21608: {
    reason: "unreachable",
    fix: "A trial account can only text verified numbers: verify this one or upgrade the account.",
  },
  21610: {
    reason: "unreachable",
    fix: "The recipient replied STOP to this sender; only they can opt in again (by replying START).",
  },
  21612: {
    reason: "unreachable",
    fix: "Twilio cannot route an SMS from this sender to this number.",
  },
  21614: { reason: "unreachable", fix: "The number is not a mobile number that can get SMS." },
  21212: {
    reason: "config",
    fix: "Check TWILIO_FROM: an E.164 number (+14155550100), short code or alphanumeric sender ID.",
  },
  21606: {
    reason: "config",
    fix: "Check TWILIO_FROM: it must be an SMS-capable sender owned by this account (or use TWILIO_MESSAGING_SERVICE_SID).",
  },
  21659: {
    reason: "config",
    fix: "Check TWILIO_FROM: it must be a Twilio number of this account (a short code only texts its own country).",
  },
  21602: { reason: "config", fix: "The message body was empty: check the `text` option." },
  21617: {
    reason: "config",
    fix: "The message body is over 1600 characters: shorten the `text` option.",
  },
};

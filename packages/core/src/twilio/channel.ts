import type { Channel, OtpMessage } from "../channel.js";
import { OtpError } from "../errors.js";
import { httpUrl } from "../provider-http.js";
import { createSmsText, type SmsTextOptions } from "../sms-text.js";
import {
  createTwilioClient,
  MAY_ARRIVE,
  readSid,
  type TwilioClient,
  type TwilioClientOptions,
} from "./client.js";
import { TwilioError } from "./errors.js";
import { TWILIO_SIGNATURE_HEADER, verifyTwilioSignature } from "./signature.js";
import { readTwilioWebhook } from "./webhook.js";

export interface TwilioSmsOptions extends TwilioClientOptions, SmsTextOptions {
  /** The sender: a Twilio number in E.164 (`+14155550100`), a short code or an alphanumeric ID (TWILIO_FROM). */
  from?: string;
  /** A Messaging Service (`MG...`, TWILIO_MESSAGING_SERVICE_SID) that picks the sender; with `from`, both are sent. */
  messagingServiceSid?: string;
  /** Where Twilio posts status callbacks (TWILIO_STATUS_CALLBACK); pass their bodies to `handleWebhook`. */
  statusCallback?: string;
  /**
   * Sends `ValidityPeriod` equal to the code's lifetime, so Twilio drops a message still queued
   * when its code died.
   * @default true
   */
  validityPeriod?: boolean;
  /**
   * Status callbacks must carry a valid `X-Twilio-Signature` (checked against `statusCallback`, or
   * the URL the adapter saw when that is not set, and the auth token); the rest are dropped. Needs
   * `authToken`: Twilio signs with it even when requests use an API key. @default true
   */
  verifyCallbacks?: boolean;
}

export interface TwilioSmsChannel extends Channel {
  readonly client: TwilioClient;
}

/**
 * An SMS channel through Twilio Programmable Messaging: a fetch-based client, no SDK.
 *
 * @example
 * const sms = twilioSms({
 *   accountSid: process.env.TWILIO_ACCOUNT_SID!,
 *   authToken: process.env.TWILIO_AUTH_TOKEN!,
 *   from: process.env.TWILIO_FROM!,
 *   text: { en: "Your code is {code}.", pt: "Seu código é {code}." },
 *   webOtpDomain: "example.com",
 * });
 */
export function twilioSms(options: TwilioSmsOptions): TwilioSmsChannel {
  const client = createTwilioClient(options);
  const write = createSmsText(options);
  const from = options.from?.trim() || undefined;
  const service =
    options.messagingServiceSid === undefined || options.messagingServiceSid.trim() === ""
      ? undefined
      : readSid(
          options.messagingServiceSid,
          "MG",
          "messagingServiceSid",
          "TWILIO_MESSAGING_SERVICE_SID",
        );
  if (from === undefined && service === undefined) {
    throw new OtpError(
      "CONFIG_INVALID",
      "Set `from` (TWILIO_FROM, a Twilio number such as +14155550100) or `messagingServiceSid` (TWILIO_MESSAGING_SERVICE_SID).",
    );
  }
  const statusCallback =
    options.statusCallback === undefined ? undefined : readCallback(options.statusCallback);
  const validityPeriod = options.validityPeriod ?? true;
  const verifyCallbacks = options.verifyCallbacks ?? true;
  if (verifyCallbacks && statusCallback !== undefined && !options.authToken) {
    throw new OtpError(
      "CONFIG_INVALID",
      "Status callbacks are checked with the auth token: set `authToken` (TWILIO_AUTH_TOKEN) beside the API key, or `verifyCallbacks: false` to take them unchecked.",
    );
  }
  const secrets = [options.authToken, options.apiSecret].filter(
    (value): value is string => typeof value === "string" && value !== "",
  );

  return {
    name: "twilio-sms",
    kind: "sms",
    client,
    async send(message: OtpMessage) {
      const locale = message.locale;
      const body = write(message.code, {
        locale: typeof locale === "string" ? locale : undefined,
        ttlMinutes: Math.max(1, Math.ceil(message.ttlSeconds / 60)),
        purpose: message.purpose,
      });
      const form: Record<string, string> = { To: `+${message.phone}`, Body: body };
      if (from !== undefined) form.From = from;
      if (service !== undefined) form.MessagingServiceSid = service;
      if (statusCallback !== undefined) form.StatusCallback = statusCallback;
      // Twilio takes 1 to 14400 seconds; a message queued past its code's life is useless.
      if (validityPeriod) {
        form.ValidityPeriod = String(Math.min(14_400, Math.max(1, Math.floor(message.ttlSeconds))));
      }
      const { status, data } = await client.request({
        method: "POST",
        path: "Messages.json",
        form,
        deadline: message.expiresAt.getTime(),
        secrets: [message.code, ...secrets],
        sendsMessage: true,
      });
      const sid = typeof data.sid === "string" ? data.sid.trim() : "";
      if (/^(SM|MM)[0-9a-fA-F]{32}$/.test(sid)) return { messageId: sid };
      throw new TwilioError(
        "invalid_response",
        `Twilio answered HTTP ${status} without a message SID.${MAY_ARRIVE}`,
        { httpStatus: status, uncertain: true },
      );
    },
    async poll(messageId) {
      if (!/^(SM|MM)[0-9a-fA-F]{32}$/.test(messageId)) return null;
      const { data } = await client.request({
        method: "GET",
        path: `Messages/${messageId}.json`,
      });
      const [update] = readTwilioWebhook({
        MessageSid: messageId,
        MessageStatus: typeof data.status === "string" ? data.status : "",
        ...(typeof data.to === "string" ? { To: data.to } : {}),
        ...(typeof data.error_code === "number" || typeof data.error_code === "string"
          ? { ErrorCode: String(data.error_code) }
          : {}),
      });
      return update ?? null;
    },
    readWebhook(body, request) {
      // Read from exactly the fields the signature covers (a form's, all text).
      const fields = stringFields(body);
      const updates = readTwilioWebhook(fields);
      if (updates.length === 0 || !verifyCallbacks) return updates;
      // Unsigned, or signed for another URL or token: not Twilio's, so it changes nothing.
      const valid =
        request !== undefined &&
        options.authToken !== undefined &&
        verifyTwilioSignature({
          authToken: options.authToken,
          url: statusCallback ?? request.url,
          params: fields,
          signature: request.headers[TWILIO_SIGNATURE_HEADER],
        });
      return valid ? updates : [];
    },
  };
}

/** The form fields of a parsed body, as Twilio signed them (text values only). */
function stringFields(body: Record<string, unknown>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === "string") fields[name] = value;
  }
  return fields;
}

function readCallback(value: string): string {
  if (httpUrl(value) === undefined) {
    throw new OtpError(
      "CONFIG_INVALID",
      "`statusCallback` (TWILIO_STATUS_CALLBACK) must be an http(s) URL Twilio can reach.",
    );
  }
  return value.trim();
}

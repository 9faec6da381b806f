import type { DeliveryStatus, DeliveryUpdate } from "../delivery-status.js";

/*
 * Twilio's status callback: a form-encoded POST to the message's `StatusCallback` URL with, among
 * others, `MessageSid`, `MessageStatus`, `AccountSid`, `From`, `To`, and `ErrorCode` when the
 * message failed (older callbacks also carry `SmsSid`/`SmsStatus`). Sources in `fixtures.ts`.
 */

/** Twilio's message statuses as waotp's delivery states; the others (inbound, scheduled) are skipped. */
const STATUSES: Record<string, DeliveryStatus> = {
  accepted: "accepted",
  queued: "accepted",
  sending: "accepted",
  sent: "sent",
  delivered: "delivered",
  read: "read",
  failed: "failed",
  undelivered: "undelivered",
  // A scheduled message that was canceled never goes out.
  canceled: "failed",
};

/** What common Twilio delivery error codes mean, for a failure that carries only its number. */
const DELIVERY_ERRORS: Record<string, string> = {
  "30003": "Unreachable destination handset",
  "30004": "Message blocked",
  "30005": "Unknown destination handset",
  "30006": "Landline or unreachable carrier",
  "30007": "Message filtered by the carrier",
  "30008": "Unknown error",
};

const MAX_ID_LENGTH = 64;

/**
 * Reads a Twilio status callback: a parsed form body (`{ MessageSid, MessageStatus, ... }`), a
 * `URLSearchParams`, or the raw form string. One callback is one update; a body it does not
 * recognise gives an empty list. Verify the signature first (`verifyTwilioSignature`).
 */
export function readTwilioWebhook(
  body: Record<string, unknown> | URLSearchParams | string,
): DeliveryUpdate[] {
  const fields = toFields(body);
  const messageId = fields.MessageSid ?? fields.SmsSid;
  const rawStatus = (fields.MessageStatus ?? fields.SmsStatus)?.trim().toLowerCase();
  if (messageId === undefined || !/^[A-Z]{2}[0-9a-fA-F]{32}$/.test(messageId.trim())) return [];
  if (messageId.length > MAX_ID_LENGTH || rawStatus === undefined) return [];
  const status = STATUSES[rawStatus];
  if (status === undefined) return [];
  const update: DeliveryUpdate = { messageId: messageId.trim(), status };
  const phone = fields.To?.trim().replace(/^\+/, "");
  if (phone !== undefined && /^\d{6,15}$/.test(phone)) update.phone = phone;
  const errorCode = fields.ErrorCode?.trim();
  if (errorCode !== undefined && /^\d{1,8}$/.test(errorCode) && errorCode !== "0") {
    update.errorCode = errorCode;
    if (status === "failed" || status === "undelivered") {
      const meaning = DELIVERY_ERRORS[errorCode];
      update.error =
        meaning === undefined ? `Twilio error ${errorCode}` : `${errorCode} ${meaning}`;
    }
  }
  return [update];
}

function toFields(
  body: Record<string, unknown> | URLSearchParams | string,
): Record<string, string | undefined> {
  if (typeof body === "string" || body instanceof URLSearchParams) {
    const search = typeof body === "string" ? new URLSearchParams(body) : body;
    return Object.fromEntries(search);
  }
  if (typeof body !== "object" || body === null) return {};
  const fields: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === "string") fields[name] = value;
    else if (typeof value === "number" && Number.isFinite(value)) fields[name] = String(value);
  }
  return fields;
}

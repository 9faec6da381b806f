import type { DeliveryStatus, DeliveryUpdate } from "../delivery-status.js";

/*
 * Vonage SMS delivery receipts (DLRs). Vonage calls the callback URL with GET (query string) or
 * POST (JSON or form), as set in the dashboard, with `messageId`, `msisdn`, `to`, `network-code`,
 * `price`, `status`, `err-code`, `scts`, `message-timestamp`, optional `client-ref` and, when
 * signed, `timestamp`, `nonce` and `sig`. Facts and sources: `fixtures.ts` (RECEIPTS).
 */

/**
 * Vonage's receipt statuses as waotp's states. `accepted` and `buffered` are intermediate (the
 * carrier has it): `sent`. `expired` means the carrier never reached the phone in the message's
 * lifetime: `undelivered`. `unknown` with a non-zero `err-code` did not arrive (Vonage: every
 * receipt with a non-zero err-code is a failed delivery); without one it says nothing final.
 */
const STATUSES: Record<string, DeliveryStatus> = {
  delivered: "delivered",
  accepted: "sent",
  buffered: "sent",
  expired: "undelivered",
  failed: "failed",
  rejected: "failed",
  deleted: "undelivered",
};

/** What a receipt's `err-code` means, from Vonage's delivery error code table. */
export const VONAGE_DLR_ERRORS: Record<string, string> = {
  "1": "Unknown",
  "2": "Absent subscriber (temporary)",
  "3": "Absent subscriber (permanent)",
  "4": "Call barred by user",
  "5": "Portability error",
  "6": "Anti-spam rejection",
  "7": "Handset busy",
  "8": "Network error",
  "9": "Illegal number",
  "10": "Illegal message",
  "11": "Unroutable",
  "12": "Destination unreachable",
  "13": "Subscriber age restriction",
  "14": "Number blocked by carrier",
};

const MAX_ID_LENGTH = 100;

/**
 * The parameters of a webhook body: an object as a framework parsed it (JSON or form), or the raw
 * query/form string (`a=1&b=2`, with or without a leading `?`), or a JSON text. Only text and
 * number values are kept, as text; anything else gives an empty object.
 */
export function readVonageParams(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  let source: unknown = body;
  if (typeof body === "string") {
    const text = body.trim();
    if (text.startsWith("{")) {
      try {
        source = JSON.parse(text) as unknown;
      } catch {
        return out;
      }
    } else {
      for (const [name, value] of new URLSearchParams(text.replace(/^\?/, ""))) out[name] = value;
      return out;
    }
  }
  if (typeof source !== "object" || source === null || Array.isArray(source)) return out;
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === "string") out[name] = value;
    else if (typeof value === "number" && Number.isFinite(value)) out[name] = String(value);
    // Frameworks parse a repeated query parameter into an array; the first value is Vonage's.
    else if (Array.isArray(value) && typeof value[0] === "string") out[name] = value[0];
  }
  return out;
}

/**
 * Reads a Vonage delivery receipt as waotp delivery updates: one update, or none for a body that
 * is not a receipt (an inbound SMS, a status waotp does not know). It checks no signature: call
 * `verifyVonageSignature` first when signed webhooks are on.
 */
export function readVonageReceipt(body: unknown): DeliveryUpdate[] {
  const params = readVonageParams(body);
  const messageId = params.messageId?.trim();
  const statusWord = params.status?.trim().toLowerCase();
  if (!messageId || messageId.length > MAX_ID_LENGTH || !/^[\w.-]+$/.test(messageId)) return [];
  if (statusWord === undefined) return [];
  const errCode = params["err-code"]?.trim();
  const failedCode = errCode !== undefined && /^\d{1,4}$/.test(errCode) && errCode !== "0";
  let status = STATUSES[statusWord];
  if (statusWord === "unknown") status = failedCode ? "undelivered" : "sent";
  if (status === undefined) return [];
  const update: DeliveryUpdate = { messageId, status };
  const phone = /^\+?([1-9]\d{6,14})$/.exec(params.msisdn?.trim() ?? "")?.[1];
  if (phone !== undefined) update.phone = phone;
  if ((status === "failed" || status === "undelivered") && errCode !== undefined) {
    if (failedCode) {
      update.errorCode = errCode;
      update.error = `${statusWord}: ${VONAGE_DLR_ERRORS[errCode] ?? `error ${errCode}`}`;
    } else {
      update.error = statusWord;
    }
  } else if (status === "failed" || status === "undelivered") {
    update.error = statusWord;
  }
  return [update];
}

/**
 * What the Vonage SMS API takes and sends back, as public sources show it. Written for waotp from
 * the facts below (not copied from the sources); each fixture names its source:
 * - SMS-REF: the SMS API reference and guide, https://developer.vonage.com/en/messaging/sms/overview
 *   and https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms (the answer shape,
 *   the `status` table).
 * - ERRORS: https://developer.vonage.com/en/api-errors/sms (status 1 to 33, with resolutions).
 * - DLR: https://developer.vonage.com/messaging/sms/guides/delivery-receipts (receipt fields, GET or
 *   POST), and Vonage support's "What kind of Delivery Receipts" (accepted/buffered intermediate;
 *   delivered/expired/failed/rejected final) and "SMS Delivery Error Codes" (err-code 0 to 14; any
 *   non-zero err-code is a failed delivery), https://api.support.vonage.com/hc/en-us/articles/204014733
 * - SIGNING: https://developer.vonage.com/getting-started/concepts/signing-messages (md5hash default,
 *   MD5/SHA1/SHA-256/SHA-512 HMAC; signed webhooks carry `timestamp`, `nonce`, `sig`).
 * - SDK: Vonage's Node SDK, `Vonage/vonage-node-sdk`: `packages/sms/lib/sms.ts` (`verifySignature`:
 *   parameters but `sig` sorted, `&` and `=` in values replaced by `_`, `&key=value` joined; md5 of
 *   that plus the secret, or an HMAC keyed with it; hex compared case-insensitively),
 *   `packages/sms/lib/enums/SMSErrors.ts` (22, 23, 32, 33), `packages/sms/lib/types/SMSParams.ts`
 *   (`ttl` in ms, `client-ref`, `callback`, `type`), `DeliveryReceipt.ts` (receipt fields), and
 *   `packages/sms/__tests__/__dataSets__/signature.ts` (the signature vectors below).
 * Differences noted: the newest `@vonage/auth` signs outgoing requests by replacing `&`/`=` in the
 * whole URL-encoded string; waotp follows the documented per-value rule, which the SDK's
 * `verifySignature` and its vectors use.
 */

export const SEND_URL = "https://rest.nexmo.com/sms/json";

/** One-part success, as in SMS-REF. */
export const SEND_OK = {
  "message-count": "1",
  messages: [
    {
      to: "447700900000",
      "message-id": "0C000000217B7F02",
      status: "0",
      "remaining-balance": "15.53590000",
      "message-price": "0.03330000",
      network: "23410",
    },
  ],
};

/** Two parts of one long SMS, each with its own id (SMS-REF: one entry per part). */
export const SEND_MULTIPART = {
  "message-count": "2",
  messages: [
    { ...SEND_OK.messages[0], "message-id": "0C000000217B7F03" },
    { ...SEND_OK.messages[0], "message-id": "0C000000217B7F04" },
  ],
};

/** A refusal: `status` non-zero with `error-text` (SMS-REF, ERRORS). */
export function sendRefused(status: string, errorText: string) {
  return { "message-count": "1", messages: [{ status, "error-text": errorText }] };
}

/** Refusal statuses and the class waotp gives them (ERRORS; 22, 23, 32, 33 from SDK). The `text` values are illustrative: waotp only passes `error-text` on. */
export const SEND_STATUSES: { status: string; text: string; reason: string }[] = [
  { status: "2", text: "Missing from param", reason: "rejected" },
  { status: "3", text: "Invalid from param", reason: "rejected" },
  { status: "4", text: "Bad Credentials", reason: "unauthorized" },
  { status: "5", text: "Internal Error", reason: "server_error" },
  { status: "6", text: "Invalid Message", reason: "unreachable" },
  { status: "7", text: "Number barred", reason: "unreachable" },
  { status: "8", text: "Partner account barred", reason: "forbidden" },
  { status: "9", text: "Partner quota exceeded", reason: "no_credit" },
  { status: "11", text: "Account not enabled for REST", reason: "forbidden" },
  { status: "12", text: "Message too long", reason: "rejected" },
  { status: "14", text: "Invalid Signature", reason: "unauthorized" },
  { status: "15", text: "Illegal Sender Address - rejected", reason: "rejected" },
  { status: "22", text: "Invalid network code", reason: "rejected" },
  { status: "23", text: "Invalid callback url", reason: "rejected" },
  { status: "29", text: "Non White-listed Destination - rejected", reason: "unreachable" },
  { status: "32", text: "Signature and api secret disallowed", reason: "rejected" },
  { status: "33", text: "Number de-activated", reason: "unreachable" },
];

/** A receipt's parameters, as DLR's "typical DLR" shows them (values are text in every form). */
export function receipt(status: string, errCode = "0"): Record<string, string> {
  return {
    msisdn: "447700900000",
    to: "AcmeInc",
    "network-code": "23410",
    messageId: "0B00000127FDBC63",
    price: "0.03330000",
    status,
    scts: "1810251310",
    "err-code": errCode,
    "message-timestamp": "2018-10-25 12:10:29",
  };
}

/** Every receipt status and the update waotp reads from it (DLR). */
export const RECEIPTS: { status: string; errCode: string; expected: Record<string, unknown> }[] = [
  { status: "delivered", errCode: "0", expected: { status: "delivered" } },
  { status: "accepted", errCode: "0", expected: { status: "sent" } },
  { status: "buffered", errCode: "0", expected: { status: "sent" } },
  {
    status: "expired",
    errCode: "2",
    expected: {
      status: "undelivered",
      errorCode: "2",
      error: "expired: Absent subscriber (temporary)",
    },
  },
  {
    status: "failed",
    errCode: "3",
    expected: { status: "failed", errorCode: "3", error: "failed: Absent subscriber (permanent)" },
  },
  {
    status: "rejected",
    errCode: "6",
    expected: { status: "failed", errorCode: "6", error: "rejected: Anti-spam rejection" },
  },
  {
    status: "unknown",
    errCode: "1",
    expected: { status: "undelivered", errorCode: "1", error: "unknown: Unknown" },
  },
  { status: "unknown", errCode: "0", expected: { status: "sent" } },
];

/** Signature vectors from SDK's tests: one parameter set, one secret, each method. */
export const SIGNATURE_PARAMS = {
  "message-timestamp": "2013-11-21 15:27:30",
  messageId: "020000001B0FE827",
  msisdn: "14843472194",
  text: "Test again",
  timestamp: "1385047698",
  to: "13239877404",
  type: "text",
};
export const SIGNATURE_SECRET = "my_secret_key_for_testing";
export const SIGNATURE_VECTORS = [
  { method: "md5hash", sig: "d2e7b1dc968737c5998ad624e02f90b7" },
  { method: "md5", sig: "DDEBD46008C2D4E93CCE578A332A52D5" },
  { method: "sha1", sig: "27D0D05C2876C7CB1720DBCDBA4D492E1E55C09A" },
  { method: "sha256", sig: "DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330" },
  {
    method: "sha512",
    sig: "E0D3C650F8C9D1A5C174D10DDDBFB003E561F59B265616208B0487C5D819481CD3C311D59CF6165ECD1139622D5BA3A256C0D763AC4A9AD9144B5A426B94FE82",
  },
] as const;

/**
 * The Twilio facts waotp relies on, each with the public source it was read from (written for waotp,
 * not copied). The tests run against these shapes.
 * - API-MSG: Twilio's Message resource reference, https://www.twilio.com/docs/messaging/api/message-resource
 *   and the generated twilio-node client (`twilio/twilio-node`, `src/rest/api/v2010/account/message.ts`):
 *   `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form fields `To`, `From`,
 *   `MessagingServiceSid`, `Body` (up to 1600 characters), `StatusCallback`, `ValidityPeriod`
 *   (1 to 14400 seconds); statuses queued, sending, sent, failed, delivered, undelivered, receiving,
 *   received, accepted, scheduled, read, partially_delivered, canceled.
 * - API-ERR: twilio-node's `src/base/RestException.ts` (error bodies `{ code, message, more_info, status }`)
 *   and Twilio's error dictionary, https://www.twilio.com/docs/api/errors (20003, 20404, 20429, 21211,
 *   21212, 21408, 21602, 21606, 21608, 21610, 21612, 21614, 21617, 21659, 30003-30008).
 * - CALLBACK: "Track the Message Status of Outbound Messages" and "Outbound Message Status in Status
 *   Callbacks", https://www.twilio.com/docs/messaging/guides/track-outbound-message-status and
 *   .../outbound-message-status-in-status-callbacks: form-encoded POSTs with `MessageSid`,
 *   `MessageStatus`, `AccountSid`, `From`, `To`, `ApiVersion`, `SmsSid`, `SmsStatus`, and `ErrorCode`
 *   on failures; no callback for the initial status (queued, or accepted with a Messaging Service).
 * - SIG: "Secure webhooks", https://www.twilio.com/docs/usage/webhooks/webhooks-security, and
 *   twilio-node's `src/webhooks/webhooks.ts`: base64(HMAC-SHA1(auth token, URL + sorted name+value
 *   pairs)), checked with and without the default port. The worked example (URL, token, parameters,
 *   expected signature) is the one in Twilio's helper-library docs ("Validate Incoming Requests",
 *   twilio-php docs, http://twilio-php-atbaker.readthedocs.io/en/latest/usage/validation.html).
 * - WEBOTP: "Origin-bound one-time codes delivered via SMS", https://wicg.github.io/sms-one-time-codes/:
 *   the last line `@<host> #<code>`.
 */

export const ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef";
export const MESSAGE_SID = "SM0123456789abcdef0123456789abcdef";
export const SERVICE_SID = "MG0123456789abcdef0123456789abcdef";

/** API-MSG: the 201 answer to a create, trimmed to the fields waotp reads and a few more. */
export const CREATED_MESSAGE = {
  sid: MESSAGE_SID,
  account_sid: ACCOUNT_SID,
  to: "+14155550101",
  from: "+14155550100",
  status: "queued",
  direction: "outbound-api",
  api_version: "2010-04-01",
  num_segments: "1",
  error_code: null,
  error_message: null,
  uri: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${MESSAGE_SID}.json`,
};

/** API-ERR: error answers, each with its HTTP status and the reason waotp gives it. */
export const ERROR_ANSWERS: {
  httpStatus: number;
  code: number;
  message: string;
  reason: string;
}[] = [
  { httpStatus: 401, code: 20003, message: "Authenticate", reason: "unauthorized" },
  {
    httpStatus: 404,
    code: 20404,
    message: "The requested resource was not found",
    reason: "config",
  },
  { httpStatus: 400, code: 21211, message: "Invalid 'To' Phone Number", reason: "unreachable" },
  {
    httpStatus: 400,
    code: 21408,
    message:
      "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    reason: "unreachable",
  },
  {
    httpStatus: 400,
    code: 21608,
    message: "The number is unverified. Trial accounts cannot send messages to unverified numbers",
    reason: "unreachable",
  },
  {
    httpStatus: 400,
    code: 21610,
    message: "Attempt to send to unsubscribed recipient",
    reason: "unreachable",
  },
  {
    httpStatus: 400,
    code: 21614,
    message: "'To' number is not a valid mobile number",
    reason: "unreachable",
  },
  { httpStatus: 400, code: 21212, message: "Invalid 'From' Phone Number", reason: "config" },
  {
    httpStatus: 400,
    code: 21606,
    message:
      "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account",
    reason: "config",
  },
  {
    httpStatus: 400,
    code: 21617,
    message: "The concatenated message body exceeds the 1600 character limit",
    reason: "config",
  },
  { httpStatus: 400, code: 99999, message: "Something else", reason: "rejected" },
];

export function errorBody(answer: { httpStatus: number; code: number; message: string }) {
  return {
    code: answer.code,
    message: answer.message,
    more_info: `https://www.twilio.com/docs/errors/${answer.code}`,
    status: answer.httpStatus,
  };
}

/** CALLBACK: a status callback body for each outbound status, and what waotp reads from it. */
export function callback(
  status: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    AccountSid: ACCOUNT_SID,
    ApiVersion: "2010-04-01",
    From: "+14155550100",
    MessageSid: MESSAGE_SID,
    MessageStatus: status,
    SmsSid: MESSAGE_SID,
    SmsStatus: status,
    To: "+14155550101",
    ...extra,
  };
}

export const CALLBACK_STATUSES: [string, string][] = [
  ["queued", "accepted"],
  ["accepted", "accepted"],
  ["sending", "accepted"],
  ["sent", "sent"],
  ["delivered", "delivered"],
  ["read", "read"],
  ["undelivered", "undelivered"],
  ["failed", "failed"],
  ["canceled", "failed"],
];

/** SIG: the worked example from Twilio's helper-library docs. */
export const SIGNATURE_EXAMPLE = {
  authToken: "12345",
  url: "https://mycompany.com/myapp.php?foo=1&bar=2",
  params: {
    CallSid: "CA1234567890ABCDE",
    Caller: "+14158675309",
    Digits: "1234",
    From: "+14158675309",
    To: "+18005551212",
  },
  signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
};

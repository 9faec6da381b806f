/**
 * The Twilio fake behind the simulator's SMS: it plays the part of Twilio Programmable Messaging
 * that `twilioSms()` talks to, so the real client can run against it. Each shape it answers or
 * posts names its public source, with the same tags as `../twilio/fixtures.ts`:
 * - API-MSG: Twilio's Message resource reference, https://www.twilio.com/docs/messaging/api/message-resource
 *   (the create at `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, its form fields `To`,
 *   `From`, `MessagingServiceSid`, `Body` up to 1600 characters, `StatusCallback`, `ValidityPeriod`;
 *   the 201 answer, a Message resource; the fetch at `GET .../Messages/{Sid}.json`).
 * - API-ERR: Twilio's error dictionary, https://www.twilio.com/docs/api/errors, for the error body
 *   `{ code, message, more_info, status }` and each code used here: 20003 (credentials), 20404 (no
 *   such resource), 21211 (`To` not a phone number), 21602 (no `Body`), 21603 (no sender), 21604
 *   (no `To`, or a body that is not form-encoded), 21606 (a `From` the account does not own),
 *   21609 (a `StatusCallback` that is not a URL), 21617 (a `Body` over 1600 characters), 21624
 *   (`ValidityPeriod` outside 1 to 14400 seconds).
 * - CALLBACK: "Track the Message Status of Outbound Messages" and "Outbound Message Status in Status
 *   Callbacks", https://www.twilio.com/docs/messaging/guides/track-outbound-message-status: a
 *   form-encoded POST per status change to `StatusCallback`, with `MessageSid`, `MessageStatus`,
 *   `AccountSid`, `From`, `To`, `ApiVersion`, `SmsSid`, `SmsStatus`, and `ErrorCode` on a failure;
 *   none for the first status (`queued`, or `accepted` with a Messaging Service).
 * - SIG: "Secure webhooks", https://www.twilio.com/docs/usage/webhooks/webhooks-security: each
 *   callback carries `X-Twilio-Signature`, computed here with `twilioSignature`.
 */
import { randomBytes } from "node:crypto";
import { canAdvance, type DeliveryStatus } from "../delivery-status.js";
import { CREATED_MESSAGE, errorBody } from "../twilio/fixtures.js";
import { TWILIO_SIGNATURE_HEADER, twilioSignature } from "../twilio/signature.js";
import { createMailbox } from "./mailbox.js";

/** The simulator's Twilio account: an `AC` SID of 32 hex digits, as `twilioSms` requires. */
export const SIMULATOR_ACCOUNT_SID = "ACc0ffee00c0ffee00c0ffee00c0ffee00";

export interface TwilioFakeOptions {
  /** @default SIMULATOR_ACCOUNT_SID */
  accountSid?: string;
  /** The auth token it checks requests with and signs callbacks with. @default "sim-twilio-auth-token" */
  authToken?: string;
  /** The account's SMS number: a `From` must be it (a Messaging Service may stand in). @default "+14155550100" */
  from?: string;
  /**
   * Milliseconds after a create at which each status callback goes out; `false` skips it.
   * @default { sent: 30, delivered: 120 }
   */
  acks?: { sent?: number | false; delivered?: number | false };
}

/** An SMS the fake accepted, as the phone would show it. */
export interface FakeSms {
  /** The message SID: `SM` and 32 hex digits. */
  id: string;
  channel: "sms";
  /** Digits, without the `+`. */
  phone: string;
  /** The sender shown on the phone. */
  from: string;
  /** The body, as sent. */
  text: string;
  /**
   * The code as a phone spots it: the one on the WebOTP line (`@host #123456`) when there is one,
   * else the first run of 4 to 10 digits.
   */
  code: string | undefined;
  /** In waotp's names: Twilio's `queued` and `accepted` are `accepted`. */
  status: DeliveryStatus;
  history: { status: DeliveryStatus; timestamp: number; errorCode?: string }[];
  /** The Messaging Service the create named, if any. */
  messagingServiceSid?: string;
  statusCallback?: string;
  validityPeriod?: number;
  createdAt: Date;
}

/** The states the fake reports, in Twilio's names. */
export type FakeSmsStatus = "sent" | "delivered" | "undelivered" | "failed";

export interface TwilioFake {
  readonly accountSid: string;
  readonly authToken: string;
  readonly from: string;
  readonly messages: readonly FakeSms[];
  /** Requests received: `create`, `fetch`. */
  readonly calls: Record<string, number>;
  /** Answers one request as Twilio would. */
  handle(request: Request): Promise<Response>;
  /** SMS received by a phone (digits or E.164), oldest first. */
  inbox(phone: string): FakeSms[];
  lastCode(phone: string): string | undefined;
  /** Waits for the next SMS to a phone that arrives after this call. */
  waitForMessage(phone: string, options?: { timeoutMs?: number }): Promise<FakeSms>;
  /** Moves a message to `status` now and posts its signed callback, as Twilio would. */
  ack(messageId: string, status: FakeSmsStatus, errorCode?: string): Promise<void>;
  /** Forgets messages and counters. */
  reset(): void;
  /** Cancels pending callbacks. */
  close(): void;
}

const API_VERSION = "2010-04-01";
const MAX_BODY = 1600;
const MAX_VALIDITY = 14_400;

// API-MSG: the statuses in waotp's names, and back.
const TWILIO_NAME: Record<DeliveryStatus, string> = {
  accepted: "queued",
  sent: "sent",
  delivered: "delivered",
  read: "read",
  failed: "failed",
  undelivered: "undelivered",
};

// GSM 03.38's basic alphabet: a body written in it takes 160 characters a segment, else 70.
const GSM =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

function segments(body: string): number {
  const gsm = [...body].every((c) => GSM.includes(c));
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  const length = [...body].length;
  return length <= single ? 1 : Math.ceil(length / multi);
}

/** Dates as Twilio writes them (RFC 2822, `+0000`). */
function rfc2822(date: Date): string {
  return date.toUTCString().replace("GMT", "+0000");
}

/** The code a phone would offer to copy from an SMS. */
function spotCode(text: string): string | undefined {
  return /(?:^|\n)@\S+ #([0-9A-Za-z]+)\s*$/.exec(text)?.[1] ?? /\b(\d{4,10})\b/.exec(text)?.[1];
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/**
 * An in-memory Twilio Programmable Messaging: it checks the create as Twilio does (Basic auth
 * with its own account, the form fields), answers with a Message resource, keeps what each phone
 * received, and posts signed status callbacks (`sent`, then `delivered`) to `StatusCallback`,
 * best effort. `startOneMsgSimulator()` serves it beside 1MSG, at the same base URL.
 *
 * @example
 * const fake = createTwilioFake();
 * const sms = twilioSms({ baseUrl, accountSid: fake.accountSid, authToken: fake.authToken, from: fake.from });
 */
export function createTwilioFake(options: TwilioFakeOptions = {}): TwilioFake {
  const accountSid = options.accountSid ?? SIMULATOR_ACCOUNT_SID;
  const authToken = options.authToken ?? "sim-twilio-auth-token";
  const from = options.from ?? "+14155550100";
  const acks = { sent: 30, delivered: 120, ...options.acks };
  const mailbox = createMailbox<FakeSms>("SMS");
  const { messages, later } = mailbox;
  const calls: Record<string, number> = {};
  const base = `/${API_VERSION}/Accounts/`;

  const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json; charset=utf-8", ...headers },
    });
  // API-ERR: every refusal has the same body.
  const refuse = (httpStatus: number, code: number, message: string) =>
    json(errorBody({ httpStatus, code, message }), httpStatus);

  /** API-MSG: the Message resource, built on the documented create answer. */
  function resource(message: FakeSms) {
    const last = message.history.at(-1);
    const service = message.messagingServiceSid;
    return {
      ...CREATED_MESSAGE,
      sid: message.id,
      account_sid: accountSid,
      to: `+${message.phone}`,
      from: message.from,
      messaging_service_sid: service ?? null,
      body: message.text,
      // CALLBACK: sent through a Messaging Service alone, a message starts `accepted`.
      status:
        message.status === "accepted" && serviceOnly.has(message.id)
          ? "accepted"
          : TWILIO_NAME[message.status],
      num_segments: String(segments(message.text)),
      num_media: "0",
      error_code: last?.errorCode === undefined ? null : Number(last.errorCode),
      price: null,
      price_unit: "USD",
      date_created: rfc2822(message.createdAt),
      date_updated: rfc2822(
        last === undefined ? message.createdAt : new Date(last.timestamp * 1000),
      ),
      date_sent: null,
      uri: `${base}${accountSid}/Messages/${message.id}.json`,
      subresource_uris: { media: `${base}${accountSid}/Messages/${message.id}/Media.json` },
    };
  }
  // Messages created with a Messaging Service and no `From`.
  const serviceOnly = new Set<string>();

  /** Whether the request carries this account's credentials (HTTP Basic, SID and token). */
  function authorized(request: Request): boolean {
    const header = request.headers.get("authorization") ?? "";
    if (!header.startsWith("Basic ")) return false;
    const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
    return decoded === `${accountSid}:${authToken}`;
  }

  function create(form: URLSearchParams): Response {
    const to = form.get("To")?.trim() ?? "";
    const sender = form.get("From")?.trim() ?? "";
    const service = form.get("MessagingServiceSid")?.trim() ?? "";
    const body = form.get("Body") ?? "";
    const callback = form.get("StatusCallback")?.trim() ?? "";
    const validity = form.get("ValidityPeriod");
    if (to === "") return refuse(400, 21604, "A 'To' phone number is required.");
    if (!/^\+[1-9]\d{6,14}$/.test(to)) {
      return refuse(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    }
    if (sender === "" && service === "") {
      return refuse(400, 21603, "A 'From' phone number or a 'MessagingServiceSid' is required.");
    }
    if (sender !== "" && sender !== from) {
      return refuse(
        400,
        21606,
        `The 'From' number ${sender} is not an SMS-capable number of this account.`,
      );
    }
    if (service !== "" && !/^MG[0-9a-fA-F]{32}$/.test(service)) {
      return refuse(404, 20404, `The requested resource /Services/${service} was not found`);
    }
    if (body.trim() === "") return refuse(400, 21602, "Message body is required.");
    if ([...body].length > MAX_BODY) {
      return refuse(400, 21617, "The message body exceeds the 1600 character limit.");
    }
    let validityPeriod: number | undefined;
    if (validity !== null) {
      validityPeriod = Number(validity);
      if (!/^\d+$/.test(validity) || validityPeriod < 1 || validityPeriod > MAX_VALIDITY) {
        return refuse(400, 21624, "ValidityPeriod must be a whole number of seconds, 1 to 14400.");
      }
    }
    if (callback !== "" && !isHttpUrl(callback)) {
      return refuse(400, 21609, "The StatusCallback is not a valid URL.");
    }

    const message: FakeSms = {
      id: `SM${randomBytes(16).toString("hex")}`,
      channel: "sms",
      phone: to.slice(1),
      from: sender === "" ? from : sender,
      text: body,
      code: spotCode(body),
      status: "accepted",
      history: [],
      ...(service === "" ? {} : { messagingServiceSid: service }),
      ...(callback === "" ? {} : { statusCallback: callback }),
      ...(validityPeriod === undefined ? {} : { validityPeriod }),
      createdAt: new Date(),
    };
    mailbox.add(message);
    if (sender === "") serviceOnly.add(message.id);
    if (acks.sent !== false) later(acks.sent, () => void ack(message.id, "sent"));
    if (acks.delivered !== false) later(acks.delivered, () => void ack(message.id, "delivered"));
    return json(resource(message), 201);
  }

  async function ack(messageId: string, status: FakeSmsStatus, errorCode?: string): Promise<void> {
    const message = messages.find((m) => m.id === messageId);
    if (message === undefined || !canAdvance(message.status, status)) return;
    message.status = status;
    message.history.push({
      status,
      timestamp: Math.floor(Date.now() / 1000),
      ...(errorCode === undefined ? {} : { errorCode }),
    });
    const url = message.statusCallback;
    if (url === undefined) return;
    // CALLBACK: the fields of a status callback; SIG: signed over the URL and every field.
    const params: Record<string, string> = {
      AccountSid: accountSid,
      ApiVersion: API_VERSION,
      From: message.from,
      MessageSid: message.id,
      MessageStatus: status,
      SmsSid: message.id,
      SmsStatus: status,
      To: `+${message.phone}`,
      ...(errorCode === undefined ? {} : { ErrorCode: errorCode }),
    };
    const signal = AbortSignal.any([mailbox.closing, AbortSignal.timeout(5000)]);
    await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        [TWILIO_SIGNATURE_HEADER]: twilioSignature(authToken, url, params),
        "user-agent": "TwilioProxy/1.1",
      },
      body: new URLSearchParams(params).toString(),
      signal,
    }).then(
      (response) => response.body?.cancel(),
      () => {},
    );
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(base)) {
      return refuse(404, 20404, `The requested resource ${url.pathname} was not found`);
    }
    if (!authorized(request)) {
      return new Response(
        JSON.stringify(errorBody({ httpStatus: 401, code: 20003, message: "Authenticate" })),
        {
          status: 401,
          headers: {
            "content-type": "application/json; charset=utf-8",
            "www-authenticate": 'Basic realm="Twilio API"',
          },
        },
      );
    }
    const [account = "", collection = "", item] = url.pathname.slice(base.length).split("/");
    const notFound = () =>
      refuse(404, 20404, `The requested resource ${url.pathname} was not found`);
    if (account !== accountSid) return notFound();
    if (request.method === "POST" && collection === "Messages.json" && item === undefined) {
      calls.create = (calls.create ?? 0) + 1;
      const type = request.headers.get("content-type") ?? "";
      const text = await request.text();
      // A body that is not form-encoded has no `To` as far as Twilio can tell (API-ERR 21604).
      const form = new URLSearchParams(
        type.startsWith("application/x-www-form-urlencoded") ? text : "",
      );
      return create(form);
    }
    const sid = /^(SM[0-9a-fA-F]{32})\.json$/.exec(item ?? "")?.[1];
    if (request.method === "GET" && collection === "Messages" && sid !== undefined) {
      calls.fetch = (calls.fetch ?? 0) + 1;
      const message = messages.find((m) => m.id === sid);
      return message === undefined ? notFound() : json(resource(message), 200);
    }
    return notFound();
  }

  return {
    accountSid,
    authToken,
    from,
    messages,
    calls,
    handle,
    inbox: mailbox.inbox,
    lastCode: mailbox.lastCode,
    waitForMessage: mailbox.waitForMessage,
    ack,
    reset() {
      messages.length = 0;
      serviceOnly.clear();
      for (const key of Object.keys(calls)) delete calls[key];
    },
    close: mailbox.close,
  };
}

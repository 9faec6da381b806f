/**
 * The HTTP contract every adapter translates: how an outcome (a thrown error of any kind, a failed
 * verification, a delivery-status lookup, or a code of `HTTP_ERRORS`) becomes a status, headers
 * and a JSON body `{ error: { code, message, ...fields } }`. Framework-neutral: Express, better-auth
 * and Passport only copy the answer into their own response objects.
 *
 * What a client may see: for a 4xx, the error's own message and its safe fields (`OtpError.details`
 * and `retryAfter`; the core never puts a code, hash or token there); for a 5xx, the table's message
 * and only `retryAfter` and `delivery`, since the error's words (1MSG's, the store's) are for logs.
 */
import type { DeliveryStatus } from "./delivery-status.js";
import { isOtpError } from "./errors.js";
import { HTTP_ERRORS, type HttpErrorCode } from "./http-errors.js";
import type { StatusResult, VerifyResult } from "./otp.js";
import { publicStatus, publicVerifyFailure, type VerifyFailureDetail } from "./public.js";

/**
 * The largest JSON body an adapter reads for send and verify, in bytes, unless told otherwise
 * (`bodyLimit`): the fields are a phone, a code and a purpose, so anything bigger is not one.
 */
export const DEFAULT_BODY_LIMIT = 2048;

/**
 * What a webhook body is, by its `Content-Type`: JSON (1MSG, Vonage's POST-JSON receipts) or a form
 * (Twilio's status callbacks, Vonage's POST receipts); anything else is answered 415
 * `UNSUPPORTED_MEDIA_TYPE`. Send and verify take JSON only.
 */
export function webhookBodyType(contentType: string | null | undefined): "json" | "form" | null {
  const media = (contentType ?? "").split(";")[0]?.trim().toLowerCase();
  if (media === "application/json") return "json";
  if (media === "application/x-www-form-urlencoded") return "form";
  return null;
}

/**
 * The fields of a form-encoded webhook body, the first value of each name (every adapter reads a
 * repeated name the same way; providers do not repeat them).
 */
export function formFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (!Object.hasOwn(fields, name)) fields[name] = value;
  }
  return fields;
}

/** Node's request headers as a webhook's `headers`: one text per name (repeats joined by `, `). */
export function flatHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    flat[name] = typeof value === "string" || value === undefined ? value : value.join(", ");
  }
  return flat;
}

/**
 * Whether an adapter reads a body sent with this `Content-Encoding`: only uncompressed ones. A
 * compressed 2 kB body saves nothing and would make every adapter inflate untrusted input;
 * anything else is answered 415 `UNSUPPORTED_MEDIA_TYPE`.
 */
export function acceptsBodyEncoding(header: string | null | undefined): boolean {
  return header === undefined || header === null || header.trim().toLowerCase() === "identity";
}

/** The largest webhook body an adapter reads, in bytes: 1MSG batches several updates per call. */
export const WEBHOOK_BODY_LIMIT = 256 * 1024;

/** The JSON body of every error answer. */
export interface HttpErrorBody {
  error: { code: HttpErrorCode; message: string } & Record<string, unknown>;
}

/** An error answer: send `status`, every header in `headers`, and `body` as JSON. */
export interface HttpAnswer {
  readonly ok: false;
  readonly status: number;
  /** `Retry-After` (seconds) on every 429 and wherever the body carries `retryAfter`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: HttpErrorBody;
}

/** A success answer, for the lookups whose public shape the contract decides. */
export interface HttpOk<Body> {
  readonly ok: true;
  readonly status: 200;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Body;
}

/** What a client may learn about a message it asked for (see `publicStatus`), as JSON. */
export interface PublicDeliveryStatus {
  status: Exclude<DeliveryStatus, "read">;
  /** ISO 8601. */
  updatedAt: string;
  /** The channel that sent the message (`"1msg"`, `"twilio-sms"`). */
  channel: string;
  /** The fallback message that now carries the code, when one took over: follow its status. */
  fallback?: { messageId: string; channel: string };
}

// A send whose message may still arrive: the client should wait for it, and may ask again later.
const UNCERTAIN_SEND =
  "The message was not confirmed, but it may still arrive: its code will work. If it does not, ask for a new code when retryAfter has passed.";

// Under "generic", INVALID_CODE also stands for an expired or a missing code.
const GENERIC_VERIFY_FAILURE =
  "The code is not right, or no longer valid. Check it, or ask for a new one.";

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

function answer(
  status: number,
  code: HttpErrorCode,
  message: string,
  fields?: Readonly<Record<string, unknown>>,
): HttpAnswer {
  const retryAfter = fields?.retryAfter;
  const wait = typeof retryAfter === "number" ? retryAfter : undefined;
  return {
    ok: false,
    status,
    headers:
      status === 429 || wait !== undefined ? { "Retry-After": String(wait ?? 0) } : NO_HEADERS,
    // Fields first: a field named `code` or `message` can never replace the real ones.
    body: { error: { ...fields, code, message } },
  };
}

/** Answers that never change are built once and shared (frozen, so no adapter can alter them). */
function frozen(value: HttpAnswer): HttpAnswer {
  Object.freeze(value.body.error);
  Object.freeze(value.body);
  Object.freeze(value.headers);
  return Object.freeze(value);
}

const PLAIN = new Map<HttpErrorCode, HttpAnswer>();
for (const code of Object.keys(HTTP_ERRORS) as HttpErrorCode[]) {
  const { status, message } = HTTP_ERRORS[code];
  PLAIN.set(code, frozen(answer(status, code, message)));
}
const GENERIC_FAILURE = frozen(
  answer(HTTP_ERRORS.INVALID_CODE.status, "INVALID_CODE", GENERIC_VERIFY_FAILURE),
);

/**
 * The answer for a code of `HTTP_ERRORS`, with its status and message. `fields` (safe for any
 * client: which field failed, what a guard wants) go into the body.
 */
export function errorAnswer(
  code: HttpErrorCode,
  fields?: Readonly<Record<string, unknown>>,
): HttpAnswer {
  if (fields === undefined) return PLAIN.get(code) as HttpAnswer;
  const { status, message } = HTTP_ERRORS[code];
  return answer(status, code, message, fields);
}

/**
 * The answer for anything thrown: an `OtpError` by its code (5xx details hidden, see above); an
 * error that names its own 4xx `status` (the convention of body parsers) as `INVALID_BODY` with that
 * status; anything else as a bare 500 `INTERNAL_ERROR`. Adapters report every 5xx to the server.
 */
export function thrownAnswer(error: unknown): HttpAnswer {
  if (isOtpError(error)) {
    const { status, message } = HTTP_ERRORS[error.code];
    const { details, retryAfter } = error;
    if (status < 500) {
      return answer(
        status,
        error.code,
        error.message,
        retryAfter === undefined ? details : { ...details, retryAfter },
      );
    }
    const delivery = details?.delivery;
    if (delivery === undefined && retryAfter === undefined)
      return PLAIN.get(error.code) as HttpAnswer;
    return answer(status, error.code, delivery === "unknown" ? UNCERTAIN_SEND : message, {
      ...(delivery === undefined ? {} : { delivery }),
      ...(retryAfter === undefined ? {} : { retryAfter }),
    });
  }
  const status = (error as { status?: unknown } | null | undefined)?.status;
  if (typeof status === "number" && Number.isInteger(status) && status >= 400 && status < 500) {
    return answer(status, "INVALID_BODY", HTTP_ERRORS.INVALID_BODY.message);
  }
  return PLAIN.get("INTERNAL_ERROR") as HttpAnswer;
}

/**
 * The answer for a failed verification, told as `detail` says (see `VerifyFailureDetail`):
 * `attemptsLeft` and `retryAfter` when precise, one `INVALID_CODE` answer when generic.
 */
export function verifyFailureAnswer(
  result: Extract<VerifyResult, { ok: false }>,
  detail: VerifyFailureDetail = "generic",
): HttpAnswer {
  const { reason, status, ...fields } = publicVerifyFailure(result, detail);
  if (detail === "generic" && reason === "INVALID_CODE") return GENERIC_FAILURE;
  if (fields.attemptsLeft === undefined && fields.retryAfter === undefined) {
    return PLAIN.get(reason) as HttpAnswer;
  }
  return answer(status, reason, HTTP_ERRORS[reason].message, fields);
}

/** A 200 answer with `body` as JSON. */
export function okAnswer<Body>(body: Body): HttpOk<Body> {
  return { ok: true, status: 200, headers: NO_HEADERS, body };
}

/**
 * The answer for a delivery-status lookup: 200 with what the client may learn (a read message shows
 * as delivered; a provider's failure reason stays on the server), or 404 `NOT_FOUND`.
 */
export function deliveryStatusAnswer(
  found: StatusResult | null,
): HttpOk<PublicDeliveryStatus> | HttpAnswer {
  if (found === null) return PLAIN.get("NOT_FOUND") as HttpAnswer;
  const { updatedAt, ...rest } = publicStatus(found);
  return okAnswer({ ...rest, updatedAt: updatedAt.toISOString() });
}

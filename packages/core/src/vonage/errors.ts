import { OtpError } from "../errors.js";

/** Why a Vonage send failed. */
export type VonageFailure =
  /** Status 4 (key or secret wrong), 14 (signature wrong) or an HTTP 401. */
  | "unauthorized"
  /** Status 8: the Vonage account is suspended; status 11: not enabled for the SMS API. */
  | "forbidden"
  /** Status 9: no credit left. */
  | "no_credit"
  /**
   * The phone cannot get this SMS: status 7 (barred number), 6 (unprocessable, such as an unknown
   * number prefix), 29 (not on a trial account's test list) or 33 (deactivated number). A fallback
   * to another channel is the useful answer; sending again through Vonage is not.
   */
  | "unreachable"
  /** A request waotp's settings made wrong: status 2, 3, 12, 15, 22, 23, 32, or a 4xx. */
  | "rejected"
  /** The message text setting broke a rule (the code must appear exactly once). */
  | "config"
  /** Status 1 or 10 (throttled) or an HTTP 429, after the retries the code's lifetime allowed. */
  | "rate_limited"
  /** Status 5 or a 5xx. */
  | "server_error"
  /** Some parts of a multi-part message were taken and others refused. */
  | "partial"
  /** No answer in time; the message may have gone out, so it is not retried. */
  | "timeout"
  /** Vonage could not be reached. */
  | "network"
  /** An answer that is not the JSON Vonage gives. */
  | "invalid_response";

export interface VonageErrorFields {
  httpStatus?: number;
  /** Vonage's `status` for the message (`"7"`), when it gave one. */
  vonageStatus?: string;
  providerMessage?: string;
  retryAfter?: number;
  uncertain?: boolean;
}

/**
 * A failed Vonage send. `code` is `SEND_FAILED` like every channel failure; `reason` tells the
 * classes apart (`unreachable` is the one a fallback acts on), `vonageStatus` is Vonage's number,
 * and `providerMessage` is Vonage's `error-text` with the secrets and the code removed.
 */
export class VonageError extends OtpError {
  readonly reason: VonageFailure;
  readonly httpStatus: number | undefined;
  readonly vonageStatus: string | undefined;
  readonly providerMessage: string | undefined;
  /** The message may have gone out (timeout, 5xx, broken connection, partial send). */
  readonly uncertain: boolean;

  constructor(reason: VonageFailure, message: string, fields: VonageErrorFields = {}) {
    super("SEND_FAILED", message, {
      ...(fields.retryAfter === undefined ? {} : { retryAfter: fields.retryAfter }),
      details: {
        reason,
        ...(fields.vonageStatus === undefined ? {} : { vonageStatus: fields.vonageStatus }),
      },
    });
    this.reason = reason;
    this.httpStatus = fields.httpStatus;
    this.vonageStatus = fields.vonageStatus;
    this.providerMessage = fields.providerMessage;
    this.uncertain = fields.uncertain === true;
  }
}

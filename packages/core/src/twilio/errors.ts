import { OtpError } from "../errors.js";

/** Why a call to Twilio failed. */
export type TwilioFailure =
  /** 401 or Twilio error 20003: the Account SID, auth token or API key pair is wrong. */
  | "unauthorized"
  /** A setting of this channel is wrong: the sender (`From`, Messaging Service), the account, the body. */
  | "config"
  /**
   * Twilio refused because this phone cannot get this SMS: an invalid or non-mobile number, a
   * recipient who replied STOP, a region the account may not send to, a trial account's unverified
   * recipient. Trying again will not help; another channel may.
   */
  | "unreachable"
  /** Another 4xx: Twilio understood the request and refused it. */
  | "rejected"
  /** 429 or Twilio error 20429, after the retries the code's lifetime allowed. */
  | "rate_limited"
  /** 5xx: after the retries allowed, or at once for a send (it may have gone out). */
  | "server_error"
  /** No answer in time. A send may have gone out, so it is not retried. */
  | "timeout"
  /** Twilio could not be reached. */
  | "network"
  /** An answer that is not the JSON Twilio gives. */
  | "invalid_response";

export interface TwilioErrorFields {
  httpStatus?: number;
  /** Twilio's numeric error code (`21211`), when it gave one. */
  twilioCode?: number;
  providerMessage?: string;
  retryAfter?: number;
  uncertain?: boolean;
}

/**
 * A failed Twilio call. `code` is `SEND_FAILED` like every channel failure; `reason` tells the
 * classes apart (`unreachable` is the one a fallback to another channel cares about), `twilioCode`
 * is Twilio's own error code, and `providerMessage` what Twilio said, with secrets and the code removed.
 */
export class TwilioError extends OtpError {
  readonly reason: TwilioFailure;
  readonly httpStatus: number | undefined;
  readonly twilioCode: number | undefined;
  readonly providerMessage: string | undefined;
  /**
   * The call may have sent the message before it failed (a 5xx, a timeout or a broken connection
   * during a send): the message may still arrive. See `Channel` for what the engine does with it.
   */
  readonly uncertain: boolean;

  constructor(reason: TwilioFailure, message: string, fields: TwilioErrorFields = {}) {
    super("SEND_FAILED", message, {
      ...(fields.retryAfter === undefined ? {} : { retryAfter: fields.retryAfter }),
      details: {
        reason,
        ...(fields.twilioCode === undefined ? {} : { providerCode: fields.twilioCode }),
      },
    });
    this.reason = reason;
    this.httpStatus = fields.httpStatus;
    this.twilioCode = fields.twilioCode;
    this.providerMessage = fields.providerMessage;
    this.uncertain = fields.uncertain === true;
  }
}

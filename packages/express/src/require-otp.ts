import { assertPurpose, errorAnswer, OtpError } from "@waotp/core";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { sendAnswer } from "./errors.js";
import { type Verification, type VerifiedState, verifiedState } from "./verified-state.js";

export interface RequireOtpOptions {
  /** The purpose the verification must be for. @default "step-up" */
  purpose?: string;
  /** How recent the verification must be. @default 300 */
  maxAgeSeconds?: number;
  /** Where verifications are remembered; the same as the router's. @default verifiedState({ secret }) */
  state?: VerifiedState;
  /** Signs the verification cookie when `state` is not given and there is no session. */
  secret?: string | Uint8Array;
  /**
   * The phone the verification must be for, usually the signed-in user's, so that a code sent to
   * another number does not pass. Required, unless `anyPhone` is set.
   */
  phone?: (req: Request) => string | undefined | Promise<string | undefined>;
  /** Lets a verification of any phone pass: only for routes tied to no user. @default false */
  anyPhone?: boolean;
  /** Called instead of the 401 answer, for example to redirect to a verification page. */
  onRequired?: (req: Request, res: Response, next: NextFunction) => void;
  /**
   * Each verification lets one request through: it is forgotten as the route runs, so a new code is
   * needed for the next (a transfer, a password change). Forgetting is reliable in the session mode;
   * a signed cookie replayed by a client that kept it is refused only where the state is a session.
   * @default false
   */
  singleUse?: boolean;
}

// A verification stamped this far in the future is not trusted: clocks between instances drift less.
const CLOCK_SKEW_MS = 60_000;

/**
 * A guard for routes that need a fresh verification of the user's own phone, such as changing a
 * password or moving money. Without one it answers 401 `STEP_UP_REQUIRED` (with `purpose` and
 * `maxAgeSeconds`), or calls `onRequired`. On success, `req.otpVerification` holds the verification.
 */
export function requireOtp(options: RequireOtpOptions = {}): RequestHandler {
  const purpose = options.purpose ?? "step-up";
  assertPurpose(purpose);
  const maxAgeSeconds = options.maxAgeSeconds ?? 300;
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 1) {
    throw new OtpError(
      "CONFIG_INVALID",
      "`maxAgeSeconds` must be a whole number of seconds, at least 1.",
    );
  }
  if (options.phone === undefined && options.anyPhone !== true) {
    throw new OtpError(
      "CONFIG_INVALID",
      "requireOtp needs `phone: (req) => the signed-in user's phone`, or `anyPhone: true` for routes tied to no user.",
    );
  }
  const state =
    options.state ?? verifiedState(options.secret === undefined ? {} : { secret: options.secret });
  const required = errorAnswer("STEP_UP_REQUIRED", { purpose, maxAgeSeconds });

  async function passes(req: Request, verification: Verification | undefined): Promise<boolean> {
    if (verification === undefined) return false;
    const age = Date.now() - verification.verifiedAt;
    if (age > maxAgeSeconds * 1000 || age < -CLOCK_SKEW_MS) return false;
    if (options.anyPhone === true) return true;
    const expected = await options.phone?.(req);
    return expected !== undefined && expected === verification.phone;
  }

  return (req, res, next) => {
    (async () => {
      const verification = await state.load(req, purpose);
      if (await passes(req, verification)) {
        (req as Request & { otpVerification?: Verification }).otpVerification = verification;
        if (options.singleUse === true) await state.clear(req, res, purpose);
        return next();
      }
      if (options.onRequired) return options.onRequired(req, res, next);
      sendAnswer(res, required);
    })().catch(next);
  };
}

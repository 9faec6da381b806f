import { errorAnswer, stepUpRule } from "@waotp/core";
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

/**
 * A guard for routes that need a fresh verification of the user's own phone, such as changing a
 * password or moving money. Without one it answers 401 `STEP_UP_REQUIRED` (with `purpose` and
 * `maxAgeSeconds`), or calls `onRequired`. On success, `req.otpVerification` holds the verification.
 */
export function requireOtp(options: RequireOtpOptions = {}): RequestHandler {
  const rule = stepUpRule({ ...options, hasPhone: options.phone !== undefined });
  const { purpose, maxAgeSeconds } = rule;
  const state =
    options.state ?? verifiedState(options.secret === undefined ? {} : { secret: options.secret });
  const required = errorAnswer("STEP_UP_REQUIRED", { purpose, maxAgeSeconds });

  return (req, res, next) => {
    (async () => {
      const verification = await state.load(req, purpose);
      const phone =
        verification === undefined || options.anyPhone === true
          ? undefined
          : await options.phone?.(req);
      if (rule.passes(verification, phone)) {
        (req as Request & { otpVerification?: Verification }).otpVerification = verification;
        if (options.singleUse === true) await state.clear(req, res, purpose);
        return next();
      }
      if (options.onRequired) return options.onRequired(req, res, next);
      sendAnswer(res, required);
    })().catch(next);
  };
}

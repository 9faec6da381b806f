import { OtpError } from "@waotp/core";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { sendHttpError } from "./errors.js";
import { type VerifiedState, verifiedState } from "./verified-state.js";

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
   * The phone the verification must be for, usually the signed-in user's. Without it, any
   * verified phone passes; with it, a code sent to another number does not.
   */
  phone?: (req: Request) => string | undefined | Promise<string | undefined>;
  /** Called instead of the 401 answer, for example to redirect to a verification page. */
  onRequired?: (req: Request, res: Response, next: NextFunction) => void;
}

/**
 * A guard for routes that need a fresh verification, such as changing a password or moving money.
 * Without one it answers 401 `STEP_UP_REQUIRED` (with `purpose` and `maxAgeSeconds`), or calls
 * `onRequired`. On success, `req.otpVerification` holds the verification.
 */
export function requireOtp(options: RequireOtpOptions = {}): RequestHandler {
  const purpose = options.purpose ?? "step-up";
  const maxAgeSeconds = options.maxAgeSeconds ?? 300;
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 1) {
    throw new OtpError(
      "CONFIG_INVALID",
      "`maxAgeSeconds` must be a whole number of seconds, at least 1.",
    );
  }
  const state =
    options.state ?? verifiedState(options.secret === undefined ? {} : { secret: options.secret });

  return (req, res, next) => {
    (async () => {
      const verification = await state.load(req, purpose);
      const expected = options.phone === undefined ? undefined : await options.phone(req);
      const fresh =
        verification !== undefined &&
        Date.now() - verification.verifiedAt <= maxAgeSeconds * 1000 &&
        verification.verifiedAt <= Date.now() + 60_000 &&
        (options.phone === undefined ||
          (expected !== undefined && expected === verification.phone));
      if (fresh) {
        (req as Request & { otpVerification?: typeof verification }).otpVerification = verification;
        return next();
      }
      if (options.onRequired) return options.onRequired(req, res, next);
      sendHttpError(
        res,
        "STEP_UP_REQUIRED",
        `Verify your phone again (purpose "${purpose}") to continue.`,
        {
          purpose,
          maxAgeSeconds,
        },
      );
    })().catch(next);
  };
}

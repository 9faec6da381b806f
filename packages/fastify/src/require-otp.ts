import { errorAnswer, stepUpRule } from "@waotp/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import { sendAnswer } from "./errors.js";
import { type Verification, type VerifiedState, verifiedState } from "./verified-state.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The verification `requireOtp` let this request through with. */
    otpVerification?: Verification;
  }
}

export interface RequireOtpOptions {
  /** The purpose the verification must be for. @default "step-up" */
  purpose?: string;
  /** How recent the verification must be. @default 300 */
  maxAgeSeconds?: number;
  /** Where verifications are remembered; the same as the plugin's. @default verifiedState({ secret }) */
  state?: VerifiedState;
  /** Signs the verification cookie when `state` is not given. */
  secret?: string | Uint8Array;
  /**
   * The phone the verification must be for, usually the signed-in user's, so that a code sent to
   * another number does not pass. Required, unless `anyPhone` is set.
   */
  phone?: (request: FastifyRequest) => string | undefined | Promise<string | undefined>;
  /** Lets a verification of any phone pass: only for routes tied to no user. @default false */
  anyPhone?: boolean;
  /**
   * Called instead of the 401 answer, for example to redirect to a verification page: answer with
   * `reply` and return it (`return reply.redirect("/verify")`). If it does not answer, the 401 goes.
   */
  onRequired?: (request: FastifyRequest, reply: FastifyReply) => unknown;
  /**
   * Each verification lets one request through: it is forgotten as the route runs, so a new code is
   * needed for the next (a transfer, a password change). With the signed cookie, a client that kept
   * the cookie can replay it; forgetting is reliable only with a server-side `state`.
   * @default false
   */
  singleUse?: boolean;
}

/**
 * A `preHandler` for routes that need a fresh verification of the user's own phone, such as
 * changing a password or moving money. Without one it answers 401 `STEP_UP_REQUIRED` (with
 * `purpose` and `maxAgeSeconds`), or calls `onRequired`. On success, `request.otpVerification`
 * holds the verification.
 *
 * @example
 * app.post("/account/delete", { preHandler: requireOtp({ secret, phone: (req) => req.user?.phone }) }, handler);
 */
export function requireOtp(
  options: RequireOtpOptions = {},
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  const rule = stepUpRule({ ...options, hasPhone: options.phone !== undefined });
  const { purpose, maxAgeSeconds } = rule;
  const state =
    options.state ?? verifiedState(options.secret === undefined ? {} : { secret: options.secret });
  const required = errorAnswer("STEP_UP_REQUIRED", { purpose, maxAgeSeconds });

  return async (request, reply) => {
    const verification = await state.load(request, purpose);
    const phone =
      verification === undefined || options.anyPhone === true
        ? undefined
        : await options.phone?.(request);
    if (rule.passes(verification, phone)) {
      request.otpVerification = verification;
      if (options.singleUse === true) await state.clear(request, reply, purpose);
      return undefined;
    }
    if (options.onRequired) {
      const answered = await options.onRequired(request, reply);
      if (answered === reply || reply.sent) return reply;
    }
    return sendAnswer(reply, required);
  };
}

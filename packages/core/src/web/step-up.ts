import { stepUpRule, type Verification } from "../browser-state.js";
import { errorAnswer } from "../http.js";
import { answerResponse } from "./answer.js";
import { type VerifiedState, verifiedState } from "./state.js";

/** What a step-up check wants, the same as the Express `requireOtp`'s options. */
export interface VerifiedForOptions {
  /** The purpose the verification must be for. @default "step-up" */
  purpose?: string;
  /** How recent the verification must be. @default 300 */
  maxAgeSeconds?: number;
  /** Where verifications are remembered; the same as the handler's. @default verifiedState({ secret }) */
  state?: VerifiedState;
  /** Signs the verification cookie when `state` is not given: the handler's `secret`. */
  secret?: string | Uint8Array;
  /**
   * The phone the verification must be for, usually the signed-in user's (or a function of the
   * request that finds it), so that a code sent to another number does not pass. Required, unless
   * `anyPhone` is set; undefined (nobody signed in) never passes.
   */
  phone?: string | ((request: Request) => string | undefined | Promise<string | undefined>);
  /** Lets a verification of any phone pass: only for routes tied to no user. @default false */
  anyPhone?: boolean;
  /**
   * Each verification lets one request through: on success `headers` holds the `Set-Cookie` that
   * forgets it; copy it onto your response. A client that kept the cookie can replay it until it
   * expires: for strict single use, plug in a server-side `state`. @default false
   */
  singleUse?: boolean;
}

/**
 * A step-up check's outcome: the verification, and headers to copy onto your response (the
 * `Set-Cookie` that clears a single-use verification); or the 401 `STEP_UP_REQUIRED` response
 * (with `purpose` and `maxAgeSeconds`) to return as is, or to replace with a redirect.
 */
export type VerifiedForResult =
  | { ok: true; verification: Verification; headers: Headers }
  | { ok: false; response: Response };

/**
 * A step-up guard for any framework that hands you a `Request`: checks once, at start-up, what it is
 * told (throwing `CONFIG_INVALID`), then tells each request whether it carries a fresh verification
 * of the user's own phone.
 *
 * @example
 * const stepUp = requireOtp({ secret, phone: (request) => userOf(request)?.phone });
 * const check = await stepUp(request);
 * if (!check.ok) return check.response;
 */
export function requireOtp(
  options: VerifiedForOptions = {},
): (request: Request) => Promise<VerifiedForResult> {
  const rule = stepUpRule({
    ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
    ...(options.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: options.maxAgeSeconds }),
    ...(options.anyPhone === undefined ? {} : { anyPhone: options.anyPhone }),
    hasPhone: "phone" in options,
  });
  const { purpose, maxAgeSeconds } = rule;
  const state =
    options.state ?? verifiedState(options.secret === undefined ? {} : { secret: options.secret });
  const required = errorAnswer("STEP_UP_REQUIRED", { purpose, maxAgeSeconds });

  return async (request) => {
    const verification = await state.load(request, purpose);
    const phone =
      verification === undefined || options.anyPhone === true
        ? undefined
        : typeof options.phone === "function"
          ? await options.phone(request)
          : options.phone;
    if (!rule.passes(verification, phone)) return { ok: false, response: answerResponse(required) };
    const headers = new Headers();
    if (options.singleUse === true) await state.clear(request, headers, purpose);
    return { ok: true, verification, headers };
  };
}

/**
 * One step-up check of one request (see `requireOtp`, which checks its options once instead).
 *
 * @example
 * const check = await verifiedFor(request, { secret, phone: user.phone, maxAgeSeconds: 300 });
 * if (!check.ok) return check.response;
 */
export function verifiedFor(
  request: Request,
  options: VerifiedForOptions = {},
): Promise<VerifiedForResult> {
  return requireOtp(options)(request);
}

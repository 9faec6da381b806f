import { signedCookieState, type Verification, type VerifiedCookieOptions } from "@waotp/core";
import type { Request, Response } from "express";
import { EXPRESS_COOKIES } from "./client-cookie.js";

export type { Verification };

/**
 * Where verifications are remembered between requests. `verifiedState()` is the default: the
 * session when express-session is there, a signed cookie otherwise.
 */
export interface VerifiedState {
  /** Throws `CONFIG_INVALID` when a verification could not be saved for this request. */
  assertReady?(req: Request): void;
  save(req: Request, res: Response, verification: Verification): void | Promise<void>;
  load(req: Request, purpose: string): Verification | undefined | Promise<Verification | undefined>;
  clear(req: Request, res: Response, purpose?: string): void | Promise<void>;
}

export interface VerifiedStateOptions extends VerifiedCookieOptions {
  /**
   * Purposes after whose verification an express-session session gets a new id, so an id planted
   * before sign-in (session fixation) is worth nothing after it.
   * @default ["login", "register"]
   */
  regenerateSessionOn?: readonly string[];
}

type Session = Record<string, unknown> & {
  waotp?: Record<string, Verification>;
  regenerate?: (callback: (error?: unknown) => void) => void;
};

/** express-session's `req.session`, when it runs. */
function sessionOf(req: Request): Session | undefined {
  return (req as unknown as { session?: Session }).session;
}

/**
 * Remembers verifications in `req.session` when express-session runs before the router, and
 * otherwise in the core's signed cookie (`signedCookieState`): HttpOnly, SameSite=Lax, Secure on HTTPS.
 */
export function verifiedState(options: VerifiedStateOptions = {}): VerifiedState {
  const cookies = signedCookieState(options, EXPRESS_COOKIES);
  const regenerateOn = new Set(options.regenerateSessionOn ?? ["login", "register"]);

  return {
    assertReady(req) {
      // Without a session, the cookie must be signable before a code is used up.
      if (sessionOf(req) === undefined) cookies.assertReady(req);
    },
    async save(req, res, verification) {
      let session = sessionOf(req);
      if (session !== undefined) {
        const kept = session.waotp;
        if (regenerateOn.has(verification.purpose) && typeof session.regenerate === "function") {
          const regenerate = session.regenerate.bind(session);
          await new Promise<void>((resolve, reject) =>
            regenerate((error) => (error ? reject(error) : resolve())),
          );
          session = sessionOf(req) ?? session;
        }
        session.waotp = { ...kept, [verification.purpose]: verification };
        return;
      }
      cookies.save(req, res, verification);
    },
    load(req, purpose) {
      const session = sessionOf(req);
      if (session !== undefined) {
        const stored = session.waotp?.[purpose];
        return stored?.purpose === purpose ? stored : undefined;
      }
      return cookies.load(req, purpose);
    },
    clear(req, res, purpose) {
      const session = sessionOf(req);
      if (session !== undefined) {
        if (purpose === undefined) delete session.waotp;
        else if (session.waotp) delete session.waotp[purpose];
        return;
      }
      cookies.clear(req, res, purpose);
    },
  };
}

import { createHmac, timingSafeEqual } from "node:crypto";
import { OtpError, secretBytes } from "@waotp/core";
import type { Request, Response } from "express";

/** A verification the app remembers: who proved which phone, for what, and when. */
export interface Verification {
  phone: string;
  purpose: string;
  /** Epoch milliseconds. */
  verifiedAt: number;
}

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

export interface VerifiedStateOptions {
  /** Key that signs the cookie, at least 32 bytes. Without it, only `req.session` is used. */
  secret?: string | Uint8Array;
  /** Cookie name prefix; the purpose is appended. @default "waotp" */
  cookieName?: string;
  /** Longest a cookie lives, in seconds; guards set their own, shorter, limits. @default 86400 */
  maxAgeSeconds?: number;
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
 * otherwise in an HttpOnly, SameSite=Lax cookie signed with `secret` (Secure on HTTPS).
 */
export function verifiedState(options: VerifiedStateOptions = {}): VerifiedState {
  const key = options.secret === undefined ? undefined : secretBytes(options.secret);
  const prefix = options.cookieName ?? "waotp";
  const maxAge = options.maxAgeSeconds ?? 86_400;
  const cookieOf = (purpose: string) => `${prefix}_${purpose}`;
  const regenerateOn = new Set(options.regenerateSessionOn ?? ["login", "register"]);

  function needKey(): Buffer {
    if (key === undefined) {
      throw new OtpError(
        "CONFIG_INVALID",
        "Remembering a verification needs express-session, or a `secret` for the signed cookie.",
      );
    }
    return key;
  }

  return {
    assertReady(req) {
      if (sessionOf(req) === undefined) needKey();
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
      const payload = Buffer.from(JSON.stringify(verification)).toString("base64url");
      res.cookie(cookieOf(verification.purpose), `${payload}.${sign(needKey(), payload)}`, {
        httpOnly: true,
        sameSite: "lax",
        secure: req.secure,
        path: "/",
        maxAge: maxAge * 1000,
      });
    },
    load(req, purpose) {
      const session = sessionOf(req);
      if (session !== undefined) {
        const stored = session.waotp?.[purpose];
        return stored?.purpose === purpose ? stored : undefined;
      }
      if (key === undefined) return undefined;
      const raw = readCookie(req.headers.cookie, cookieOf(purpose));
      const [payload, signature] = raw?.split(".") ?? [];
      if (payload === undefined || signature === undefined) return undefined;
      const expected = Buffer.from(sign(key, payload));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      try {
        const value = JSON.parse(
          Buffer.from(payload, "base64url").toString("utf8"),
        ) as Verification;
        return value.purpose === purpose &&
          typeof value.phone === "string" &&
          typeof value.verifiedAt === "number"
          ? value
          : undefined;
      } catch {
        return undefined;
      }
    },
    clear(req, res, purpose) {
      const session = sessionOf(req);
      if (session !== undefined) {
        if (purpose === undefined) delete session.waotp;
        else if (session.waotp) delete session.waotp[purpose];
        return;
      }
      const names =
        purpose === undefined
          ? Object.keys(parseCookies(req.headers.cookie)).filter((name) =>
              name.startsWith(`${prefix}_`),
            )
          : [cookieOf(purpose)];
      for (const name of names) res.clearCookie(name, { path: "/" });
    },
  };
}

function sign(key: Buffer, payload: string): string {
  return createHmac("sha256", key).update(`waotp-verified:v1\0${payload}`).digest("base64url");
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index < 1) continue;
    cookies[part.slice(0, index).trim()] = part.slice(index + 1).trim();
  }
  return cookies;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  const value = parseCookies(header)[name];
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

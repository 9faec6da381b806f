import {
  CLIENT_COOKIE,
  type CookieAccess,
  clientIds,
  signedCookieState,
  type Verification,
  type VerifiedCookieOptions,
} from "../browser-state.js";

/** Whether the request came over HTTPS: its cookies are then `Secure`, the client id `__Host-`. */
export function isSecure(request: Request): boolean {
  return new URL(request.url).protocol === "https:";
}

/**
 * Where verifications are remembered between requests, over a `Request` and the headers of the
 * answer to come. `verifiedState()` is the default: the core's signed cookie. Plug in another (a
 * session store of your framework) with the same four methods.
 */
export interface VerifiedState {
  /** Throws `CONFIG_INVALID` when a verification could not be saved for this request. */
  assertReady?(request: Request): void;
  /** Remembers a verification; cookies go into `headers` (`Set-Cookie`). */
  save(request: Request, headers: Headers, verification: Verification): void | Promise<void>;
  load(
    request: Request,
    purpose: string,
  ): Verification | undefined | Promise<Verification | undefined>;
  /** Forgets one purpose's verification, or every one. */
  clear(request: Request, headers: Headers, purpose?: string): void | Promise<void>;
}

/** A `Request`'s cookies, and the answer's headers they are set in. */
const WEB_COOKIES: CookieAccess<Request, Headers> = {
  secure: isSecure,
  cookieHeader: (request) => request.headers.get("cookie"),
  appendSetCookie: (headers, value) => headers.append("Set-Cookie", value),
};

/**
 * Remembers verifications in the core's signed cookie (`signedCookieState`), one per purpose:
 * HttpOnly, SameSite=Lax, Secure on HTTPS. Without `secret`, saving throws `CONFIG_INVALID`
 * before a code is used up, and nothing is ever read back.
 */
export function verifiedState(options: VerifiedCookieOptions = {}): VerifiedState {
  return signedCookieState(options, WEB_COOKIES);
}

/** The client-id cookie over a `Request` and the answer's headers. */
export function clientCookie(
  name: string | false = CLIENT_COOKIE,
  clientIp: (request: Request) => string | undefined = () => undefined,
) {
  return clientIds<Request, Headers>(name, { ...WEB_COOKIES, ip: clientIp });
}

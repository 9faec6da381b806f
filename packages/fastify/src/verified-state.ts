import {
  cookieAttributes,
  parseCookies,
  readCookie,
  serializeCookie,
  type Verification,
  type VerifiedCookieOptions,
  verifiedCookies,
} from "@waotp/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import { isSecure } from "./client-cookie.js";

export type { Verification };

/**
 * Where verifications are remembered between requests. `verifiedState()` is the default: the
 * core's signed cookie. Give your own (a session store, a database) to the plugin and `requireOtp`.
 */
export interface VerifiedState {
  /** Throws `CONFIG_INVALID` when a verification could not be saved for this request. */
  assertReady?(request: FastifyRequest): void;
  save(
    request: FastifyRequest,
    reply: FastifyReply,
    verification: Verification,
  ): void | Promise<void>;
  load(
    request: FastifyRequest,
    purpose: string,
  ): Verification | undefined | Promise<Verification | undefined>;
  clear(request: FastifyRequest, reply: FastifyReply, purpose?: string): void | Promise<void>;
}

export type VerifiedStateOptions = VerifiedCookieOptions;

/**
 * Remembers verifications in the core's signed cookie (`verifiedCookies`), one per purpose:
 * HttpOnly, SameSite=Lax, Secure on HTTPS; the same bytes the Express adapter writes.
 */
export function verifiedState(options: VerifiedStateOptions = {}): VerifiedState {
  const cookies = verifiedCookies(options);
  const setCookie = (
    request: FastifyRequest,
    reply: FastifyReply,
    name: string,
    value: string,
    maxAge: number,
  ) =>
    reply.header(
      "set-cookie",
      serializeCookie(name, value, cookieAttributes(isSecure(request), maxAge)),
    );

  return {
    assertReady() {
      // The cookie must be signable before a code is used up.
      cookies.assertSigns();
    },
    save(request, reply, verification) {
      const value = cookies.write(verification);
      setCookie(request, reply, cookies.nameOf(verification.purpose), value, cookies.maxAgeSeconds);
    },
    load(request, purpose) {
      return cookies.read(readCookie(request.headers.cookie, cookies.nameOf(purpose)), purpose);
    },
    clear(request, reply, purpose) {
      const names =
        purpose === undefined
          ? Object.keys(parseCookies(request.headers.cookie)).filter(cookies.owns)
          : [cookies.nameOf(purpose)];
      for (const name of names) setCookie(request, reply, name, "", 0);
    },
  };
}

import { signedCookieState, type Verification, type VerifiedCookieOptions } from "@waotp/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import { FASTIFY_COOKIES } from "./client-cookie.js";

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
 * Remembers verifications in the core's signed cookie (`signedCookieState`), one per purpose:
 * HttpOnly, SameSite=Lax, Secure on HTTPS; the same bytes the Express adapter writes.
 */
export function verifiedState(options: VerifiedStateOptions = {}): VerifiedState {
  return signedCookieState(options, FASTIFY_COOKIES);
}

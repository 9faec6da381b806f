import { type ClientIds, type CookieAccess, clientIds } from "@waotp/core";
import type { FastifyReply, FastifyRequest } from "fastify";

/** Whether the request came over HTTPS, as Fastify sees it (honouring its `trustProxy`). */
export const isSecure = (request: FastifyRequest): boolean => request.protocol === "https";

/** Fastify's request cookies, and the reply they are set on. */
export const FASTIFY_COOKIES: CookieAccess<FastifyRequest, FastifyReply> = {
  secure: isSecure,
  cookieHeader: (request) => request.headers.cookie,
  appendSetCookie: (reply, value) => reply.header("set-cookie", value),
};

/** The core's client-id cookie (`clientIds`) over Fastify's request and reply. */
export function clientCookie(
  name: string | false,
  clientIp: (request: FastifyRequest) => string | undefined,
): ClientIds<FastifyRequest, FastifyReply> {
  return clientIds<FastifyRequest, FastifyReply>(name, { ...FASTIFY_COOKIES, ip: clientIp });
}

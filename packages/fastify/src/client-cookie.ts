import { type ClientIds, clientIds } from "@waotp/core";
import type { FastifyReply, FastifyRequest } from "fastify";

/** Whether the request came over HTTPS, as Fastify sees it (honouring its `trustProxy`). */
export const isSecure = (request: FastifyRequest): boolean => request.protocol === "https";

/** The core's client-id cookie (`clientIds`) over Fastify's request and reply. */
export function clientCookie(
  name: string | false,
  clientIp: (request: FastifyRequest) => string | undefined,
): ClientIds<FastifyRequest, FastifyReply> {
  return clientIds<FastifyRequest, FastifyReply>(name, {
    ip: clientIp,
    secure: isSecure,
    cookieHeader: (request) => request.headers.cookie,
    appendSetCookie: (reply, value) => reply.header("set-cookie", value),
  });
}

import { type ClientIds, clientIds } from "@waotp/core";
import type { Request, Response } from "express";

/** The core's client-id cookie (`clientIds`) over Express's request and response. */
export function clientCookie(
  name: string | false,
  clientIp: (req: Request) => string | undefined,
): ClientIds<Request, Response> {
  return clientIds<Request, Response>(name, {
    ip: clientIp,
    secure: (req) => req.secure,
    cookieHeader: (req) => req.headers.cookie,
    appendSetCookie: (res, value) => res.append("Set-Cookie", value),
  });
}

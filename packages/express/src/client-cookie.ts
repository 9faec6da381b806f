import { type ClientIds, type CookieAccess, clientIds } from "@waotp/core";
import type { Request, Response } from "express";

/** Express's request cookies, and the response they are set on. */
export const EXPRESS_COOKIES: CookieAccess<Request, Response> = {
  secure: (req) => req.secure,
  cookieHeader: (req) => req.headers.cookie,
  appendSetCookie: (res, value) => {
    res.append("Set-Cookie", value);
  },
};

/** The core's client-id cookie (`clientIds`) over Express's request and response. */
export function clientCookie(
  name: string | false,
  clientIp: (req: Request) => string | undefined,
): ClientIds<Request, Response> {
  return clientIds<Request, Response>(name, { ...EXPRESS_COOKIES, ip: clientIp });
}

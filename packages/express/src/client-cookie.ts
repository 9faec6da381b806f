import {
  clientCookie as cookieOf,
  isClientId,
  newClientId,
  readCookie,
  serializeCookie,
} from "@waotp/core";
import type { Request, Response } from "express";

/** Who is asking, as the core's `send`, `verify` and `status` take it. */
export interface Requester {
  ip: string | null;
  client?: string;
}

/** The browser's id for the core (`SendInput.client`), kept in an HttpOnly cookie. */
export interface ClientCookie {
  /** The address and the browser's id; with `res` (a send), a browser without one gets one. */
  requester(req: Request, res?: Response): Requester;
  /** A new id to give the browser at sign-in; undefined when the cookie is off. */
  fresh(): string | undefined;
  set(req: Request, res: Response, client: string): void;
}

/**
 * Once a browser signed in to a phone, its codes for that phone are bound to it and strangers cannot
 * hold them (see the core). `name: false` turns the cookie off: the core then sees only addresses.
 */
export function clientCookie(
  name: string | false,
  clientIp: (req: Request) => string | undefined,
): ClientCookie {
  const set = (req: Request, res: Response, client: string) => {
    const cookie = cookieOf(String(name), req.secure);
    res.append("Set-Cookie", serializeCookie(cookie.name, client, cookie.attributes));
  };
  return {
    requester(req, res) {
      const ip = clientIp(req) ?? null;
      if (name === false) return { ip };
      let client = readCookie(req.headers.cookie, cookieOf(String(name), req.secure).name);
      if (!isClientId(client)) client = undefined;
      if (client === undefined && res !== undefined) {
        client = newClientId();
        set(req, res, client);
      }
      return client === undefined ? { ip } : { ip, client };
    },
    fresh: () => (name === false ? undefined : newClientId()),
    set,
  };
}

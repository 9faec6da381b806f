/**
 * What an HTTP adapter keeps in the browser, decided once: the client-id cookie (see
 * `SendInput.client`), the signed cookie that remembers a verification, and when a remembered
 * verification lets a step-up route through. Express, the Web handler and Fastify only read and
 * write headers with these.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { assertPurpose, secretBytes } from "./config-rules.js";
import { OtpError } from "./errors.js";
import { CLIENT_ID_MAX_AGE_SECONDS, isClientId, newClientId } from "./public.js";

/** A verification the app remembers: who proved which phone, for what, and when. */
export interface Verification {
  phone: string;
  purpose: string;
  /** Epoch milliseconds. */
  verifiedAt: number;
}

/** The attributes every cookie an adapter sets carries. `maxAge` is in seconds. */
export interface CookieAttributes {
  httpOnly: true;
  sameSite: "lax";
  secure: boolean;
  path: "/";
  maxAge: number;
}

/** `name=value` pairs of a `Cookie` header; values as sent (still URI-encoded). */
export function parseCookies(header: string | null | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index < 1) continue;
    cookies[part.slice(0, index).trim()] = part.slice(index + 1).trim();
  }
  return cookies;
}

/** One cookie's decoded value from a `Cookie` header, or undefined. */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  const value = parseCookies(header)[name];
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * A `Set-Cookie` value, attributes in the order Express writes them; `maxAge` 0 deletes the cookie.
 * `Expires` goes with `Max-Age` for clients that only read the former.
 */
export function serializeCookie(
  name: string,
  value: string,
  attributes: CookieAttributes,
  now = Date.now(),
): string {
  const expires = new Date(attributes.maxAge === 0 ? 0 : now + attributes.maxAge * 1000);
  const parts = [
    `${name}=${encodeURIComponent(value)}`,
    `Max-Age=${attributes.maxAge}`,
    `Path=${attributes.path}`,
    `Expires=${expires.toUTCString()}`,
    "HttpOnly",
  ];
  if (attributes.secure) parts.push("Secure");
  parts.push("SameSite=Lax");
  return parts.join("; ");
}

/** The attributes of an adapter's cookies on a request that came over HTTPS (`secure`) or not. */
export function cookieAttributes(secure: boolean, maxAgeSeconds: number): CookieAttributes {
  return { httpOnly: true, sameSite: "lax", secure, path: "/", maxAge: maxAgeSeconds };
}

/** The client-id cookie's default name. */
export const CLIENT_COOKIE = "waotp_client";

/**
 * The client-id cookie as a browser sees it: on HTTPS it takes the `__Host-` prefix, so no sibling
 * subdomain can set or overwrite it, and it lives `CLIENT_ID_MAX_AGE_SECONDS`.
 */
export function clientCookie(name: string, secure: boolean) {
  return {
    name: secure ? `__Host-${name}` : name,
    attributes: cookieAttributes(secure, CLIENT_ID_MAX_AGE_SECONDS),
  };
}

/** Who is asking, as the core's `send`, `verify` and `status` take it. */
export interface Requester {
  ip: string | null;
  client?: string;
  /** Set when the browser had no id and this request gave it `client` (see `SendInput.clientIsNew`). */
  clientIsNew?: true;
}

/** How an adapter reads and writes cookies on its framework's request and response. */
export interface CookieAccess<Req, Res> {
  /** Whether the request came over HTTPS (cookies are then Secure, the client id `__Host-`). */
  secure(request: Req): boolean;
  cookieHeader(request: Req): string | null | undefined;
  appendSetCookie(response: Res, value: string): void;
}

/** How an adapter reaches into its framework's request and response. */
export interface RequestAccess<Req, Res> extends CookieAccess<Req, Res> {
  /** The client's address; undefined when unknown. */
  ip(request: Req): string | undefined;
}

/** The browser's id for the core (`SendInput.client`), kept in an HttpOnly cookie. */
export interface ClientIds<Req, Res> {
  /** The address and the browser's id; with `response` (a send), a browser without one gets one. */
  requester(request: Req, response?: Res): Requester;
  /** A new id to give the browser at sign-in; undefined when the cookie is off. */
  fresh(): string | undefined;
  set(request: Req, response: Res, client: string): void;
}

/**
 * The client-id cookie over any framework: once a browser signed in to a phone, its codes for that
 * phone are bound to it and strangers cannot hold them (see `SendInput.client`). `name: false` turns
 * the cookie off: the core then sees only addresses. Only a value of `newClientId`'s form is read.
 */
export function clientIds<Req, Res>(
  name: string | false,
  access: RequestAccess<Req, Res>,
): ClientIds<Req, Res> {
  const set = (request: Req, response: Res, client: string) => {
    const cookie = clientCookie(String(name), access.secure(request));
    access.appendSetCookie(response, serializeCookie(cookie.name, client, cookie.attributes));
  };
  return {
    requester(request, response) {
      const ip = access.ip(request) ?? null;
      if (name === false) return { ip };
      const cookieName = clientCookie(name, access.secure(request)).name;
      let client = readCookie(access.cookieHeader(request), cookieName);
      if (!isClientId(client)) client = undefined;
      if (client === undefined && response !== undefined) {
        client = newClientId();
        set(request, response, client);
        return { ip, client, clientIsNew: true };
      }
      return client === undefined ? { ip } : { ip, client };
    },
    fresh: () => (name === false ? undefined : newClientId()),
    set,
  };
}

/** Options of the signed verification cookie, the same in every adapter. */
export interface VerifiedCookieOptions {
  /** Key that signs the cookie, at least 32 bytes. */
  secret?: string | Uint8Array;
  /** Cookie name prefix; the purpose is appended. @default "waotp" */
  cookieName?: string;
  /** Longest a cookie lives, in seconds; guards set their own, shorter, limits. @default 86400 */
  maxAgeSeconds?: number;
}

/** Writing and reading verifications in signed cookies, one per purpose. */
export interface VerifiedCookies {
  /** Throws `CONFIG_INVALID` unless a secret was given: without one, no cookie can be written. */
  assertSigns(): void;
  /** The cookie's name for a purpose. */
  nameOf(purpose: string): string;
  /** Whether a cookie name is one of these (for clearing every purpose). */
  owns(name: string): boolean;
  /** The cookie value remembering `verification`; throws `CONFIG_INVALID` without a secret. */
  write(verification: Verification): string;
  /** The verification a cookie value remembers for `purpose`, if it is signed and well formed. */
  read(value: string | undefined, purpose: string): Verification | undefined;
  readonly maxAgeSeconds: number;
}

export function verifiedCookies(options: VerifiedCookieOptions = {}): VerifiedCookies {
  const key = options.secret === undefined ? undefined : secretBytes(options.secret);
  const prefix = options.cookieName ?? "waotp";
  const sign = (k: Buffer, payload: string) =>
    createHmac("sha256", k).update(`waotp-verified:v1\0${payload}`).digest("base64url");
  const keyOrThrow = (): Buffer => {
    if (key === undefined) {
      throw new OtpError(
        "CONFIG_INVALID",
        "Remembering a verification needs a session, or a `secret` for the signed cookie.",
      );
    }
    return key;
  };
  return {
    assertSigns: () => void keyOrThrow(),
    maxAgeSeconds: options.maxAgeSeconds ?? 86_400,
    nameOf: (purpose) => `${prefix}_${purpose}`,
    // Clearing every verification must not drop the browser's client id (`waotp_client`).
    owns: (name) => name.startsWith(`${prefix}_`) && name !== CLIENT_COOKIE,
    write(verification) {
      const signing = keyOrThrow();
      const payload = Buffer.from(JSON.stringify(verification)).toString("base64url");
      return `${payload}.${sign(signing, payload)}`;
    },
    read(value, purpose) {
      if (key === undefined || value === undefined) return undefined;
      const [payload, signature, extra] = value.split(".");
      if (payload === undefined || signature === undefined || extra !== undefined) return undefined;
      const expected = Buffer.from(sign(key, payload));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      try {
        const found = JSON.parse(
          Buffer.from(payload, "base64url").toString("utf8"),
        ) as Verification;
        return found.purpose === purpose &&
          typeof found.phone === "string" &&
          typeof found.verifiedAt === "number"
          ? found
          : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** A verified state kept in signed cookies, over any framework (see `verifiedCookies`). */
export interface SignedCookieState<Req, Res> {
  /** Throws `CONFIG_INVALID` without a secret, before a code is used up. */
  assertReady(request: Req): void;
  save(request: Req, response: Res, verification: Verification): void;
  load(request: Req, purpose: string): Verification | undefined;
  /** Forgets one purpose's verification, or every one (never the client-id cookie). */
  clear(request: Req, response: Res, purpose?: string): void;
}

/**
 * Remembers verifications in the core's signed cookies, one per purpose: HttpOnly, SameSite=Lax,
 * Secure on HTTPS, the same bytes from every adapter. Adapters give only their cookie access.
 */
export function signedCookieState<Req, Res>(
  options: VerifiedCookieOptions,
  access: CookieAccess<Req, Res>,
): SignedCookieState<Req, Res> {
  const cookies = verifiedCookies(options);
  const set = (request: Req, response: Res, name: string, value: string, maxAge: number) =>
    access.appendSetCookie(
      response,
      serializeCookie(name, value, cookieAttributes(access.secure(request), maxAge)),
    );
  return {
    assertReady: () => cookies.assertSigns(),
    save(request, response, verification) {
      const value = cookies.write(verification);
      set(request, response, cookies.nameOf(verification.purpose), value, cookies.maxAgeSeconds);
    },
    load(request, purpose) {
      return cookies.read(
        readCookie(access.cookieHeader(request), cookies.nameOf(purpose)),
        purpose,
      );
    },
    clear(request, response, purpose) {
      const names =
        purpose === undefined
          ? Object.keys(parseCookies(access.cookieHeader(request))).filter(cookies.owns)
          : [cookies.nameOf(purpose)];
      for (const name of names) set(request, response, name, "", 0);
    },
  };
}

/** What a step-up guard checks, the same in every adapter. */
export interface StepUpOptions {
  /** The purpose the verification must be for. @default "step-up" */
  purpose?: string;
  /** How recent the verification must be. @default 300 */
  maxAgeSeconds?: number;
  /** Lets a verification of any phone pass: only for routes tied to no user. @default false */
  anyPhone?: boolean;
  /** Whether the adapter was told whose phone counts (its `phone` option). */
  hasPhone: boolean;
}

// A verification stamped this far in the future is not trusted: clocks between instances drift less.
const CLOCK_SKEW_MS = 60_000;

/**
 * A checked step-up rule: `passes(verification, phone, now)` says whether a remembered verification
 * lets the request through (recent enough, not from the future, for the expected phone unless any
 * phone will do). Misconfiguration throws `CONFIG_INVALID` at start-up.
 */
export function stepUpRule(options: StepUpOptions) {
  const purpose = options.purpose ?? "step-up";
  assertPurpose(purpose);
  const maxAgeSeconds = options.maxAgeSeconds ?? 300;
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 1) {
    throw new OtpError(
      "CONFIG_INVALID",
      "`maxAgeSeconds` must be a whole number of seconds, at least 1.",
    );
  }
  if (!options.hasPhone && options.anyPhone !== true) {
    throw new OtpError(
      "CONFIG_INVALID",
      "A step-up guard needs `phone`: the signed-in user's phone, or `anyPhone: true` for routes tied to no user.",
    );
  }
  return {
    purpose,
    maxAgeSeconds,
    passes(
      verification: Verification | undefined,
      phone: string | undefined,
      now = Date.now(),
    ): verification is Verification {
      if (verification === undefined) return false;
      // Fail closed: a time that is not a finite number (a state that stored a string, or none)
      // makes every comparison false, which must not read as "recent enough".
      const age = now - verification.verifiedAt;
      if (!Number.isFinite(age) || !(age <= maxAgeSeconds * 1000 && age >= -CLOCK_SKEW_MS)) {
        return false;
      }
      if (options.anyPhone === true) return true;
      return phone !== undefined && phone === verification.phone;
    },
  };
}

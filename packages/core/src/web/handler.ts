import { CLIENT_COOKIE } from "../browser-state.js";
import { assertWebhookSecret, webhookSecretMatches } from "../config-rules.js";
import { DEFAULT_BODY_LIMIT, errorAnswer, thrownAnswer, WEBHOOK_BODY_LIMIT } from "../http.js";
import { otpRoutes } from "../http-routes.js";
import type { Otp } from "../otp.js";
import type { VerifyFailureDetail } from "../public.js";
import { answerResponse, jsonResponse } from "./answer.js";
import { BodyError, readJson, readWebhookBody } from "./body.js";
import { clientCookie, type VerifiedState, verifiedState } from "./state.js";

/** Options of `otpHandler`, named as the Express router's (`OtpRouterOptions`). */
export interface OtpHandlerOptions {
  /**
   * The path the four routes live under: `<basePath>/send`, `/verify`, `/webhook/:secret` and
   * `/status/:messageId`. Anything else is answered 404 `NOT_FOUND`. @default "/otp"
   */
  basePath?: string;
  /** Signs the verification cookie when `state` is not given. */
  secret?: string | Uint8Array;
  /**
   * The secret in the webhook URL (`POST <basePath>/webhook/:secret`) registered with 1MSG, which
   * does not sign its webhooks. Without it, the webhook route answers 404.
   */
  webhookSecret?: string;
  /** Where a successful verification is remembered. @default verifiedState({ secret }) */
  state?: VerifiedState;
  /**
   * Runs after a code verified, before anything is remembered or answered; the place to sign the
   * user in. Returning `false` refuses the user: nothing is remembered, and the answer is 403
   * `VERIFICATION_REFUSED`. Returning a `Response` sends it as is, and nothing is remembered.
   */
  onVerified?: (
    result: { phone: string; purpose: string },
    request: Request,
  ) => void | boolean | Response | Promise<void | boolean | Response>;
  /** What a failed verification tells the client (the core's `VerifyFailureDetail`). @default "generic" */
  verifyFailures?: VerifyFailureDetail;
  /** Largest JSON body for send and verify, in bytes. @default DEFAULT_BODY_LIMIT (2048) */
  bodyLimit?: number;
  /**
   * The client address for per-IP limits. A `Request` carries none, so there is no default: without
   * it every send and every wrong guess counts in the core's one budget for unknown addresses (see
   * `unknownIp`). Read it
   * where your platform puts it (the README has a table), and from `X-Forwarded-For` only behind a
   * proxy you trust.
   */
  clientIp?: (request: Request) => string | undefined;
  /**
   * The cookie that identifies the browser to the core (`client`): once it signed in to a phone,
   * its codes for that phone are bound to it and strangers cannot hold them. `false` turns it off.
   * @default "waotp_client"
   */
  clientCookie?: string | false;
  /** Sees every error that is answered with a 5xx, for logging. Never receives a code or token. */
  onError?: (error: unknown) => void;
}

/** A Web-standard request handler: Next.js route handlers, Hono, Bun, Deno, Cloudflare Workers. */
export type OtpHandler = (request: Request) => Promise<Response>;

/**
 * The HTTP side of waotp over the Web `Request`/`Response` API, with the Express router's contract:
 * `POST <basePath>/send`, `POST <basePath>/verify`, `POST <basePath>/webhook/:secret` and
 * `GET <basePath>/status/:messageId`, JSON in and out, the same errors, limits and cookies. Every
 * rule lives in the core.
 *
 * @example
 * const handler = otpHandler(otp, { secret: process.env.WAOTP_SECRET });
 * export { handler as GET, handler as POST }; // app/api/otp/[...path]/route.ts, basePath "/api/otp"
 */
export function otpHandler(otp: Otp, options: OtpHandlerOptions = {}): OtpHandler {
  const state =
    options.state ?? verifiedState(options.secret === undefined ? {} : { secret: options.secret });
  const browser = clientCookie(options.clientCookie ?? CLIENT_COOKIE, options.clientIp);
  const { webhookSecret } = options;
  assertWebhookSecret(webhookSecret);
  const routes = otpRoutes(otp, {
    ids: browser,
    state,
    verifyFailures: options.verifyFailures,
    acceptLanguage: (request) => request.headers.get("accept-language"),
    headers: (request) => Object.fromEntries(request.headers),
  });
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const base = basePathOf(options.basePath ?? "/otp");

  async function send(request: Request, out: Headers): Promise<Response> {
    const body = objectBody(await readJson(request, bodyLimit));
    const key = request.headers.get("idempotency-key");
    return answerResponse(await routes.send(request, out, body, key), out);
  }

  async function verify(request: Request, out: Headers): Promise<Response> {
    const body = objectBody(await readJson(request, bodyLimit));
    let own: Response | undefined;
    const answer = await routes.verify(request, out, body, async (verified) => {
      const allowed = await options.onVerified?.(verified, request);
      if (typeof allowed !== "object" || allowed === null) return allowed ?? undefined;
      own = allowed;
      return "answered";
    });
    return answer === null ? (own as Response) : answerResponse(answer, out);
  }

  async function webhook(request: Request, out: Headers, secret: string): Promise<Response> {
    if (!webhookSecretMatches(secret, webhookSecret)) {
      return answerResponse(errorAnswer("UNAUTHORIZED"), out);
    }
    const body = await readWebhookBody(request, WEBHOOK_BODY_LIMIT);
    const seen = { url: request.url, headers: Object.fromEntries(request.headers) };
    return jsonResponse(200, await otp.handleWebhook(body, seen), out);
  }

  async function status(request: Request, out: Headers, messageId: string): Promise<Response> {
    const answer = await routes.status(request, messageId);
    return answerResponse(answer, out, request.method === "HEAD");
  }

  return async (request) => {
    const out = new Headers();
    try {
      const route = routeOf(request, base);
      if (route.name === "send") return await send(request, out);
      if (route.name === "verify") return await verify(request, out);
      if (route.name === "webhook" && webhookSecret !== undefined) {
        return await webhook(request, out, route.param);
      }
      if (route.name === "status") return await status(request, out, route.param);
      return answerResponse(errorAnswer("NOT_FOUND"), out, request.method === "HEAD");
    } catch (error) {
      const answer = error instanceof BodyError ? errorAnswer(error.code) : thrownAnswer(error);
      if (answer.status >= 500) {
        try {
          options.onError?.(error);
        } catch {
          // A failing logger must not turn the answer into an unhandled rejection.
        }
      }
      return answerResponse(answer, out, request.method === "HEAD");
    }
  };
}

/** `"/otp/"`, `"otp"` and `"/otp"` alike, as `"/otp"`; `"/"` as `""`. */
function basePathOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" || trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

type Route =
  | { name: "send" | "verify" | "none"; param: "" }
  | { name: "webhook" | "status"; param: string };

const NONE: Route = { name: "none", param: "" };

/**
 * The route a request asks for, matched as Express matches its router's: case-insensitive, a
 * trailing slash allowed, the one parameter URL-decoded (a malformed one is a 400).
 */
function routeOf(request: Request, base: string): Route {
  const path = new URL(request.url).pathname;
  if (path.slice(0, base.length).toLowerCase() !== base.toLowerCase()) return NONE;
  let rest = path.slice(base.length);
  if (rest.length > 1 && rest.endsWith("/")) rest = rest.slice(0, -1);
  const [empty, first, second, extra] = rest.split("/");
  if (empty !== "" || first === undefined || extra !== undefined) return NONE;
  const name = first.toLowerCase();
  const { method } = request;
  if (second === undefined) {
    return method === "POST" && (name === "send" || name === "verify") ? { name, param: "" } : NONE;
  }
  if (second === "") return NONE;
  if (name === "webhook" && method === "POST") return { name, param: decodeParam(second) };
  if (name === "status" && (method === "GET" || method === "HEAD")) {
    return { name, param: decodeParam(second) };
  }
  return NONE;
}

function decodeParam(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // Express answers a parameter it cannot decode with a 400.
    throw Object.assign(new Error(`Failed to decode param '${value}'`), { status: 400 });
  }
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BodyError("INVALID_BODY");
  }
  return body as Record<string, unknown>;
}

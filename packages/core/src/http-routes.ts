/**
 * What the send, verify and status routes do, written once for every HTTP adapter (Express, the
 * Web handler, Fastify): which core call a parsed body becomes, which browser ids go with it, when
 * a verification is remembered, and what is answered. An adapter reads the body its own way, gives
 * access to its request and response (`ClientIds`, a verified state), and writes the answer out.
 */
import type { ClientIds, Verification } from "./browser-state.js";
import {
  deliveryStatusAnswer,
  errorAnswer,
  type HttpAnswer,
  type HttpOk,
  okAnswer,
  type PublicDeliveryStatus,
  verifyFailureAnswer,
} from "./http.js";
import { requestLocale } from "./locale.js";
import type { Otp, SendResult } from "./otp.js";
import type { VerifyFailureDetail } from "./public.js";

/** The part of an adapter's verified state the routes use. */
export interface RouteState<Req, Res> {
  /** Throws `CONFIG_INVALID` when a verification could not be saved for this request. */
  assertReady?(request: Req): void;
  save(request: Req, response: Res, verification: Verification): void | Promise<void>;
}

/**
 * What the app's `onVerified` decided, as the adapter reads it: `false` refuses the user,
 * `"answered"` means the app answered the request itself, anything else goes on.
 */
export type Verdict = boolean | undefined | "answered";

/**
 * The `context` the send route gives `otp.send`, for the app's `beforeSend`: the request's own
 * fields, so a CAPTCHA token the page sent (`captchaToken`, `cf-turnstile-response`) and the
 * headers a check reads are there. Every adapter passes the same shape, better-auth's included.
 */
export interface HttpSendContext {
  /** The parsed JSON body, with every field the client sent. */
  body: Readonly<Record<string, unknown>>;
  /** The request's headers, names in lower case, repeated ones joined by `, `. */
  headers: Readonly<Record<string, string | undefined>>;
}

export interface OtpRoutes<Req, Res> {
  send(
    request: Req,
    response: Res,
    body: Record<string, unknown>,
    idempotencyKey: string | null | undefined,
  ): Promise<HttpOk<SendResult>>;
  /** Null when `onVerified` answered the request: nothing is remembered, nothing more is sent. */
  verify(
    request: Req,
    response: Res,
    body: Record<string, unknown>,
    onVerified?: (verified: { phone: string; purpose: string }) => Verdict | Promise<Verdict>,
  ): Promise<HttpAnswer | HttpOk<{ verified: true; phone: string }> | null>;
  status(request: Req, messageId: string): Promise<HttpAnswer | HttpOk<PublicDeliveryStatus>>;
}

export function otpRoutes<Req, Res>(
  otp: Otp,
  options: {
    ids: ClientIds<Req, Res>;
    state: RouteState<Req, Res>;
    verifyFailures?: VerifyFailureDetail | undefined;
    /** The request's `Accept-Language` header: the user's language when the body names none. */
    acceptLanguage?: (request: Req) => string | null | undefined;
    /** The request's headers, names in lower case: `HttpSendContext.headers` for `beforeSend`. */
    headers?: (request: Req) => Readonly<Record<string, string | undefined>>;
  },
): OtpRoutes<Req, Res> {
  const { ids, state } = options;
  const verifyFailures = options.verifyFailures ?? "generic";
  return {
    async send(request, response, body, idempotencyKey) {
      const result = await otp.send({
        phone: body.phone as string,
        ...(body.purpose === undefined ? {} : { purpose: body.purpose as string }),
        ...requestLocale(body.locale as string | undefined, options.acceptLanguage?.(request)),
        ...(body.channel === undefined ? {} : { channel: body.channel as string }),
        ...ids.requester(request, response),
        ...(typeof idempotencyKey === "string" ? { idempotencyKey } : {}),
        context: sendContext(body, () => options.headers?.(request) ?? {}),
      });
      return okAnswer(result);
    },

    async verify(request, response, body, onVerified) {
      const purpose = body.purpose as string | undefined;
      // Before the code is used up: a verification that cannot be remembered must not consume it.
      state.assertReady?.(request);
      const nextClient = ids.fresh();
      const result = await otp.verify({
        phone: body.phone as string,
        code: body.code as string,
        ...(purpose === undefined ? {} : { purpose }),
        ...ids.requester(request),
        // A sign-in gives the browser a new id: one planted before it never becomes known.
        ...(nextClient === undefined ? {} : { nextClient }),
      });
      if (!result.ok) return verifyFailureAnswer(result, verifyFailures);
      const verified = { phone: result.phone, purpose: result.purpose };
      const verdict = await onVerified?.(verified);
      if (verdict === "answered") return null;
      if (verdict === false) return errorAnswer("VERIFICATION_REFUSED");
      await state.save(request, response, { ...verified, verifiedAt: Date.now() });
      if (nextClient !== undefined) ids.set(request, response, nextClient);
      return okAnswer({ verified: true as const, phone: result.phone });
    },

    async status(request, messageId) {
      // Only the browser that asked for the message learns about it, and only whether it arrived:
      // whether it was read, or why it failed, is for the server.
      const { client } = ids.requester(request);
      return deliveryStatusAnswer(await otp.status(messageId, client ? { client } : {}));
    },
  };
}

/**
 * The `HttpSendContext` a send passes `beforeSend`, every adapter's (better-auth's too): the body,
 * and headers copied out of the request only if the hook reads them.
 */
export function sendContext(
  body: Record<string, unknown>,
  readHeaders: () => Readonly<Record<string, string | undefined>>,
): HttpSendContext {
  let headers: Readonly<Record<string, string | undefined>> | undefined;
  return {
    body,
    get headers() {
      headers ??= readHeaders();
      return headers;
    },
  };
}

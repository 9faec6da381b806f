import {
  assertWebhookSecret,
  CLIENT_COOKIE,
  DEFAULT_BODY_LIMIT,
  errorAnswer,
  flatHeaders,
  formFields,
  type Otp,
  otpRoutes,
  type VerifyFailureDetail,
  WEBHOOK_BODY_LIMIT,
  webhookBodyType,
  webhookSecretMatches,
} from "@waotp/core";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { clientCookie } from "./client-cookie.js";
import { type ErrorHandlerOptions, otpErrorHandler, sendAnswer } from "./errors.js";
import { type VerifiedState, verifiedState } from "./verified-state.js";

export interface OtpRouterOptions extends ErrorHandlerOptions {
  /**
   * The secret in the webhook URL (`POST /webhook/:secret`) registered with 1MSG, which does not
   * sign its webhooks. Without it, the webhook route is not mounted.
   */
  webhookSecret?: string;
  /** Where a successful verification is remembered. @default verifiedState({ secret }) */
  state?: VerifiedState;
  /** Signs the verification cookie when `state` is not given and there is no session. */
  secret?: string | Uint8Array;
  /**
   * Runs after a code verified, before anything is remembered or answered; the place to sign the
   * user in. Returning `false` refuses the user: nothing is remembered, and the answer is 403
   * `VERIFICATION_REFUSED`. If it answers the request itself, the router remembers nothing and
   * does not answer.
   */
  onVerified?: (
    result: { phone: string; purpose: string },
    req: Request,
    res: Response,
  ) => void | boolean | Promise<void | boolean>;
  /** What a failed verification tells the client (the core's `VerifyFailureDetail`). @default "generic" */
  verifyFailures?: VerifyFailureDetail;
  /** Largest JSON body for send and verify, in bytes. @default DEFAULT_BODY_LIMIT (2048) */
  bodyLimit?: number;
  /**
   * The client address for per-IP limits. @default req.ip (honours Express's "trust proxy").
   * Undefined means unknown: such sends share one bucket (see the core's `unknownIp`).
   */
  clientIp?: (req: Request) => string | undefined;
  /**
   * The cookie that identifies the browser to the core (`client`): once it signed in to a phone,
   * its codes for that phone are bound to it and strangers cannot hold them. `false` turns it off.
   * @default "waotp_client"
   */
  clientCookie?: string | false;
}

/**
 * The HTTP side of waotp: `POST /send`, `POST /verify`, `POST /webhook/:secret` and
 * `GET /status/:messageId`, JSON in and out. It translates requests to the core and answers back;
 * every limit and rule lives in the core.
 *
 * @example
 * app.use("/otp", otpRouter(otp, { secret: process.env.WAOTP_SECRET, webhookSecret: process.env.WAOTP_WEBHOOK_SECRET }));
 */
export function otpRouter(otp: Otp, options: OtpRouterOptions = {}): Router {
  const state =
    options.state ?? verifiedState(options.secret === undefined ? {} : { secret: options.secret });
  const browser = clientCookie(
    options.clientCookie ?? CLIENT_COOKIE,
    options.clientIp ?? ((req: Request) => req.ip),
  );
  const { webhookSecret } = options;
  assertWebhookSecret(webhookSecret);

  const routes = otpRoutes(otp, {
    ids: browser,
    state,
    verifyFailures: options.verifyFailures,
    acceptLanguage: (req) => req.get("accept-language"),
    headers: (req) => flatHeaders(req.headers),
  });
  const router = express.Router();
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const small = [
    onlyJson(bodyLimit),
    express.json({ limit: bodyLimit, type: "application/json", inflate: false }),
  ];

  router.post(
    "/send",
    ...small,
    handle(async (req, res) => {
      sendAnswer(res, await routes.send(req, res, objectBody(req), req.get("idempotency-key")));
    }),
  );

  router.post(
    "/verify",
    ...small,
    handle(async (req, res) => {
      const answer = await routes.verify(req, res, objectBody(req), async (verified) => {
        const allowed = await options.onVerified?.(verified, req, res);
        return res.headersSent ? "answered" : (allowed ?? undefined);
      });
      if (answer !== null) sendAnswer(res, answer);
    }),
  );

  if (webhookSecret !== undefined) {
    router.post(
      "/webhook/:secret",
      (req, res, next) => {
        if (webhookSecretMatches(req.params.secret, webhookSecret)) return next();
        sendAnswer(res, errorAnswer("UNAUTHORIZED"));
      },
      (req, res, next) => {
        // JSON (1MSG, Vonage) or a form (Twilio's callbacks, Vonage's POST receipts).
        if (webhookBodyType(req.get("content-type")) === null) {
          sendAnswer(res, errorAnswer("UNSUPPORTED_MEDIA_TYPE"));
        } else if (Number(req.get("content-length") ?? 0) > WEBHOOK_BODY_LIMIT) {
          sendAnswer(res, errorAnswer("PAYLOAD_TOO_LARGE"));
        } else next();
      },
      express.json({ limit: WEBHOOK_BODY_LIMIT, type: "application/json", inflate: false }),
      express.text({
        limit: WEBHOOK_BODY_LIMIT,
        type: "application/x-www-form-urlencoded",
        inflate: false,
      }),
      handle(async (req, res) => {
        // The URL as this server saw it; a channel that knows the URL it gave the provider
        // (Twilio's `statusCallback`) checks the signature against that one instead.
        const url = `${req.protocol}://${req.get("host") ?? "localhost"}${req.originalUrl}`;
        const body = typeof req.body === "string" ? formFields(req.body) : req.body;
        res.json(await otp.handleWebhook(body, { url, headers: flatHeaders(req.headers) }));
      }),
    );
  }

  router.get(
    "/status/:messageId",
    handle(async (req, res) => {
      sendAnswer(res, await routes.status(req, String(req.params.messageId)));
    }),
  );

  router.use(otpErrorHandler(options));
  return router;
}

/**
 * Refuses bodies that are not JSON, and bodies over the limit by their declared length, which also
 * holds when an app-wide body parser already read them.
 */
function onlyJson(limit: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.is("application/json")) sendAnswer(res, errorAnswer("UNSUPPORTED_MEDIA_TYPE"));
    else if (Number(req.get("content-length") ?? 0) > limit) {
      sendAnswer(res, errorAnswer("PAYLOAD_TOO_LARGE"));
    } else next();
  };
}

function objectBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw Object.assign(new Error("The body must be a JSON object."), { type: "body.not.object" });
  }
  return body as Record<string, unknown>;
}

/** Runs an async handler under Express 4 and 5 alike, passing rejections to the error handler. */
export function handle(fn: (req: Request, res: Response) => Promise<unknown>) {
  return (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
}

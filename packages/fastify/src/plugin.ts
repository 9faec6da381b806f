import {
  acceptsBodyEncoding,
  assertWebhookSecret,
  CLIENT_COOKIE,
  DEFAULT_BODY_LIMIT,
  errorAnswer,
  flatHeaders,
  formFields,
  type Otp,
  OtpError,
  otpRoutes,
  type VerifyFailureDetail,
  WEBHOOK_BODY_LIMIT,
  webhookBodyType,
  webhookSecretMatches,
} from "@waotp/core";
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  FastifySchemaCompiler,
} from "fastify";
import { clientCookie } from "./client-cookie.js";
import { bodyError, type ErrorHandlerOptions, otpErrorHandler, sendAnswer } from "./errors.js";
import { type VerifiedState, verifiedState } from "./verified-state.js";

/** The plugin's options: the Express router's `OtpRouterOptions`, by the same names, plus `otp`. */
export interface OtpPluginOptions extends ErrorHandlerOptions {
  /** The engine (`createOtp(...)`) the routes translate to. */
  otp: Otp;
  /**
   * The secret in the webhook URL (`POST /webhook/:secret`) registered with 1MSG, which does not
   * sign its webhooks. Without it, the webhook route is not registered.
   */
  webhookSecret?: string;
  /** Where a successful verification is remembered. @default verifiedState({ secret }) */
  state?: VerifiedState;
  /** Signs the verification cookie when `state` is not given. */
  secret?: string | Uint8Array;
  /**
   * Runs after a code verified, before anything is remembered or answered; the place to sign the
   * user in. Returning `false` refuses the user: nothing is remembered, and the answer is 403
   * `VERIFICATION_REFUSED`. If it answers the request itself (`return reply.code(201).send(...)`),
   * the plugin remembers nothing and does not answer.
   */
  onVerified?: (
    result: { phone: string; purpose: string },
    request: FastifyRequest,
    reply: FastifyReply,
  ) => unknown;
  /** What a failed verification tells the client (the core's `VerifyFailureDetail`). @default "generic" */
  verifyFailures?: VerifyFailureDetail;
  /** Largest JSON body for send and verify, in bytes (Fastify's route `bodyLimit`). @default DEFAULT_BODY_LIMIT (2048) */
  bodyLimit?: number;
  /**
   * The client address for per-IP limits. @default request.ip (honours Fastify's `trustProxy`).
   * Undefined means unknown: such sends share one bucket (see the core's `unknownIp`).
   */
  clientIp?: (request: FastifyRequest) => string | undefined;
  /**
   * The cookie that identifies the browser to the core (`client`): once it signed in to a phone,
   * its codes for that phone are bound to it and strangers cannot hold them. `false` turns it off.
   * @default "waotp_client"
   */
  clientCookie?: string | false;
}

type JsonBody = Record<string, unknown>;

/** The body schema of every POST: a JSON object; its fields are checked by the core. */
const OBJECT_BODY = { type: "object" } as const;

/**
 * The HTTP side of waotp for Fastify: `POST /send`, `POST /verify`, `POST /webhook/:secret` and
 * `GET /status/:messageId`, JSON in and out, under the prefix it is registered with. It translates
 * requests to the core and answers back; every limit and rule lives in the core. Its body parser,
 * validator and error handler are its own (encapsulated): the app's stay as they are.
 *
 * @example
 * await app.register(waotp, { otp, prefix: "/otp", secret: process.env.WAOTP_SECRET, webhookSecret: process.env.WAOTP_WEBHOOK_SECRET });
 */
export const waotp: FastifyPluginAsync<OtpPluginOptions> = async (
  fastify: FastifyInstance,
  options: OtpPluginOptions,
) => {
  const { otp, webhookSecret } = options;
  if (typeof otp?.send !== "function") {
    throw new OtpError(
      "CONFIG_INVALID",
      "The waotp plugin needs `otp`: the engine from createOtp().",
    );
  }
  assertWebhookSecret(webhookSecret);
  const state =
    options.state ?? verifiedState(options.secret === undefined ? {} : { secret: options.secret });
  const browser = clientCookie(
    options.clientCookie ?? CLIENT_COOKIE,
    options.clientIp ?? ((request: FastifyRequest) => request.ip),
  );
  const routes = otpRoutes(otp, {
    ids: browser,
    state,
    verifyFailures: options.verifyFailures,
    acceptLanguage: (request) => request.headers["accept-language"],
    headers: (request) => flatHeaders(request.headers),
  });
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;

  // In this plugin's scope only: JSON is the one body it reads, as body-parser's strict JSON
  // (an object or an array, `{}` when empty), and a body is checked to be an object without
  // depending on the app's validator compiler (a Zod or TypeBox one would not read this schema).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser("application/json", { parseAs: "string" }, strictJson);
  // Forms reach only the webhook route (its onRequest refuses them everywhere else).
  fastify.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => done(null, formFields(body as string)),
  );
  fastify.setValidatorCompiler(objectValidator);
  fastify.setErrorHandler(otpErrorHandler(options));

  const small = { bodyLimit, onRequest: onlyJson(bodyLimit), schema: { body: OBJECT_BODY } };

  fastify.post<{ Body: JsonBody }>("/send", small, async (request, reply) => {
    const key = request.headers["idempotency-key"];
    return sendAnswer(reply, await routes.send(request, reply, request.body, key as string));
  });

  fastify.post<{ Body: JsonBody }>("/verify", small, async (request, reply) => {
    const answer = await routes.verify(request, reply, request.body, async (verified) => {
      const allowed = await options.onVerified?.(verified, request, reply);
      return allowed === reply || reply.sent ? "answered" : (allowed as boolean | undefined);
    });
    return answer === null ? reply : sendAnswer(reply, answer);
  });

  if (webhookSecret !== undefined) {
    const json = onlyJson(WEBHOOK_BODY_LIMIT);
    fastify.post<{ Params: { secret: string } }>(
      "/webhook/:secret",
      {
        bodyLimit: WEBHOOK_BODY_LIMIT,
        // The secret first: a wrong one learns nothing about what the route accepts.
        onRequest: async (request: FastifyRequest<{ Params: { secret: string } }>, reply) => {
          if (!webhookSecretMatches(request.params.secret, webhookSecret)) {
            return refuse(reply, "UNAUTHORIZED");
          }
          // A form (Twilio's callbacks, Vonage's POST receipts) or JSON, as for send and verify.
          if (webhookBodyType(request.headers["content-type"]) === "form") {
            return isFormRequest(request) ? undefined : refuse(reply, "UNSUPPORTED_MEDIA_TYPE");
          }
          return json(request, reply);
        },
      },
      async (request, reply) => {
        // The URL as this server saw it; a channel that knows the URL it gave the provider
        // (Twilio's `statusCallback`) checks the signature against that one instead.
        const url = `${request.protocol}://${request.headers.host ?? request.hostname}${request.url}`;
        const headers = flatHeaders(request.headers);
        return reply.send(await otp.handleWebhook(request.body, { url, headers }));
      },
    );
  }

  // A wildcard, not `:messageId`: Fastify's parameters stop at 100 characters, and an id is judged
  // by the core (unknown: 404; longer than any id: 400), as in every other adapter.
  fastify.get<{ Params: { "*": string } }>("/status/*", async (request, reply) =>
    sendAnswer(reply, await routes.status(request, request.params["*"])),
  );
};

/**
 * Refuses bodies that are not JSON in UTF-8 (or come compressed), and bodies over the limit by
 * their declared length, before any byte is read.
 */
function onlyJson(limit: number) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isJsonRequest(request)) return refuse(reply, "UNSUPPORTED_MEDIA_TYPE");
    if (Number(request.headers["content-length"] ?? 0) > limit) {
      return refuse(reply, "PAYLOAD_TOO_LARGE");
    }
    return undefined;
  };
}

/**
 * Answers before the body is read, and closes the connection (as Fastify does on a body error):
 * the rest of a refused body is not waited for.
 */
function refuse(
  reply: FastifyReply,
  code: "UNAUTHORIZED" | "UNSUPPORTED_MEDIA_TYPE" | "PAYLOAD_TOO_LARGE",
) {
  reply.header("connection", "close");
  return sendAnswer(reply, errorAnswer(code));
}

/** Whether a form body is present and not compressed. */
function isFormRequest(request: FastifyRequest): boolean {
  const { headers } = request;
  const hasBody =
    headers["transfer-encoding"] !== undefined || headers["content-length"] !== undefined;
  return hasBody && acceptsBodyEncoding(headers["content-encoding"]);
}

/** Whether a request has a body, declared as `application/json` in UTF-8 and not compressed. */
function isJsonRequest(request: FastifyRequest): boolean {
  const { headers } = request;
  const hasBody =
    headers["transfer-encoding"] !== undefined ||
    (headers["content-length"] !== undefined && !Number.isNaN(Number(headers["content-length"])));
  const type = headers["content-type"];
  if (!hasBody || typeof type !== "string") return false;
  const [mediaType = "", ...parameters] = type.split(";");
  if (mediaType.trim().toLowerCase() !== "application/json") return false;
  for (const parameter of parameters) {
    const at = parameter.indexOf("=");
    if (parameter.slice(0, at).trim().toLowerCase() !== "charset") continue;
    const charset = parameter
      .slice(at + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1")
      .toLowerCase();
    if (charset !== "utf-8") return false;
  }
  return acceptsBodyEncoding(headers["content-encoding"]);
}

// body-parser's strict mode: the first character that is not JSON whitespace opens an object or array.
const FIRST_CHARACTER = /^[ \t\n\r]*([^ \t\n\r])/;

/** Reads JSON as Express's `express.json()` does: `{}` when empty, only objects and arrays. */
async function strictJson(_request: FastifyRequest, text: string | Buffer): Promise<unknown> {
  const source = typeof text === "string" ? text : text.toString("utf8");
  if (source.length === 0) return {};
  const first = FIRST_CHARACTER.exec(source)?.[1];
  if (first !== "{" && first !== "[") {
    throw bodyError("INVALID_JSON", "The body is not a JSON object or array.");
  }
  try {
    return JSON.parse(source);
  } catch {
    throw bodyError("INVALID_JSON", "The body is not valid JSON.");
  }
}

/** The validator of this plugin's body schema (`{ type: "object" }`): a JSON object. */
const objectValidator: FastifySchemaCompiler<unknown> = () => (data: unknown) =>
  typeof data === "object" && data !== null && !Array.isArray(data)
    ? { value: data }
    : { error: bodyError("INVALID_BODY", "The body must be a JSON object.") };

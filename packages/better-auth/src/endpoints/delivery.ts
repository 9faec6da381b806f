import { deliveryStatusAnswer, errorAnswer, webhookSecretMatches } from "@waotp/core";
import { createAuthEndpoint } from "better-auth/api";
import * as z from "zod";
import { apiError, core } from "../api-error.js";
import type { Engine } from "../engine.js";
import { browserOf } from "../requester.js";

/**
 * `POST /whatsapp-otp/webhook/:secret`: applies delivery updates (server to server): 1MSG's JSON,
 * and a fallback's callbacks (Twilio's forms, checked against their signature with the URL and
 * headers; Vonage's receipts).
 */
export function webhookEndpoint(engine: Engine) {
  const { webhookSecret } = engine.options;
  return createAuthEndpoint(
    "/whatsapp-otp/webhook/:secret",
    {
      method: "POST",
      metadata: {
        scope: "server",
        allowedMediaTypes: ["application/json", "application/x-www-form-urlencoded"],
      },
    },
    async (ctx) => {
      if (!webhookSecretMatches(ctx.params?.secret, webhookSecret)) {
        throw apiError(errorAnswer("UNAUTHORIZED"));
      }
      const headers = ctx.request?.headers ?? ctx.headers;
      const seen =
        ctx.request === undefined || headers === undefined
          ? undefined
          : { url: ctx.request.url, headers: Object.fromEntries(headers) };
      return ctx.json(await core(() => engine.otp().handleWebhook(ctx.body, seen)));
    },
  );
}

/**
 * `GET /whatsapp-otp/status?messageId=`: only the browser that asked for the message learns about
 * it, and only whether it arrived.
 */
export function statusEndpoint(engine: Engine) {
  return createAuthEndpoint(
    "/whatsapp-otp/status",
    { method: "GET", query: z.object({ messageId: z.string().min(1).max(256) }) },
    async (ctx) => {
      const client = await browserOf(ctx);
      const found = await core(() =>
        engine.otp().status(ctx.query.messageId, client === undefined ? {} : { client }),
      );
      const answer = deliveryStatusAnswer(found);
      if (!answer.ok) throw apiError(answer);
      return ctx.json(answer.body);
    },
  );
}

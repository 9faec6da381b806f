import { requestLocale } from "@waotp/core";
import { createAuthEndpoint } from "better-auth/api";
import * as z from "zod";
import { core } from "../api-error.js";
import type { Engine } from "../engine.js";
import { PURPOSES } from "../options.js";
import { clientAddress, sendContext, sendingBrowser } from "../requester.js";

const sendFields = {
  phoneNumber: z.string().max(64),
  purpose: z.enum([PURPOSES.signIn, PURPOSES.verifyPhone, PURPOSES.changePhone]).optional(),
  /** The user's language (`pt-BR`): the template and SMS text that fit it best. */
  locale: z.string().max(64).optional(),
  /** The fallback channel by name or kind (`"sms"`), for "send by SMS instead", when configured. */
  channel: z.string().max(64).optional(),
};

// Checked as these fields, but loose at run time: fields of the app's own (a CAPTCHA token) stay
// in the body for the core's `beforeSend`. The typed client keeps the declared fields only.
const sendBody = z.looseObject(sendFields) as unknown as z.ZodObject<typeof sendFields>;

/** `POST /whatsapp-otp/send`: sends a code, with the same answer whether or not the number has an account. */
export function sendEndpoint(engine: Engine) {
  let warnedUnknownClient = false;
  return createAuthEndpoint(
    "/whatsapp-otp/send",
    { method: "POST", body: sendBody },
    async (ctx) => {
      // Null when better-auth cannot tell the client (no trusted address header in production):
      // the core then refuses, or shares one bucket, as configured.
      const ip = clientAddress(ctx);
      if (ip === null && !warnedUnknownClient) {
        warnedUnknownClient = true;
        ctx.context.logger.warn(
          "whatsapp-otp: better-auth could not read a client's address, so per-IP send limits cannot tell clients apart (limits.sendsPerIp.unknownIp decides: refused by default). Set advanced.ipAddress (ipAddressHeaders, trustedProxies) for your proxy; see the @waotp/better-auth README.",
        );
      }
      const browser = await sendingBrowser(ctx);
      const headers = ctx.request?.headers ?? ctx.headers;
      const startedAt = performance.now();
      const sent = await core(() =>
        engine.otp().send({
          phone: ctx.body.phoneNumber,
          purpose: ctx.body.purpose ?? PURPOSES.signIn,
          ...requestLocale(ctx.body.locale, headers?.get("accept-language")),
          ...(ctx.body.channel === undefined ? {} : { channel: ctx.body.channel }),
          ip,
          ...browser,
          context: sendContext(ctx),
        }),
      );
      // How long a real send takes, for the password reset answers that send nothing.
      engine.timing.record(sent.channel, performance.now() - startedAt);
      return ctx.json({
        phoneNumber: sent.phone,
        messageId: sent.messageId,
        channel: sent.channel,
        ...(sent.fallback === undefined ? {} : { fallback: sent.fallback }),
        expiresAt: sent.expiresAt.toISOString(),
        resendAt: sent.resendAt.toISOString(),
      });
    },
  );
}

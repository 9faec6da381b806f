import { runWithTransaction } from "@better-auth/core/context";
import { BASE_ERROR_CODES } from "@better-auth/core/error";
import {
  isOtpError,
  type Otp,
  parsePhone,
  requestLocale,
  type SendInput,
  verifyFailureAnswer,
} from "@waotp/core";
import type { User } from "better-auth";
import { APIError, createAuthEndpoint } from "better-auth/api";
import * as z from "zod";
import { apiError, core } from "../api-error.js";
import { type Engine, verifyCode } from "../engine.js";
import { PURPOSES } from "../options.js";
import { clientAddress, sendContext, sendingBrowser } from "../requester.js";
import { findUserByPhone } from "./users.js";

const requestFields = {
  phoneNumber: z.string().max(64),
  /** The user's language (`pt-BR`), as for `send`. */
  locale: z.string().max(64).optional(),
  /** The fallback channel by name or kind (`"sms"`), when configured, as for `send`. */
  channel: z.string().max(64).optional(),
};

// Loose at run time, as `send`'s: a CAPTCHA token of the app's stays in the body for `beforeSend`.
const requestBody = z.looseObject(requestFields) as unknown as z.ZodObject<typeof requestFields>;

const resetBody = z.object({
  phoneNumber: z.string().max(64),
  code: z.string().max(64),
  /** Checked against better-auth's `minPasswordLength` and `maxPasswordLength`. */
  newPassword: z.string(),
});

/**
 * `POST /whatsapp-otp/request-password-reset`: sends a `reset-password` code to a number with an
 * account. The answer is the same, and takes about as long, whether or not the number has one:
 * a number without an account gets no message, but its send stores a code nobody sees and counts
 * in the same limits (`deliver: false`), so neither the answer, nor its time, nor a later
 * `RATE_LIMITED`, nor a guess at the code tells them apart.
 * For the same reason a failed delivery is not an error here (it is logged, and the core emits
 * `send_failed`): only a number with an account could fail.
 */
export function requestPasswordResetEndpoint(engine: Engine) {
  const { options } = engine;
  return createAuthEndpoint(
    "/whatsapp-otp/request-password-reset",
    { method: "POST", body: requestBody },
    async (ctx) => {
      const { phoneNumber: typed, locale, channel } = ctx.body;
      const ip = clientAddress(ctx);
      const browser = await sendingBrowser(ctx);
      const phone = await core(() => parsePhone(typed, options.defaultCountry));
      const user = await findUserByPhone(ctx, phone.e164);
      const input: SendInput = {
        phone: phone.e164,
        purpose: PURPOSES.resetPassword,
        ...requestLocale(locale, (ctx.request?.headers ?? ctx.headers)?.get("accept-language")),
        ...(channel === undefined ? {} : { channel }),
        ip,
        ...browser,
        context: sendContext(ctx),
      };
      const startedAt = performance.now();
      if (user === null) {
        const sent = await core(() => engine.otp().send({ ...input, deliver: false }));
        await engine.timing.pad(sent.channel, startedAt);
      } else {
        const sent = await core(() => sendUnlessDeliveryFails(engine.otp(), input));
        if (sent === null) {
          ctx.context.logger.warn("whatsapp-otp: a password reset code could not be delivered");
        } else {
          engine.timing.record(sent.channel, performance.now() - startedAt);
        }
      }
      return ctx.json({ status: true });
    },
  );
}

/** Sends, answering null for a delivery that failed (`SEND_FAILED`); other failures throw. */
async function sendUnlessDeliveryFails(otp: Otp, input: SendInput) {
  try {
    return await otp.send(input);
  } catch (error) {
    if (isOtpError(error) && error.code === "SEND_FAILED") return null;
    throw error;
  }
}

/**
 * `POST /whatsapp-otp/reset-password`: sets a new password with a `reset-password` code. The
 * password is checked against better-auth's length rules before the code is spent. A user
 * without a password (one who signed up by phone) gets a credential account; every session of
 * the user is revoked unless `revokeSessionsOnPasswordReset` is false. No session is created.
 */
export function resetPasswordEndpoint(engine: Engine) {
  const { options } = engine;
  const revokeSessions = options.revokeSessionsOnPasswordReset ?? true;
  return createAuthEndpoint(
    "/whatsapp-otp/reset-password",
    { method: "POST", body: resetBody },
    async (ctx) => {
      const { phoneNumber: typed, code, newPassword } = ctx.body;
      const { password, internalAdapter, adapter, logger } = ctx.context;
      if (newPassword.length < password.config.minPasswordLength) {
        throw new APIError("BAD_REQUEST", BASE_ERROR_CODES.PASSWORD_TOO_SHORT);
      }
      if (newPassword.length > password.config.maxPasswordLength) {
        throw new APIError("BAD_REQUEST", BASE_ERROR_CODES.PASSWORD_TOO_LONG);
      }
      const phoneNumber = await verifyCode(
        engine,
        ctx,
        typed,
        code,
        PURPOSES.resetPassword,
        "code",
      );
      const user = await findUserByPhone(ctx, phoneNumber);
      if (user === null) {
        // The code passed, but no one was sent one: a guess at a code nobody saw (or the account
        // was deleted since). Answered as a wrong code, so it tells nothing either.
        throw apiError(
          verifyFailureAnswer({ ok: false, reason: "INVALID_CODE" }, options.verifyFailures),
          { field: "code" },
        );
      }
      const hash = await password.hash(newPassword);
      await runWithTransaction(adapter, async () => {
        // Revoked before the write, so a failure in between leaves the old password, not a new
        // one beside live sessions.
        if (revokeSessions) await internalAdapter.deleteUserSessions(user.id);
        if ((await internalAdapter.findCredentialAccount(user.id)) === null) {
          await internalAdapter.createAccount({
            userId: user.id,
            providerId: "credential",
            accountId: user.id,
            password: hash,
          });
        } else {
          await internalAdapter.updatePassword(user.id, hash);
        }
        // The code proved the number too.
        if (user.phoneNumberVerified !== true) {
          await internalAdapter.updateUser(user.id, { phoneNumberVerified: true });
        }
      });
      const callbacks = [
        options.onPasswordReset,
        ctx.context.options.emailAndPassword?.onPasswordReset,
      ];
      for (const callback of callbacks) {
        if (callback === undefined) continue;
        await ctx.context.runInBackgroundOrAwait(
          Promise.resolve()
            .then(() => callback({ user: user as User }, ctx.request))
            .catch((error: unknown) => {
              logger.error("whatsapp-otp: onPasswordReset failed", error);
            }),
        );
      }
      return ctx.json({ status: true });
    },
  );
}

import { runWithTransaction } from "@better-auth/core/context";
import { BASE_ERROR_CODES } from "@better-auth/core/error";
import { errorAnswer, parsePhone } from "@waotp/core";
import type { User } from "better-auth";
import {
  APIError,
  createAuthEndpoint,
  freshSessionMiddleware,
  sensitiveSessionMiddleware,
} from "better-auth/api";
import { setSessionCookie } from "better-auth/cookies";
import { parseUserOutput } from "better-auth/db";
import * as z from "zod";
import { apiError, core } from "../api-error.js";
import { type Engine, verifyCode } from "../engine.js";
import { type PhoneChange, PURPOSES, type UserWithPhoneNumber } from "../options.js";
import { verifyBody } from "./sign-in.js";
import { findUserByPhone } from "./users.js";

const verifyPhoneBody = verifyBody.extend({
  /** A code sent to the current number with `purpose: "change-phone"`. */
  currentCode: z.string().max(64).optional(),
  /** Or the account's password, where it has one. */
  currentPassword: z.string().max(1024).optional(),
});

/**
 * `POST /whatsapp-otp/verify-phone`: adds or changes a signed-in user's number. Moving a number
 * away needs its owner's say (a code to it, or the password): a session alone can be stolen.
 */
export function verifyPhoneEndpoint(engine: Engine) {
  const { options } = engine;
  return createAuthEndpoint(
    "/whatsapp-otp/verify-phone",
    {
      method: "POST",
      body: verifyPhoneBody,
      // The session as the database has it (a revoked one is refused even under cookie caching),
      // and no older than better-auth's session.freshAge: a stolen, aged cookie must not be able
      // to move the sign-in number.
      use: [sensitiveSessionMiddleware, freshSessionMiddleware],
    },
    async (ctx) => {
      const { session } = ctx.context;
      const me = session.user as User & { phoneNumber?: string | null };
      const oldPhone = me.phoneNumber ?? null;
      const { phoneNumber: typed, code, currentCode, currentPassword } = ctx.body;
      const newPhone = (await core(() => parsePhone(typed, options.defaultCountry))).e164;
      const changing = oldPhone !== null && oldPhone !== newPhone;
      if (changing) {
        if (currentCode !== undefined) {
          await verifyCode(engine, ctx, oldPhone, currentCode, PURPOSES.changePhone, "currentCode");
        } else if (currentPassword !== undefined) {
          const account = await ctx.context.internalAdapter.findCredentialAccount(me.id);
          if (!account?.password) {
            throw new APIError("BAD_REQUEST", BASE_ERROR_CODES.CREDENTIAL_ACCOUNT_NOT_FOUND);
          }
          const valid = await ctx.context.password.verify({
            hash: account.password,
            password: currentPassword,
          });
          if (!valid) throw new APIError("BAD_REQUEST", BASE_ERROR_CODES.INVALID_PASSWORD);
        } else {
          throw apiError(errorAnswer("CURRENT_PHONE_PROOF_REQUIRED"));
        }
      }
      const phoneNumber = await verifyCode(engine, ctx, typed, code, PURPOSES.verifyPhone, "code");
      const { internalAdapter, adapter } = ctx.context;
      // Only someone holding the new number gets this far, and learns only that it is taken.
      const owner = await findUserByPhone(ctx, phoneNumber);
      if (owner !== null && owner.id !== me.id) {
        throw apiError(errorAnswer("PHONE_NUMBER_EXIST"));
      }
      const saved = await runWithTransaction(adapter, async () => {
        const updated = await internalAdapter.updateUser(me.id, {
          phoneNumber,
          phoneNumberVerified: true,
        });
        // Whoever else holds a session of this account (a thief's included) starts over.
        if (changing) {
          const others = (await internalAdapter.listSessions(me.id))
            .map((s) => s.token)
            .filter((token) => token !== session.session.token);
          if (others.length > 0) await internalAdapter.deleteSessions(others);
        }
        return updated;
      });
      if (saved === null) throw apiError(errorAnswer("INTERNAL_ERROR"));
      const user = saved as UserWithPhoneNumber;
      await setSessionCookie(ctx, { session: session.session, user });
      const { onPhoneChanged } = options;
      if (phoneNumber !== oldPhone && onPhoneChanged !== undefined) {
        const change: PhoneChange = { user, oldPhone, newPhone: phoneNumber };
        await ctx.context.runInBackgroundOrAwait(
          Promise.resolve()
            .then(() => onPhoneChanged(change))
            .catch((error: unknown) => {
              ctx.context.logger.error("whatsapp-otp: onPhoneChanged failed", error);
            }),
        );
      }
      await options.callbackOnVerification?.({ phoneNumber, user }, ctx);
      return ctx.json({ status: true, user: parseUserOutput(ctx.context.options, user as never) });
    },
  );
}

import { randomBytes } from "node:crypto";
import { errorAnswer } from "@waotp/core";
import { createAuthEndpoint } from "better-auth/api";
import { setSessionCookie } from "better-auth/cookies";
import { parseUserOutput } from "better-auth/db";
import * as z from "zod";
import { apiError } from "../api-error.js";
import { type Engine, verifyCode } from "../engine.js";
import { PURPOSES, type UserWithPhoneNumber } from "../options.js";
import { findUserByPhone } from "./users.js";

export const verifyBody = z.object({ phoneNumber: z.string().max(64), code: z.string().max(64) });

const signInBody = verifyBody.extend({
  /** Proves the number (and signs up, when on) without signing in: no session, `token: null`. */
  disableSession: z.boolean().optional(),
});

/** `POST /whatsapp-otp/verify`: signs in, creating the user on the first code when sign-up is on. */
export function signInEndpoint(engine: Engine) {
  const { options } = engine;
  const signUp = options.signUpOnVerification ?? true;
  return createAuthEndpoint(
    "/whatsapp-otp/verify",
    { method: "POST", body: signInBody },
    async (ctx) => {
      const { phoneNumber: typed, code, disableSession } = ctx.body;
      const phoneNumber = await verifyCode(engine, ctx, typed, code, PURPOSES.signIn);
      const { internalAdapter } = ctx.context;
      let user = await findUserByPhone(ctx, phoneNumber);
      if (user === null) {
        if (signUp === false) throw apiError(errorAnswer("USER_NOT_FOUND"));
        const naming = typeof signUp === "object" ? signUp : {};
        const digits = phoneNumber.slice(1);
        const created = await internalAdapter.createUser(
          {
            // A placeholder no one else can hold, even after this number moves to another account.
            email:
              naming.getTempEmail?.(phoneNumber) ??
              `${digits}.${randomBytes(6).toString("hex")}@phone.invalid`,
            name: naming.getTempName?.(phoneNumber) ?? phoneNumber,
            emailVerified: false,
            phoneNumber,
            phoneNumberVerified: true,
          },
          { method: "whatsapp-otp" } as never,
        );
        user = created as unknown as UserWithPhoneNumber;
      } else if (user.phoneNumberVerified !== true) {
        user = (await internalAdapter.updateUser(user.id, {
          phoneNumberVerified: true,
        })) as UserWithPhoneNumber | null;
      }
      if (user === null) throw apiError(errorAnswer("INTERNAL_ERROR"));
      await options.callbackOnVerification?.({ phoneNumber, user }, ctx);
      const shown = parseUserOutput(ctx.context.options, user as never);
      if (disableSession === true) return ctx.json({ status: true, token: null, user: shown });
      const session = await internalAdapter.createSession(user.id);
      await setSessionCookie(ctx, { session, user });
      return ctx.json({ status: true, token: session.token as string | null, user: shown });
    },
  );
}

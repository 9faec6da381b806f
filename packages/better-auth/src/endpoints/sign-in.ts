import { randomBytes } from "node:crypto";
import { errorAnswer } from "@waotp/core";
import { createAuthEndpoint } from "better-auth/api";
import { setSessionCookie } from "better-auth/cookies";
import { parseUserOutput } from "better-auth/db";
import * as z from "zod";
import { apiError } from "../api-error.js";
import { type Engine, verifyCode } from "../engine.js";
import { PURPOSES } from "../options.js";

export const verifyBody = z.object({ phoneNumber: z.string().max(64), code: z.string().max(64) });

/** `POST /whatsapp-otp/verify`: signs in, creating the user on the first code when sign-up is on. */
export function signInEndpoint(engine: Engine) {
  const signUp = engine.options.signUpOnVerification ?? true;
  return createAuthEndpoint(
    "/whatsapp-otp/verify",
    { method: "POST", body: verifyBody },
    async (ctx) => {
      const { phoneNumber: typed, code } = ctx.body;
      const phoneNumber = await verifyCode(engine, ctx, typed, code, PURPOSES.signIn);
      const { internalAdapter, adapter } = ctx.context;
      let user = await adapter.findOne<{ id: string } & Record<string, unknown>>({
        model: "user",
        where: [{ field: "phoneNumber", value: phoneNumber }],
      });
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
        user = created as unknown as typeof user;
      } else if (user.phoneNumberVerified !== true) {
        user = (await internalAdapter.updateUser(user.id, {
          phoneNumberVerified: true,
        })) as typeof user;
      }
      if (user === null) throw apiError(errorAnswer("INTERNAL_ERROR"));
      const session = await internalAdapter.createSession(user.id);
      await setSessionCookie(ctx, { session, user: user as never });
      return ctx.json({
        token: session.token,
        user: parseUserOutput(ctx.context.options, user as never),
      });
    },
  );
}

import { randomBytes } from "node:crypto";
import {
  createOtp,
  isOtpError,
  type Otp,
  type OtpOptions,
  type Store,
  secretMatches,
  VERIFY_FAILURE_STATUS,
} from "@waotp/core";
import type { BetterAuthPlugin } from "better-auth";
import { APIError, createAuthEndpoint, getIP, sessionMiddleware } from "better-auth/api";
import { setSessionCookie } from "better-auth/cookies";
import { parseUserOutput } from "better-auth/db";
import * as z from "zod";
import { databaseStore, RECORD_MODEL, type RecordAdapter } from "./db-store.js";
import { WHATSAPP_OTP_ERROR_CODES } from "./error-codes.js";

export interface WhatsappOtpOptions
  extends Omit<OtpOptions, "secret" | "store" | "defaultPurpose"> {
  /** HMAC key for stored codes, at least 32 bytes. @default better-auth's secret */
  secret?: string | Uint8Array;
  /** Where codes and counters live. @default the better-auth database (the plugin's `waotpRecord` table) */
  store?: Store;
  /**
   * Creates the user on the first verified code. `true` gives a placeholder email
   * (`<digits>.<random>@phone.invalid`) and the phone as name; pass functions to choose them.
   * @default true
   */
  signUpOnVerification?:
    | boolean
    | {
        getTempEmail?: (phoneNumber: string) => string;
        getTempName?: (phoneNumber: string) => string;
      };
  /** The secret path segment of the delivery webhook (`/whatsapp-otp/webhook/:secret`); without it, no webhook. */
  webhookSecret?: string;
}

const PURPOSES = { signIn: "sign-in", verifyPhone: "verify-phone" } as const;

const sendBody = z.object({
  phoneNumber: z.string().max(64),
  purpose: z.enum(["sign-in", "verify-phone"]).optional(),
});
const verifyBody = z.object({ phoneNumber: z.string().max(64), code: z.string().max(64) });

/**
 * Sign in with WhatsApp codes in better-auth. Adds `phoneNumber` (unique) and `phoneNumberVerified`
 * to the user, as better-auth's phone-number plugin does, and these endpoints:
 * `POST /whatsapp-otp/send`, `POST /whatsapp-otp/verify` (signs in, creating the user on first
 * use), `POST /whatsapp-otp/verify-phone` (adds or changes a signed-in user's number),
 * `POST /whatsapp-otp/webhook/:secret` and `GET /whatsapp-otp/status?messageId=`.
 *
 * @example
 * betterAuth({ plugins: [whatsappOtp({ channel: oneMsg({ ... }), webhookSecret: process.env.WAOTP_WEBHOOK_SECRET })] })
 */
export function whatsappOtp(options: WhatsappOtpOptions) {
  let engine: Otp | undefined;
  const { webhookSecret } = options;
  const signUp = options.signUpOnVerification ?? true;

  const otp = () => {
    if (engine === undefined) {
      throw new APIError("INTERNAL_SERVER_ERROR", WHATSAPP_OTP_ERROR_CODES.CONFIG_INVALID);
    }
    return engine;
  };

  /** Runs a core call, answering its failures as better-auth errors with the same codes. */
  async function core<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!isOtpError(error)) throw error;
      const retryAfter = error.retryAfter;
      const shown =
        error.status >= 500 ? WHATSAPP_OTP_ERROR_CODES[error.code]?.message : error.message;
      throw new APIError(
        error.status as 400,
        {
          code: error.code,
          message: shown ?? error.message,
          ...(retryAfter === undefined ? {} : { retryAfter }),
          ...(error.status < 500 ? error.details : {}),
        },
        retryAfter === undefined ? {} : { "retry-after": String(retryAfter) },
      );
    }
  }

  async function verifyCode(phoneNumber: string, code: string, purpose: string) {
    const result = await core(() => otp().verify({ phone: phoneNumber, code, purpose }));
    if (result.ok) return result.phone;
    const { reason, ok: _ok, ...fields } = result;
    const status = VERIFY_FAILURE_STATUS[reason];
    throw new APIError(
      status as 400,
      { ...WHATSAPP_OTP_ERROR_CODES[reason], ...fields },
      status === 429 ? { "retry-after": String(fields.retryAfter ?? 0) } : {},
    );
  }

  return {
    id: "whatsapp-otp",
    init(ctx) {
      engine = createOtp({
        ...options,
        secret: options.secret ?? ctx.secret,
        store: options.store ?? databaseStore(ctx.adapter as unknown as RecordAdapter),
        defaultPurpose: PURPOSES.signIn,
      });
    },
    schema: {
      [RECORD_MODEL]: {
        fields: {
          key: { type: "string", required: true, unique: true },
          value: { type: "string", required: true },
          expiresAt: { type: "date", required: true },
        },
      },
      user: {
        fields: {
          // Not writable through better-auth's user endpoints: a phone is only ever set by proving it.
          phoneNumber: {
            type: "string",
            required: false,
            unique: true,
            sortable: true,
            returned: true,
            input: false,
          },
          phoneNumberVerified: { type: "boolean", required: false, returned: true, input: false },
        },
      },
    },
    endpoints: {
      sendWhatsappOtp: createAuthEndpoint(
        "/whatsapp-otp/send",
        { method: "POST", body: sendBody },
        async (ctx) => {
          const ip = ctx.request ? getIP(ctx.request, ctx.context.options) : null;
          const sent = await core(() =>
            otp().send({
              phone: ctx.body.phoneNumber,
              purpose: ctx.body.purpose ?? PURPOSES.signIn,
              ...(ip ? { ip } : {}),
            }),
          );
          // The same answer whether or not the number has an account.
          return ctx.json({
            phoneNumber: sent.phone,
            messageId: sent.messageId,
            expiresAt: sent.expiresAt.toISOString(),
            resendAt: sent.resendAt.toISOString(),
          });
        },
      ),

      verifyWhatsappOtp: createAuthEndpoint(
        "/whatsapp-otp/verify",
        { method: "POST", body: verifyBody },
        async (ctx) => {
          const phoneNumber = await verifyCode(
            ctx.body.phoneNumber,
            ctx.body.code,
            PURPOSES.signIn,
          );
          const { internalAdapter, adapter } = ctx.context;
          let user = await adapter.findOne<{ id: string } & Record<string, unknown>>({
            model: "user",
            where: [{ field: "phoneNumber", value: phoneNumber }],
          });
          if (user === null) {
            if (signUp === false) {
              throw new APIError("BAD_REQUEST", WHATSAPP_OTP_ERROR_CODES.USER_NOT_FOUND);
            }
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
          if (user === null)
            throw new APIError("INTERNAL_SERVER_ERROR", { message: "Could not save the user" });
          const session = await internalAdapter.createSession(user.id);
          await setSessionCookie(ctx, { session, user: user as never });
          return ctx.json({
            token: session.token,
            user: parseUserOutput(ctx.context.options, user as never),
          });
        },
      ),

      verifyWhatsappPhone: createAuthEndpoint(
        "/whatsapp-otp/verify-phone",
        { method: "POST", body: verifyBody, use: [sessionMiddleware] },
        async (ctx) => {
          const phoneNumber = await verifyCode(
            ctx.body.phoneNumber,
            ctx.body.code,
            PURPOSES.verifyPhone,
          );
          const owner = await ctx.context.adapter.findOne<{ id: string }>({
            model: "user",
            where: [{ field: "phoneNumber", value: phoneNumber }],
          });
          const me = ctx.context.session.user;
          if (owner !== null && owner.id !== me.id) {
            throw new APIError("BAD_REQUEST", WHATSAPP_OTP_ERROR_CODES.PHONE_NUMBER_EXIST);
          }
          const user = await ctx.context.internalAdapter.updateUser(me.id, {
            phoneNumber,
            phoneNumberVerified: true,
          });
          return ctx.json({ user: user && parseUserOutput(ctx.context.options, user as never) });
        },
      ),

      whatsappOtpWebhook: createAuthEndpoint(
        "/whatsapp-otp/webhook/:secret",
        { method: "POST", metadata: { scope: "server" } },
        async (ctx) => {
          const given = String(ctx.params?.secret ?? "");
          if (webhookSecret === undefined || !secretMatches(given, webhookSecret)) {
            throw new APIError("UNAUTHORIZED", WHATSAPP_OTP_ERROR_CODES.UNAUTHORIZED);
          }
          return ctx.json(await core(() => otp().handleWebhook(ctx.body)));
        },
      ),

      whatsappOtpStatus: createAuthEndpoint(
        "/whatsapp-otp/status",
        { method: "GET", query: z.object({ messageId: z.string().min(1).max(256) }) },
        async (ctx) => {
          const status = await core(() => otp().status(ctx.query.messageId));
          if (status === null) throw new APIError("NOT_FOUND", WHATSAPP_OTP_ERROR_CODES.NOT_FOUND);
          return ctx.json({ ...status, updatedAt: status.updatedAt.toISOString() });
        },
      ),
    },
    $ERROR_CODES: WHATSAPP_OTP_ERROR_CODES,
    options,
  } satisfies BetterAuthPlugin;
}

declare module "@better-auth/core" {
  interface BetterAuthPluginRegistry<AuthOptions, Options> {
    "whatsapp-otp": { creator: typeof whatsappOtp };
  }
}

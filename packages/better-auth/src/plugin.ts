import { randomBytes } from "node:crypto";
import { runWithTransaction } from "@better-auth/core/context";
import { BASE_ERROR_CODES } from "@better-auth/core/error";
import {
  assertWebhookSecret,
  CLIENT_ID_MAX_AGE_SECONDS,
  createOtp,
  isOtpError,
  type LimitOptions,
  newClientId,
  type Otp,
  type OtpOptions,
  parsePhone,
  publicStatus,
  publicVerifyFailure,
  type Store,
  secretMatches,
  type VerifyFailureDetail,
} from "@waotp/core";
import type { BetterAuthPlugin, User } from "better-auth";
import {
  APIError,
  createAuthEndpoint,
  freshSessionMiddleware,
  getIP,
  sensitiveSessionMiddleware,
} from "better-auth/api";
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
  /**
   * The secret path segment of the delivery webhook (`/whatsapp-otp/webhook/:secret`), at least
   * 16 characters (`openssl rand -hex 16`); without it, no webhook.
   */
  webhookSecret?: string;
  /**
   * Called after a user's sign-in number is added (`oldPhone: null`) or changed, with full E.164
   * numbers. WhatsApp authentication messages can only carry a code, so tell the user here: email
   * them, or message the old number through another channel. Its failures are logged and never
   * undo the change.
   */
  onPhoneChanged?: (change: PhoneChange) => void | Promise<void>;
  /** What a failed verification tells the client (the core's `VerifyFailureDetail`). @default "generic" */
  verifyFailures?: VerifyFailureDetail;
}

export interface PhoneChange {
  /** The user after the change. */
  user: User & { phoneNumber: string; phoneNumberVerified: boolean };
  /** The number that signed in until now; null when this is the user's first number. */
  oldPhone: string | null;
  newPhone: string;
}

const PURPOSES = {
  signIn: "sign-in",
  verifyPhone: "verify-phone",
  changePhone: "change-phone",
} as const;

const sendBody = z.object({
  phoneNumber: z.string().max(64),
  purpose: z.enum(["sign-in", "verify-phone", "change-phone"]).optional(),
});
const verifyBody = z.object({ phoneNumber: z.string().max(64), code: z.string().max(64) });
const verifyPhoneBody = verifyBody.extend({
  /** A code sent to the current number with `purpose: "change-phone"`. */
  currentCode: z.string().max(64).optional(),
  /** Or the account's password, where it has one. */
  currentPassword: z.string().max(1024).optional(),
});

/**
 * The core's limits, where a send whose client better-auth could not identify is refused rather
 * than counted with every other unidentified client (unless the app chose otherwise).
 */
function failClosed(limits: LimitOptions | undefined): LimitOptions {
  if (limits?.sendsPerIp === false) return limits;
  return { ...limits, sendsPerIp: { unknownIp: "refuse", ...limits?.sendsPerIp } };
}

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
  const { webhookSecret, onPhoneChanged, signUpOnVerification, verifyFailures, ...otpOptions } =
    options;
  const signUp = signUpOnVerification ?? true;
  assertWebhookSecret(webhookSecret);

  let warnedUnknownClient = false;

  const otp = () => {
    if (engine === undefined) {
      throw new APIError("INTERNAL_SERVER_ERROR", WHATSAPP_OTP_ERROR_CODES.CONFIG_INVALID);
    }
    return engine;
  };

  /**
   * Runs a core call, answering its failures as better-auth errors with the same codes. `extra`
   * goes into the error body (which field of the request failed).
   */
  async function core<T>(call: () => T | Promise<T>, extra: object = {}): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!isOtpError(error)) throw error;
      const retryAfter = error.retryAfter;
      // Server-side failures stay vague.
      const ours = error.status >= 500;
      const shown = ours ? WHATSAPP_OTP_ERROR_CODES[error.code]?.message : error.message;
      throw new APIError(
        error.status as 400,
        {
          code: error.code,
          message: shown ?? error.message,
          ...(retryAfter === undefined ? {} : { retryAfter }),
          ...(error.status < 500 ? error.details : {}),
          ...extra,
        },
        retryAfter === undefined ? {} : { "retry-after": String(retryAfter) },
      );
    }
  }

  type CookieContext = Parameters<typeof clientAddress>[0] & {
    context: {
      secret: string;
      createAuthCookie: (
        name: string,
        attributes?: { maxAge?: number },
      ) => { name: string; attributes: object };
    };
    getSignedCookie(name: string, secret: string): Promise<string | null | false>;
    setSignedCookie(
      name: string,
      value: string,
      secret: string,
      attributes?: object,
    ): Promise<unknown>;
  };

  /** The client's address as better-auth reads it (its `advanced.ipAddress` settings); null if unknown. */
  function clientAddress(ctx: {
    request?: Request | undefined;
    headers?: Headers | undefined;
    context: { options: Parameters<typeof getIP>[1] };
  }): string | null {
    return getIP(ctx.request ?? ctx.headers ?? new Headers(), ctx.context.options);
  }

  /**
   * The browser's id for the core (`client`), from a signed cookie; a send gives a browser without
   * one a new id. A browser that signed in to a phone gets codes bound to it (see the core).
   */
  async function browserOf(ctx: CookieContext, create: boolean): Promise<string | undefined> {
    const cookie = browserCookie(ctx);
    const known = await ctx.getSignedCookie(cookie.name, ctx.context.secret);
    if (typeof known === "string" && known !== "") return known;
    if (!create) return undefined;
    return giveBrowserId(ctx);
  }

  function browserCookie(ctx: CookieContext) {
    return ctx.context.createAuthCookie("waotp_client", { maxAge: CLIENT_ID_MAX_AGE_SECONDS });
  }

  /** Sets a new browser id in the cookie and returns it. */
  async function giveBrowserId(ctx: CookieContext, id = newClientId()) {
    const cookie = browserCookie(ctx);
    await ctx.setSignedCookie(cookie.name, id, ctx.context.secret, cookie.attributes);
    return id;
  }

  /** Checks a code; `field` names the request field it came in, for the error body. */
  async function verifyCode(
    ctx: CookieContext,
    phoneNumber: string,
    code: string,
    purpose: string,
    field?: string,
  ) {
    const extra = field === undefined ? {} : { field };
    const ip = clientAddress(ctx);
    const client = await browserOf(ctx, false);
    // A successful verify gives the browser a new id: one planted before it never becomes known.
    const nextClient = newClientId();
    const result = await core(
      () =>
        otp().verify({
          phone: phoneNumber,
          code,
          purpose,
          ip,
          nextClient,
          ...(client === undefined ? {} : { client }),
        }),
      extra,
    );
    if (result.ok) {
      await giveBrowserId(ctx, nextClient);
      return result.phone;
    }
    const { reason, status, ...fields } = publicVerifyFailure(result, verifyFailures);
    throw new APIError(
      status as 400,
      { ...WHATSAPP_OTP_ERROR_CODES[reason], ...fields, ...extra },
      status === 429 ? { "retry-after": String(fields.retryAfter ?? 0) } : {},
    );
  }

  return {
    id: "whatsapp-otp",
    init(ctx) {
      engine = createOtp({
        ...otpOptions,
        limits: failClosed(otpOptions.limits),
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
          // Null when better-auth cannot tell the client (no trusted address header in
          // production): the core then refuses, or shares one bucket, as configured.
          const ip = clientAddress(ctx);
          if (ip === null && !warnedUnknownClient) {
            warnedUnknownClient = true;
            ctx.context.logger.warn(
              "whatsapp-otp: better-auth could not read a client's address, so per-IP send limits cannot tell clients apart (limits.sendsPerIp.unknownIp decides: refused by default). Set advanced.ipAddress (ipAddressHeaders, trustedProxies) for your proxy; see the @waotp/better-auth README.",
            );
          }
          const client = await browserOf(ctx, true);
          const sent = await core(() =>
            otp().send({
              phone: ctx.body.phoneNumber,
              purpose: ctx.body.purpose ?? PURPOSES.signIn,
              ip,
              ...(client === undefined ? {} : { client }),
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
            ctx,
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
        {
          method: "POST",
          body: verifyPhoneBody,
          // The session as the database has it (a revoked one is refused even under cookie
          // caching), and no older than better-auth's session.freshAge: a stolen, aged cookie
          // must not be able to move the sign-in number.
          use: [sensitiveSessionMiddleware, freshSessionMiddleware],
        },
        async (ctx) => {
          const { session } = ctx.context;
          const me = session.user as User & { phoneNumber?: string | null };
          const oldPhone = me.phoneNumber ?? null;
          const { phoneNumber: typed, code, currentCode, currentPassword } = ctx.body;
          const newPhone = (await core(() => parsePhone(typed, options.defaultCountry))).e164;
          const changing = oldPhone !== null && oldPhone !== newPhone;
          // Moving the number away needs its owner's say: a session alone can be stolen.
          if (changing) {
            if (currentCode !== undefined) {
              await verifyCode(ctx, oldPhone, currentCode, PURPOSES.changePhone, "currentCode");
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
              throw new APIError(
                "FORBIDDEN",
                WHATSAPP_OTP_ERROR_CODES.CURRENT_PHONE_PROOF_REQUIRED,
              );
            }
          }
          const phoneNumber = await verifyCode(ctx, typed, code, PURPOSES.verifyPhone, "code");
          const owner = await ctx.context.adapter.findOne<{ id: string }>({
            model: "user",
            where: [{ field: "phoneNumber", value: phoneNumber }],
          });
          if (owner !== null && owner.id !== me.id) {
            throw new APIError("BAD_REQUEST", WHATSAPP_OTP_ERROR_CODES.PHONE_NUMBER_EXIST);
          }
          const { internalAdapter, adapter } = ctx.context;
          const user = await runWithTransaction(adapter, async () => {
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
          if (user === null) {
            throw new APIError("INTERNAL_SERVER_ERROR", { message: "Could not save the user" });
          }
          await setSessionCookie(ctx, { session: session.session, user });
          if (phoneNumber !== oldPhone && onPhoneChanged !== undefined) {
            const change = { user, oldPhone, newPhone: phoneNumber } as PhoneChange;
            await ctx.context.runInBackgroundOrAwait(
              Promise.resolve()
                .then(() => onPhoneChanged(change))
                .catch((error: unknown) => {
                  ctx.context.logger.error("whatsapp-otp: onPhoneChanged failed", error);
                }),
            );
          }
          return ctx.json({ user: parseUserOutput(ctx.context.options, user as never) });
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
          // Only the browser that asked for the message learns about it, and only whether it arrived.
          const client = await browserOf(ctx, false);
          const found = await core(() =>
            otp().status(ctx.query.messageId, client === undefined ? {} : { client }),
          );
          if (found === null) throw new APIError("NOT_FOUND", WHATSAPP_OTP_ERROR_CODES.NOT_FOUND);
          const status = publicStatus(found);
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

import { isOtpError, type Otp, type VerifyFailureReason } from "@waotp/core";
import { Strategy as CustomStrategy } from "passport-custom";

// Express-like request: what the strategy reads. Kept structural so no framework types leak in.
interface RequestLike {
  body?: unknown;
  ip?: string;
  res?: { setHeader(name: string, value: string): unknown };
}

/** Why a sign-in failed, as Passport's `info` (and `req.authInfo`-style flash messages) see it. */
export interface WhatsAppOtpFailure {
  reason: VerifyFailureReason | "INVALID_PHONE" | "INVALID_INPUT" | "USER_NOT_FOUND";
  message: string;
  /** HTTP status the failure suggests: 400, 401 or 429. */
  status: number;
  attemptsLeft?: number;
  retryAfter?: number;
}

export type VerifyDone<User> = (error: unknown, user?: User | false, info?: unknown) => void;

/** Finds or creates the user for a verified phone (E.164): with a `done` callback, or async. */
export type VerifyPhone<User> =
  | ((phone: string, done: VerifyDone<User>) => void)
  | ((phone: string) => Promise<User | false | null | undefined>);

export type VerifyPhoneWithRequest<User, Req> =
  | ((req: Req, phone: string, done: VerifyDone<User>) => void)
  | ((req: Req, phone: string) => Promise<User | false | null | undefined>);

interface BaseOptions {
  /** The engine from `createOtp`. */
  otp: Otp;
  /** Strategy name for `passport.authenticate(name)`. @default "whatsapp-otp" */
  name?: string;
  /** Body field with the phone. @default "phone" */
  phoneField?: string;
  /** Body field with the code. @default "code" */
  codeField?: string;
  /** Purpose the code was sent for. @default the engine's default ("login") */
  purpose?: string;
}

export interface WhatsAppOtpStrategyOptions<User> extends BaseOptions {
  verify: VerifyPhone<User>;
  passReqToCallback?: false;
}

export interface WhatsAppOtpStrategyOptionsWithRequest<User, Req = RequestLike>
  extends BaseOptions {
  verify: VerifyPhoneWithRequest<User, Req>;
  passReqToCallback: true;
}

const MESSAGES: Record<WhatsAppOtpFailure["reason"], string> = {
  INVALID_CODE: "The code is not right.",
  EXPIRED: "The code has expired.",
  TOO_MANY_ATTEMPTS: "Too many wrong codes.",
  NO_PENDING_CODE: "No code is waiting for this number.",
  INVALID_PHONE: "The phone number is not valid.",
  INVALID_INPUT: "Give a phone number and the code.",
  USER_NOT_FOUND: "No account uses this phone number.",
};

/**
 * Passport strategy `whatsapp-otp`: reads the phone and code from the request body, verifies the
 * code with the core, and hands the verified phone to `verify` to find or create the user.
 *
 * Wrong, expired and exhausted codes are Passport failures whose `info.reason` tells them apart;
 * `TOO_MANY_ATTEMPTS` fails with status 429 and a `Retry-After` header. A store or 1MSG outage, or
 * an error (or rejected promise) from `verify`, is a Passport error, not a failure.
 *
 * @example
 * passport.use(new WhatsAppOtpStrategy({ otp, verify: async (phone) => users.findOrCreate({ phone }) }));
 * app.post("/login", passport.authenticate("whatsapp-otp", { failureRedirect: "/login" }), ...);
 */
export class WhatsAppOtpStrategy<
  User = unknown,
  Req extends RequestLike = RequestLike,
> extends CustomStrategy {
  constructor(
    options: WhatsAppOtpStrategyOptions<User> | WhatsAppOtpStrategyOptionsWithRequest<User, Req>,
  ) {
    const { otp, verify } = options;
    if (typeof otp?.verify !== "function" || typeof verify !== "function") {
      throw new TypeError(
        "WhatsAppOtpStrategy needs `otp` (from createOtp) and a `verify` function.",
      );
    }
    const phoneField = options.phoneField ?? "phone";
    const codeField = options.codeField ?? "code";

    super((req: unknown, done: VerifyDone<User>) => {
      const request = req as unknown as Req;
      const fail = (failure: WhatsAppOtpFailure) => {
        if (failure.status === 429)
          request.res?.setHeader("Retry-After", String(failure.retryAfter ?? 0));
        done(null, false, failure);
      };
      (async () => {
        const body = (
          typeof request.body === "object" && request.body !== null ? request.body : {}
        ) as Record<string, unknown>;
        const phone = body[phoneField];
        const code = body[codeField];
        if (typeof phone !== "string" || typeof code !== "string") {
          return fail(failure("INVALID_INPUT"));
        }
        let result: Awaited<ReturnType<Otp["verify"]>>;
        try {
          result = await otp.verify({
            phone,
            code,
            ...(options.purpose ? { purpose: options.purpose } : {}),
          });
        } catch (error) {
          // Bad input is the user's failure; anything else (store, config) is an error.
          if (
            isOtpError(error) &&
            (error.code === "INVALID_PHONE" || error.code === "INVALID_INPUT")
          ) {
            return fail(failure(error.code));
          }
          throw error;
        }
        if (!result.ok) {
          const { reason, ok: _ok, ...fields } = result;
          return fail({ ...failure(reason), ...fields });
        }
        const user = await callVerify(options, request, result.phone);
        if (!user) return fail(failure("USER_NOT_FOUND"));
        done(null, user);
      })().catch((error: unknown) => done(error));
    });
    (this as unknown as { name: string }).name = options.name ?? "whatsapp-otp";
  }

  override authenticate(req: AuthenticateRequest, options?: object): void {
    // passport-custom reports every failure as 401; ours carry their own status (429 for lockouts).
    const self = this as unknown as { fail(challenge: unknown, status?: number): void };
    const fail = self.fail.bind(self);
    self.fail = (challenge, status) =>
      fail(challenge, status ?? (challenge as Partial<WhatsAppOtpFailure> | undefined)?.status);
    super.authenticate(req, options);
  }
}

type AuthenticateRequest = Parameters<InstanceType<typeof CustomStrategy>["authenticate"]>[0];

const STATUS: Record<WhatsAppOtpFailure["reason"], number> = {
  INVALID_CODE: 401,
  EXPIRED: 401,
  NO_PENDING_CODE: 401,
  USER_NOT_FOUND: 401,
  TOO_MANY_ATTEMPTS: 429,
  INVALID_PHONE: 400,
  INVALID_INPUT: 400,
};

function failure(reason: WhatsAppOtpFailure["reason"]): WhatsAppOtpFailure {
  return { reason, message: MESSAGES[reason], status: STATUS[reason] };
}

/** Calls the app's verify in whichever style it was written, as a promise. */
function callVerify<User, Req>(
  options: WhatsAppOtpStrategyOptions<User> | WhatsAppOtpStrategyOptionsWithRequest<User, Req>,
  req: Req,
  phone: string,
): Promise<User | false | null | undefined> {
  return new Promise((resolve, reject) => {
    const done: VerifyDone<User> = (error, user) => (error ? reject(error) : resolve(user));
    const args: unknown[] = options.passReqToCallback ? [req, phone] : [phone];
    const fn = options.verify as (...args: unknown[]) => unknown;
    const expectsDone = fn.length > args.length;
    try {
      const returned = fn(...args, ...(expectsDone ? [done] : []));
      if (!expectsDone) Promise.resolve(returned as Promise<User>).then(resolve, reject);
    } catch (error) {
      reject(error);
    }
  });
}

import {
  isOtpError,
  type Otp,
  OtpError,
  publicVerifyFailure,
  type VerifyFailureDetail,
  type VerifyFailureReason,
} from "@waotp/core";
import { Strategy as CustomStrategy } from "passport-custom";

// What the strategy reads from a request: kept structural so no framework types leak in.
interface RequestLike {
  body?: unknown;
  /** Express's client address (honours "trust proxy"). */
  ip?: string;
  res?: { setHeader(name: string, value: string): unknown };
  next?: (error?: unknown) => void;
}

/** Why a sign-in failed, as Passport's `info` sees it. */
export interface WhatsAppOtpFailure {
  reason: VerifyFailureReason | "INVALID_PHONE" | "INVALID_INPUT" | "USER_NOT_FOUND";
  message: string;
  /** HTTP status the failure suggests: 400, 401 or 429. */
  status: number;
  attemptsLeft?: number;
  retryAfter?: number;
}

export type VerifyDone<User> = (error: unknown, user?: User | false | null) => void;

type MaybeUser<User> = User | false | null | undefined;

/**
 * Finds or creates the user for a verified phone (E.164). Call `done(err, user)`, or return a
 * promise of the user; either works, and `false` or `null` means no user.
 */
export type VerifyPhone<User> = (
  phone: string,
  done: VerifyDone<User>,
) => void | Promise<MaybeUser<User>>;

export type VerifyPhoneWithRequest<User, Req> = (
  req: Req,
  phone: string,
  done: VerifyDone<User>,
) => void | Promise<MaybeUser<User>>;

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
  /** What a failed verification tells the client (the core's `VerifyFailureDetail`). @default "generic" */
  verifyFailures?: VerifyFailureDetail;
  /** The client address for the per-client failure budget. @default req.ip */
  clientIp?: (req: RequestLike) => string | undefined;
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

const FAILURES: Record<WhatsAppOtpFailure["reason"], { message: string; status: number }> = {
  INVALID_CODE: { message: "The code is not right, or no longer valid.", status: 401 },
  EXPIRED: { message: "The code has expired.", status: 401 },
  NO_PENDING_CODE: { message: "No code is waiting for this number.", status: 401 },
  USER_NOT_FOUND: { message: "No account uses this phone number.", status: 401 },
  TOO_MANY_ATTEMPTS: { message: "Too many wrong codes.", status: 429 },
  INVALID_PHONE: { message: "The phone number is not valid.", status: 400 },
  INVALID_INPUT: { message: "Give a phone number and the code.", status: 400 },
};

const PURPOSE = /^[a-z0-9][a-z0-9_.-]{0,31}$/i;

type Outcome<User> = { user: User } | { failure: WhatsAppOtpFailure };

/**
 * Passport strategy `whatsapp-otp`: reads the phone and code from the request body, verifies the
 * code with the core, and hands the verified phone to `verify` to find or create the user.
 *
 * Wrong, expired and exhausted codes are Passport failures whose `info.reason` tells them apart;
 * `TOO_MANY_ATTEMPTS` fails with status 429 (and `Retry-After` when the wait is known). A store or
 * 1MSG outage, or an error (or rejected promise) from `verify`, is a Passport error.
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
    const { otp, verify } = options ?? {};
    if (typeof otp?.verify !== "function" || typeof verify !== "function") {
      throw new TypeError(
        "WhatsAppOtpStrategy needs `otp` (from createOtp) and a `verify` function.",
      );
    }
    if (options.purpose !== undefined && !PURPOSE.test(options.purpose)) {
      throw new OtpError(
        "CONFIG_INVALID",
        "`purpose` must be 1 to 32 letters, digits, '_', '.' or '-'.",
      );
    }
    const phoneField = options.phoneField ?? "phone";
    const codeField = options.codeField ?? "code";

    async function decide(req: Req): Promise<Outcome<User>> {
      const body =
        typeof req.body === "object" && req.body !== null
          ? (req.body as Record<string, unknown>)
          : {};
      const phone = body[phoneField];
      const code = body[codeField];
      if (typeof phone !== "string" || typeof code !== "string")
        return { failure: failure("INVALID_INPUT") };
      let result: Awaited<ReturnType<Otp["verify"]>>;
      try {
        const ip = (options.clientIp ?? ((r: RequestLike) => r.ip))(req as RequestLike);
        result = await otp.verify({
          phone,
          code,
          ip: ip ?? null,
          ...(options.purpose ? { purpose: options.purpose } : {}),
        });
      } catch (error) {
        // Bad input is the user's failure; anything else (store, configuration) is an error.
        if (
          isOtpError(error) &&
          (error.code === "INVALID_PHONE" || error.code === "INVALID_INPUT")
        ) {
          return { failure: failure(error.code) };
        }
        throw error;
      }
      if (!result.ok) {
        const {
          reason,
          status: _status,
          ...fields
        } = publicVerifyFailure(result, options.verifyFailures);
        return { failure: { ...failure(reason), ...fields } };
      }
      const user = await callVerify(options, req, result.phone);
      return user ? { user } : { failure: failure("USER_NOT_FOUND") };
    }

    super((req: unknown, done: (error: unknown, user?: unknown, info?: unknown) => void) => {
      const request = req as Req;
      decide(request).then(
        (outcome) => {
          // Outside the promise chain's error path: a throw from Passport's callback is not a second done().
          try {
            if ("user" in outcome) return done(null, outcome.user);
            const { failure: info } = outcome;
            if (info.status === 429 && info.retryAfter !== undefined) {
              request.res?.setHeader("Retry-After", String(info.retryAfter));
            }
            done(null, false, info);
          } catch (error) {
            reportLate(request, error);
          }
        },
        (error: unknown) => {
          try {
            done(error);
          } catch (late) {
            reportLate(request, late);
          }
        },
      );
    });
    (this as unknown as { name: string }).name = options.name ?? "whatsapp-otp";
  }

  override authenticate(req: AuthenticateRequest, options?: object): void {
    // passport-custom reports every failure as 401; ours carry their own status (429 for lockouts).
    // `this` is Passport's per-request copy of the strategy, so the override stays with this request.
    const self = this as unknown as { fail(challenge: unknown, status?: number): void };
    const fail = self.fail.bind(self);
    self.fail = (challenge, status) =>
      fail(challenge, status ?? (challenge as Partial<WhatsAppOtpFailure> | undefined)?.status);
    super.authenticate(req, options);
  }
}

type AuthenticateRequest = Parameters<InstanceType<typeof CustomStrategy>["authenticate"]>[0];

function failure(reason: WhatsAppOtpFailure["reason"]): WhatsAppOtpFailure {
  return { reason, ...FAILURES[reason] };
}

/** An error thrown by the app's own Passport callback: Express's next() if there is one, else uncaught. */
function reportLate(req: RequestLike, error: unknown): void {
  if (typeof req.next === "function") req.next(error);
  else
    setImmediate(() => {
      throw error;
    });
}

/**
 * Calls the app's verify with `done` always passed: a returned promise settles it, otherwise `done`
 * does, whichever comes first.
 */
function callVerify<User, Req>(
  options: WhatsAppOtpStrategyOptions<User> | WhatsAppOtpStrategyOptionsWithRequest<User, Req>,
  req: Req,
  phone: string,
): Promise<MaybeUser<User>> {
  return new Promise((resolve, reject) => {
    const done: VerifyDone<User> = (error, user) => (error ? reject(error) : resolve(user));
    const returned = options.passReqToCallback
      ? options.verify(req, phone, done)
      : (options.verify as VerifyPhone<User>)(phone, done);
    if (returned && typeof (returned as Promise<MaybeUser<User>>).then === "function") {
      (returned as Promise<MaybeUser<User>>).then(resolve, reject);
    }
  });
}

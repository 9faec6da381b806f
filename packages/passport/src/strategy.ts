import { assertPurpose, type Otp, type VerifyFailureDetail } from "@waotp/core";
import { Strategy as CustomStrategy } from "passport-custom";
import {
  type Decider,
  decide,
  failureInfo,
  type MaybeUser,
  type RequestLike,
  type VerifyDone,
  type WhatsAppOtpFailure,
} from "./outcome.js";

export type { VerifyDone, WhatsAppOtpFailure } from "./outcome.js";

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

/**
 * Passport strategy `whatsapp-otp`: reads the phone and code from the request body, verifies the
 * code with the core, and hands the verified phone to `verify` to find or create the user.
 *
 * Wrong, expired and exhausted codes are Passport failures with the status, code and message of
 * the core's HTTP contract: 400, or 429 with `Retry-After` for a lockout. A store or 1MSG outage,
 * or an error (or rejected promise) from `verify`, is a Passport error.
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
    if (options.purpose !== undefined) assertPurpose(options.purpose);
    const decider: Decider<User, Req> = {
      otp,
      phoneField: options.phoneField ?? "phone",
      codeField: options.codeField ?? "code",
      purpose: options.purpose,
      verifyFailures: options.verifyFailures,
      clientIp: options.clientIp ?? ((req) => req.ip),
      findUser: options.passReqToCallback
        ? (req, phone, done) => options.verify(req, phone, done)
        : (_req, phone, done) => (options.verify as VerifyPhone<User>)(phone, done),
    };

    super((req: unknown, done: (error: unknown, user?: unknown, info?: unknown) => void) => {
      const request = req as Req;
      decide(decider, request).then(
        (outcome) => {
          // Outside the promise chain's error path: a throw from Passport's callback is not a second done().
          try {
            if ("user" in outcome) return done(null, outcome.user);
            const { headers } = outcome.answer;
            for (const name in headers) request.res?.setHeader(name, headers[name] as string);
            done(null, false, failureInfo(outcome.answer));
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
    // passport-custom reports every failure as 401; ours carry the core's status (400, 429).
    // `this` is Passport's per-request copy of the strategy, so the override stays with this request.
    const self = this as unknown as { fail(challenge: unknown, status?: number): void };
    const fail = self.fail.bind(self);
    self.fail = (challenge, status) =>
      fail(challenge, status ?? (challenge as Partial<WhatsAppOtpFailure> | undefined)?.status);
    super.authenticate(req, options);
  }
}

type AuthenticateRequest = Parameters<InstanceType<typeof CustomStrategy>["authenticate"]>[0];

/** An error thrown by the app's own Passport callback: Express's next() if there is one, else uncaught. */
function reportLate(req: RequestLike, error: unknown): void {
  if (typeof req.next === "function") req.next(error);
  else
    setImmediate(() => {
      throw error;
    });
}

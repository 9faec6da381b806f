import {
  errorAnswer,
  type HttpAnswer,
  type HttpErrorCode,
  isOtpError,
  type Otp,
  thrownAnswer,
  type VerifyFailureDetail,
  verifyFailureAnswer,
} from "@waotp/core";

// What the strategy reads from a request: kept structural so no framework types leak in.
export interface RequestLike {
  body?: unknown;
  /** Express's client address (honours "trust proxy"). */
  ip?: string;
  res?: { setHeader(name: string, value: string): unknown };
  next?: (error?: unknown) => void;
}

/**
 * Why a sign-in failed, as Passport's `info` sees it: the core's HTTP contract (`HTTP_ERRORS`) for
 * the failure, with its safe fields (`attemptsLeft`, `retryAfter`, ...).
 */
export interface WhatsAppOtpFailure {
  /** The code: a verify reason (`INVALID_CODE`, ...), `INVALID_PHONE`, `INVALID_INPUT`, `USER_NOT_FOUND`, ... */
  reason: HttpErrorCode;
  message: string;
  /** The HTTP status the core gives the failure: 400, or 429 for a lockout. */
  status: number;
  attemptsLeft?: number;
  retryAfter?: number;
}

export type VerifyDone<User> = (error: unknown, user?: User | false | null) => void;

export type MaybeUser<User> = User | false | null | undefined;

/** What the strategy needs to decide a request; the public options are in `strategy.ts`. */
export interface Decider<User, Req> {
  otp: Otp;
  phoneField: string;
  codeField: string;
  purpose: string | undefined;
  verifyFailures: VerifyFailureDetail | undefined;
  clientIp: (req: Req) => string | undefined;
  /** The app's verify, called with `done` and settled by whichever of `done` or a promise comes first. */
  findUser: (req: Req, phone: string, done: VerifyDone<User>) => unknown;
}

export type Outcome<User> = { user: User } | { answer: HttpAnswer };

/**
 * Reads the phone and code, verifies them with the core, and finds the user. A failure a client
 * caused (a 4xx of the core's contract) is an outcome; anything else (store, 1MSG, the app's
 * verify) rejects, and becomes a Passport error.
 */
export async function decide<User, Req extends RequestLike>(
  decider: Decider<User, Req>,
  req: Req,
): Promise<Outcome<User>> {
  const body =
    typeof req.body === "object" && req.body !== null ? (req.body as Record<string, unknown>) : {};
  const phone = body[decider.phoneField];
  const code = body[decider.codeField];
  if (typeof phone !== "string" || typeof code !== "string") {
    return { answer: errorAnswer("INVALID_INPUT") };
  }
  let result: Awaited<ReturnType<Otp["verify"]>>;
  try {
    result = await decider.otp.verify({
      phone,
      code,
      ip: decider.clientIp(req) ?? null,
      ...(decider.purpose ? { purpose: decider.purpose } : {}),
    });
  } catch (error) {
    const answer = isOtpError(error) ? thrownAnswer(error) : undefined;
    if (answer !== undefined && answer.status < 500) return { answer };
    throw error;
  }
  if (!result.ok) return { answer: verifyFailureAnswer(result, decider.verifyFailures) };
  const user = await findUser(decider, req, result.phone);
  return user ? { user } : { answer: errorAnswer("USER_NOT_FOUND") };
}

/** Passport's `info` for a failure: the contract's code, message, status and fields. */
export function failureInfo(answer: HttpAnswer): WhatsAppOtpFailure {
  const { code, message, ...fields } = answer.body.error;
  return { reason: code, message, status: answer.status, ...fields };
}

function findUser<User, Req>(
  decider: Decider<User, Req>,
  req: Req,
  phone: string,
): Promise<MaybeUser<User>> {
  return new Promise((resolve, reject) => {
    const done: VerifyDone<User> = (error, user) => (error ? reject(error) : resolve(user));
    const returned = decider.findUser(req, phone, done);
    if (returned && typeof (returned as Promise<MaybeUser<User>>).then === "function") {
      (returned as Promise<MaybeUser<User>>).then(resolve, reject);
    }
  });
}

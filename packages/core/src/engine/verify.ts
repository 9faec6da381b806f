/**
 * The verify flow: one atomic attempt at the client's own code, or the phone's shared one, counted
 * in the phone's and the address's failure budgets; a match may make the client known to the phone.
 */
import { hashCode } from "../code.js";
import type { VerifyFailureReason } from "../error-codes.js";
import type { LimitName, PhoneEventFields } from "../events.js";
import type { VerifyInput, VerifyResult } from "../otp.js";
import { e164Digits, type Phone, parsePhone } from "../phone.js";
import type { AttemptResult, FailureBucket } from "../store/types.js";
import { type Engine, guard, phoneEvent, retryAfterSeconds } from "./context.js";
import { readClient, readCode, readGuesserIp, readObject, readPurpose } from "./input.js";
import { challengeKey, ipFailuresKey, phoneFailuresKey, sparedKey } from "./keys.js";
import { DAY_MS, isKnownClient, rememberClient } from "./known-clients.js";

/** Wrong guesses per known client and phone per day that a full budget lets through for its fresh codes. */
const SPARED_PER_DAY = 10;

export async function verify(engine: Engine, input: VerifyInput): Promise<VerifyResult> {
  const { config, store } = engine;
  const request = readObject(input, "verify");
  // A phone in E.164 form (what a send answers with) is looked up as written, and read in full only
  // when no record is kept under it: a code or a failure budget is only ever stored under a number
  // that was read and validated, so finding one proves the number valid and in its one form.
  const written = e164Digits(request.phone);
  let phone = written === undefined ? parsePhone(request.phone, config.defaultCountry) : undefined;
  const readPhone = (): Phone => {
    phone ??= parsePhone(request.phone, config.defaultCountry);
    return phone;
  };
  let purpose: string;
  let code: string;
  let ip: string | undefined;
  let client: string | undefined;
  let nextClient: string | undefined;
  try {
    purpose = readPurpose(config, request.purpose);
    code = readCode(request.code, config.codeLength);
    ip = readGuesserIp(config, request.ip);
    client = readClient(config, request.client);
    nextClient = request.nextClient === undefined ? client : readClient(config, request.nextClient);
  } catch (error) {
    // An invalid phone is told first, as when the phone is read first.
    readPhone();
    throw error;
  }
  const at = engine.now();
  let digits = phone?.digits ?? (written as string);
  let failures = failureBuckets(engine, digits, ip, false);
  let hash = hashCode(config.key, purpose, digits, code);
  let known: boolean | undefined;
  const attempt = async (key: string): Promise<AttemptResult> => {
    const judge = (spare: boolean) =>
      guard(() =>
        store.attempt({
          key,
          hash,
          now: at,
          failures: failureBuckets(engine, digits, ip, spare).map((f) => f.bucket),
        }),
      );
    const first = await judge(false);
    // A full phone or address budget still lets a client that signed in to this phone before
    // use a fresh code of its own: strangers filling them cannot lock the owner out. Wrong spared
    // guesses have a small budget of their own, so even a planted client id gains little.
    if (
      first.outcome !== "blocked" ||
      client === undefined ||
      !failures.some((f) => f.bucket.key === first.key)
    ) {
      return first;
    }
    known ??= await isKnownClient(engine, digits, client, at);
    if (!known) return first;
    // Checked before judging, counted only for a wrong guess: the owner's right ones are free.
    // Per known client: an old id someone kept cannot spend the budget of the owner's others.
    const spared = { key: sparedKey(digits, client), limit: SPARED_PER_DAY, windowMs: DAY_MS };
    const room = await guard(() => store.take([{ ...spared, peek: true }], at));
    if (!room.ok) return first;
    const second = await judge(true);
    if (second.outcome === "mismatch") await guard(() => store.take([spared], at));
    return second;
  };
  // A known client's code is bound to it; anyone else's is the phone's shared one.
  const judged = async (): Promise<AttemptResult> => {
    const own =
      client === undefined ? undefined : await attempt(challengeKey(purpose, digits, client));
    return own === undefined || own.outcome === "missing"
      ? attempt(challengeKey(purpose, digits))
      : own;
  };
  let result = await judged();
  // Nothing kept under the number as written (or only the address's budget spoke): read it in
  // full, which refuses an invalid number, and look again under its one form if that differs.
  if (phone === undefined && (result.outcome === "missing" || result.outcome === "blocked")) {
    digits = readPhone().digits;
    if (digits !== written) {
      failures = failureBuckets(engine, digits, ip, false);
      hash = hashCode(config.key, purpose, digits, code);
      known = undefined;
      result = await judged();
    }
  }
  const base = (): PhoneEventFields => phoneEvent(engine, readPhone(), purpose);
  const reject = (
    reason: VerifyFailureReason,
    extra: { attemptsLeft?: number; retryAfter?: number } = {},
  ) => {
    if (engine.observed) {
      engine.emit({ type: "rejected", at: new Date(at), ...base(), reason, ...extra });
    }
    return { ok: false as const, reason, ...extra };
  };
  switch (result.outcome) {
    case "match":
      if (nextClient !== undefined) {
        // A failure to remember must not fail a sign-in that succeeded.
        await rememberClient(engine, digits, client, nextClient, at).catch(() => {});
      }
      if (engine.observed) engine.emit({ type: "verified", at: new Date(at), ...base() });
      return { ok: true, phone: `+${digits}`, purpose };
    case "mismatch":
      return reject("INVALID_CODE", { attemptsLeft: result.attemptsLeft });
    case "locked":
      return reject("TOO_MANY_ATTEMPTS");
    case "blocked": {
      const retryAfter = retryAfterSeconds(result.retryAfterMs);
      const limit = failures.find((f) => f.bucket.key === result.key)?.limit ?? "phone_failures";
      if (engine.observed) {
        engine.emit({ type: "limited", at: new Date(at), ...base(), limit, retryAfter });
      }
      return reject("TOO_MANY_ATTEMPTS", { retryAfter });
    }
    case "expired":
      return reject("EXPIRED");
    case "missing":
      return reject("NO_PENDING_CODE");
  }
}

/**
 * The budgets a wrong guess counts in: the phone's, which with `spare` lets a fresh code take its
 * first guess even when full, and the guessing client's, which stops a client spreading guesses
 * over many phones.
 */
function failureBuckets(
  engine: Engine,
  digits: string,
  ip: string | undefined,
  spare: boolean,
): { bucket: FailureBucket; limit: LimitName }[] {
  const { failuresPerPhone, failuresPerIp } = engine.config;
  const buckets: { bucket: FailureBucket; limit: LimitName }[] = [];
  if (failuresPerPhone) {
    const { max, windowMs } = failuresPerPhone;
    buckets.push({
      bucket: { key: phoneFailuresKey(digits), limit: max, windowMs, sparesFirstGuess: spare },
      limit: "phone_failures",
    });
  }
  if (ip !== undefined && failuresPerIp) {
    const { max, windowMs } = failuresPerIp;
    buckets.push({
      bucket: { key: ipFailuresKey(ip), limit: max, windowMs, sparesFirstGuess: spare },
      limit: "ip_failures",
    });
  }
  return buckets;
}

import { newClientId, type Otp, verifyFailureAnswer } from "@waotp/core";
import { apiError, core } from "./api-error.js";
import type { WhatsappOtpOptions } from "./options.js";
import { browserOf, clientAddress, giveBrowserId, type RequestContext } from "./requester.js";

/** What every endpoint shares: the engines (once better-auth ran `init`) and the plugin's options. */
export interface Engine {
  otp(): Otp;
  /** How long sends take, so an answer that sent nothing can take as long (see `SendTiming`). */
  timing: SendTiming;
  options: WhatsappOtpOptions;
}

/**
 * Checks a code, and gives the browser a new id on success (one planted before never becomes
 * known). A failure is the core's answer; `field` names the request field the code came in.
 */
export async function verifyCode(
  engine: Engine,
  ctx: RequestContext,
  phoneNumber: string,
  code: string,
  purpose: string,
  field?: string,
): Promise<string> {
  const extra = field === undefined ? undefined : { field };
  const client = await browserOf(ctx);
  const nextClient = newClientId();
  const result = await core(
    () =>
      engine.otp().verify({
        phone: phoneNumber,
        code,
        purpose,
        ip: clientAddress(ctx),
        nextClient,
        ...(client === undefined ? {} : { client }),
      }),
    extra,
  );
  if (!result.ok) {
    throw apiError(verifyFailureAnswer(result, engine.options.verifyFailures), extra);
  }
  await giveBrowserId(ctx, nextClient);
  return result.phone;
}

/** Before a channel's first send, how long an answer that sent nothing takes. */
const FIRST_ESTIMATE_MS = 300;

/**
 * How long sends through each channel take, as a moving average of this instance's real sends, so
 * an answer that sent nothing (a number without an account) waits about as long as one that did.
 * A timing difference would tell who has an account; the send limits cap how many samples an
 * attacker gets for a number.
 */
export interface SendTiming {
  /** Notes a real send through `channel` that took `ms`. */
  record(channel: string, ms: number): void;
  /** Waits until about as long as a real send through `channel` has passed since `startedAt`. */
  pad(channel: string, startedAt: number): Promise<void>;
}

export function sendTiming(): SendTiming {
  const averages = new Map<string, number>();
  return {
    record(channel, ms) {
      const before = averages.get(channel);
      averages.set(channel, before === undefined ? ms : before * 0.8 + ms * 0.2);
    },
    async pad(channel, startedAt) {
      // Spread like real round trips, rather than one fixed delay an observer could spot.
      const target = (averages.get(channel) ?? FIRST_ESTIMATE_MS) * (0.85 + Math.random() * 0.3);
      const wait = target - (performance.now() - startedAt);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    },
  };
}

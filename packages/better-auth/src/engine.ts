import { newClientId, type Otp, verifyFailureAnswer } from "@waotp/core";
import { apiError, core } from "./api-error.js";
import type { WhatsappOtpOptions } from "./options.js";
import { browserOf, clientAddress, giveBrowserId, type RequestContext } from "./requester.js";

/** What every endpoint shares: the engine (once better-auth ran `init`) and the plugin's options. */
export interface Engine {
  otp(): Otp;
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
  const client = await browserOf(ctx, false);
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

/**
 * The app's `beforeSend` check: run after a send is read and before any of its limits count, its
 * refusal turned into `SEND_REFUSED` with a reason code, and any other outcome than "go on" or a
 * well-formed refusal into `BEFORE_SEND_FAILED`. Fails closed: no answer is no permission.
 */
import { OtpError } from "../errors.js";
import type { BeforeSendRequest } from "../options.js";
import type { Engine } from "./context.js";

/** A refusal's reason: a short code a client can switch on, never a sentence. */
const REASON = /^[a-z][a-z0-9_]{0,63}$/;

/** Runs the hook, if there is one; throws when it refuses or fails, returns when the send goes on. */
export async function checkBeforeSend(engine: Engine, request: BeforeSendRequest): Promise<void> {
  const hook = engine.config.beforeSend;
  if (hook === undefined) return;
  let answer: unknown;
  try {
    answer = await hook(request);
  } catch (cause) {
    throw new OtpError("BEFORE_SEND_FAILED", "beforeSend threw, so no code was sent.", { cause });
  }
  if (answer === undefined) return;
  const reason = (answer as { refuse?: unknown } | null)?.refuse;
  if (typeof reason === "string" && REASON.test(reason)) {
    throw new OtpError("SEND_REFUSED", "The request for a code was refused.", {
      details: { reason },
    });
  }
  throw new OtpError(
    "BEFORE_SEND_FAILED",
    "beforeSend must return nothing, or { refuse } with a code of a-z, 0-9 and _ (up to 64, starting with a letter); the send was refused.",
  );
}

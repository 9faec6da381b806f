import type { BetterAuthClientPlugin } from "better-auth/client";
import { WHATSAPP_OTP_ERROR_CODES } from "./error-codes.js";
import type { whatsappOtp } from "./plugin.js";

/** The paths after which the session may have changed: signed in, number changed, signed out. */
const SESSION_PATHS = new Set([
  "/whatsapp-otp/verify",
  "/whatsapp-otp/verify-phone",
  "/whatsapp-otp/reset-password",
]);

/**
 * The client half, typed from the server plugin: `authClient.whatsappOtp.send`, `.verify`,
 * `.verifyPhone`, `.requestPasswordReset`, `.resetPassword` and `.status`.
 */
export function whatsappOtpClient() {
  return {
    id: "whatsapp-otp",
    $InferServerPlugin: {} as ReturnType<typeof whatsappOtp>,
    atomListeners: [{ matcher: (path) => SESSION_PATHS.has(path), signal: "$sessionSignal" }],
    $ERROR_CODES: WHATSAPP_OTP_ERROR_CODES,
  } satisfies BetterAuthClientPlugin;
}

export { WHATSAPP_OTP_ERROR_CODES };

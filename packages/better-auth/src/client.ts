import type { BetterAuthClientPlugin } from "better-auth/client";
import { WHATSAPP_OTP_ERROR_CODES } from "./error-codes.js";
import type { whatsappOtp } from "./plugin.js";

/**
 * The client half: `authClient.whatsappOtp.send({ phoneNumber })` and
 * `authClient.whatsappOtp.verify({ phoneNumber, code })`, typed from the server plugin.
 */
export function whatsappOtpClient() {
  return {
    id: "whatsapp-otp",
    $InferServerPlugin: {} as ReturnType<typeof whatsappOtp>,
    atomListeners: [
      {
        matcher: (path) => path === "/whatsapp-otp/verify" || path === "/whatsapp-otp/verify-phone",
        signal: "$sessionSignal",
      },
    ],
    $ERROR_CODES: WHATSAPP_OTP_ERROR_CODES,
  } satisfies BetterAuthClientPlugin;
}

export { WHATSAPP_OTP_ERROR_CODES };

export { type ErrorBody, type ErrorHandlerOptions, otpErrorHandler, sendAnswer } from "./errors.js";
export { type OtpPluginOptions, waotp } from "./plugin.js";
export { type RequireOtpOptions, requireOtp } from "./require-otp.js";
export {
  type Verification,
  type VerifiedState,
  type VerifiedStateOptions,
  verifiedState,
} from "./verified-state.js";

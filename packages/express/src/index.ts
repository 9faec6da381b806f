export { type ErrorBody, type ErrorHandlerOptions, otpErrorHandler } from "./errors.js";
export { type RequireOtpOptions, requireOtp } from "./require-otp.js";
export { type OtpRouterOptions, otpRouter } from "./router.js";
export {
  type Verification,
  type VerifiedState,
  type VerifiedStateOptions,
  verifiedState,
} from "./verified-state.js";

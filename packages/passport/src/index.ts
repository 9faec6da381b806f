export {
  type VerifyDone,
  type VerifyPhone,
  type VerifyPhoneWithRequest,
  type WhatsAppOtpFailure,
  WhatsAppOtpStrategy,
  type WhatsAppOtpStrategyOptions,
  type WhatsAppOtpStrategyOptionsWithRequest,
} from "./strategy.js";

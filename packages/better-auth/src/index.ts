export { type DatabaseStoreOptions, databaseStore, type RecordAdapter } from "./db-store.js";
export { type RawErrorCode, WHATSAPP_OTP_ERROR_CODES } from "./error-codes.js";
export {
  type PhoneChange,
  type UserWithPhoneNumber,
  type WhatsappOtpOptions,
  type WhatsappOtpSchema,
  whatsappOtp,
} from "./plugin.js";
export { whatsappSendOTP } from "./send-otp.js";
export {
  TWO_FACTOR_MAX_DIGITS,
  TWO_FACTOR_MIN_DIGITS,
  TWO_FACTOR_PURPOSE,
  type TwoFactorOtpInput,
  type TwoFactorUser,
  WHATSAPP_TWO_FACTOR_ERROR_CODES,
  type WhatsappTwoFactorOtpOptions,
  whatsappTwoFactorOtp,
} from "./two-factor.js";

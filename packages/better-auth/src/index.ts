export { type DatabaseStoreOptions, databaseStore, type RecordAdapter } from "./db-store.js";
export { type RawErrorCode, WHATSAPP_OTP_ERROR_CODES } from "./error-codes.js";
export {
  type PhoneChange,
  type WhatsappOtpOptions,
  whatsappOtp,
} from "./plugin.js";
export { whatsappSendOTP } from "./send-otp.js";

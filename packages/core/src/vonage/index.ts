export { isUnreachable } from "../channel.js";
export type { RetryOptions } from "../provider-http.js";
export type { SmsText, SmsTextContext, SmsTextOptions } from "../sms-text.js";
export {
  VONAGE_BASE_URL,
  type VonageSmsChannel,
  type VonageSmsOptions,
  vonageSms,
} from "./channel.js";
export {
  readVonageEnv,
  type VonageEnv,
  type VonageEnvSettings,
  vonageOptionsFromEnv,
} from "./env.js";
export { VonageError, type VonageErrorFields, type VonageFailure } from "./errors.js";
export {
  isVonageSignatureMethod,
  type VerifyVonageSignatureOptions,
  VONAGE_SIGNATURE_METHODS,
  type VonageSignatureMethod,
  verifyVonageSignature,
  vonageSignature,
  vonageSigningString,
} from "./signature.js";
export { readVonageParams, readVonageReceipt, VONAGE_DLR_ERRORS } from "./webhook.js";

export { isUnreachable } from "../channel.js";
export type { RetryOptions } from "../provider-http.js";
export {
  DEFAULT_SMS_TEXT,
  type SmsText,
  type SmsTextContext,
  type SmsTextOptions,
} from "../sms-text.js";
export {
  type TwilioSmsChannel,
  type TwilioSmsOptions,
  twilioSms,
} from "./channel.js";
export {
  createTwilioClient,
  TWILIO_API_URL,
  type TwilioClient,
  type TwilioClientOptions,
  type TwilioRequest,
} from "./client.js";
export { TWILIO_ERROR_CODES } from "./codes.js";
export {
  readTwilioEnv,
  type TwilioEnv,
  type TwilioEnvSettings,
  twilioOptionsFromEnv,
} from "./env.js";
export {
  TwilioError,
  type TwilioErrorFields,
  type TwilioFailure,
} from "./errors.js";
export {
  TWILIO_SIGNATURE_HEADER,
  type TwilioParams,
  twilioSignature,
  type VerifyTwilioSignatureInput,
  verifyTwilioSignature,
} from "./signature.js";
export { readTwilioWebhook } from "./webhook.js";

export type { Channel, ChannelSendResult, OtpMessage } from "./channel.js";
export {
  assertWebhookSecret,
  constantTimeEqual,
  generateCode,
  hashCode,
  MIN_WEBHOOK_SECRET_LENGTH,
  type RandomInt,
  secretMatches,
} from "./code.js";
export {
  canAdvance,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  type DeliveryUpdate,
  isFailed,
  isFinal,
} from "./delivery-status.js";
export {
  ERROR_CODES,
  type ErrorCode,
  VERIFY_FAILURE_STATUS,
  type VerifyFailureReason,
} from "./error-codes.js";
export { isOtpError, OtpError, type OtpErrorOptions } from "./errors.js";
export type { LimitName, OnEvent, OtpEvent, OtpEventType } from "./events.js";
export { ipKey } from "./ip.js";
export {
  authenticationTemplateBody,
  type OneMsgChannel,
  type OneMsgOptions,
  type OneMsgTemplate,
  oneMsg,
} from "./one-msg/channel.js";
export {
  createOneMsgClient,
  DEFAULT_BASE_URL,
  type OneMsgClient,
  type OneMsgClientOptions,
  type RetryOptions,
} from "./one-msg/client.js";
export {
  type OneMsgEnv,
  type OneMsgEnvSettings,
  oneMsgOptionsFromEnv,
  readOneMsgEnv,
} from "./one-msg/env.js";
export { OneMsgError, type OneMsgFailure } from "./one-msg/errors.js";
export { readDeliveryEntry, readOneMsgWebhook } from "./one-msg/webhook.js";
export {
  addWebhook,
  getWebhooks,
  MAX_WEBHOOKS,
  removeWebhook,
  type WebhookChange,
  type WebhookEntry,
  WebhookListFullError,
} from "./one-msg/webhook-list.js";
export type {
  CodeOptions,
  DeliveryOptions,
  IpSendLimit,
  LimitOptions,
  OtpOptions,
  PhoneSendLimit,
  WindowLimit,
} from "./options.js";
export {
  createOtp,
  type Otp,
  type SendInput,
  type SendResult,
  type StatusOptions,
  type StatusResult,
  type VerifyInput,
  type VerifyResult,
  type WebhookResult,
} from "./otp.js";
export { type CountryCode, maskPhone, type Phone, parsePhone } from "./phone.js";
export {
  CLIENT_ID_MAX_AGE_SECONDS,
  isClientId,
  newClientId,
  type PublicVerifyFailure,
  publicStatus,
  publicVerifyFailure,
  type VerifyFailureDetail,
} from "./public.js";
export { type MemoryStore, type MemoryStoreOptions, memoryStore } from "./store/memory.js";
export type {
  AttemptInput,
  AttemptResult,
  Bucket,
  BucketState,
  ChallengeRecord,
  DeliveryRecord,
  FailureBucket,
  Store,
  TakeResult,
} from "./store/types.js";

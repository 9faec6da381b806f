export {
  CLIENT_COOKIE,
  type ClientIds,
  type CookieAccess,
  type CookieAttributes,
  clientCookie,
  clientIds,
  cookieAttributes,
  parseCookies,
  type RequestAccess,
  type Requester,
  readCookie,
  type SignedCookieState,
  type StepUpOptions,
  serializeCookie,
  signedCookieState,
  stepUpRule,
  type Verification,
  type VerifiedCookieOptions,
  type VerifiedCookies,
  verifiedCookies,
} from "./browser-state.js";
export {
  type Channel,
  type ChannelSendResult,
  isUnreachable,
  type OtpMessage,
  type WebhookRequest,
} from "./channel.js";
export type { RandomInt } from "./code.js";
export {
  assertPurpose,
  assertWebhookSecret,
  secretBytes,
  webhookSecretMatches,
} from "./config-rules.js";
export { type DeliveryStatus, type DeliveryUpdate, isFinal } from "./delivery-status.js";
export { ERROR_CODES, type ErrorCode, type VerifyFailureReason } from "./error-codes.js";
export { isOtpError, OtpError, type OtpErrorOptions } from "./errors.js";
export type { LimitName, OnEvent, OtpEvent, OtpEventType } from "./events.js";
export {
  acceptsBodyEncoding,
  DEFAULT_BODY_LIMIT,
  deliveryStatusAnswer,
  errorAnswer,
  flatHeaders,
  formFields,
  type HttpAnswer,
  type HttpErrorBody,
  type HttpOk,
  okAnswer,
  type PublicDeliveryStatus,
  thrownAnswer,
  verifyFailureAnswer,
  WEBHOOK_BODY_LIMIT,
  webhookBodyType,
} from "./http.js";
export { HTTP_ERRORS, type HttpErrorCode, type HttpErrorInfo } from "./http-errors.js";
export {
  type HttpSendContext,
  type OtpRoutes,
  otpRoutes,
  type RouteState,
  sendContext,
  type Verdict,
} from "./http-routes.js";
export { matchLocale, preferredLocale, requestLocale } from "./locale.js";
export {
  type ChannelMetrics,
  type ChannelPrices,
  type CostEstimate,
  type CountryMetrics,
  type Counts,
  createMetrics,
  type Metrics,
  type MetricsOptions,
  type MetricsSnapshot,
  type MinuteMetrics,
  OTHER,
  type PriceTable,
} from "./metrics.js";
export {
  authenticationTemplateBody,
  type OneMsgChannel,
  type OneMsgOptions,
  type OneMsgTemplate,
  oneMsg,
} from "./one-msg/channel.js";
export type { OneMsgClientOptions } from "./one-msg/client.js";
export { type OneMsgEnv, type OneMsgEnvSettings, oneMsgOptionsFromEnv } from "./one-msg/env.js";
export { OneMsgError, type OneMsgFailure } from "./one-msg/errors.js";
export {
  addWebhook,
  getWebhooks,
  removeWebhook,
  type WebhookChange,
  type WebhookEntry,
  WebhookListFullError,
} from "./one-msg/webhook-list.js";
export type {
  BeforeSend,
  BeforeSendAnswer,
  BeforeSendRequest,
  CodeOptions,
  CountrySendLimit,
  DeliveryOptions,
  FallbackOptions,
  FallbackReason,
  IpSendLimit,
  LimitOptions,
  OtpOptions,
  PhoneSendLimit,
  PrefixSendLimit,
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
export {
  type CountryCode,
  countryOf,
  maskPhone,
  NUMBER_TYPES,
  type NumberType,
  type Phone,
  parsePhone,
} from "./phone.js";
export type { RetryOptions } from "./provider-http.js";
export {
  CLIENT_ID_MAX_AGE_SECONDS,
  isClientId,
  newClientId,
  type VerifyFailureDetail,
} from "./public.js";
export { type MemoryStore, type MemoryStoreOptions, memoryStore } from "./store/memory.js";
// A store's parts and helpers are in `@waotp/core/store-kit`.
export type { Store } from "./store/types.js";
export {
  createTripwire,
  type Tripwire,
  type TripwireCounts,
  type TripwireOptions,
  type TripwireRefusal,
  type TripwireSend,
  type TripwireStatus,
  type TripwireTrip,
} from "./tripwire.js";

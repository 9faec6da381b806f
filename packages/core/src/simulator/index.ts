export { channelFromEnv, SMS_TEXT, type SmsChannelOptions } from "./channel-from-env.js";
export {
  createOneMsgFake,
  DEFAULT_TEMPLATE,
  FAILING_PHONES,
  type FakeFault,
  type FakeMessage,
  type FakeTemplate,
  ONEMSG_INBOX_WEBHOOK,
  type OneMsgFake,
  type OneMsgFakeOptions,
  TRANSLATED_TEMPLATES,
} from "./one-msg-fake.js";
export {
  type InboxMessage,
  isLoopbackHost,
  type OneMsgSimulator,
  type SimulatorOptions,
  startOneMsgSimulator,
} from "./server.js";
export {
  createTwilioFake,
  type FakeSms,
  type FakeSmsStatus,
  SIMULATOR_ACCOUNT_SID,
  type TwilioFake,
  type TwilioFakeOptions,
} from "./twilio-fake.js";

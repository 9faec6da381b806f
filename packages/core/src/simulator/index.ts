export { channelFromEnv } from "./channel-from-env.js";
export {
  createOneMsgFake,
  DEFAULT_TEMPLATE,
  type FakeFault,
  type FakeMessage,
  type FakeTemplate,
  ONEMSG_INBOX_WEBHOOK,
  type OneMsgFake,
  type OneMsgFakeOptions,
} from "./one-msg-fake.js";
export {
  isLoopbackHost,
  type OneMsgSimulator,
  type SimulatorOptions,
  startOneMsgSimulator,
} from "./server.js";

export {
  createTestChannel,
  type RecordedMessage,
  type TestChannel,
  type TestChannelOptions,
} from "./test-channel.js";

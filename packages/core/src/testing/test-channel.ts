import type { Channel, OtpMessage } from "../channel.js";
import { readOneMsgWebhook } from "../one-msg/webhook.js";

export interface RecordedMessage extends OtpMessage {
  messageId: string;
  sentAt: Date;
}

export interface TestChannel extends Channel {
  /** Every message the channel accepted, oldest first. */
  readonly messages: readonly RecordedMessage[];
  /** The newest code sent to a phone (digits or E.164), for tests that play the user. */
  lastCode(phone: string): string | undefined;
  /** Makes the next `count` sends throw `error` (default: one send, a generic failure). */
  failNext(error?: Error, count?: number): void;
  /** Forgets recorded messages and pending failures. */
  reset(): void;
}

export interface TestChannelOptions {
  /** Channel name shown in events. @default "test" */
  name?: string;
  /** What it stands for (`"sms"`), so `send({ channel })` can name it by kind. */
  kind?: string;
}

/**
 * A channel for tests and local development: it records what it was asked to send instead of
 * sending it, and reads delivery webhooks in 1MSG's format. Codes are kept in memory in plain text, so never use it in production.
 */
// Shared by every test channel, so two of them (a main one and a fallback) never give one id.
let counter = 0;

export function createTestChannel(options: TestChannelOptions = {}): TestChannel {
  const messages: RecordedMessage[] = [];
  const failures: Error[] = [];
  return {
    name: options.name ?? "test",
    ...(options.kind === undefined ? {} : { kind: options.kind }),
    messages,
    // Delivery webhooks in 1MSG's format, so tests can play 1MSG's acks against it.
    readWebhook: readOneMsgWebhook,
    async send(message) {
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      counter += 1;
      const messageId = `test.${Date.now().toString(36)}.${counter}`;
      messages.push({ ...message, messageId, sentAt: new Date() });
      return { messageId };
    },
    lastCode(phone) {
      const digits = phone.replace(/\D/g, "");
      return messages.findLast((m) => m.phone === digits)?.code;
    },
    failNext(error = new Error("test channel failure"), count = 1) {
      for (let i = 0; i < count; i++) failures.push(error);
    },
    reset() {
      messages.length = 0;
      failures.length = 0;
    },
  };
}

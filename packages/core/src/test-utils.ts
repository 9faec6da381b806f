import type { OtpEvent } from "./events.js";
import type { OtpOptions } from "./options.js";
import { createOtp } from "./otp.js";
import { memoryStore } from "./store/memory.js";
import type { Store } from "./store/types.js";
import { createTestChannel } from "./testing/test-channel.js";

export const SECRET = "test-secret-0123456789abcdef0123456789abcdef";
export const T0 = Date.UTC(2026, 0, 1);
/** Real, valid numbers: a San Francisco landline range and a London one. */
export const PHONE_US = "+14155550101";
export const PHONE_US_2 = "+14155550102";
export const PHONE_GB = "+442079460958";

/** An engine wired to a test channel, a memory store, a clock that only moves when told, and an event log. */
export function setup(options: Partial<OtpOptions> = {}) {
  let now = T0;
  const channel = createTestChannel();
  const store = (options.store ?? memoryStore()) as Store;
  const events: OtpEvent[] = [];
  const otp = createOtp({
    secret: SECRET,
    channel,
    store,
    now: () => now,
    onEvent: (event) => {
      events.push(event);
    },
    ...options,
  });
  return {
    otp,
    channel,
    store,
    events,
    advance(seconds: number) {
      now += seconds * 1000;
    },
    now: () => now,
    /** The code the channel was last asked to send to a phone. */
    code(phone: string): string {
      const code = channel.lastCode(phone);
      if (code === undefined) throw new Error(`no code was sent to ${phone}`);
      return code;
    },
  };
}

/** A code that differs from `code` in its last digit. */
export function wrong(code: string): string {
  const last = Number(code.at(-1));
  return `${code.slice(0, -1)}${(last + 1) % 10}`;
}

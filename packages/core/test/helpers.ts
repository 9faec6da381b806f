import { expect } from "vitest";
import type { OtpError } from "../src/errors.js";
import type { OtpEvent } from "../src/events.js";
import type { OtpOptions } from "../src/options.js";
import { createOtp } from "../src/otp.js";
import { memoryStore } from "../src/store/memory.js";
import type { Store } from "../src/store/types.js";
import { createTestChannel } from "../src/testing/test-channel.js";

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

/**
 * A day of an attacker against one phone: a send every 30 s from rotating IPv4 and IPv6 (one /64)
 * addresses and a fresh client id each time, across the given stores' instances, each followed by
 * three wrong guesses. With `owner`, the phone's owner (who signed in from their browser once
 * before the attack) also asks for a code every 30 s (between the attacker's tries) until one
 * arrives, signs in with it, and starts over an hour later; their longest wait is reported.
 */
export async function bruteForceDay(stores: Store[], options: { owner?: boolean } = {}) {
  // Several engines (instances) on the same store, as behind a load balancer.
  let now = Date.UTC(2026, 0, 1);
  const instances = stores.map((store) => setup({ store, now: () => now, random: () => 424242 }));
  let judged = 0;
  let sends = 0;
  let refusedSends = 0;
  let request = 0;
  const owner = {
    signIns: 0,
    longestWait: 0,
    askingSince: undefined as number | undefined,
    nextAt: now + 600_000, // ten minutes into the attack
  };
  const ownerPhone = instances[0] as (typeof instances)[number];
  const start = now;
  if (options.owner) {
    // The owner signed in from this browser before the attack began.
    const first = { phone: PHONE_US, ip: "198.51.100.77", client: "owner" };
    await ownerPhone.otp.send(first);
    await ownerPhone.otp.verify({
      ...first,
      code: ownerPhone.channel.messages.at(-1)?.code as string,
    });
    now += 60_000;
  }
  while (now - start < 86_400_000) {
    const instance = instances[request % instances.length] as (typeof instances)[number];
    const ip =
      request % 2
        ? `203.0.113.${request % 250}`
        : `2001:db8:abcd:12:${(request % 65_535).toString(16)}::1`;
    const client = `attacker-${request}`;
    request += 1;
    let fresh = false;
    try {
      await instance.otp.send({ phone: PHONE_US, ip, client });
      sends += 1;
      fresh = true;
    } catch (error) {
      refusedSends += 1;
      if ((error as OtpError).code !== "RATE_LIMITED") throw error;
    }
    // Guess until the code or the phone is shut, never the right code (424242).
    // Three guesses, then a new code: spreading guesses over codes is what the phone's budget stops.
    for (let guess = 0; fresh && guess < 3; guess++) {
      const result = await instance.otp.verify({
        phone: PHONE_US,
        code: String(100000 + guess),
        ip,
        client,
      });
      if (!result.ok && result.reason === "INVALID_CODE") judged += 1;
      else break;
    }
    now += 15_000;
    if (options.owner && now >= owner.nextAt) {
      // The owner, from their own phone's browser: asks, waits for the message, types it.
      owner.askingSince ??= now;
      const sent = await ownerPhone.otp
        .send({ phone: PHONE_US, ip: "198.51.100.77", client: "owner" })
        .then(
          () => true,
          () => false,
        );
      if (sent) {
        const code = ownerPhone.channel.messages.at(-1)?.code as string;
        const result = await ownerPhone.otp.verify({
          phone: PHONE_US,
          code,
          ip: "198.51.100.77",
          client: "owner",
        });
        if (result.ok) {
          owner.signIns += 1;
          owner.longestWait = Math.max(owner.longestWait, now - owner.askingSince);
          owner.askingSince = undefined;
          owner.nextAt = now + 3_600_000; // signs in again an hour later
        }
      }
    }
    now += 15_000; // a new try every 30 s, all day
  }
  return { judged, sends, refusedSends, requests: request, owner };
}

/** Prints what a day of brute force got. */
export function report(label: string, result: Awaited<ReturnType<typeof bruteForceDay>>) {
  const odds = result.judged / 1_000_000;
  console.log(
    `brute force, ${label}: ${result.judged} guesses judged in 24 h (budget 20; ${result.sends} codes sent, ${result.refusedSends} sends refused), odds of a 6-digit hit ${(odds * 100).toFixed(4)} % per day` +
      (result.owner.signIns > 0
        ? `; the owner signed in ${result.owner.signIns} times, longest wait ${Math.round(result.owner.longestWait / 1000)} s`
        : ""),
  );
}

/** What the phone's limits allow in a day, whatever the attacker does. */
export function expectBounded(result: Awaited<ReturnType<typeof bruteForceDay>>) {
  expect(result.judged).toBeLessThanOrEqual(20);
  expect(result.judged).toBeGreaterThan(0);
}

/**
 * A verify looks a phone in E.164 form up as written, and reads it in full only when nothing is kept
 * under it. Written the way an attacker would use that: other forms of the same number, numbers
 * that are not valid, a full address budget, and the events an app counts on.
 */
import { describe, expect, it } from "vitest";
import type { OtpEvent } from "./events.js";
import { createOtp } from "./otp.js";
import { memoryStore } from "./store/memory.js";
import { createTestChannel } from "./testing/test-channel.js";

const SECRET = "verify-as-written-secret-0123456789abcdef";
// A Brazilian mobile typed without its ninth digit, and the one form WhatsApp (and waotp) keys it by.
const OLD_FORM = "+551187654321";
const ONE_FORM = "+5511987654321";

function setup(options: { onEvent?: (event: OtpEvent) => void; failuresPerIp?: number } = {}) {
  const channel = createTestChannel();
  const otp = createOtp({
    secret: SECRET,
    channel,
    store: memoryStore(),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.failuresPerIp
      ? { limits: { failuresPerIp: { max: options.failuresPerIp, windowSeconds: 600 } } }
      : {}),
  });
  return { otp, channel };
}

const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

describe("verify with a phone as written", () => {
  it("finds the code of a number written in another E.164 form, under the number's one form", async () => {
    const { otp, channel } = setup();
    await otp.send({ phone: OLD_FORM });
    const code = channel.lastCode(ONE_FORM) as string;
    expect(await otp.verify({ phone: OLD_FORM, code })).toEqual({
      ok: true,
      phone: ONE_FORM,
      purpose: "login",
    });
  });

  it("counts wrong guesses through another form against the same code and budgets", async () => {
    const { otp, channel } = setup();
    await otp.send({ phone: ONE_FORM });
    const code = channel.lastCode(ONE_FORM) as string;
    for (let i = 0; i < 4; i++) {
      const phone = i % 2 === 0 ? OLD_FORM : ONE_FORM;
      expect(await otp.verify({ phone, code: wrong(code) })).toMatchObject({
        ok: false,
        reason: "INVALID_CODE",
        attemptsLeft: 4 - i,
      });
    }
    expect(await otp.verify({ phone: OLD_FORM, code: wrong(code) })).toMatchObject({
      reason: "INVALID_CODE",
      attemptsLeft: 0,
    });
    // The code took its five wrong guesses, whichever form they came through.
    expect(await otp.verify({ phone: ONE_FORM, code })).toMatchObject({
      ok: false,
      reason: "TOO_MANY_ATTEMPTS",
    });
  });

  it("refuses a number that is not valid as INVALID_PHONE, before a malformed code and when the address's budget is full", async () => {
    const { otp, channel } = setup({ failuresPerIp: 2 });
    const invalid = "+10000000000";
    await expect(otp.verify({ phone: invalid, code: "123456" })).rejects.toMatchObject({
      code: "INVALID_PHONE",
    });
    await expect(otp.verify({ phone: invalid, code: "12" })).rejects.toMatchObject({
      code: "INVALID_PHONE",
    });
    // Fill the address's failure budget with wrong guesses at a real code.
    await otp.send({ phone: ONE_FORM });
    const code = channel.lastCode(ONE_FORM) as string;
    for (let i = 0; i < 2; i++)
      await otp.verify({ phone: ONE_FORM, code: wrong(code), ip: "203.0.113.9" });
    expect(await otp.verify({ phone: ONE_FORM, code, ip: "203.0.113.9" })).toMatchObject({
      reason: "TOO_MANY_ATTEMPTS",
    });
    await expect(
      otp.verify({ phone: invalid, code: "123456", ip: "203.0.113.9" }),
    ).rejects.toMatchObject({ code: "INVALID_PHONE" });
  });

  it("answers a valid number with no code NO_PENDING_CODE, and its events carry the country", async () => {
    const events: OtpEvent[] = [];
    const { otp, channel } = setup({ onEvent: (event) => events.push(event) });
    expect(await otp.verify({ phone: "+14155550123", code: "123456" })).toMatchObject({
      reason: "NO_PENDING_CODE",
    });
    await otp.send({ phone: "+33612345678" });
    await otp.verify({ phone: "+33612345678", code: channel.lastCode("+33612345678") as string });
    expect(events.filter((e) => e.type !== "sent")).toMatchObject([
      { type: "rejected", phone: "+14*******23", country: "US", reason: "NO_PENDING_CODE" },
      { type: "verified", phone: "+33*******78", country: "FR", purpose: "login" },
    ]);
  });
});

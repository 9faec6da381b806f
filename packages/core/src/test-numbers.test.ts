import { afterEach, describe, expect, it, vi } from "vitest";
import { PHONE_US, setup, wrong } from "../test/helpers.js";
import { createTestChannel } from "./testing/test-channel.js";

const REVIEW = "+14155550199";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("test numbers", () => {
  it("store their fixed code and hand nothing to any channel, and the code verifies", async () => {
    const sms = createTestChannel({ name: "sms-test", kind: "sms" });
    const t = setup({
      testNumbers: { "+1 415 555 0199": "123456" },
      delivery: { fallback: sms },
    });
    const sent = await t.otp.send({ phone: "+1 (415) 555-0199" });
    expect(sent).toMatchObject({ phone: REVIEW, channel: "test" });
    // Even asked for by SMS, nothing goes out.
    t.advance(60);
    await t.otp.send({ phone: REVIEW, channel: "sms" });
    expect(t.channel.messages).toHaveLength(0);
    expect(sms.messages).toHaveLength(0);
    expect(await t.otp.status(sent.messageId)).toMatchObject({ status: "delivered" });
    expect(await t.otp.verify({ phone: REVIEW, code: "123456" })).toMatchObject({ ok: true });
    // Single use, as any code.
    expect(await t.otp.verify({ phone: REVIEW, code: "123456" })).toMatchObject({ ok: false });
    // Other numbers are sent to as usual.
    await t.otp.send({ phone: PHONE_US });
    expect(t.channel.messages).toHaveLength(1);
  });

  it("keep every limit: the send windows, and the guesses a code takes", async () => {
    const t = setup({ testNumbers: { [REVIEW]: "123456" } });
    await t.otp.send({ phone: REVIEW });
    await expect(t.otp.send({ phone: REVIEW })).rejects.toMatchObject({
      code: "RATE_LIMITED",
      details: { limit: "phone_cooldown" },
    });
    for (let i = 0; i < 5; i++) await t.otp.verify({ phone: REVIEW, code: wrong("123456") });
    // The code died after five wrong guesses: the right one does not revive it.
    expect(await t.otp.verify({ phone: REVIEW, code: "123456" })).toMatchObject({
      ok: false,
      reason: "TOO_MANY_ATTEMPTS",
    });
    // A new send stores the same fixed code afresh.
    t.advance(60);
    await t.otp.send({ phone: REVIEW });
    expect(await t.otp.verify({ phone: REVIEW, code: "123456" })).toMatchObject({ ok: true });
    expect(t.channel.messages).toHaveLength(0);
  });

  it("mark their events test: true", async () => {
    const t = setup({ testNumbers: { [REVIEW]: "123456" } });
    await t.otp.send({ phone: REVIEW });
    await t.otp.send({ phone: REVIEW }).catch(() => {});
    await t.otp.verify({ phone: REVIEW, code: "000000" });
    await t.otp.verify({ phone: REVIEW, code: "123456" });
    await t.otp.send({ phone: PHONE_US });
    const review = t.events.filter((e) => e.type !== "delivery" && e.phone === "+14*******99");
    expect(review.map((e) => e.type)).toEqual(["sent", "limited", "rejected", "verified"]);
    for (const event of review) expect(event).toMatchObject({ test: true, country: "US" });
    expect(t.events.at(-1)).not.toHaveProperty("test");
  });

  it("are exempt from the number type and country rules, as nothing is sent to them", async () => {
    // +1 500 numbers are personal numbers, refused by default.
    const t = setup({
      testNumbers: { "+15005550006": "123456" },
      limits: { countries: ["GB"] },
    });
    await t.otp.send({ phone: "+15005550006" });
    expect(await t.otp.verify({ phone: "+15005550006", code: "123456" })).toMatchObject({
      ok: true,
    });
    await expect(t.otp.send({ phone: "+15005550007" })).rejects.toMatchObject({
      code: "COUNTRY_NOT_ALLOWED",
    });
  });

  it("are refused at start-up in production, unless allowed there", () => {
    vi.stubEnv("NODE_ENV", "production");
    expect(() => setup({ testNumbers: { [REVIEW]: "123456" } })).toThrow(
      expect.objectContaining({
        code: "CONFIG_INVALID",
        message: expect.stringMatching(/allowTestNumbersInProduction/),
      }),
    );
    const t = setup({ testNumbers: { [REVIEW]: "123456" }, allowTestNumbersInProduction: true });
    expect(t.otp).toBeDefined();
  });

  it("must be valid numbers with codes of the configured length, each number once", () => {
    const bad: Record<string, string>[] = [
      { "+1 555 0199": "123456" },
      { [REVIEW]: "12345" },
      { [REVIEW]: "12345a" },
      { [REVIEW]: "123456", "+1 (415) 555-0199": "654321" },
    ];
    for (const testNumbers of bad) {
      expect(() => setup({ testNumbers }), JSON.stringify(testNumbers)).toThrow(
        expect.objectContaining({ code: "CONFIG_INVALID" }),
      );
    }
    expect(() =>
      setup({ code: { length: 8 }, testNumbers: { [REVIEW]: "12345678" } }),
    ).not.toThrow();
  });
});

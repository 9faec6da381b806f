/**
 * OTP pumping: someone makes the app send codes to numbers whose traffic pays them. Each
 * `describe` names an attack and the defence it runs into; each test fails with that defence gone.
 */
import { describe, expect, it } from "vitest";
import { PHONE_GB, PHONE_US, setup, wrong } from "../test/helpers.js";
import type { OtpEvent } from "./events.js";
import { parsePhone } from "./phone.js";
import { createTestChannel } from "./testing/test-channel.js";

/** Lets work the engine does after answering (a fallback after a webhook) finish. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** `count` valid US numbers in one range, +1 415 555 xxxx. */
function rangeOf(count: number, first = 1000): string[] {
  return Array.from({ length: count }, (_, i) => `+1415555${String(first + i).padStart(4, "0")}`);
}

/** A different client address for each send, so the per-IP window is never what refuses. */
const ipOf = (i: number) => `198.51.${Math.floor(i / 250)}.${(i % 250) + 1}`;

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (error: unknown) => error,
  );
}

describe("sending to premium-rate and other numbers no WhatsApp user holds", () => {
  // Premium-rate and shared-cost ranges pay their holder for the traffic they get. WhatsApp
  // refuses a number that has no account, and the SMS fallback then carries the code to it:
  // the message an attacker is paid for.
  const premium = ["+19002345678", "+449098790000"];

  it("uses numbers libphonenumber's full metadata calls premium-rate", () => {
    for (const phone of premium) expect(parsePhone(phone).type, phone).toBe("PREMIUM_RATE");
  });

  it("refuses premium-rate numbers with NUMBER_TYPE_NOT_ALLOWED, before any limit or channel", async () => {
    const sms = createTestChannel({ name: "sms-test", kind: "sms" });
    const t = setup({ delivery: { fallback: sms } });
    for (const phone of premium) {
      const error = await refusal(t.otp.send({ phone }));
      expect(error).toMatchObject({
        code: "NUMBER_TYPE_NOT_ALLOWED",
        status: 400,
        details: { numberType: "PREMIUM_RATE" },
      });
      // Nor by SMS on request.
      expect(await refusal(t.otp.send({ phone, channel: "sms" }))).toMatchObject({
        code: "NUMBER_TYPE_NOT_ALLOWED",
      });
    }
    expect(t.channel.messages).toHaveLength(0);
    expect(sms.messages).toHaveLength(0);
    // Each refusal is told, and nothing else happened.
    expect(
      t.events.every((e) => e.type === "refused" && e.code === "NUMBER_TYPE_NOT_ALLOWED"),
    ).toBe(true);
    expect(t.events.length).toBeGreaterThan(0);
    // Nothing was counted: an ordinary number still gets its code at once.
    await t.otp.send({ phone: PHONE_US });
    expect(t.channel.messages).toHaveLength(1);
  });

  it("refuses shared-cost, personal, pager, UAN and voicemail numbers by default", async () => {
    const t = setup();
    const refused = {
      "+34902123456": "SHARED_COST",
      "+447012345678": "PERSONAL_NUMBER",
      "+447640123456": "PAGER",
      "+445512345678": "UAN",
      "+4781212345": "VOICEMAIL",
      "+979123456789": "PREMIUM_RATE",
    };
    for (const [phone, numberType] of Object.entries(refused)) {
      expect(parsePhone(phone).type, phone).toBe(numberType);
      expect(await refusal(t.otp.send({ phone })), phone).toMatchObject({
        code: "NUMBER_TYPE_NOT_ALLOWED",
        details: { numberType },
      });
    }
    expect(t.channel.messages).toHaveLength(0);
  });

  it("sends to mobiles, landlines, numbers that may be either, VoIP and toll-free numbers", async () => {
    const t = setup({ limits: { sendsPerIp: false } });
    const allowed = {
      [PHONE_US]: "FIXED_LINE_OR_MOBILE",
      "+447911123456": "MOBILE",
      [PHONE_GB]: "FIXED_LINE",
      "+883510012345": "VOIP",
      "+18005551234": "TOLL_FREE",
    };
    for (const [phone, numberType] of Object.entries(allowed)) {
      expect(parsePhone(phone).type, phone).toBe(numberType);
      await t.otp.send({ phone });
    }
    expect(t.channel.messages).toHaveLength(5);
  });

  it("takes its own list, or false to send to any valid number", async () => {
    const own = setup({ limits: { refusedNumberTypes: ["TOLL_FREE"] } });
    expect(await refusal(own.otp.send({ phone: "+18005551234" }))).toMatchObject({
      code: "NUMBER_TYPE_NOT_ALLOWED",
      details: { numberType: "TOLL_FREE" },
    });
    await own.otp.send({ phone: "+19002345678" });
    const off = setup({ limits: { refusedNumberTypes: false } });
    await off.otp.send({ phone: "+19002345678" });
    expect(off.channel.messages).toHaveLength(1);
    expect(() => setup({ limits: { refusedNumberTypes: ["PREMIUM"] as never } })).toThrow(
      expect.objectContaining({
        code: "CONFIG_INVALID",
        message: expect.stringMatching(/PREMIUM/),
      }),
    );
  });

  it("answers the country allowlist first, and never judges a number it cannot read", async () => {
    const t = setup({ limits: { countries: ["US"] } });
    expect(await refusal(t.otp.send({ phone: "+449098790000" }))).toMatchObject({
      code: "COUNTRY_NOT_ALLOWED",
    });
    expect(await refusal(t.otp.send({ phone: "+1 900 12" }))).toMatchObject({
      code: "INVALID_PHONE",
    });
  });
});

describe("pumping one number range from many addresses", () => {
  // The attacker leases a range (+1 415 555 xxxx here) and asks for a code to each of its
  // numbers from a new address each time: no phone and no address ever fills its own window.

  it("stops at 100 sends per hour to one range (the calling code and the next 6 digits)", async () => {
    const t = setup();
    const phones = rangeOf(101);
    for (const [i, phone] of phones.slice(0, 100).entries()) {
      await t.otp.send({ phone, ip: ipOf(i) });
    }
    const error = await refusal(t.otp.send({ phone: phones[100] as string, ip: ipOf(100) }));
    expect(error).toMatchObject({
      code: "RATE_LIMITED",
      retryAfter: 3600,
      details: { limit: "prefix_window" },
      message: "Too many codes were sent to numbers like this one. Try again in 3600 s.",
    });
    expect(t.channel.messages).toHaveLength(100);
    expect(t.events.at(-1)).toMatchObject({ type: "limited", limit: "prefix_window" });
    // Another range of the same area code is another range.
    await t.otp.send({ phone: "+14155561000", ip: ipOf(101) });
    t.advance(3600);
    await t.otp.send({ phone: phones[100] as string, ip: ipOf(102) });
  });

  it("takes its own size, window and range length, or false", async () => {
    const t = setup({ limits: { sendsPerPrefix: { max: 2, windowSeconds: 60, digits: 3 } } });
    await t.otp.send({ phone: "+14155551000", ip: ipOf(1) });
    await t.otp.send({ phone: "+14159871000", ip: ipOf(2) });
    // +1 415 is the range now: a third number of the area code is refused for a minute.
    expect(await refusal(t.otp.send({ phone: "+14152221000", ip: ipOf(3) }))).toMatchObject({
      retryAfter: 60,
      details: { limit: "prefix_window" },
    });
    await t.otp.send({ phone: "+12125551234", ip: ipOf(4) });
    const off = setup({ limits: { sendsPerPrefix: false, sendsPerIp: false } });
    for (const phone of rangeOf(150)) await off.otp.send({ phone });
    expect(off.channel.messages).toHaveLength(150);
  });

  it("counts the fallback's messages too: by request, after a refusal and after a failure", async () => {
    const sms = createTestChannel({ name: "sms-test", kind: "sms" });
    const t = setup({
      limits: { sendsPerPrefix: { max: 3 } },
      delivery: { fallback: { channel: sms, sendsPerPhone: false } },
    });
    const [a, b, c, d] = rangeOf(4) as [string, string, string, string];
    // One by WhatsApp, then by SMS on request: two messages, two sends in the range.
    await t.otp.send({ phone: a, ip: ipOf(1) });
    await t.otp.send({ phone: b, ip: ipOf(2), channel: "sms" });
    // WhatsApp reports a message failed: the SMS that takes over is the third.
    const failed = await t.otp.send({ phone: c, ip: ipOf(3) });
    expect(await refusal(t.otp.send({ phone: d, ip: ipOf(4) }))).toMatchObject({
      details: { limit: "prefix_window" },
    });
    await t.otp.handleWebhook({ ack: [{ id: failed.messageId, status: "failed" }] });
    await settle();
    // The range was full: the takeover sent nothing.
    expect(sms.messages.map((m) => m.phone)).toEqual([b.slice(1)]);
    expect(t.events.filter((e) => e.type === "limited").at(-1)).toMatchObject({
      limit: "prefix_window",
    });
  });
});

describe("pumping one country through many ranges", () => {
  it("stops at 1000 sends per hour to one country, and leaves other countries alone", async () => {
    const t = setup({ limits: { sendsPerPrefix: false, sendsPerIp: false } });
    for (const phone of rangeOf(1000)) await t.otp.send({ phone });
    const error = await refusal(t.otp.send({ phone: "+12125551234" }));
    expect(error).toMatchObject({
      code: "RATE_LIMITED",
      details: { limit: "country_window" },
      message: "Too many codes were sent to numbers in this country. Try again in 3600 s.",
    });
    // Canada shares +1 with the US but is a country of its own.
    await t.otp.send({ phone: "+1 416 555 0123" });
    await t.otp.send({ phone: PHONE_GB });
    expect(t.channel.messages).toHaveLength(1002);
  });

  it("takes a cap per country (region or calling code), its own default, or false", async () => {
    const t = setup({
      limits: {
        sendsPerPrefix: false,
        sendsPerIp: false,
        sendsPerCountry: { max: 2, byCountry: { US: 3, "+44": 1 } },
      },
    });
    for (const phone of rangeOf(3)) await t.otp.send({ phone });
    expect(await refusal(t.otp.send({ phone: "+12125551234" }))).toMatchObject({
      details: { limit: "country_window" },
    });
    await t.otp.send({ phone: PHONE_GB });
    // Guernsey has the UK's calling code, and so its cap, in a window of its own.
    await t.otp.send({ phone: "+447911123456" });
    expect(await refusal(t.otp.send({ phone: "+442079460959" }))).toMatchObject({
      details: { limit: "country_window" },
    });
    await t.otp.send({ phone: "+33612345678" });
    await t.otp.send({ phone: "+33612345679" });
    expect(await refusal(t.otp.send({ phone: "+33612345670" }))).toMatchObject({
      details: { limit: "country_window" },
    });
    expect(() => setup({ limits: { sendsPerCountry: { byCountry: { Atlantis: 5 } } } })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID" }),
    );
    const off = setup({
      limits: { sendsPerCountry: false, sendsPerPrefix: false, sendsPerIp: false },
    });
    for (const phone of rangeOf(1001)) await off.otp.send({ phone });
    expect(off.channel.messages).toHaveLength(1001);
  });
});

describe("events name the country", () => {
  it("on every event about a phone: sent, send_failed, fallback, limited, rejected, verified", async () => {
    const sms = createTestChannel({ name: "sms-test", kind: "sms" });
    const t = setup({ delivery: { fallback: sms } });
    await t.otp.send({ phone: PHONE_US });
    await t.otp.send({ phone: PHONE_US }).catch(() => {});
    await t.otp.verify({ phone: PHONE_US, code: wrong(t.code(PHONE_US)) });
    await t.otp.verify({ phone: PHONE_US, code: t.code(PHONE_US) });
    t.channel.failNext();
    await t.otp.send({ phone: PHONE_GB }).catch(() => {});
    await t.otp.send({ phone: "+870773111632", channel: "sms" });
    const byType = (type: OtpEvent["type"]) => t.events.filter((e) => e.type === type);
    expect(byType("sent")).toMatchObject([{ country: "US" }]);
    expect(byType("limited")).toMatchObject([{ country: "US" }]);
    expect(byType("rejected")).toMatchObject([{ country: "US" }]);
    expect(byType("verified")).toMatchObject([{ country: "US" }]);
    expect(byType("send_failed")).toMatchObject([{ country: "GB" }]);
    // A number of no region (Inmarsat) is named by its calling code.
    expect(byType("fallback")).toMatchObject([{ country: "+870" }]);
    for (const event of t.events) {
      if (event.type !== "delivery") expect(typeof event.country).toBe("string");
    }
  });
});

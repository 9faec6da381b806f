import { describe, expect, it } from "vitest";
import { matchLocale, preferredLocale, readLocale } from "./locale.js";
import { createOtp } from "./otp.js";
import { createTestChannel } from "./testing/test-channel.js";

describe("locales", () => {
  it("match the same locale in either spelling, then its language, else nothing", () => {
    const available = ["en", "pt_BR", "es"];
    expect(matchLocale("pt-BR", available)).toBe("pt_BR");
    expect(matchLocale("PT_br", available)).toBe("pt_BR");
    expect(matchLocale("es-MX", available)).toBe("es");
    expect(matchLocale("pt-PT", ["pt", "pt_BR"])).toBe("pt");
    expect(matchLocale("de", available)).toBeUndefined();
    expect(matchLocale(undefined, available)).toBeUndefined();
    expect(matchLocale(" ", available)).toBeUndefined();
  });

  it("are language tags, or INVALID_INPUT", () => {
    expect(readLocale("zh-Hant-TW")).toBe("zh-Hant-TW");
    expect(readLocale(undefined)).toBeUndefined();
    for (const bad of ["", "e", "english!", "en-", "x".repeat(40), 42, "../etc", "en US"]) {
      expect(() => readLocale(bad)).toThrow(/`locale` must be a language tag/);
    }
  });

  it("reach the channel from a send, and a bad one sends nothing", async () => {
    const channel = createTestChannel();
    const otp = createOtp({ secret: "locale-test-secret-0123456789abcdef0123", channel });
    await otp.send({ phone: "+14155550101", locale: "pt-BR" });
    expect(channel.messages.at(-1)?.locale).toBe("pt-BR");
    await otp.send({ phone: "+14155550102" });
    expect(channel.messages.at(-1)).not.toHaveProperty("locale");
    await expect(otp.send({ phone: "+14155550103", locale: "pt BR" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    expect(channel.messages).toHaveLength(2);
  });
});

describe("preferredLocale", () => {
  it("takes the browser's most wanted language tag", () => {
    expect(preferredLocale("pt-BR,pt;q=0.9,en;q=0.8")).toBe("pt-BR");
    expect(preferredLocale("en;q=0.5, es-MX;q=0.9, fr")).toBe("fr");
    expect(preferredLocale("de;q=0.7,it;q=0.7")).toBe("de");
    expect(preferredLocale("*;q=1, ja;q=0.2")).toBe("ja");
    expect(preferredLocale("en;q=0, x!;q=1")).toBeUndefined();
    expect(preferredLocale("")).toBeUndefined();
    expect(preferredLocale(undefined)).toBeUndefined();
    expect(preferredLocale(`${"a,".repeat(300)}pt`)).toBeUndefined();
  });
});

import { describe, expect, it } from "vitest";
import { SECRET } from "../test/helpers.js";
import { OtpError } from "./errors.js";
import type { OtpOptions } from "./options.js";
import { createOtp } from "./otp.js";
import { createTestChannel } from "./testing/test-channel.js";

function configError(options: Partial<OtpOptions>): OtpError {
  try {
    createOtp({ secret: SECRET, channel: createTestChannel(), ...options } as OtpOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(OtpError);
    expect(error).toMatchObject({ code: "CONFIG_INVALID" });
    return error as OtpError;
  }
  throw new Error("expected CONFIG_INVALID");
}

describe("createOtp options", () => {
  it("requires a secret of at least 32 bytes and says how to make one", () => {
    expect(configError({ secret: undefined }).message).toMatch(
      /`secret` is required.*openssl rand -hex 32/,
    );
    expect(configError({ secret: "" }).message).toMatch(/required/);
    expect(configError({ secret: "x".repeat(31) }).message).toMatch(
      /too short: 31 bytes, at least 32/,
    );
    expect(configError({ secret: new Uint8Array(16) }).message).toMatch(/16 bytes/);
    expect(configError({ secret: 42 as never }).message).toMatch(/string or a Uint8Array/);
    expect(() =>
      createOtp({ secret: new Uint8Array(32), channel: createTestChannel() }),
    ).not.toThrow();
  });

  it("never repeats the secret in the error", () => {
    const short = "short-secret-value";
    expect(configError({ secret: short }).message).not.toContain(short);
  });

  it("requires a channel", () => {
    expect(configError({ channel: undefined }).message).toMatch(
      /`channel` is required: pass oneMsg/,
    );
    expect(configError({ channel: {} as never }).message).toMatch(/channel/);
  });

  it("takes code lengths from 4 to 10 only", () => {
    expect(configError({ code: { length: 3 } }).message).toMatch(
      /`code.length` must be a whole number from 4 to 10; got 3/,
    );
    expect(configError({ code: { length: 11 } }).message).toMatch(/got 11/);
    expect(configError({ code: { length: 6.5 } }).message).toMatch(/got 6.5/);
    expect(() =>
      createOtp({ secret: SECRET, channel: createTestChannel(), code: { length: 4 } }),
    ).not.toThrow();
    expect(() =>
      createOtp({ secret: SECRET, channel: createTestChannel(), code: { length: 10 } }),
    ).not.toThrow();
  });

  it("takes lifetimes up to 600 s only", () => {
    expect(configError({ code: { ttlSeconds: 601 } }).message).toMatch(
      /`code.ttlSeconds` must be a whole number from 30 to 600; got 601/,
    );
    expect(configError({ code: { ttlSeconds: 10 } }).message).toMatch(/got 10/);
    expect(() =>
      createOtp({ secret: SECRET, channel: createTestChannel(), code: { ttlSeconds: 600 } }),
    ).not.toThrow();
  });

  it("checks every limit", () => {
    expect(configError({ limits: { attemptsPerCode: 0 } }).message).toMatch(/attemptsPerCode/);
    expect(configError({ limits: { sendsPerPhone: { max: -1 } } }).message).toMatch(
      /sendsPerPhone.max/,
    );
    expect(configError({ limits: { sendsPerPhone: { cooldownSeconds: -5 } } }).message).toMatch(
      /cooldownSeconds/,
    );
    expect(configError({ limits: { sendsPerIp: { windowSeconds: 0 } } }).message).toMatch(
      /sendsPerIp.windowSeconds/,
    );
    expect(configError({ limits: { sendsPerIp: { ipv6PrefixLength: 8 } } }).message).toMatch(
      /ipv6PrefixLength/,
    );
    expect(configError({ limits: { failuresPerPhone: { max: "20" as never } } }).message).toMatch(
      /failuresPerPhone.max/,
    );
    expect(configError({ limits: { globalSends: {} } }).message).toMatch(
      /globalSends.max` is required/,
    );
  });

  it("checks the country settings", () => {
    expect(configError({ limits: { countries: [] } }).message).toMatch(/non-empty/);
    expect(configError({ limits: { countries: ["US", "Narnia"] } }).message).toMatch(/"Narnia"/);
    expect(configError({ limits: { countries: ["+999"] } }).message).toMatch(/"\+999"/);
    expect(configError({ defaultCountry: "XX" as never }).message).toMatch(/defaultCountry/);
    expect(configError({ defaultPurpose: "log in" }).message).toMatch(/defaultPurpose/);
  });

  it("refuses no options at all with a hint", () => {
    expect(() => createOtp(undefined as never)).toThrow(/needs an options object/);
  });
});

import { describe, expect, it } from "vitest";
import { constantTimeEqual, generateCode, hashCode, secretMatches } from "./code.js";

const KEY = Buffer.alloc(32, 7);

describe("generateCode", () => {
  it("zero-pads to the length", () => {
    expect(generateCode(6, () => 0)).toBe("000000");
    expect(generateCode(6, () => 999_999)).toBe("999999");
    expect(generateCode(4, () => 7)).toBe("0007");
  });

  it("refuses a random source that leaves the range", () => {
    expect(() => generateCode(6, () => 1_000_000)).toThrow(RangeError);
    expect(() => generateCode(6, () => -1)).toThrow(RangeError);
    expect(() => generateCode(6, () => 1.5)).toThrow(RangeError);
  });
});

describe("hashCode", () => {
  it("changes with each of key, purpose, phone and code", () => {
    const base = hashCode(KEY, "login", "14155550101", "123456");
    expect(hashCode(KEY, "login", "14155550101", "123456")).toBe(base);
    expect(hashCode(Buffer.alloc(32, 8), "login", "14155550101", "123456")).not.toBe(base);
    expect(hashCode(KEY, "step-up", "14155550101", "123456")).not.toBe(base);
    expect(hashCode(KEY, "login", "14155550102", "123456")).not.toBe(base);
    expect(hashCode(KEY, "login", "14155550101", "123457")).not.toBe(base);
  });

  it("cannot be confused by moving characters between fields", () => {
    expect(hashCode(KEY, "a", "1", "23")).not.toBe(hashCode(KEY, "a1", "", "23"));
  });
});

describe("constantTimeEqual", () => {
  it("compares content and length", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });
});

describe("the runtime", () => {
  it("is the Node major the test command asked for (24 in its second run)", () => {
    const major = process.versions.node.split(".")[0];
    expect(major).toBe(process.env.WAOTP_NODE_VERSION_CHECK ?? major);
    expect(Number(major)).toBeGreaterThanOrEqual(20);
  });
});

describe("secretMatches", () => {
  it("matches only the same secret, whatever the lengths", () => {
    expect(secretMatches("hook-secret-0123456789", "hook-secret-0123456789")).toBe(true);
    expect(secretMatches("hook-secret-0123456788", "hook-secret-0123456789")).toBe(false);
    expect(secretMatches("", "hook-secret-0123456789")).toBe(false);
    expect(secretMatches("hook-secret-0123456789-and-more", "hook-secret-0123456789")).toBe(false);
  });
});

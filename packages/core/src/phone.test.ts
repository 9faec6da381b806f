import { describe, expect, it } from "vitest";
import { ipKey } from "./ip.js";
import { type CountryCode, maskPhone, parsePhone } from "./phone.js";

describe("parsePhone", () => {
  it.each([
    ["+1 (415) 555-0101", undefined, "+14155550101"],
    ["+14155550101", undefined, "+14155550101"],
    ["  +1.415.555.0101  ", undefined, "+14155550101"],
    ["00 44 20 7946 0958", undefined, "+442079460958"],
    ["0044 20 7946 0958", undefined, "+442079460958"],
    ["(415) 555-0101", "US", "+14155550101"],
    ["020 7946 0958", "GB", "+442079460958"],
    ["011 44 20 7946 0958", "US", "+442079460958"],
    ["+49 30 901820", "GB", "+4930901820"],
    ["+91 98765 43210", undefined, "+919876543210"],
    // Bare international digits, as 1MSG takes phones and apps store them.
    ["14155550101", undefined, "+14155550101"],
    ["442079460958", undefined, "+442079460958"],
    [" 919876543210 ", undefined, "+919876543210"],
    // With a default country, bare digits are national first, international otherwise.
    ["4155550101", "US", "+14155550101"],
    ["14155550101", "US", "+14155550101"],
    ["14155550101", "GB", "+14155550101"],
    ["442079460958", "US", "+442079460958"],
    ["02079460958", "GB", "+442079460958"],
  ] as const)("reads %j (default %s) as %s", (input, country, e164) => {
    const phone = parsePhone(input, country);
    expect(phone.e164).toBe(e164);
    expect(phone.digits).toBe(e164.slice(1));
  });

  it("knows the calling code and region", () => {
    expect(parsePhone("+1 416 555 0123")).toMatchObject({ callingCode: "1", country: "CA" });
    expect(parsePhone("+442079460958")).toMatchObject({ callingCode: "44", country: "GB" });
  });

  it.each([
    "+1 555 123 4567",
    "+44 7700 900123",
    "(415) 555-0101",
    "+1 415 555 0101 ext 5",
    "+1415555010199",
    "tel:+14155550101",
    "+1 415 555 0101 abc",
    // Bare digits that are no number in any reading; formatted ones need a + or a default country.
    "4155550101",
    "15551234567",
    "1 415 555 0101",
    "++14155550101",
    "0",
    "",
    " ",
    `+${"1".repeat(100)}`,
    "+1\u0000415",
  ])("refuses %j with INVALID_PHONE", (input) => {
    expect(() => parsePhone(input)).toThrow(expect.objectContaining({ code: "INVALID_PHONE" }));
  });

  it.each([14155550101, null, undefined, {}, ["+14155550101"]])(
    "refuses the non-string %j",
    (input) => {
      expect(() => parsePhone(input)).toThrow(expect.objectContaining({ code: "INVALID_PHONE" }));
    },
  );
});

describe("parsePhone: one handset, one key", () => {
  // Each row: ways people type one handset, and the one form WhatsApp knows it by.
  it.each([
    [
      "a São Paulo mobile, 9-digit and pre-2016 8-digit",
      "+5511987654321",
      [
        ["+55 11 98765-4321"],
        ["+55 11 8765-4321"],
        ["5511987654321"],
        ["551187654321"],
        ["(11) 98765-4321", "BR"],
        ["(11) 8765-4321", "BR"],
        ["011 8765-4321", "BR"],
        ["1187654321", "BR"],
      ],
    ],
    [
      "a Rio mobile whose old form starts with 6",
      "+5521961234567",
      [["+55 21 96123-4567"], ["+55 21 6123-4567"]],
    ],
    ["a Brasília mobile", "+5561981234567", [["+55 61 98123-4567"], ["+55 61 8123-4567"]]],
    [
      "a Buenos Aires mobile, with and without the 9, national with 0 and 15",
      "+5491123456789",
      [
        ["+54 9 11 2345-6789"],
        ["+54 11 2345-6789"],
        ["+54 11 15 2345-6789"],
        ["+54 9 11 15 2345-6789"],
        ["5491123456789"],
        ["541123456789"],
        ["011 15 2345-6789", "AR"],
        ["11 15 2345-6789", "AR"],
        ["011 2345-6789", "AR"],
        ["9 11 2345 6789", "AR"],
      ],
    ],
    [
      "a Córdoba mobile",
      "+5493512345678",
      [["+54 9 351 234-5678"], ["+54 351 234-5678"], ["0351 15 234-5678", "AR"]],
    ],
  ] as const)("reads every form of %s as %s", (_, e164, forms) => {
    for (const [input, country] of forms) {
      expect(parsePhone(input, country as CountryCode | undefined), input).toMatchObject({
        e164,
        digits: e164.slice(1),
      });
    }
  });

  it.each([
    // Brazilian landlines kept 8 digits (they start 2-5): no 9.
    ["+55 11 3456-7890", "+551134567890"],
    ["+55 11 2345-6789", "+551123456789"],
    ["+55 11 5765-4321", "+551157654321"],
    // 8-digit trunked-radio mobiles kept 8 digits too, and are their own lines.
    ["+55 11 7765-4321", "+551177654321"],
    // Other countries as they were.
    ["+1 415 555 0101", "+14155550101"],
    ["+44 20 7946 0958", "+442079460958"],
    ["+49 30 901820", "+4930901820"],
    ["+91 98765 43210", "+919876543210"],
  ])("leaves %j as %s", (input, e164) => {
    expect(parsePhone(input).e164).toBe(e164);
  });

  it.each([
    // Number ranges never handed out, which lengths alone (the default metadata) let through.
    "+49 199 0340393",
    "+34 751 456 058",
    "+33 4 01 15 04 21",
    // Too short or too long for a Brazilian or Argentine number in any form.
    "+55 11 8765-432",
    "+55 11 98765-43210",
    "+55 11 1234-5678",
    "+54 9 11 2345-678",
    "+54 9 11 15 2345-678",
  ])("refuses %j with INVALID_PHONE (full metadata)", (input) => {
    expect(() => parsePhone(input)).toThrow(expect.objectContaining({ code: "INVALID_PHONE" }));
  });
});

describe("maskPhone", () => {
  it("keeps only the first two and the last two digits", () => {
    expect(maskPhone("+14155550101")).toBe("+14*******01");
    expect(maskPhone("442079460958")).toBe("+44********58");
    expect(maskPhone("123")).toBe("+***");
  });
});

describe("ipKey", () => {
  it("keeps IPv4 addresses as they are, and unwraps IPv4-mapped IPv6", () => {
    expect(ipKey("203.0.113.9")).toBe("203.0.113.9");
    expect(ipKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(ipKey("::ffff:cb00:7109")).toBe("203.0.113.9");
  });

  it("groups IPv6 addresses by their /64", () => {
    expect(ipKey("2001:db8:1234:5678:abcd::1")).toBe("2001:db8:1234:5678::/64");
    expect(ipKey("2001:DB8:1234:5678:ffff:ffff:ffff:ffff")).toBe("2001:db8:1234:5678::/64");
    expect(ipKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(ipKey("::1")).toBe("0:0:0:0::/64");
    expect(ipKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });

  it("groups by other prefixes on request", () => {
    expect(ipKey("2001:db8:1234:5678::1", 48)).toBe("2001:db8:1234::/48");
    expect(ipKey("2001:db8:12ff:5678::1", 40)).toBe("2001:db8:1200::/40");
    expect(ipKey("2001:db8:1234:5678:9:a:b:c", 128)).toBe("2001:db8:1234:5678:9:a:b:c::/128");
  });

  it.each(["", "localhost", "999.1.1.1", "2001:db8::g", "1.2.3"])("refuses %j", (ip) => {
    expect(() => ipKey(ip)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
  });
});

describe("parsePhone's memory of numbers it read", () => {
  it("answers the same text from memory, apart per default country, and never an invalid one", () => {
    const first = parsePhone("(415) 555-0101", "US");
    expect(parsePhone("(415) 555-0101", "US")).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    // The same digits read in another country are another number.
    expect(parsePhone("4155550101", "US").e164).toBe("+14155550101");
    expect(() => parsePhone("(415) 555-0101")).toThrow(/valid/i);
    // Read from text, not from memory: a bare number read with a default country first.
    expect(parsePhone("14155550101", "GB").e164).toBe("+14155550101");
    expect(parsePhone("14155550101").e164).toBe("+14155550101");
    expect(() => parsePhone("+1 555 123 4567")).toThrow();
    expect(() => parsePhone("+1 555 123 4567")).toThrow();
  });
});

/**
 * Property-based tests: every input surface of the core, fed arbitrary values. Shrunk
 * edge cases are kept below as plain cases.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { PHONE_US, setup } from "../test/helpers.js";
import { canAdvance, DELIVERY_STATUSES, type DeliveryStatus } from "./delivery-status.js";
import { isOtpError } from "./errors.js";
import { ipKey } from "./ip.js";
import { parsePhone } from "./phone.js";

const RUNS = Number(process.env.WAOTP_PROPERTY_RUNS ?? 1000);
// Thousands of inputs per property: time for a busy 2-core machine.
vi.setConfig({ testTimeout: 60_000 });

/** Typed-looking strings: digits, separators and a few letters, as people and attackers type. */
const phoneLike = fc.stringMatching(/^[+0-9 ()\-./a-z\u0660-\u0669]{0,40}$/);

describe("phone parsing", () => {
  it("accepts or throws INVALID_PHONE, nothing else, for any string or value", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "binary" }), phoneLike, fc.anything()),
        (input) => {
          try {
            const phone = parsePhone(input);
            expect(phone.e164).toMatch(/^\+[1-9]\d{6,14}$/);
            expect(phone.digits).toBe(phone.e164.slice(1));
          } catch (error) {
            expect(isOtpError(error) && error.code).toBe("INVALID_PHONE");
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("is stable: a parsed number parses to itself", () => {
    fc.assert(
      fc.property(phoneLike, (input) => {
        let first: string;
        try {
          first = parsePhone(input).e164;
        } catch {
          return;
        }
        expect(parsePhone(first).e164).toBe(first);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe("IP keys", () => {
  it("group any IPv6 address by its /64 and never throw anything but INVALID_INPUT", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV6(), fc.ipV4(), fc.ipV4Extended(), fc.string()), (ip) => {
        try {
          const key = ipKey(ip);
          expect(key.length).toBeGreaterThan(0);
        } catch (error) {
          expect(isOtpError(error) && error.code).toBe("INVALID_INPUT");
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe("IPv6 grouping", () => {
  it("gives every address in one /64 the same key, and the next /64 another", () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    const hex = (groups: number[]) => groups.map((n) => n.toString(16)).join(":");
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.array(group, { minLength: 4, maxLength: 4 }),
        (address, tail) => {
          const key = ipKey(hex(address));
          expect(ipKey(hex([...address.slice(0, 4), ...tail]))).toBe(key);
          const next = [...address];
          next[3] = ((next[3] as number) + 1) % 0x10000;
          expect(ipKey(hex(next))).not.toBe(key);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("codes", () => {
  it("let only the right code through, whatever is typed", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.stringMatching(/^\d{6}$/),
          fc.constantFrom("123456", " 123 456 ", "123-456"),
          fc.anything(),
        ),
        async (guess) => {
          const t = setup({
            random: () => 123456,
            limits: { failuresPerPhone: false, attemptsPerCode: 100 },
          });
          await t.otp.send({ phone: PHONE_US });
          try {
            const result = await t.otp.verify({ phone: PHONE_US, code: guess as string });
            const typed = typeof guess === "string" ? guess.replace(/[\s-]/g, "") : "";
            expect(result.ok).toBe(typed === "123456");
          } catch (error) {
            expect(isOtpError(error) && error.code).toBe("INVALID_INPUT");
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("webhook payloads", () => {
  it("never throw for any JSON object, and never move a message backwards", async () => {
    const statuses = fc.constantFrom(
      ...DELIVERY_STATUSES.filter((s) => s !== "accepted"),
      "viewed",
      "queued",
      "",
    );
    const entry = fc.oneof(
      fc.record({ id: fc.constant("MSG"), status: statuses, error: fc.option(fc.string()) }),
      fc.anything(),
    );
    const payload = fc.oneof(
      fc.record({
        ack: fc.array(entry, { maxLength: 8 }),
        hooks: fc.option(fc.array(entry, { maxLength: 4 })),
      }),
      fc.dictionary(fc.string(), fc.jsonValue()),
    );
    const rank: Record<DeliveryStatus, number> = {
      accepted: 0,
      sent: 1,
      delivered: 2,
      read: 3,
      failed: 9,
      undelivered: 9,
    };
    await fc.assert(
      fc.asyncProperty(fc.array(payload, { maxLength: 6 }), async (bodies) => {
        const t = setup();
        const { messageId } = await t.otp.send({ phone: PHONE_US });
        let last: DeliveryStatus = "accepted";
        for (const body of bodies) {
          const patched = JSON.parse(
            JSON.stringify(body).replaceAll('"MSG"', JSON.stringify(messageId)),
          );
          await t.otp.handleWebhook(patched);
          const now = (await t.otp.status(messageId))?.status as DeliveryStatus;
          // Either unchanged, or a move the rules allow.
          expect(now === last || canAdvance(last, now)).toBe(true);
          if (rank[last] === 9) expect(now).toBe(last);
          last = now;
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("refuse anything but a JSON object with WEBHOOK_INVALID only", async () => {
    const t = setup();
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.string(), fc.jsonValue()), async (body) => {
        try {
          await t.otp.handleWebhook(body);
        } catch (error) {
          expect(isOtpError(error) && error.code).toBe("WEBHOOK_INVALID");
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe("edge cases kept as plain cases", () => {
  it.each(["+", "00", "0 0", "+0", "٣٣٣", "+1 (", "00+1415"])(
    "parses %j without a stray throw",
    (input) => {
      expect(() => parsePhone(input)).toThrow(expect.objectContaining({ code: "INVALID_PHONE" }));
    },
  );
});

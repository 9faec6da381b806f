import { beforeEach, describe, expect, it, vi } from "vitest";

// Spies on node:crypto, to show which primitives the defaults really use.
const calls = vi.hoisted(() => ({ randomInt: [] as unknown[][], timingSafeEqual: 0 }));
vi.mock("node:crypto", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:crypto")>();
  return {
    ...original,
    randomInt: (...args: [number, number]) => {
      calls.randomInt.push(args);
      return original.randomInt(...args);
    },
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.timingSafeEqual += 1;
      return original.timingSafeEqual(a, b);
    },
  };
});

const { constantTimeEqual } = await import("./code.js");
const { PHONE_US, setup, wrong } = await import("../test/helpers.js");

beforeEach(() => {
  calls.randomInt.length = 0;
  calls.timingSafeEqual = 0;
});

describe("default primitives", () => {
  it("draws each code with crypto.randomInt over the whole range", async () => {
    const t = setup({ random: undefined, code: { length: 8 } });
    await t.otp.send({ phone: PHONE_US });
    expect(calls.randomInt).toEqual([[0, 100_000_000]]);
  });

  it("compares hashes with crypto.timingSafeEqual, after a length check", async () => {
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(calls.timingSafeEqual).toBe(0);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(calls.timingSafeEqual).toBe(1);

    const t = setup();
    await t.otp.send({ phone: PHONE_US });
    calls.timingSafeEqual = 0;
    await t.otp.verify({ phone: PHONE_US, code: wrong(t.code(PHONE_US)) });
    expect(calls.timingSafeEqual).toBe(1);
  });
});

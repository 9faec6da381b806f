/**
 * An attacker who rotates guesses across codes (resends), client ids, IPv4 addresses and IPv6
 * addresses in one /64, for a day, against one phone: the guesses judged never exceed the phone's
 * budget (20 per 24 h). The owner, whose browser signed in before, still signs in every time: the
 * full budget spares only a fresh code's first guess for a client the phone knows.
 */
import { describe, expect, it } from "vitest";
import { bruteForceDay as attack, expectBounded, report } from "../test/helpers.js";
import { memoryStore } from "./store/memory.js";

describe("a day of brute force against one phone", () => {
  it("gets at most 20 guesses judged, however it spreads them", async () => {
    const result = await attack([memoryStore()]);
    report("one instance", result);
    expectBounded(result);
  });

  it("gets no more across instances that share a store", async () => {
    const shared = memoryStore();
    const result = await attack([shared, shared]);
    report("two instances", result);
    expectBounded(result);
  });

  it("never locks the owner out: they sign in every hour, within minutes of asking", async () => {
    const result = await attack([memoryStore()], { owner: true });
    report("with the owner signing in", result);
    expectBounded(result);
    expect(result.owner.signIns).toBeGreaterThanOrEqual(20);
    // The attacker can hold the phone's send window (5 per 10 minutes), never the owner's code.
    expect(result.owner.longestWait).toBeLessThanOrEqual(10 * 60_000);
  });
});

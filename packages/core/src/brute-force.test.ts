/**
 * An attacker who rotates guesses across codes (resends), IPv4 addresses and IPv6 addresses in one
 * /64, for a day, against one phone: the guesses judged never exceed the per-phone budget (20 per 24 h).
 */
import { describe, expect, it } from "vitest";
import { memoryStore } from "./store/memory.js";
import { bruteForceDay as attack } from "./test-utils.js";

describe("a day of brute force against one phone", () => {
  it("gets at most 20 guesses judged, however it spreads them", async () => {
    const result = await attack([memoryStore()]);
    console.log(
      `brute force, one instance: ${result.judged} guesses judged in 24 h (budget 20), ${result.sends} codes sent, ${result.refusedSends} sends refused, ${result.requests} rounds`,
    );
    expect(result.judged).toBeLessThanOrEqual(20);
    expect(result.judged).toBeGreaterThan(0);
  });

  it("gets no more across instances that share a store", async () => {
    const shared = memoryStore();
    const result = await attack([shared, shared]);
    console.log(`brute force, two instances: ${result.judged} guesses judged in 24 h (budget 20)`);
    expect(result.judged).toBeLessThanOrEqual(20);
  });
});

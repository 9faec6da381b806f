import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    testTimeout: 30_000,
    hookTimeout: 600_000,
    // A page polls its server, which waits on the simulator's acks: on a loaded machine that takes
    // longer than vitest's one-second default for a polled expectation.
    expect: { poll: { timeout: 10_000 } },
  },
});

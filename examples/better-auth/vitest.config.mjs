import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.mjs"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    testTimeout: 30_000,
    hookTimeout: 600_000,
    // What is polled (a page, a simulated phone) waits on the simulator: give a loaded machine time.
    expect: { poll: { timeout: 10_000 } },
  },
});

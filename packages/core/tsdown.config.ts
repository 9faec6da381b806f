import { defineConfig } from "tsdown";

export default defineConfig([
  {
    entry: {
      index: "src/index.ts",
      simulator: "src/simulator/index.ts",
      testing: "src/testing/index.ts",
      "testing-msw": "src/testing/msw.ts",
      "testing-store-suite": "src/store/store-suite.ts",
      "testing-http-suite": "src/testing/http-suite.ts",
      redis: "src/store/redis.ts",
      "store-kit": "src/store-kit.ts",
      web: "src/web/index.ts",
      "http-errors": "src/http-errors.ts",
      vonage: "src/vonage/index.ts",
      twilio: "src/twilio/index.ts",
      otel: "src/otel.ts",
    },
    format: ["esm", "cjs"],
    dts: true,
    platform: "node",
    target: "node20",
    clean: true,
    external: ["msw", "vitest"],
  },
  {
    entry: { cli: "src/cli/bin.ts" },
    format: ["esm"],
    dts: false,
    platform: "node",
    target: "node20",
    clean: false,
  },
]);

import { defineConfig } from "tsdown";

export default defineConfig({
  entry: { index: "src/index.ts", client: "src/client.ts" },
  format: ["esm", "cjs"],
  dts: true,
  platform: "node",
  target: "node20",
  clean: true,
  external: [/^better-auth/, "@waotp/core", "zod"],
});

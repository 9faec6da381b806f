// The tests run against the production build. Through turbo (the root test command), the build task
// made it just before; run alone (`vitest run` here), the first run builds it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

export default function setup() {
  if (existsSync(new URL("../.next/BUILD_ID", import.meta.url))) return;
  execFileSync(process.execPath, [new URL("../src/build.mjs", import.meta.url).pathname], {
    stdio: "inherit",
  });
}

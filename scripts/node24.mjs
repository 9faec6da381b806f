// Runs the test suites again on Node 24 (the current LTS line), with Node from the npm registry's
// `node` package. Packages with native modules built for this machine's Node (better-sqlite3) are
// left to the main run.
import { spawnSync } from "node:child_process";

const FILTERS = [
  "@waotp/core",
  "@waotp/express",
  "@waotp/passport",
  "@waotp/example-express",
  "@waotp/example-passport",
];
const result = spawnSync(
  "npx",
  [
    "-y",
    "-p",
    "node@24",
    "-p",
    "pnpm@10.34.9",
    "--",
    "pnpm",
    "exec",
    "turbo",
    "run",
    "test",
    ...FILTERS.map((name) => `--filter=${name}`),
    "--force",
    "--output-logs=errors-only",
    "--no-update-notifier",
  ],
  {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    env: { ...process.env, WAOTP_NODE_VERSION_CHECK: "24" },
  },
);
process.stdout.write(result.stdout ?? "");
const version = spawnSync("npx", ["-y", "-p", "node@24", "--", "node", "--version"], {
  encoding: "utf8",
}).stdout.trim();
console.log(`node ${version}: ${FILTERS.join(", ")} ${result.status === 0 ? "passed" : "FAILED"}`);
process.exit(result.status ?? 1);

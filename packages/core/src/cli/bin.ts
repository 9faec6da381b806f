#!/usr/bin/env node
import { runCli } from "./run.js";

let stop: () => void = () => {};
const stopped = new Promise<void>((resolve) => {
  stop = resolve;
});
process.once("SIGINT", () => stop());
process.once("SIGTERM", () => stop());

runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  stopped,
}).then(
  (code) => {
    process.exitCode = code;
    // Nothing else should keep the process alive once the command is done.
    setImmediate(() => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(`waotp: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

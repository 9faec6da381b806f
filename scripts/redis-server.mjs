// Starts a real redis-server on a free loopback port for tests, installing Debian's package with
// apt-get when it is missing (the test command runs as root on CI).
import { spawn } from "node:child_process";
import { freePort } from "./free-port.mjs";
import { ensurePackages, PACKAGES } from "./system-packages.mjs";

function ensureRedis() {
  ensurePackages(["redis-server"]);
  return PACKAGES["redis-server"];
}

/** A redis-server on 127.0.0.1 with no persistence. `stop()` and `start()` again keep the port. */
export async function startRedisServer() {
  const binary = ensureRedis();
  const port = await freePort();
  let child;
  async function start() {
    child = spawn(
      binary,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    await new Promise((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk) => {
        out += chunk;
        if (out.includes("Ready to accept connections")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
  }
  async function stop() {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, stop };
}

// Starts a real redis-server on a free loopback port for tests, installing Debian's package with
// apt-get when it is missing (the test command runs as root on CI).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";

const BINARY = "/usr/bin/redis-server";

function ensureRedis() {
  if (existsSync(BINARY)) return BINARY;
  if (process.getuid?.() !== 0)
    throw new Error('redis-server is missing: install it with "apt-get install -y redis-server".');
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  const install = spawnSync("apt-get", ["install", "-y", "-qq", "redis-server"], {
    stdio: "inherit",
    env,
  });
  if (install.status !== 0 || !existsSync(BINARY))
    throw new Error("apt-get could not install redis-server.");
  return BINARY;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
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

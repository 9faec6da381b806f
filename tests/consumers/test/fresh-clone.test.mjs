/**
 * A newcomer's first minutes: clone the repository, install, and run each example with the command
 * its README gives. Nothing is built beforehand; each example's start builds what it needs.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const pnpm = process.env.npm_execpath?.includes("pnpm")
  ? [process.execPath, [process.env.npm_execpath]]
  : ["npx", ["-y", "pnpm@10.34.9"]];

let clone;
beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), "waotp-fresh-"));
  // The committed tree, as a newcomer gets it: no dist/, no turbo cache, no node_modules.
  execFileSync("git", ["clone", "--quiet", "--no-hardlinks", ROOT, clone], { stdio: "inherit" });
  execFileSync(pnpm[0], [...pnpm[1], "install", "--frozen-lockfile", "--prefer-offline"], {
    cwd: clone,
    stdio: "ignore",
  });
});
afterAll(() => {
  if (clone) rmSync(clone, { recursive: true, force: true });
});

/** The `pnpm ...` arguments of the command an example's README gives, after the install. */
function documentedCommand(example) {
  const readme = readFileSync(join(clone, "examples", example, "README.md"), "utf8");
  const line = readme.split("\n").find((l) => l.includes("pnpm@10.34.9 install && "));
  const command = line?.split("&& ")[1]?.trim();
  if (!command?.startsWith("npx -y pnpm@10.34.9 ")) throw new Error(`no command in ${example}`);
  return command.slice("npx -y pnpm@10.34.9 ".length).split(/\s+/);
}

/** Runs it until the app prints its URL, then loads the page. */
async function start(example) {
  const child = spawn(pnpm[0], [...pnpm[1], ...documentedCommand(example)], {
    cwd: clone,
    env: {
      ...process.env,
      PORT: "0",
      DATABASE_PATH: join(clone, `${example}.db`),
      ONEMSG_TOKEN: "",
      npm_execpath: "",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr.on("data", (chunk) => {
    out += chunk;
  });
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${example} did not start:\n${out}`)),
        240_000,
      );
      const look = () => {
        const match = out.match(/ on (http:\/\/localhost:\d+) /);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.on("data", look);
      child.once("exit", (code) => reject(new Error(`${example} exited with ${code}:\n${out}`)));
    });
    const page = await fetch(url);
    return { status: page.status, out };
  } finally {
    // The whole group: pnpm, and the node process it started.
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  }
}

it.each(["express", "better-auth", "passport", "lucia", "hono", "nextjs"])(
  "starts examples/%s with its README's command on a fresh clone",
  async (example) => {
    const { status, out } = await start(example);
    expect(status).toBe(200);
    expect(out).toMatch(/simulator mode/);
    expect(out).not.toMatch(/ERR_MODULE_NOT_FOUND/);
  },
);

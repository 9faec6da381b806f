import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const PACKAGES = ["core", "express", "better-auth", "passport", "fastify"];
const work = mkdtempSync(join(tmpdir(), "waotp-consumers-"));
const tarballs = join(work, "tarballs");
let packed = [];

const run = (command, args, cwd) =>
  execFileSync(command, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, npm_config_loglevel: "error" },
  });

/** A fresh project with the packed tarballs (never the workspace) and the given registry packages. */
function project(name, type, extra) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: `consumer-${name}`, private: true, type }),
  );
  run("npm", ["install", "--no-audit", "--no-fund", ...packed, ...extra], dir);
  return dir;
}

beforeAll(() => {
  mkdirSync(tarballs, { recursive: true });
  // pnpm pack turns workspace: ranges into real versions; npm pack would not.
  const pnpm = process.env.npm_execpath?.includes("pnpm")
    ? [process.execPath, [process.env.npm_execpath]]
    : ["npx", ["-y", "pnpm@10.34.9"]];
  for (const name of PACKAGES) {
    run(
      pnpm[0],
      [...pnpm[1], "pack", "--pack-destination", tarballs],
      join(ROOT, "packages", name),
    );
  }
  packed = readdirSync(tarballs).map((file) => join(tarballs, file));
});

describe("the packed packages, installed from their tarballs", () => {
  it("pack the five packages", () => {
    expect(packed.map((file) => file.split("/").at(-1)).sort()).toEqual([
      expect.stringMatching(/^waotp-better-auth-\d/),
      expect.stringMatching(/^waotp-core-\d/),
      expect.stringMatching(/^waotp-express-\d/),
      expect.stringMatching(/^waotp-fastify-\d/),
      expect.stringMatching(/^waotp-passport-\d/),
    ]);
  });

  it("type-check and run in an ESM TypeScript project", () => {
    const dir = project("esm-ts", "module", [
      "typescript@5",
      "@types/node@20",
      "better-auth@1.7",
      "passport@0.7",
      "express@5",
      "fastify@5",
      "redis@6",
    ]);
    cpSync(join(FIXTURES, "esm-ts.ts"), join(dir, "index.ts"));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          outDir: "out",
          skipLibCheck: true,
          types: ["node"],
        },
        files: ["index.ts"],
      }),
    );
    run(join(dir, "node_modules", ".bin", "tsc"), ["-p", "."], dir);
    const output = JSON.parse(run("node", ["out/index.js"], dir));
    expect(output).toEqual({
      ok: true,
      strategy: "whatsapp-otp",
      plugin: "whatsapp-otp",
      client: "whatsapp-otp",
      redis: "function",
      fastify: 200,
      web: 200,
    });
  });

  it("require() in a CommonJS project", () => {
    const dir = project("cjs", "commonjs", [
      "better-auth@1.7",
      "passport@0.7",
      "express@5",
      "fastify@5",
    ]);
    cpSync(join(FIXTURES, "cjs.cjs"), join(dir, "index.cjs"));
    expect(JSON.parse(run("node", ["index.cjs"], dir))).toEqual({
      ok: true,
      router: "function",
      strategy: "function",
      plugin: "function",
      fastify: "function",
      web: "function",
    });
  });

  it("run better-auth with the plugin and its client: sign-up, password reset, sign-in", () => {
    const dir = project("better-auth-app", "module", ["better-auth@1.7"]);
    cpSync(join(FIXTURES, "better-auth-app.mjs"), join(dir, "index.mjs"));
    expect(JSON.parse(run("node", ["index.mjs"], dir))).toEqual({
      sent: true,
      user: "+14155550101",
      requested: true,
      reset: true,
      signedIn: true,
      codesStored: false,
    });
  });

  it.each([
    ["4", "express@4.21"],
    ["5", "express@5"],
  ])("serve the router in an Express %s app", (major, express) => {
    const dir = project(`express${major}`, "module", [express]);
    cpSync(join(FIXTURES, "express-app.mjs"), join(dir, "index.mjs"));
    const output = JSON.parse(run("node", ["index.mjs"], dir));
    expect(output.express).toMatch(new RegExp(`^${major}\\.`));
    expect(output).toMatchObject({ sent: 200, bad: 400, verified: true });
  });

  it.each([
    ["4", "fastify@4"],
    ["5", "fastify@5"],
  ])("serve the plugin in a Fastify %s app", (major, fastify) => {
    const dir = project(`fastify${major}`, "module", [fastify]);
    cpSync(join(FIXTURES, "fastify-app.mjs"), join(dir, "index.mjs"));
    const output = JSON.parse(run("node", ["index.mjs"], dir));
    expect(output.fastify).toMatch(new RegExp(`^${major}\\.`));
    expect(output).toMatchObject({ sent: 200, bad: 400, verified: true, guarded: 200 });
  });
});

import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** A copy of the workspace's manifests and changeset config, without pending changesets. */
function workspaceCopy() {
  const dir = mkdtempSync(join(tmpdir(), "waotp-release-"));
  for (const file of ["package.json", "pnpm-workspace.yaml", ".changeset/config.json"]) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    cpSync(join(ROOT, file), join(dir, file));
  }
  for (const group of ["packages", "examples", "tests"]) {
    for (const name of readdirSync(join(ROOT, group))) {
      const manifest = join(group, name, "package.json");
      if (!existsSync(join(ROOT, manifest))) continue;
      mkdirSync(join(dir, group, name), { recursive: true });
      cpSync(join(ROOT, manifest), join(dir, manifest));
    }
  }
  return dir;
}

const version = (dir, pkg) =>
  JSON.parse(readFileSync(join(dir, "packages", pkg, "package.json"), "utf8")).version;

it("changeset version bumps only the packages a changeset names, and writes their changelog", () => {
  const dir = workspaceCopy();
  const before = Object.fromEntries(
    ["core", "express", "better-auth", "passport"].map((p) => [p, version(dir, p)]),
  );
  writeFileSync(
    join(dir, ".changeset", "sample.md"),
    '---\n"@waotp/passport": patch\n---\n\nA sample fix.\n',
  );
  execFileSync(join(ROOT, "node_modules", ".bin", "changeset"), ["version"], {
    cwd: dir,
    stdio: "pipe",
  });
  const [major, minor, patch] = before.passport.split(".").map(Number);
  expect(version(dir, "passport")).toBe(`${major}.${minor}.${patch + 1}`);
  for (const other of ["core", "express", "better-auth"]) {
    expect(version(dir, other)).toBe(before[other]);
  }
  expect(readFileSync(join(dir, "packages", "passport", "CHANGELOG.md"), "utf8")).toContain(
    "A sample fix.",
  );
  expect(existsSync(join(dir, "packages", "core", "CHANGELOG.md"))).toBe(false);
});

it("reads every pending changeset and bumps every package it names", () => {
  const dir = workspaceCopy();
  const named = new Set();
  for (const file of readdirSync(join(ROOT, ".changeset")).filter(
    (f) => f.endsWith(".md") && f !== "README.md",
  )) {
    const text = readFileSync(join(ROOT, ".changeset", file), "utf8");
    // Front matter: a line of dashes, one "package": bump per line, a line of dashes.
    const front = text.match(/^---\n((?:"@waotp\/[a-z-]+": (?:major|minor|patch)\n)+)---\n/);
    expect(front, `${file} has no changeset front matter`).not.toBeNull();
    for (const line of front[1].trim().split("\n")) named.add(line.split('"')[1]);
    cpSync(join(ROOT, ".changeset", file), join(dir, ".changeset", file));
  }
  const dirs = {
    "@waotp/core": "core",
    "@waotp/express": "express",
    "@waotp/better-auth": "better-auth",
    "@waotp/passport": "passport",
    "@waotp/fastify": "fastify",
  };
  const before = Object.fromEntries([...named].map((name) => [name, version(dir, dirs[name])]));
  execFileSync(join(ROOT, "node_modules", ".bin", "changeset"), ["version"], {
    cwd: dir,
    stdio: "pipe",
  });
  for (const name of named) expect(version(dir, dirs[name]), name).not.toBe(before[name]);
});

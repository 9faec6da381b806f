// Installs the Debian packages the tests run for real (redis-server, chromium, postgresql) when they are
// missing, once, before the test runners start in parallel. Never downloads anything else.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const PACKAGES = {
  "redis-server": "/usr/bin/redis-server",
  chromium: "/usr/bin/chromium",
  // A folder, not a binary: one `<version>/bin` per installed major version.
  postgresql: "/usr/lib/postgresql",
};
const LOCK = ["-o", "DPkg::Lock::Timeout=600"];

/** Installs the named packages whose binaries are missing; throws with apt's word when it cannot. */
export function ensurePackages(names) {
  const missing = names.filter((name) => !existsSync(PACKAGES[name]));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `Missing ${missing.join(", ")}: install with "apt-get install -y ${missing.join(" ")}".`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", [...LOCK, "update", "-qq"], { stdio: "inherit", env });
  const install = () =>
    spawnSync("apt-get", [...LOCK, "install", "-y", "-qq", ...missing], { stdio: "inherit", env });
  // A dpkg run cut short earlier blocks every install until it is finished.
  if (install().status !== 0) {
    spawnSync("dpkg", ["--configure", "-a"], { stdio: "inherit", env });
    install();
  }
  const still = missing.filter((name) => !existsSync(PACKAGES[name]));
  if (still.length > 0) throw new Error(`apt-get could not install ${still.join(", ")}.`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    ensurePackages(Object.keys(PACKAGES));
  } catch (error) {
    console.error(`system packages: ${error.message}`);
    process.exit(1);
  }
}

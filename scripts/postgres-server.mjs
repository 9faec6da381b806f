// Starts a real PostgreSQL server on a free loopback port for tests, installing Debian's package with
// apt-get when it is missing (the test command runs as root on CI). The server refuses to run as
// root, so as root its data folder belongs to the `postgres` user and it runs as that user.
import { spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.mjs";
import { ensurePackages, PACKAGES } from "./system-packages.mjs";

/** Runs a PostgreSQL binary, as `postgres` when this process is root; throws with its output. */
function run(binary, args, asPostgres) {
  const command = asPostgres ? "runuser" : binary;
  const full = asPostgres ? ["-u", "postgres", "--", binary, ...args] : args;
  const result = spawnSync(command, full, { encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`${binary} ${args[0]} failed: ${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

/**
 * A PostgreSQL server on 127.0.0.1 with a throwaway data folder, trust authentication and user
 * `postgres`. `stop()` shuts it down and removes the folder; `createDatabase(name)` makes a database.
 */
export async function startPostgresServer() {
  ensurePackages(["postgresql"]);
  // The newest major version installed (Debian 12 ships 15).
  const [version] = readdirSync(PACKAGES.postgresql)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  if (version === undefined) throw new Error(`No PostgreSQL server under ${PACKAGES.postgresql}.`);
  const bin = join(PACKAGES.postgresql, version, "bin");
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "waotp-pg-"));
  const data = join(dir, "data");
  if (asPostgres) {
    const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim();
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim();
    chownSync(dir, Number(id), Number(gid));
  }
  const port = await freePort();
  run(`${bin}/initdb`, ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"], asPostgres);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  run(
    `${bin}/pg_ctl`,
    ["-D", data, "-o", options, "-l", join(dir, "log"), "-w", "start"],
    asPostgres,
  );
  const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    url,
    async createDatabase(name) {
      run(
        `${bin}/createdb`,
        ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", name],
        false,
      );
      return url(name);
    },
    async stop() {
      try {
        run(`${bin}/pg_ctl`, ["-D", data, "-m", "fast", "-w", "stop"], asPostgres);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

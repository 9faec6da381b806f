import type { Otp } from "@waotp/core";
import { createTestChannel } from "@waotp/core/testing";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { Pool, type PoolClient } from "pg";
// @ts-expect-error: a plain ES module of the repository's test scripts
import { startPostgresServer } from "../../../scripts/postgres-server.mjs";
import type { RecordAdapter } from "./db-store.js";
import { whatsappOtp } from "./plugin.js";

const SECRET = "better-auth-postgres-secret-0123456789abcdef";

/** A throwaway PostgreSQL server on loopback (see scripts/postgres-server.mjs). */
export interface PostgresServer {
  port: number;
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export const startPostgres = (): Promise<PostgresServer> => startPostgresServer();

/**
 * A `pg` pool that counts the statements its connections run, whoever runs them (better-auth's
 * Kysely adapter borrows a connection and queries on it, so the pool's own `query` sees none).
 */
export function countingPool(connectionString: string) {
  const pool = new Pool({ connectionString, max: 10 });
  let statements = 0;
  pool.on("connect", (client: PoolClient) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((...args: unknown[]) => {
      statements += 1;
      return query(...args);
    }) as PoolClient["query"];
  });
  // A connection the server drops while idle must not crash the test run.
  pool.on("error", () => {});
  return { pool, statements: () => statements };
}

/** Creates better-auth's tables and the plugin's on the database behind `pool`. */
export async function migrate(pool: Pool): Promise<void> {
  const { auth } = instanceOn(pool);
  await (await getMigrations(auth.options)).runMigrations();
}

/** A better-auth instance with the plugin on `pool`, for its database adapter. */
function instanceOn(pool: Pool) {
  const auth = betterAuth({
    secret: SECRET,
    database: pool,
    plugins: [whatsappOtp({ channel: createTestChannel() })],
  });
  return { auth };
}

/**
 * One app instance on its own pool: better-auth with the plugin, and its database adapter (what
 * the plugin's default store writes through). `end()` closes the pool.
 */
export async function adapterOn(connectionString: string) {
  const { pool, statements } = countingPool(connectionString);
  const { auth } = instanceOn(pool);
  const adapter = (await auth.$context).adapter as unknown as RecordAdapter;
  return { auth, adapter, pool, statements, end: () => pool.end() };
}

/** How concurrent calls came out: each outcome (as `name` says) counted, and each error's code. */
export async function tally<T>(
  calls: Promise<T>[],
  name: (value: T) => string,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const result of await Promise.allSettled(calls)) {
    const outcome =
      result.status === "fulfilled"
        ? name(result.value)
        : `threw ${(result.reason as { code?: string }).code ?? String(result.reason)}`;
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  return counts;
}

/** A verify's outcome: `ok`, or why it failed. */
export const verifyOutcome = (result: Awaited<ReturnType<Otp["verify"]>>) =>
  result.ok ? "ok" : result.reason;

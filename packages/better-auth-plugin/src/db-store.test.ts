import { describeStore } from "@waotp/core/testing/store-suite";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { getMigrations } from "better-auth/db/migration";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { databaseStore, type VerificationAdapter } from "./db-store.js";

async function adapterOf(db: Record<string, unknown[]>) {
  const auth = betterAuth({
    secret: "better-auth-test-secret-0123456789abcdef",
    database: memoryAdapter(db),
  });
  return (await auth.$context).adapter as unknown as VerificationAdapter;
}

describeStore("better-auth database (memory adapter)", async () => {
  const db = { user: [], session: [], account: [], verification: [] };
  return { store: databaseStore(await adapterOf(db)) };
});

describeStore("better-auth database (SQLite)", async () => {
  const database = new Database(":memory:");
  const auth = betterAuth({ secret: "better-auth-test-secret-0123456789abcdef", database });
  await (await getMigrations(auth.options)).runMigrations();
  const adapter = (await auth.$context).adapter as unknown as VerificationAdapter;
  return {
    store: databaseStore(adapter),
    close: () => {
      database.close();
    },
  };
});

describe("databaseStore", () => {
  it("keeps one row per record, under a name that says what it is", async () => {
    const db = {
      user: [],
      session: [],
      account: [],
      verification: [] as Record<string, unknown>[],
    };
    const store = databaseStore(await adapterOf(db));
    const now = Date.now();
    await store.take([{ key: "send:phone:14155550101", limit: 5, windowMs: 60_000 }], now);
    await store.take([{ key: "send:phone:14155550101", limit: 5, windowMs: 60_000 }], now + 1);
    expect(db.verification).toHaveLength(1);
    expect(db.verification[0]).toMatchObject({ identifier: "waotp:b:send:phone:14155550101" });
  });

  it("fails closed when a record keeps changing under it", async () => {
    const base = await adapterOf({ user: [], session: [], account: [], verification: [] });
    const contended: VerificationAdapter = {
      ...base,
      updateMany: async () => 0,
      create: async () => {
        throw new Error("duplicate key");
      },
    };
    const store = databaseStore(contended, { maxRetries: 3 });
    await expect(store.set("k", "v", 1000, Date.now())).rejects.toThrow(/kept changing/);
  });
});

describe("databaseStore across connections", () => {
  async function twoStores() {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const file = join(mkdtempSync(join(tmpdir(), "waotp-db-")), "auth.sqlite");
    const open = async () => {
      const database = new Database(file);
      database.pragma("busy_timeout = 5000");
      const auth = betterAuth({ secret: "better-auth-test-secret-0123456789abcdef", database });
      await (await getMigrations(auth.options)).runMigrations();
      return {
        store: databaseStore((await auth.$context).adapter as unknown as VerificationAdapter),
        database,
      };
    };
    // Two connections, as two processes would have: only the database's compare-and-set keeps order.
    const a = await open();
    const b = await open();
    return {
      stores: [a.store, b.store],
      close: () => {
        a.database.close();
        b.database.close();
      },
    };
  }

  it("counts concurrent wrong guesses exactly, and lets one right guess through", async () => {
    const { stores, close } = await twoStores();
    const now = Date.now();
    const challenge = { hash: "h-right", expiresAt: now + 300_000, attempts: 0, maxAttempts: 5 };
    await stores[0]?.putChallenge("c", challenge, now);
    const guesses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        stores[i % 2]?.attempt({ key: "c", hash: "h-wrong", now }),
      ),
    );
    expect(guesses.filter((g) => g?.outcome === "mismatch")).toHaveLength(5);
    await stores[1]?.putChallenge("d", challenge, now);
    const rights = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stores[i % 2]?.attempt({ key: "d", hash: "h-right", now }),
      ),
    );
    expect(rights.filter((g) => g?.outcome === "match")).toHaveLength(1);
    close();
  });

  it("keeps a send limit across connections", async () => {
    const { stores, close } = await twoStores();
    const now = Date.now();
    const bucket = { key: "send:phone:1", limit: 5, windowMs: 600_000 };
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => stores[i % 2]?.take([bucket], now)),
    );
    expect(results.filter((r) => r?.ok)).toHaveLength(5);
    close();
  });
});

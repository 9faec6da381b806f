import { createTestChannel } from "@waotp/core/testing";
import { describeStore } from "@waotp/core/testing/store-suite";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { getMigrations } from "better-auth/db/migration";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { databaseStore, type RecordAdapter } from "./db-store.js";
import { whatsappOtp } from "./plugin.js";

// The plugin brings the store's table into better-auth's schema.
const plugins = [whatsappOtp({ channel: createTestChannel() })];

async function adapterOf(db: Record<string, unknown[]>) {
  const auth = betterAuth({
    secret: "better-auth-test-secret-0123456789abcdef",
    database: memoryAdapter(db),
    plugins,
  });
  return (await auth.$context).adapter as unknown as RecordAdapter;
}

/**
 * The adapter of a database that has run out of room: inserts and updates fail, reads and deletes
 * still run, once `full()` is called.
 */
function fillable(adapter: RecordAdapter) {
  let refusing = false;
  const refuse = () => Promise.reject(new Error("database or disk is full"));
  const wrapped: RecordAdapter = {
    findOne: adapter.findOne.bind(adapter),
    deleteMany: adapter.deleteMany.bind(adapter),
    create: (args) => (refusing ? refuse() : adapter.create(args)),
    updateMany: (args) => (refusing ? refuse() : adapter.updateMany(args)),
  };
  return {
    adapter: wrapped,
    full: () => {
      refusing = true;
    },
  };
}

describeStore("better-auth database (memory adapter)", async () => {
  const db = { user: [], session: [], account: [], verification: [], waotpRecord: [] };
  const { adapter, full } = fillable(await adapterOf(db));
  return { store: databaseStore(adapter), exhaust: full };
});

describeStore("better-auth database (SQLite)", async () => {
  const database = new Database(":memory:");
  const auth = betterAuth({
    secret: "better-auth-test-secret-0123456789abcdef",
    database,
    plugins,
  });
  await (await getMigrations(auth.options)).runMigrations();
  const { adapter, full } = fillable((await auth.$context).adapter as unknown as RecordAdapter);
  return {
    store: databaseStore(adapter),
    exhaust: full,
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
      verification: [],
      waotpRecord: [] as Record<string, unknown>[],
    };
    const store = databaseStore(await adapterOf(db));
    const now = Date.now();
    await store.take([{ key: "send:phone:14155550101", limit: 5, windowMs: 60_000 }], now);
    await store.take([{ key: "send:phone:14155550101", limit: 5, windowMs: 60_000 }], now + 1);
    expect(db.waotpRecord).toHaveLength(1);
    expect(db.waotpRecord[0]).toMatchObject({ key: "b:send:phone:14155550101" });
  });

  it("fails closed when a record keeps changing under it", async () => {
    const base = await adapterOf({
      user: [],
      session: [],
      account: [],
      verification: [],
      waotpRecord: [],
    });
    // Every write loses: the row is always there, and never holds what was read a moment ago.
    const contended: RecordAdapter = {
      ...base,
      findOne: async <T>() =>
        ({
          key: "v:k",
          value: `"${Math.random()}"`,
          expiresAt: new Date(Date.now() + 60_000),
        }) as T,
      updateMany: async () => 0,
    };
    const store = databaseStore(contended, { maxRetries: 3 });
    await expect(store.set("k", "v", 1000, Date.now())).rejects.toThrow(/kept changing/);
  });

  it("passes on a real database error instead of retrying it", async () => {
    const base = await adapterOf({
      user: [],
      session: [],
      account: [],
      verification: [],
      waotpRecord: [],
    });
    const broken: RecordAdapter = {
      ...base,
      create: async () => {
        throw new Error("no such table: waotpRecord");
      },
    };
    await expect(databaseStore(broken).set("k", "v", 1000, Date.now())).rejects.toThrow(
      /no such table/,
    );
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
      const auth = betterAuth({
        secret: "better-auth-test-secret-0123456789abcdef",
        database,
        plugins,
      });
      await (await getMigrations(auth.options)).runMigrations();
      return {
        store: databaseStore((await auth.$context).adapter as unknown as RecordAdapter),
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

import { readFile } from "node:fs/promises";
import * as kit from "@waotp/core/store-kit";
import { createTestChannel } from "@waotp/core/testing";
import {
  describeStore,
  firstFailingCheck,
  type StoreHarness,
} from "@waotp/core/testing/store-suite";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { getMigrations } from "better-auth/db/migration";
import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
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
    ...(adapter.findMany && { findMany: adapter.findMany.bind(adapter) }),
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
    // Every write loses: the row is always there, and never holds what was read a moment ago;
    // an insert finds the key taken, an update finds the row gone.
    const values: Record<string, () => unknown> = {
      b: () => ({ count: 1, start: Math.random() }),
      d: () => ({ status: "accepted", updatedAt: Math.random() }),
      v: () => String(Math.random()),
    };
    const row = (key: string) => ({
      key,
      value: JSON.stringify(values[key.slice(0, 1)]?.()),
      expiresAt: new Date(Date.now() + 60_000),
    });
    const contended: RecordAdapter = {
      ...base,
      findOne: async <T>(args: { where: { value: unknown }[] }) =>
        row(String(args.where[0]?.value)) as T,
      findMany: async <T>(args: { where: { value: unknown }[] }) =>
        ((args.where[0]?.value ?? []) as string[]).map(row) as T[],
      create: async () => {
        throw Object.assign(new Error("duplicate key"), { code: "23505" });
      },
      updateMany: async () => 0,
      deleteMany: async () => 0,
    };
    const store = databaseStore(contended, { maxRetries: 3 });
    const now = Date.now();
    await expect(store.set("k", "v", 1000, now)).rejects.toThrow(/kept changing/);
    await expect(store.setIfAbsent("k", "v", 1000, now)).resolves.toMatch(/^0\./);
    await expect(store.take([{ key: "b", limit: 5, windowMs: 1000 }], now)).rejects.toThrow(
      /kept changing/,
    );
    await expect(store.advanceDelivery({ messageId: "m", status: "sent" }, now)).rejects.toThrow(
      /kept changing/,
    );
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

/**
 * The suite must catch a database store that drifts from a store rule: each mutant is this store
 * over the core's store kit with one rule broken, and at least one check has to fail against it.
 * The core breaks the memory store the same way; the rules only this store calls itself
 * (`isSpared`, `retryAfter`, `withoutHit`) are broken here alone.
 */
describe("the store suite, against database stores with one rule broken", () => {
  type Kit = typeof kit;
  type RuleName = {
    [K in keyof Kit]: Kit[K] extends (...args: never[]) => unknown ? K : never;
  }[keyof Kit];
  interface Mutant {
    rule: RuleName;
    breaks: string;
    with: Kit[RuleName];
  }
  const mutant = <K extends RuleName>(rule: K, breaks: string, broken: Kit[K]): Mutant => ({
    rule,
    breaks,
    with: broken,
  });

  const mutants: Mutant[] = [
    mutant("withoutHit", "gives no hit back", (counter) => counter),
    mutant("retryAfter", "lets a hit into a full bucket", (bucket, state, now) =>
      kit.retryAfter({ ...bucket, limit: bucket.limit + 1 }, state, now),
    ),
    mutant("isSpared", "never spares a first guess", () => false),
    mutant("lastToFree", "allows one hit over the limit", (counts, now) =>
      kit.lastToFree(
        counts.map((c) => ({ ...c, bucket: { ...c.bucket, limit: c.bucket.limit + 1 } })),
        now,
      ),
    ),
    mutant("bucketState", "reports one hit more left", (bucket, after) => {
      const state = kit.bucketState(bucket, after);
      return { ...state, remaining: state.remaining + 1 };
    }),
    mutant("counterState", "keeps a hit a millisecond past its window", (counter, bucket, now) =>
      kit.counterState(counter, { ...bucket, windowMs: bucket.windowMs + 1 }, now),
    ),
    mutant("withHit", "keeps small limits in fixed windows", (counter, bucket, now) =>
      kit.withHit(counter, { ...bucket, limit: kit.LOG_LIMIT + 1 }, now),
    ),
    mutant("counterExpiresAt", "lets a counter go when its oldest hit leaves", (counter, bucket) =>
      "log" in counter
        ? Math.min(...counter.log) + bucket.windowMs
        : kit.counterExpiresAt(counter, bucket),
    ),
    mutant("challengeKeptUntil", "drops an expired code at its expiry", (c) => c.expiresAt),
    mutant("mayReplace", "replaces an expired code", (current, ifHash, now) =>
      kit.mayReplace(current && { ...current, expiresAt: Number.POSITIVE_INFINITY }, ifHash, now),
    ),
    mutant("canAdvance", "lets a failed message move on", (from, to) =>
      from === "failed" ? to !== "failed" : kit.canAdvance(from, to),
    ),
    mutant("judgeAttempt", "reports one guess more left", (input) => {
      const judged = kit.judgeAttempt(input);
      return judged.result.outcome === "mismatch"
        ? { ...judged, result: { ...judged.result, attemptsLeft: judged.result.attemptsLeft + 1 } }
        : judged;
    }),
  ];

  /** `databaseStore` over a fresh copy of the store kit, `broken` swapped in when given. */
  async function databaseStoreOver(broken?: Mutant): Promise<typeof databaseStore> {
    vi.resetModules();
    vi.doMock("@waotp/core/store-kit", async (importOriginal) => {
      const real = await importOriginal<Kit>();
      return broken === undefined ? real : { ...real, [broken.rule]: broken.with };
    });
    try {
      return (await import("./db-store.js")).databaseStore;
    } finally {
      vi.doUnmock("@waotp/core/store-kit");
    }
  }

  const harnessOf = (create: typeof databaseStore) => async (): Promise<StoreHarness> => {
    const db = { user: [], session: [], account: [], verification: [], waotpRecord: [] };
    const { adapter, full } = fillable(await adapterOf(db));
    return { store: create(adapter), exhaust: full };
  };

  it("passes the store over an unbroken copy, loaded the same way", async () => {
    expect(await firstFailingCheck(harnessOf(await databaseStoreOver()))).toBeUndefined();
  }, 60_000);

  it.each(mutants.map((m) => [m.rule, m.breaks, m] as const))(
    "catches %s broken: %s",
    async (_rule, _breaks, broken) => {
      expect(await firstFailingCheck(harnessOf(await databaseStoreOver(broken)))).toBeDefined();
    },
    60_000,
  );

  it("breaks every rule the store calls", async () => {
    const source = await readFile(new URL("./db-store.ts", import.meta.url), "utf8");
    const list = /import \{([^}]*)\} from "@waotp\/core\/store-kit"/.exec(source)?.[1] ?? "";
    const rules = list
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "" && !name.startsWith("type ") && name !== "constantTimeEqual");
    expect(rules).toEqual(expect.arrayContaining(["isSpared", "retryAfter", "withoutHit"]));
    const broken = new Set<string>(mutants.map((m) => m.rule));
    expect(rules.filter((name) => !broken.has(name))).toEqual([]);
  });
});

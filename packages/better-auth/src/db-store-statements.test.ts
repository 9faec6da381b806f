import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Bucket, ChallengeRecord, FailureBucket } from "@waotp/core/store-kit";
import { createTestChannel } from "@waotp/core/testing";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { getMigrations } from "better-auth/db/migration";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { databaseStore, type RecordAdapter } from "./db-store.js";
import { whatsappOtp } from "./plugin.js";

const SECRET = "better-auth-test-secret-0123456789abcdef";
const plugins = [whatsappOtp({ channel: createTestChannel() })];
const WINDOW = 600_000;

/** better-auth on SQLite (`file`, or memory), its adapter, and the statements run on it since. */
async function sqlite(file = ":memory:") {
  const database = new Database(file);
  database.pragma("busy_timeout = 5000");
  const auth = betterAuth({ secret: SECRET, database, plugins });
  await (await getMigrations(auth.options)).runMigrations();
  const adapter = (await auth.$context).adapter as unknown as RecordAdapter;
  // Every statement better-auth's Kysely adapter runs is prepared first.
  const log: string[] = [];
  const prepare = database.prepare.bind(database);
  database.prepare = ((sql: string) => {
    log.push(sql);
    return prepare(sql);
  }) as typeof database.prepare;
  return {
    adapter,
    database,
    statements: () => log.length,
    writes: () => log.filter((sql) => !/^\s*select/i.test(sql)).length,
    rows: (key: string) =>
      (
        prepare(`select count(*) as n from "waotpRecord" where "key" = ?`).get(key) as {
          n: number;
        }
      ).n,
  };
}

/** Two connections to one SQLite file, as two app instances would have. */
async function twoInstances() {
  const file = join(mkdtempSync(join(tmpdir(), "waotp-db-")), "auth.sqlite");
  const a = await sqlite(file);
  const b = await sqlite(file);
  return {
    a,
    b,
    close: () => {
      a.database.close();
      b.database.close();
    },
  };
}

/**
 * `adapter`, with `before` run once, just before its first write (insert, update or delete) to the
 * record `key`: the moment another instance can change the row under this one.
 */
function beforeFirstWrite(
  adapter: RecordAdapter,
  key: string,
  before: () => Promise<unknown>,
): RecordAdapter {
  let done = false;
  const hook = async (where: { field: string; value: unknown }[] | undefined, data?: unknown) => {
    const target =
      (data as { key?: unknown } | undefined)?.key ?? where?.find((w) => w.field === "key")?.value;
    if (done || target !== key) return;
    done = true;
    await before();
  };
  return {
    ...adapter,
    create: async (args) => {
      await hook(undefined, args.data);
      return adapter.create(args);
    },
    updateMany: async (args) => {
      await hook(args.where);
      return adapter.updateMany(args);
    },
    deleteMany: async (args) => {
      await hook(args.where);
      return adapter.deleteMany(args);
    },
  };
}

/** `adapter`, with `after` run once, just after its first insert or update of the record `key`. */
function afterFirstWrite(
  adapter: RecordAdapter,
  key: string,
  after: () => Promise<unknown>,
): RecordAdapter {
  let done = false;
  const hook = async (target: unknown) => {
    if (done || target !== key) return;
    done = true;
    await after();
  };
  return {
    ...adapter,
    create: async (args) => {
      const created = await adapter.create(args);
      await hook(args.data.key);
      return created;
    },
    updateMany: async (args) => {
      const updated = await adapter.updateMany(args);
      if (updated > 0) await hook(args.where.find((w) => w.field === "key")?.value);
      return updated;
    },
  };
}

const challenge = (now: number): ChallengeRecord => ({
  hash: "h-right",
  expiresAt: now + 300_000,
  attempts: 0,
  maxAttempts: 5,
});

describe("databaseStore's statements per call, on SQLite", () => {
  it("reads every record of a call in one query, and writes each in one statement", async () => {
    const db = await sqlite();
    const store = databaseStore(db.adapter);
    const count = async (call: () => Promise<unknown>) => {
      const before = db.statements();
      await call();
      return db.statements() - before;
    };
    const now = Date.now();
    // The first write that inserts without a look learns, once, that the table refuses a second
    // row under one key (two inserts of a marker row, and its delete).
    expect(await count(() => store.set("first", "1", WINDOW, now))).toBe(4);

    // A send with the default limits: its cooldown, the phone's window and ceiling, the address,
    // the number's range and country. One read of them all, then one insert or update each.
    const limits: Bucket[] = ["cooldown", "phone", "ceiling", "ip", "range", "country"].map(
      (name) => ({ key: `send:${name}`, limit: 1000, windowMs: WINDOW }),
    );
    expect(await count(() => store.take(limits, now))).toBe(7);
    expect(await count(() => store.take(limits, now + 1))).toBe(7);
    // A full limit is refused on that one reading.
    const full = { key: "send:full", limit: 0, windowMs: WINDOW };
    expect(await count(() => store.take([...limits, full], now + 2))).toBe(1);
    // A new code and a new message: one insert each.
    expect(await count(() => store.putChallenge("c", challenge(now), now))).toBe(1);
    expect(
      await count(() => store.putDelivery("m", { status: "accepted", updatedAt: now }, WINDOW)),
    ).toBe(1);

    // A guess with the phone's and the address's failure budgets: one read of the code and both
    // budgets; a wrong guess holds one in each and counts the miss on the code, a right one gives
    // both back.
    const failures: FailureBucket[] = [
      { key: "fail:phone", limit: 20, windowMs: WINDOW, sparesFirstGuess: true },
      { key: "fail:ip", limit: 20, windowMs: WINDOW },
    ];
    const guess = (hash: string) => store.attempt({ key: "c", hash, now, failures });
    expect(await count(() => guess("h-wrong"))).toBe(4);
    expect(await count(() => guess("h-right"))).toBe(6);
    // No code pending, or a full budget: answered from the one reading, nothing written.
    expect(await count(() => guess("h-right"))).toBe(1);
    const blocked = { key: "fail:none", limit: 0, windowMs: WINDOW };
    expect(
      await count(() =>
        store.attempt({ key: "c", hash: "h-right", now, failures: [...failures, blocked] }),
      ),
    ).toBe(1);

    // Values: a read, an insert of a new one, a delete. A value set over one that is there: an
    // insert refused, then an update; once this process knows the row, an update alone.
    expect(await count(() => store.get("first", now))).toBe(1);
    expect(await count(() => store.set("second", "1", WINDOW, now))).toBe(1);
    expect(
      await count(() =>
        Promise.all([store.set("second", "2", WINDOW, now), store.set("second", "3", WINDOW, now)]),
      ),
    ).toBe(3);
    expect(await store.get("second", now)).toBe("3");
    expect(await count(() => store.delete("second"))).toBe(1);
    db.database.close();
  });

  it("makes one write for many concurrent changes to one record", async () => {
    const db = await sqlite();
    const store = databaseStore(db.adapter);
    const now = Date.now();
    const bucket = { key: "send:country:US", limit: 30, windowMs: WINDOW };
    await store.take([bucket], now);
    const before = db.writes();
    const results = await Promise.all(Array.from({ length: 50 }, () => store.take([bucket], now)));
    expect(results.filter((r) => r.ok)).toHaveLength(29);
    expect(db.writes() - before).toBeLessThan(10);
    db.database.close();
  });

  it("updates first where the table takes a second row under one key", async () => {
    const db = { user: [], session: [], account: [], verification: [], waotpRecord: [] };
    const auth = betterAuth({ secret: SECRET, database: memoryAdapter(db), plugins });
    const store = databaseStore((await auth.$context).adapter as unknown as RecordAdapter);
    const now = Date.now();
    await store.set("k", "1", WINDOW, now);
    await store.set("k", "2", WINDOW, now);
    await store.putChallenge("c", challenge(now), now);
    await store.putChallenge("c", challenge(now + 1), now + 1);
    expect(db.waotpRecord.map((row: { key: string }) => row.key).sort()).toEqual(["c:c", "v:k"]);
    expect(await store.get("k", now)).toBe("2");
  });
});

describe("databaseStore when another instance changes a row under it", () => {
  it("counts again when a counter changed between its reading and its write", async () => {
    const { a, b, close } = await twoInstances();
    const now = Date.now();
    const bucket = { key: "send:phone:1", limit: 2, windowMs: WINDOW };
    const other = databaseStore(b.adapter);
    await other.take([bucket], now);
    // A reads one hit (room for one more); B takes that room before A writes.
    const store = databaseStore(
      beforeFirstWrite(a.adapter, "b:send:phone:1", () => other.take([bucket], now)),
    );
    expect(await store.take([bucket], now)).toMatchObject({ ok: false, key: "send:phone:1" });
    expect(await other.take([{ ...bucket, peek: true }], now)).toMatchObject({ ok: false });
    close();
  });

  it("never compares a guess the other instance's guesses left no room for", async () => {
    const { a, b, close } = await twoInstances();
    const now = Date.now();
    const budget = { key: "fail:phone", limit: 1, windowMs: 60_000 };
    const other = databaseStore(b.adapter);
    await other.putChallenge("theirs", challenge(now), now);
    await other.putChallenge("mine", challenge(now), now);
    // A reads the budget empty; B's wrong guess fills it before A holds one.
    const store = databaseStore(
      beforeFirstWrite(a.adapter, "b:fail:phone", () =>
        other.attempt({ key: "theirs", hash: "h-wrong", now, failures: [budget] }),
      ),
    );
    expect(
      await store.attempt({ key: "mine", hash: "h-right", now, failures: [budget] }),
    ).toMatchObject({ outcome: "blocked", key: "fail:phone" });
    // The code was not judged: still pending, once the budget frees up.
    expect(
      await other.attempt({ key: "mine", hash: "h-right", now: now + 60_000, failures: [budget] }),
    ).toEqual({ outcome: "match" });
    close();
  });

  it("creates the row again when it was swept between its reading and its write", async () => {
    const { a, b, close } = await twoInstances();
    const now = Date.now();
    const bucket = { key: "send:ip:1", limit: 2, windowMs: 1000 };
    await databaseStore(b.adapter).take([bucket], now);
    // A reads the expired row; B's sweep deletes it before A's update.
    const store = databaseStore(
      beforeFirstWrite(a.adapter, "b:send:ip:1", () =>
        b.adapter.deleteMany({
          model: "waotpRecord",
          where: [{ field: "key", value: "b:send:ip:1" }],
        }),
      ),
    );
    expect(await store.take([bucket], now + 1000)).toEqual({
      ok: true,
      buckets: [{ remaining: 1, resetAt: now + 2000 }],
    });
    expect(a.rows("b:send:ip:1")).toBe(1);
    close();
  });

  it("does not take a value set again to live longer for the expired one it knew", async () => {
    const { a, b, close } = await twoInstances();
    const now = Date.now();
    const other = databaseStore(b.adapter);
    // A sets "1" for a second; right after, B sets "1" again for ten. A's claim a second and a
    // half later, queued behind its set, must find B's value live.
    const store = databaseStore(
      afterFirstWrite(a.adapter, "v:poll", () => other.set("poll", "1", 10_000, now)),
    );
    const [, claimed] = await Promise.all([
      store.set("poll", "1", 1000, now),
      store.setIfAbsent("poll", "2", 1000, now + 1500),
    ]);
    expect(claimed).toBe("1");
    expect(await other.get("poll", now + 1500)).toBe("1");
    close();
  });

  it("decides what writes nothing on the row as the database holds it, not as it last wrote it", async () => {
    const { a, b, close } = await twoInstances();
    const now = Date.now();
    const other = databaseStore(b.adapter);
    // A stores code h-1; right after, B replaces it with h-2, and A is asked (queued behind its own
    // put) to replace h-2: A last wrote h-1, but the database holds h-2.
    let replaced: Promise<boolean> | undefined;
    const store = databaseStore(
      afterFirstWrite(a.adapter, "c:c", async () => {
        await other.putChallenge("c", { ...challenge(now), hash: "h-2" }, now);
        replaced = store.putChallenge("c", { ...challenge(now), hash: "h-3" }, now, "h-2");
      }),
    );
    await store.putChallenge("c", { ...challenge(now), hash: "h-1" }, now);
    expect(await replaced).toBe(true);
    expect(await other.attempt({ key: "c", hash: "h-3", now })).toEqual({ outcome: "match" });
    close();
  });

  it("keeps every limit when both instances change the same records at once", async () => {
    const { a, b, close } = await twoInstances();
    const now = Date.now();
    const stores = [databaseStore(a.adapter), databaseStore(b.adapter)];
    const phone = (i: number) => ({ key: `send:phone:${i % 4}`, limit: 3, windowMs: WINDOW });
    const country = { key: "send:country:US", limit: 10, windowMs: WINDOW };
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => stores[i % 2]?.take([phone(i), country], now)),
    );
    expect(results.filter((r) => r?.ok)).toHaveLength(10);
    const left = await stores[0]?.take([{ ...country, peek: true }], now);
    expect(left).toMatchObject({ ok: false, key: "send:country:US" });
    close();
  });
});

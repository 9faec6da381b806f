import { describeStore } from "@waotp/core/testing/store-suite";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
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

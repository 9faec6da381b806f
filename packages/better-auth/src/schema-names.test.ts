import { memoryAdapter } from "better-auth/adapters/memory";
import { getMigrations } from "better-auth/db/migration";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { WhatsappOtpSchema } from "./options.js";
import { type setupAuth as Setup, setupAuth } from "./test-setup.js";

const PHONE = "+14155550101";
const NEXT = "+14155550102";

const renamed: WhatsappOtpSchema = {
  user: { fields: { phoneNumber: "phone", phoneNumberVerified: "phone_verified" } },
  waotpRecord: {
    modelName: "otp_records",
    fields: { key: "record_key", value: "record_value", expiresAt: "expires_at" },
  },
};

let t: Awaited<ReturnType<typeof Setup>>;
afterEach(async () => {
  await t?.close();
});

/** Signs up by phone, signs in again, moves the number and resets the password, all by client. */
async function everyFlow() {
  const first = t.client().authClient;
  await first.whatsappOtp.send({ phoneNumber: PHONE });
  const signedUp = await first.whatsappOtp.verify({
    phoneNumber: PHONE,
    code: t.sim.lastCode(PHONE) as string,
  });
  expect(signedUp.error).toBeNull();
  const id = signedUp.data?.user.id as string;

  const second = t.client().authClient;
  await second.whatsappOtp.send({ phoneNumber: PHONE });
  const signedIn = await second.whatsappOtp.verify({
    phoneNumber: PHONE,
    code: t.sim.lastCode(PHONE) as string,
  });
  expect(signedIn.data?.user.id).toBe(id);

  await second.whatsappOtp.send({ phoneNumber: PHONE, purpose: "change-phone" });
  const current = t.sim.lastCode(PHONE) as string;
  await second.whatsappOtp.send({ phoneNumber: NEXT, purpose: "verify-phone" });
  const moved = await second.whatsappOtp.verifyPhone({
    phoneNumber: NEXT,
    code: t.sim.lastCode(NEXT) as string,
    currentCode: current,
  });
  expect(moved.data?.user).toMatchObject({ id, phoneNumber: NEXT, phoneNumberVerified: true });

  await second.whatsappOtp.requestPasswordReset({ phoneNumber: NEXT });
  const reset = await second.whatsappOtp.resetPassword({
    phoneNumber: NEXT,
    code: t.sim.lastCode(NEXT) as string,
    newPassword: "correct-horse-battery",
  });
  expect(reset.error).toBeNull();
  const session = await t.client().authClient.signIn.email({
    email: signedUp.data?.user.email as string,
    password: "correct-horse-battery",
  });
  expect(session.data?.user).toMatchObject({ id, phoneNumber: NEXT });
  return id;
}

const cooldownOff = { limits: { sendsPerPhone: { cooldownSeconds: 0 } } };

describe("schema: the plugin's table and columns under other names", () => {
  it("works on better-auth's memory adapter, writing only the renamed fields", async () => {
    const db: Record<string, Record<string, unknown>[]> = {
      user: [],
      session: [],
      account: [],
      verification: [],
      otp_records: [],
    };
    t = await setupAuth({ ...cooldownOff, schema: renamed }, { database: memoryAdapter(db) });
    const id = await everyFlow();
    expect(db.user?.find((u) => u.id === id)).toMatchObject({ phone: NEXT, phone_verified: true });
    expect(db.user?.[0]).not.toHaveProperty("phoneNumber");
    expect(db.otp_records?.length).toBeGreaterThan(0);
    expect(Object.keys(db.otp_records?.[0] ?? {}).sort()).toEqual([
      "expires_at",
      "id",
      "record_key",
      "record_value",
    ]);
    expect(db).not.toHaveProperty("waotpRecord");
  });

  it("works on SQLite, with the migration creating the renamed table and columns", async () => {
    const database = new Database(":memory:");
    t = await setupAuth({ ...cooldownOff, schema: renamed }, { database });
    await (await getMigrations(t.auth.options)).runMigrations();
    const id = await everyFlow();
    const row = database.prepare('SELECT phone, phone_verified FROM "user" WHERE id = ?').get(id);
    expect(row).toEqual({ phone: NEXT, phone_verified: 1 });
    const columns = database
      .prepare("SELECT name FROM pragma_table_info('otp_records')")
      .all()
      .map((c) => (c as { name: string }).name)
      .sort();
    expect(columns).toEqual(["expires_at", "id", "record_key", "record_value"]);
    const records = database.prepare("SELECT count(*) AS n FROM otp_records").get() as {
      n: number;
    };
    expect(records.n).toBeGreaterThan(0);
    const tables = database
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'waotpRecord'")
      .all();
    expect(tables).toEqual([]);
    database.close();
  });
});

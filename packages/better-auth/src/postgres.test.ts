import { createOtp, type Otp, type OtpOptions } from "@waotp/core";
import { createTestChannel } from "@waotp/core/testing";
import { describeStore } from "@waotp/core/testing/store-suite";
import type { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseStore, type RecordAdapter } from "./db-store.js";
import {
  adapterOn,
  countingPool,
  migrate,
  type PostgresServer,
  startPostgres,
  tally,
  verifyOutcome,
} from "./pg-setup.js";
import { setupAuth } from "./test-setup.js";

const SECRET = "postgres-test-secret-0123456789abcdef0123";
const PHONE = "+14155550101";

let server: PostgresServer;
/** Pools to end before the server stops, so none reports the shutdown as an error. */
const pools: { end(): Promise<void> }[] = [];
/** What the tests measured, printed as one line at the end. */
const figures: Record<string, string> = {};

beforeAll(async () => {
  server = await startPostgres();
}, 600_000);
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  if (Object.keys(figures).length > 0) {
    console.log(
      `PostgreSQL ${server.port}: ${Object.entries(figures)
        .map(([name, value]) => `${name}: ${value}`)
        .join("; ")}`,
    );
  }
  await server?.stop();
});

let databases = 0;
/** A fresh database with better-auth's tables and the plugin's. */
async function freshDatabase(): Promise<string> {
  databases += 1;
  const url = await server.createDatabase(`waotp_${databases}`);
  const { pool } = countingPool(url);
  await migrate(pool);
  await pool.end();
  return url;
}

/** One app instance on its own pool, ended after the file. */
async function instance(url: string) {
  const one = await adapterOn(url);
  pools.push(one);
  return one;
}

// The whole conformance suite, every store on one database (the suite names keys per check). A
// database that cannot take more: every insert and update breaks a constraint; reads and deletes run.
let suite: Promise<{ store: ReturnType<typeof databaseStore>; admin: Pool }>;
describeStore("better-auth database (PostgreSQL)", async () => {
  suite ??= (async () => {
    const url = await freshDatabase();
    const one = await instance(url);
    const admin = countingPool(url).pool;
    pools.push(admin);
    return { store: databaseStore(one.adapter), admin };
  })();
  const { store, admin } = await suite;
  return {
    store,
    exhaust: async () => {
      await admin.query(
        `alter table "waotpRecord" add constraint waotp_full check (false) not valid`,
      );
    },
    close: async () => {
      await admin.query(`alter table "waotpRecord" drop constraint if exists waotp_full`);
    },
  };
});

/** A code's engine for each instance, on the plugin's default store, through one test provider. */
function engines(instances: { adapter: Parameters<typeof databaseStore>[0] }[], limits = {}) {
  const channel = createTestChannel();
  const options = (store: OtpOptions["store"]): OtpOptions => ({
    secret: SECRET,
    channel,
    store,
    limits,
  });
  const otps = instances.map(({ adapter }) => createOtp(options(databaseStore(adapter))));
  return { otps, channel, pick: (i: number) => otps[i % otps.length] as Otp };
}

/** `n` calls at once, each from its own address (the calls pick the instance). */
const crowd = <T>(n: number, call: (i: number, ip: string) => Promise<T>) =>
  Array.from({ length: n }, (_, i) => call(i, `203.0.113.${i + 1}`));

// Generous timeouts: these run beside every other package's tests on a busy machine.
describe("two better-auth instances on one PostgreSQL database, through the engine", {
  timeout: 30_000,
}, () => {
  let url: string;
  let a: Awaited<ReturnType<typeof instance>>;
  let b: Awaited<ReturnType<typeof instance>>;
  beforeAll(async () => {
    url = await freshDatabase();
    a = await instance(url);
    b = await instance(url);
  });

  it("stops 50 concurrent wrong guesses at the code's 5 attempts", async () => {
    const { pick, channel } = engines([a, b]);
    await pick(0).send({ phone: PHONE, ip: "198.51.100.1", client: "owner" });
    const code = channel.lastCode(PHONE) as string;
    const wrong = code === "000000" ? "111111" : "000000";
    const outcomes = await tally(
      crowd(50, (i, ip) => pick(i).verify({ phone: PHONE, code: wrong, ip, client: `c${i}` })),
      verifyOutcome,
    );
    expect(outcomes).toEqual({ INVALID_CODE: 5, TOO_MANY_ATTEMPTS: 45 });
    const right = await pick(1).verify({ phone: PHONE, code, ip: "198.51.100.1" });
    expect(right).toMatchObject({ ok: false, reason: "TOO_MANY_ATTEMPTS" });
    figures["50 wrong guesses at one code (cap 5)"] = `${outcomes.INVALID_CODE} judged`;
  });

  it("stops 50 concurrent wrong guesses at the phone's failure budget of 20", async () => {
    const phone = "+14155550102";
    const { pick, channel } = engines([a, b], {
      attemptsPerCode: 100,
      failuresPerPhone: { max: 20 },
    });
    // Guesses while no code is pending count nothing: with no code to compare, a guess is answered
    // from its one read and holds nothing in the budget.
    const flood = await tally(
      crowd(50, (i, ip) => pick(i).verify({ phone, code: "123456", ip, client: `f${i}` })),
      verifyOutcome,
    );
    expect((flood.NO_PENDING_CODE ?? 0) + (flood.TOO_MANY_ATTEMPTS ?? 0)).toBe(50);
    await pick(1).send({ phone, ip: "198.51.100.1" });
    const code = channel.lastCode(phone) as string;
    const wrong = code === "000000" ? "111111" : "000000";
    const outcomes = await tally(
      crowd(50, (i, ip) => pick(i).verify({ phone, code: wrong, ip, client: `c${i}` })),
      verifyOutcome,
    );
    expect(outcomes).toEqual({ INVALID_CODE: 20, TOO_MANY_ATTEMPTS: 30 });
    figures["50 guesses at a phone with no code"] =
      `none counted, ${flood.TOO_MANY_ATTEMPTS ?? 0} refused`;
    figures["50 wrong guesses against the phone (budget 20)"] = `${outcomes.INVALID_CODE} judged`;
  });

  it("lets exactly one of 20 concurrent right guesses through", async () => {
    const phone = "+14155550103";
    const { pick, channel } = engines([a, b]);
    await pick(0).send({ phone, ip: "198.51.100.1" });
    const code = channel.lastCode(phone) as string;
    const outcomes = await tally(
      crowd(20, (i, ip) => pick(i).verify({ phone, code, ip, client: `c${i}` })),
      verifyOutcome,
    );
    expect(outcomes).toEqual({ ok: 1, NO_PENDING_CODE: 19 });
    figures["20 right guesses"] = `${outcomes.ok} passed`;
  });

  it("lets exactly one of 20 concurrent sends to a phone through its cooldown", async () => {
    const phone = "+14155550104";
    const { pick, channel } = engines([a, b]);
    const outcomes = await tally(
      crowd(20, (i, ip) => pick(i).send({ phone, ip, client: `c${i}` })),
      () => "sent",
    );
    expect(outcomes).toEqual({ sent: 1, "threw RATE_LIMITED": 19 });
    expect(channel.messages.filter((m) => `+${m.phone}` === phone)).toHaveLength(1);
    figures["20 sends to one phone"] = `${outcomes.sent} through the cooldown`;
  });

  it("counts the statements of a send and of a verify", async () => {
    const one = await instance(url);
    const { otps, channel } = engines([one]);
    const otp = otps[0] as Otp;
    const measure = async (run: () => Promise<unknown>) => {
      const before = one.statements();
      await run();
      return one.statements() - before;
    };
    const phone = "+14155550111";
    const send = await measure(() => otp.send({ phone, ip: "198.51.100.9", client: "x" }));
    const code = channel.lastCode(phone) as string;
    const wrong = await measure(() =>
      otp.verify({ phone, code: code === "000000" ? "111111" : "000000", ip: "198.51.100.9" }),
    );
    const right = await measure(() => otp.verify({ phone, code, ip: "198.51.100.9" }));
    expect(send).toBeGreaterThan(0);
    figures["statements (engine)"] = `send ${send}, wrong guess ${wrong}, right guess ${right}`;
  });
});

describe("databaseStore on PostgreSQL", { timeout: 30_000 }, () => {
  it("takes a unique-key refusal as a lost race, even when the winner's row is gone", async () => {
    const url = await freshDatabase();
    const [a, b] = [await instance(url), await instance(url)];
    // A's insert loses to B's, and B gives its row back before A can look: all A has is the error.
    let raced = false;
    const racing: RecordAdapter = {
      ...a.adapter,
      create: async (args) => {
        if (raced) return a.adapter.create(args);
        raced = true;
        await b.adapter.create(args);
        try {
          return await a.adapter.create(args);
        } finally {
          await b.adapter.deleteMany({
            model: args.model,
            where: [{ field: "key", value: args.data.key as string }],
          });
        }
      },
    };
    const store = databaseStore(racing);
    const bucket = { key: "send:phone:14155550101", limit: 5, windowMs: 60_000 };
    expect(await store.take([bucket], Date.now())).toMatchObject({ ok: true });
    expect(raced).toBe(true);
  });
});

describe("the plugin on PostgreSQL, through better-auth's client and HTTP", {
  timeout: 30_000,
}, () => {
  let url: string;
  beforeAll(async () => {
    url = await freshDatabase();
  });

  /** The plugin on a real better-auth on `url`, with its real client (see test-setup). */
  async function app(overrides: Parameters<typeof setupAuth>[0] = {}) {
    const { pool, statements } = countingPool(url);
    pools.push(pool);
    const t = await setupAuth(overrides, { database: pool });
    pools.push({ end: async () => t.close() });
    return { ...t, pool, statements };
  }

  const rows = async (pool: Pool, sql: string, params: unknown[]) =>
    Number((await pool.query<{ n: string }>(sql, params)).rows[0]?.n);
  const sessionsOf = (pool: Pool, phone: string) =>
    rows(
      pool,
      `select count(*) as n from "session" s join "user" u on s."userId" = u.id
       where u."phoneNumber" = $1`,
      [phone],
    );

  it("sends, signs up on the first code, signs in again, and adds a number to an account", async () => {
    let now = Date.now();
    const t = await app({ now: () => now });
    const phone = "+14155550121";
    const { authClient } = t.client();
    // better-auth reads the database's schema on its first request: not part of any call's cost.
    await t.client().authClient.whatsappOtp.send({ phoneNumber: "+14155550129" });
    const measure = async <T>(run: () => Promise<T>) => {
      const before = t.statements();
      const value = await run();
      return { value, statements: t.statements() - before };
    };
    const sent = await measure(() => authClient.whatsappOtp.send({ phoneNumber: phone }));
    expect(sent.value.error).toBeNull();
    const signUp = await measure(() =>
      authClient.whatsappOtp.verify({ phoneNumber: phone, code: t.sim.lastCode(phone) as string }),
    );
    expect(signUp.value.error).toBeNull();
    expect(signUp.value.data?.user).toMatchObject({
      phoneNumber: phone,
      phoneNumberVerified: true,
    });
    const session = await authClient.getSession();
    expect(session.data?.user).toMatchObject({ phoneNumber: phone });

    const again = t.client().authClient;
    now += 61_000; // past the phone's cooldown
    await again.whatsappOtp.send({ phoneNumber: phone });
    const signIn = await measure(() =>
      again.whatsappOtp.verify({ phoneNumber: phone, code: t.sim.lastCode(phone) as string }),
    );
    expect(signIn.value.data?.user.id).toBe(signUp.value.data?.user.id);
    expect(
      await rows(t.pool, `select count(*) as n from "user" where "phoneNumber" = $1`, [phone]),
    ).toBe(1);
    expect(await sessionsOf(t.pool, phone)).toBe(2);

    // An account made with email and password proves a number of its own.
    const ann = t.client().authClient;
    const signedUp = await ann.signUp.email({
      email: "ann@example.com",
      password: "correct-horse-battery",
      name: "Ann",
    });
    expect(signedUp.error).toBeNull();
    const added = "+14155550122";
    await ann.whatsappOtp.send({ phoneNumber: added, purpose: "verify-phone" });
    const verified = await ann.whatsappOtp.verifyPhone({
      phoneNumber: added,
      code: t.sim.lastCode(added) as string,
    });
    expect(verified.error).toBeNull();
    const [row] = (
      await t.pool.query(
        `select "phoneNumber", "phoneNumberVerified" from "user" where email = $1`,
        ["ann@example.com"],
      )
    ).rows;
    expect(row).toEqual({ phoneNumber: added, phoneNumberVerified: true });
    // The store's rows hold hashes, never a code.
    const stored = (await t.pool.query(`select value from "waotpRecord"`)).rows
      .map((r: { value: string }) => r.value)
      .join("\n");
    expect(stored).not.toContain(t.sim.lastCode(added) as string);

    figures["statements (HTTP)"] =
      `send ${sent.statements}, sign-up ${signUp.statements}, sign-in ${signIn.statements}`;
  });

  describe("two instances, each on its own pool", () => {
    const post = (t: Awaited<ReturnType<typeof app>>, path: string, body: unknown, ip: string) =>
      t.auth.handler(
        new Request(`http://localhost:3000/api/auth/whatsapp-otp/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-forwarded-for": ip },
          body: JSON.stringify(body),
        }),
      );
    /** The response's status and error code. */
    const answer = async (response: Response) => {
      const body = (await response.json()) as { code?: string };
      return response.ok ? "200" : `${response.status} ${body.code}`;
    };

    it("sends once of 20, judges 5 of 50 wrong guesses, signs in once of 20 right ones", async () => {
      const [a, b] = [
        await app({ verifyFailures: "precise" }),
        await app({ verifyFailures: "precise" }),
      ];
      const pick = (i: number) => (i % 2 === 0 ? a : b);
      const lastCode = (phone: string) =>
        (a.sim.lastCode(phone) ?? b.sim.lastCode(phone)) as string;

      const sends = await tally(
        crowd(20, (i, ip) => post(pick(i), "send", { phoneNumber: PHONE }, ip).then(answer)),
        (name) => name,
      );
      expect(sends).toEqual({ "200": 1, "429 RATE_LIMITED": 19 });

      const code = lastCode(PHONE);
      const wrong = code === "000000" ? "111111" : "000000";
      const guesses = await tally(
        crowd(50, (i, ip) =>
          post(pick(i), "verify", { phoneNumber: PHONE, code: wrong }, ip).then(answer),
        ),
        (name) => name,
      );
      expect(guesses).toEqual({ "400 INVALID_CODE": 5, "429 TOO_MANY_ATTEMPTS": 45 });

      const phone = "+14155550131";
      expect(await answer(await post(b, "send", { phoneNumber: phone }, "198.51.100.3"))).toBe(
        "200",
      );
      const rights = await tally(
        crowd(20, (i, ip) =>
          post(pick(i), "verify", { phoneNumber: phone, code: lastCode(phone) }, ip).then(answer),
        ),
        (name) => name,
      );
      expect(rights).toEqual({ "200": 1, "400 NO_PENDING_CODE": 19 });
      expect(await sessionsOf(a.pool, phone)).toBe(1);
      figures["over HTTP on two instances"] =
        `${sends["200"]} of 20 sends, ${guesses["400 INVALID_CODE"]} of 50 wrong guesses judged, ` +
        `${rights["200"]} of 20 right guesses signed in`;
    });
  });
});

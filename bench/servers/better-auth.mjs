// better-auth: the `whatsappOtp` plugin next to better-auth's own `phoneNumber` plugin, on an
// in-memory SQLite database or on a PostgreSQL database of their own.
import { whatsappOtp } from "@waotp/better-auth";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { phoneNumber } from "better-auth/plugins";
import Database from "better-sqlite3";
import pg from "pg";
import {
  benchChannel,
  CLIENT_IP,
  codes,
  OPEN_LIMITS,
  PG_POOL_SIZE,
  preparation,
  SECRET,
  sendTemplate,
} from "./common.mjs";

// Prepared codes are asked for as the load's requests are: from one client behind a proxy.
const CLIENT = new Headers({ "x-forwarded-for": CLIENT_IP });
// Codes prepared at once, so a PostgreSQL pool's connections are all in use.
const PREPARE_BATCH = 2 * PG_POOL_SIZE;

function postgresPool(connectionString) {
  const pool = new pg.Pool({ connectionString, max: PG_POOL_SIZE });
  // A connection the server drops while idle (at shutdown) must not crash the process.
  pool.on("error", () => {});
  return pool;
}

/**
 * `ours`: `whatsappOtp()` with the 1MSG channel and open limits. Otherwise better-auth's
 * `phoneNumber` plugin, its `sendOTP` doing one `fetch` with the same payload to the simulator.
 * Both verify by signing in (creating the user and a session). `databaseUrl`: a PostgreSQL
 * database (a `pg` pool of PG_POOL_SIZE); without it, SQLite in memory.
 */
export async function betterAuthApp(ours, { simulatorUrl, databaseUrl }) {
  const database = databaseUrl ? postgresPool(databaseUrl) : new Database(":memory:");
  const plugin = ours
    ? whatsappOtp({ channel: benchChannel(simulatorUrl), limits: OPEN_LIMITS })
    : phoneNumber({
        sendOTP: async ({ phoneNumber: phone, code }) => {
          if (preparation.active) return void codes.push([phone, code]);
          await sendTemplate(simulatorUrl, phone.replace(/\D/g, ""), code);
        },
        signUpOnVerification: { getTempEmail: (phone) => `${phone.slice(1)}@phone.invalid` },
      });
  const auth = betterAuth({
    baseURL: "http://127.0.0.1",
    secret: SECRET,
    database,
    plugins: [plugin],
    rateLimit: { enabled: false },
  });
  await (await getMigrations(auth.options)).runMigrations();
  const sendOne = (phone) => {
    const request = { body: { phoneNumber: phone }, headers: CLIENT };
    return ours ? auth.api.sendWhatsappOtp(request) : auth.api.sendPhoneNumberOTP(request);
  };
  const prepare = async (phones) => {
    preparation.active = true;
    try {
      for (let i = 0; i < phones.length; i += PREPARE_BATCH) {
        await Promise.all(phones.slice(i, i + PREPARE_BATCH).map(sendOne));
      }
    } finally {
      preparation.active = false;
    }
  };
  return { handler: toNodeHandler(auth), prepare };
}

import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { whatsappOtp } from "@waotp/better-auth";
import { channelFromEnv } from "@waotp/core/simulator";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import Database from "better-sqlite3";
import express from "express";

const PUBLIC = fileURLToPath(new URL("../public/", import.meta.url));

/**
 * Starts better-auth on SQLite with the WhatsApp OTP plugin, on the embedded 1MSG simulator unless
 * ONEMSG_TOKEN is set. Resolves with the URL, the auth instance and a `close()`.
 */
export async function startExample(env = process.env, log = console.log) {
  const { channel, simulator } = await channelFromEnv(env);
  const database = new Database(env.DATABASE_PATH || "better-auth.sqlite");
  const port = Number(env.PORT || 3001);
  const auth = betterAuth({
    baseURL: `http://localhost:${port}`,
    secret: env.BETTER_AUTH_SECRET || env.WAOTP_SECRET || randomBytes(32).toString("hex"),
    database,
    plugins: [
      whatsappOtp({
        channel,
        ...(env.WAOTP_WEBHOOK_SECRET ? { webhookSecret: env.WAOTP_WEBHOOK_SECRET } : {}),
      }),
    ],
  });
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();

  const app = express();
  app.disable("x-powered-by");
  // better-auth reads the client's address from a header only, and the plugin sends no code to a
  // client it cannot tell apart. This server faces clients directly, so it writes the socket's
  // address there, over anything the client sent. Behind a proxy, set Express's "trust proxy" to
  // it instead, or better-auth's advanced.ipAddress (see the plugin's README).
  app.use("/api/auth", (req, _res, next) => {
    req.headers["x-forwarded-for"] = req.ip ?? "";
    next();
  });
  app.all("/api/auth/*splat", toNodeHandler(auth));
  if (simulator) {
    app.get("/demo/inbox", (req, res) => {
      const phone = String(req.query.phone ?? "");
      res.json({
        messages: phone ? simulator.inbox(phone).map((m) => ({ text: m.text, code: m.code })) : [],
      });
    });
  }
  app.use(express.static(PUBLIC));

  const server = await new Promise((resolve, reject) => {
    const listening = app.listen(port, simulator ? "127.0.0.1" : undefined, () =>
      resolve(listening),
    );
    listening.once("error", reject);
  });
  const url = `http://localhost:${server.address().port}`;
  log(
    simulator
      ? `better-auth example on ${url} (simulator mode: no ONEMSG_TOKEN, codes go to the 1MSG simulator at ${simulator.url})`
      : `better-auth example on ${url} (1MSG mode)`,
  );
  return {
    url,
    auth,
    database,
    simulator,
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      await simulator?.close();
      database.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startExample();
  for (const signal of ["SIGINT", "SIGTERM"])
    process.once(signal, () => example.close().then(() => process.exit(0)));
}

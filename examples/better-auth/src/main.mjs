import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { whatsappOtp, whatsappTwoFactorOtp } from "@waotp/better-auth";
import { addWebhook } from "@waotp/core";
import { channelFromEnv, FAILING_PHONES, isLoopbackHost } from "@waotp/core/simulator";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { twoFactor } from "better-auth/plugins";
import Database from "better-sqlite3";
import express from "express";

const PUBLIC = fileURLToPath(new URL("../public/", import.meta.url));

/** How many simulated messages `GET /demo/inbox` shows, newest first. */
const INBOX_SIZE = 8;

/**
 * Starts better-auth on SQLite with the WhatsApp OTP plugin and WhatsApp as the second factor, on
 * the embedded 1MSG simulator unless ONEMSG_TOKEN is set. Resolves with the URL, the auth instance,
 * the database, the simulator (if any) and a `close()`.
 */
export async function startExample(env = process.env, log = console.log) {
  // `sms` is the simulator's Twilio in simulator mode, real Twilio with ONEMSG_TOKEN and TWILIO_*
  // set, and undefined otherwise.
  const { channel, sms, simulator } = await channelFromEnv(env);
  const app = express();
  app.disable("x-powered-by");
  // Listen first: better-auth's baseURL and the simulator's delivery webhook need the port.
  let server;
  let database;
  const close = async () => {
    server?.closeAllConnections?.();
    if (server) await new Promise((resolve) => server.close(resolve));
    await simulator?.close();
    database?.close();
  };

  try {
    server = await new Promise((resolve, reject) => {
      const listening = app.listen(Number(env.PORT || 3001), simulator ? "127.0.0.1" : undefined);
      listening.once("listening", () => resolve(listening));
      listening.once("error", reject);
    });
    const { port } = server.address();
    const url = `http://localhost:${port}`;
    // The simulator posts delivery reports to the plugin's webhook, so a message that fails after
    // 1MSG took it still falls back to SMS. With real 1MSG, register a public URL with `waotp
    // webhook set` and pass its secret.
    const webhookSecret =
      env.WAOTP_WEBHOOK_SECRET || (simulator ? randomBytes(16).toString("hex") : undefined);

    database = new Database(env.DATABASE_PATH || "better-auth.sqlite");
    const auth = betterAuth({
      baseURL: url,
      secret: env.BETTER_AUTH_SECRET || env.WAOTP_SECRET || randomBytes(32).toString("hex"),
      database,
      // Passwords sign in by email; a WhatsApp code resets them (whatsapp-otp/reset-password).
      emailAndPassword: { enabled: true },
      plugins: [
        whatsappOtp({
          channel,
          // Numbers WhatsApp cannot reach get the code by SMS.
          ...(sms ? { delivery: { fallback: sms } } : {}),
          ...(webhookSecret ? { webhookSecret } : {}),
        }),
        // After the password, a code to the user's verified number, over the same channel.
        twoFactor({
          otpOptions: { sendOTP: whatsappTwoFactorOtp({ channel }), storeOTP: "hashed" },
        }),
      ],
    });
    const { runMigrations } = await getMigrations(auth.options);
    await runMigrations();

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
      // The simulated phones, for the page: the newest messages to any number, WhatsApp and SMS.
      // Only for this machine, by its own name (not through a DNS name pointed at 127.0.0.1).
      app.get("/demo/inbox", (req, res) => {
        if (!isLoopbackHost(req.headers.host)) return res.status(403).json({ messages: [] });
        const messages = [...simulator.messages, ...simulator.sms.messages]
          .sort((a, b) => b.createdAt - a.createdAt)
          .slice(0, INBOX_SIZE)
          .map((m) => ({ phone: `+${m.phone}`, channel: m.channel, text: m.text, id: m.id }));
        res.json({ messages });
      });
      await addWebhook(
        channel.client,
        `http://127.0.0.1:${port}/api/auth/whatsapp-otp/webhook/${webhookSecret}`,
      );
    }
    app.use(express.static(PUBLIC));

    if (simulator) {
      log(
        `better-auth example on ${url} (simulator mode: no ONEMSG_TOKEN, codes go to the 1MSG simulator at ${simulator.url})`,
      );
      log(
        `Numbers WhatsApp cannot reach get an SMS: try ${FAILING_PHONES.refused} (no WhatsApp) or ${FAILING_PHONES.failed} (the message fails).`,
      );
    } else {
      log(`better-auth example on ${url} (1MSG mode)`);
      log(
        sms
          ? `Numbers WhatsApp cannot reach get the code by SMS (${sms.name}).`
          : "No SMS fallback: set the TWILIO_* variables for one.",
      );
    }
    return { url, auth, database, simulator, close };
  } catch (error) {
    await close();
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const example = await startExample();
  for (const signal of ["SIGINT", "SIGTERM"])
    process.once(signal, () => example.close().then(() => process.exit(0)));
}

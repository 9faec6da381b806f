import { addWebhook, createOtp } from "@waotp/core";
import { redisStore } from "@waotp/core/redis";
import { channelFromEnv } from "@waotp/core/simulator";
import { createClient } from "redis";
import { createDemoApp } from "./app.mjs";
import { readConfig } from "./config.mjs";

/** Starts the demo; resolves with its URL and a `close()` that stops everything it started. */
export async function startDemo(env = process.env, log = console.log, otpOptions = {}) {
  const config = readConfig(env);
  const { channel, simulator } = await channelFromEnv(env);
  // With REDIS_URL, codes and limits live in Redis and every instance shares them.
  // No offline queue: a call made while Redis is away fails now, instead of running late.
  const redis = config.redisUrl
    ? createClient({
        url: config.redisUrl,
        disableOfflineQueue: true,
        socket: { reconnectStrategy: () => 200 },
      })
    : undefined;
  redis?.on("error", () => {}); // it reconnects by itself; meanwhile calls fail closed with 503
  await redis?.connect();
  const otp = createOtp({
    secret: config.secret,
    channel,
    ...(redis ? { store: redisStore(redis) } : {}),
    ...otpOptions,
  });
  const app = createDemoApp({
    otp,
    secret: config.secret,
    webhookSecret: config.webhookSecret,
    simulator,
    cooldownSeconds: otpOptions.limits?.sendsPerPhone?.cooldownSeconds ?? 60,
  });
  const server = await new Promise((resolve, reject) => {
    // The simulated phone shows codes: in simulator mode, only this machine may reach it.
    const host = simulator ? "127.0.0.1" : undefined;
    const listening = app.listen(config.port, host, () => resolve(listening));
    listening.once("error", reject);
  });
  const url = `http://localhost:${server.address().port}`;
  const webhookPath = `/otp/webhook/${config.webhookSecret}`;

  if (simulator) {
    log(
      `waotp demo on ${url} (simulator mode: no ONEMSG_TOKEN, so codes go to the embedded 1MSG simulator at ${simulator.url})`,
    );
    // Added beside the webhooks already on the channel (1MSG's own inbox webhook among them).
    await addWebhook(channel.client, `http://127.0.0.1:${server.address().port}${webhookPath}`);
  } else {
    log(
      `waotp demo on ${url} (1MSG mode: channel ${config.oneMsg.channelId} at ${config.oneMsg.baseUrl})`,
    );
    log(
      `For delivery updates, expose this server and run: waotp webhook set https://<public host>/otp/webhook/<WAOTP_WEBHOOK_SECRET>`,
    );
  }
  log(
    redis
      ? "Codes and limits are kept in Redis (REDIS_URL)."
      : "Codes and limits are kept in this process's memory.",
  );
  if (config.generated.length > 0) {
    log(
      `Generated ${config.generated.join(" and ")} for this run; set them to keep sign-ins across restarts.`,
    );
  }

  return {
    url,
    port: server.address().port,
    simulator,
    otp,
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
      await simulator?.close();
      await redis?.quit().catch(() => {});
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const demo = await startDemo().catch((error) => {
    console.error(`waotp demo: ${error.message}`);
    process.exit(1);
  });
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => demo.close().then(() => process.exit(0)));
  }
}

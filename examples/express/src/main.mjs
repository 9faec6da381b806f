import { createServer } from "node:http";
import { addWebhook, createOtp, memoryStore } from "@waotp/core";
import { redisStore } from "@waotp/core/redis";
import { channelFromEnv, FAILING_PHONES } from "@waotp/core/simulator";
import { createClient } from "redis";
import { createDemoApp } from "./app.mjs";
import { readConfig } from "./config.mjs";
import { createOperator } from "./operator.mjs";

/**
 * Starts the demo; resolves with its URL and a `close()` that stops everything it started.
 * `simulatorOptions` go to the embedded simulator in simulator mode (the timing of its acks, say).
 */
export async function startDemo(
  env = process.env,
  log = console.log,
  otpOptions = {},
  simulatorOptions = {},
) {
  const config = readConfig(env);
  // The server listens first, since the simulated SMS reports delivery to it and needs its port;
  // until the app is ready, it answers 503.
  let handle = (_req, res) => res.writeHead(503, { "retry-after": "1" }).end();
  const server = createServer((req, res) => handle(req, res));
  let simulator;
  let redis;
  let memory;
  const stop = async () => {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(() => resolve()));
    await simulator?.close();
    await redis?.quit().catch(() => {});
    memory?.close();
  };

  try {
    // The simulated phone shows codes: in simulator mode, only this machine may reach the demo.
    const host = config.oneMsg ? undefined : "127.0.0.1";
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, host, () => resolve());
    });
    const port = server.address().port;
    const url = `http://localhost:${port}`;
    const webhookUrl = `http://127.0.0.1:${port}/otp/webhook/${config.webhookSecret}`;

    const channels = await channelFromEnv(
      env,
      simulatorOptions,
      config.oneMsg ? {} : { statusCallback: webhookUrl },
    );
    const { channel, sms } = channels;
    simulator = channels.simulator;
    // With REDIS_URL, codes and limits live in Redis and every instance shares them.
    // No offline queue: a call made while Redis is away fails now, instead of running late.
    if (config.redisUrl) {
      redis = createClient({
        url: config.redisUrl,
        disableOfflineQueue: true,
        socket: { reconnectStrategy: () => 200 },
      });
      redis.on("error", () => {}); // it reconnects by itself; meanwhile calls fail closed with 503
      await redis.connect();
    }
    // A user WhatsApp cannot reach gets the code by SMS: when 1MSG refuses the number, when the
    // message fails, when no delivery report comes in time, or when the user asks for it.
    const fallback =
      sms === undefined
        ? {}
        : {
            fallback: {
              channel: sms,
              ...(config.smsTimeoutSeconds === false
                ? {}
                : { timeoutSeconds: config.smsTimeoutSeconds }),
            },
          };
    // One store for the codes, the limits and the tripwire, so every instance on Redis obeys the
    // same pauses. Metrics and the tripwire read the engine's clock (a test may inject one).
    if (!otpOptions.store && !redis) memory = memoryStore({ now: otpOptions.now });
    const store = otpOptions.store ?? (redis ? redisStore(redis) : memory);
    const operator = createOperator({
      store,
      now: otpOptions.now,
      tripwire: config.tripwire,
      log,
      page: simulator ? `${url}/admin` : undefined,
    });
    const otp = createOtp({
      secret: config.secret,
      channel,
      ...otpOptions,
      store,
      beforeSend: operator.beforeSend(otpOptions.beforeSend),
      onEvent: operator.onEvent(otpOptions.onEvent),
      delivery: { ...fallback, ...otpOptions.delivery },
    });
    handle = createDemoApp({
      otp,
      secret: config.secret,
      webhookSecret: config.webhookSecret,
      simulator,
      cooldownSeconds: otpOptions.limits?.sendsPerPhone?.cooldownSeconds ?? 60,
      sms: sms ? { channel: sms.name, offerAfterSeconds: config.smsOfferSeconds } : undefined,
      failingPhones: simulator ? FAILING_PHONES : undefined,
      operator: simulator ? operator : undefined,
    });

    if (simulator) {
      log(
        `waotp demo on ${url} (simulator mode: no ONEMSG_TOKEN, so codes go to the embedded 1MSG simulator at ${simulator.url})`,
      );
      // Added beside the webhooks already on the channel (1MSG's own inbox webhook among them).
      await addWebhook(channel.client, webhookUrl);
      log(
        `Codes go by simulated SMS to users WhatsApp cannot reach: try ${FAILING_PHONES.refused} (no WhatsApp) or ${FAILING_PHONES.failed} (WhatsApp fails).`,
      );
      log(
        `Operator page (metrics, pumping tripwire): ${url}/admin (tripwire: ${config.tripwire.minSends} settled sends, ${config.tripwire.settleSeconds} s settle, ${config.tripwire.pauseSeconds} s pause).`,
      );
    } else {
      log(
        `waotp demo on ${url} (1MSG mode: channel ${config.oneMsg.channelId} at ${config.oneMsg.baseUrl})`,
      );
      log(
        `For delivery updates, expose this server and run: waotp webhook set https://<public host>/otp/webhook/<WAOTP_WEBHOOK_SECRET>`,
      );
      log(
        sms
          ? `Codes go by SMS (${sms.name}) to users WhatsApp cannot reach.`
          : "No SMS fallback: set the TWILIO_* variables to send codes by SMS to users WhatsApp cannot reach.",
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
    return { url, port, simulator, otp, operator, close: stop };
  } catch (error) {
    await stop();
    throw error;
  }
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

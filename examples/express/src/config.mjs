import { randomBytes } from "node:crypto";
import { oneMsgOptionsFromEnv } from "@waotp/core";

/**
 * Reads the demo's settings from the environment (names as in the project's DESIGN). With no
 * ONEMSG_TOKEN the demo runs on the embedded 1MSG simulator.
 */
export function readConfig(env = process.env) {
  const generated = [];
  const orGenerated = (name, bytes) => {
    if (env[name]) return env[name];
    generated.push(name);
    return randomBytes(bytes).toString("hex");
  };
  const secret = orGenerated("WAOTP_SECRET", 32);
  const webhookSecret = orGenerated("WAOTP_WEBHOOK_SECRET", 16);
  const port = Number(env.PORT || 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number, not "${env.PORT}".`);
  }
  if (env.ONEMSG_TOKEN && !env.WAOTP_WEBHOOK_SECRET) {
    throw new Error(
      "WAOTP_WEBHOOK_SECRET is required with real 1MSG: it goes in the webhook URL you register.",
    );
  }
  const oneMsg = env.ONEMSG_TOKEN ? oneMsgOptionsFromEnv(env) : undefined;
  // The engine's own SMS fallback when WhatsApp reports no delivery in time. On by default only
  // with the simulator: against real 1MSG without a reachable webhook, every message would time out.
  const smsTimeoutSeconds = seconds(
    env,
    "WAOTP_SMS_TIMEOUT_SECONDS",
    oneMsg ? "off" : "45",
    5,
    600,
  );
  // When the page offers "Send by SMS instead" to a user still waiting for WhatsApp.
  const smsOfferSeconds = seconds(env, "WAOTP_SMS_OFFER_SECONDS", "10", 0, 600);
  // The pumping tripwire (simulator mode shows it on /admin). Unset, these are the core's own
  // defaults; lower them to watch it trip by hand or in a test.
  const tripwire = {
    minSends: whole(env, "WAOTP_TRIPWIRE_MIN_SENDS", 30, 1, 100_000, "sends"),
    settleSeconds: whole(env, "WAOTP_TRIPWIRE_SETTLE_SECONDS", 30, 0, 1800, "seconds"),
    pauseSeconds: whole(env, "WAOTP_TRIPWIRE_PAUSE_SECONDS", 1800, 1, 604_800, "seconds"),
  };
  return {
    secret,
    webhookSecret,
    port,
    oneMsg,
    generated,
    redisUrl: env.REDIS_URL || undefined,
    smsTimeoutSeconds,
    smsOfferSeconds,
    tripwire,
  };
}

/** A whole number from `env[name]` within `min..max`, or `fallback` when unset. */
function whole(env, name, fallback, min, max, unit) {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new Error(`${name} must be a whole number of ${unit} from ${min} to ${max}.`);
  }
  return value;
}

/** A number of seconds from `env[name]` within `min..max`, or `false` for "off". */
function seconds(env, name, fallback, min, max) {
  const raw = (env[name] || fallback).trim().toLowerCase();
  if (raw === "off") return false;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number of seconds from ${min} to ${max}, or "off".`);
  }
  return value;
}

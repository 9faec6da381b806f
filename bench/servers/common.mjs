// What every benchmark server shares: the simulator's template, the limits, the 1MSG channel, the
// engine behind the framework adapters, and the bare baseline's send and verify.
import { randomInt, timingSafeEqual } from "node:crypto";
import { authenticationTemplateBody, createOtp, memoryStore, oneMsg } from "@waotp/core";

export const SIM = {
  channelId: "sim-channel",
  token: "sim-token",
  name: "waotp_code",
  namespace: "waotp_simulator",
};
export const SECRET = "bench-secret-0123456789abcdef0123456789abcdef";
// Limits that never refuse a benchmark request: every window is still checked and counted.
export const OPEN_LIMITS = {
  sendsPerPhone: { cooldownSeconds: 0, max: 1_000_000 },
  sendsPerIp: { max: 1_000_000_000 },
  failuresPerPhone: { max: 1_000_000 },
  failuresPerIp: { max: 1_000_000_000 },
  sendsPerPrefix: { max: 1_000_000_000 },
  sendsPerCountry: { max: 1_000_000_000 },
};
/** Connections per PostgreSQL pool, the same for both better-auth plugins. */
export const PG_POOL_SIZE = 10;
/** The client's address as a proxy in front passes it: the load sends it, preparation too. */
export const CLIENT_IP = "127.0.0.1";

/** [phone, code] pairs recorded while preparing codes for a verify run (GET /bench/codes). */
export const codes = [];
// While preparing codes for a verify run, messages are only recorded, not sent.
export const preparation = { active: false };

/** The same request 1MSG gets from waotp, for the baselines. */
export const templateBody = (phone, code) => ({
  ...authenticationTemplateBody(phone, code, {
    name: SIM.name,
    namespace: SIM.namespace,
    language: "en",
  }),
  messageSendTtlSeconds: 300,
});

/** One `fetch` to the simulator with the template waotp sends; resolves with the message id. */
export async function sendTemplate(simulatorUrl, phoneDigits, code) {
  const response = await fetch(`${simulatorUrl}/${SIM.channelId}/sendTemplate`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${SIM.token}` },
    body: JSON.stringify(templateBody(phoneDigits, code)),
  });
  const sent = await response.json();
  return sent.id;
}

/** waotp's 1MSG channel to the simulator; while preparing, it records the code instead. */
export function benchChannel(simulatorUrl) {
  const real = oneMsg({
    baseUrl: simulatorUrl,
    channelId: SIM.channelId,
    token: SIM.token,
    template: SIM,
  });
  let prepared = 0;
  return {
    name: "1msg",
    async send(message) {
      if (!preparation.active) return real.send(message);
      codes.push([`+${message.phone}`, message.code]);
      return { messageId: `prepared.${++prepared}` };
    },
  };
}

/**
 * The engine behind the Express, Fastify and Web adapters: the memory store, the 1MSG channel,
 * open limits. `prepare(phones)` sends a code to each phone without delivering it.
 */
export function waotpEngine(simulatorUrl) {
  const otp = createOtp({
    secret: SECRET,
    channel: benchChannel(simulatorUrl),
    // Room for every code and counter of a run: a full store refuses sends, as it should.
    store: memoryStore({ maxEntries: 10_000_000 }),
    limits: OPEN_LIMITS,
  });
  const prepare = async (phones) => {
    preparation.active = true;
    try {
      for (const phone of phones) await otp.send({ phone, ip: CLIENT_IP });
    } finally {
      preparation.active = false;
    }
  };
  return { otp, prepare };
}

const randomCode = () => String(randomInt(0, 1_000_000)).padStart(6, "0");

/**
 * The bare baseline, the same in every framework: only what a code sent over WhatsApp cannot do
 * without. Send: a random code, one `fetch` with the same payload to the same simulator, a `Map`
 * set. Verify: a `Map` get, a constant-time compare, a delete. No validation, limits or hashing.
 */
export function bareOtp(simulatorUrl) {
  const pending = new Map();
  const digits = (phone) => String(phone).replace(/\D/g, "");
  return {
    async send(phoneInput) {
      const phone = digits(phoneInput);
      const code = randomCode();
      const messageId = await sendTemplate(simulatorUrl, phone, code);
      pending.set(phone, code);
      return messageId;
    },
    verify(phoneInput, codeInput) {
      const phone = digits(phoneInput);
      const code = pending.get(phone);
      const given = String(codeInput);
      const ok =
        code !== undefined &&
        code.length === given.length &&
        timingSafeEqual(Buffer.from(code), Buffer.from(given));
      if (ok) pending.delete(phone);
      return ok;
    },
    async prepare(phones) {
      for (const phone of phones) {
        const code = randomCode();
        pending.set(digits(phone), code);
        codes.push([phone, code]);
      }
    },
  };
}

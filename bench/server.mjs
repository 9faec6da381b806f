// One benchmark server per process: `node server.mjs <kind> <simulatorUrl>` prints its port.
// Kinds: waotp, bare (Express); ba-waotp, ba-builtin (better-auth on SQLite).
import { randomInt, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { whatsappOtp } from "@waotp/better-auth";
import { authenticationTemplateBody, createOtp, memoryStore, oneMsg } from "@waotp/core";
import { otpRouter } from "@waotp/express";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { phoneNumber } from "better-auth/plugins";
import Database from "better-sqlite3";
import express from "express";

const [kind, simulatorUrl] = process.argv.slice(2);
const SIM = {
  channelId: "sim-channel",
  token: "sim-token",
  name: "waotp_code",
  namespace: "waotp_simulator",
};
const SECRET = "bench-secret-0123456789abcdef0123456789abcdef";
// Limits that never refuse a benchmark request: the cost of checking them is still paid.
const OPEN_LIMITS = {
  sendsPerPhone: { cooldownSeconds: 0, max: 1_000_000 },
  sendsPerIp: { max: 1_000_000_000 },
  failuresPerPhone: { max: 1_000_000 },
};

// While preparing codes for a verify run, messages are only recorded, not sent.
let preparing = false;
const codes = [];
function benchChannel() {
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
      if (!preparing) return real.send(message);
      codes.push([`+${message.phone}`, message.code]);
      return { messageId: `prepared.${++prepared}` };
    },
  };
}

/** The same request 1MSG gets from waotp, for the bare baseline. */
const templateBody = (phone, code) => ({
  ...authenticationTemplateBody(phone, code, {
    name: SIM.name,
    namespace: SIM.namespace,
    language: "en",
  }),
  messageSendTtlSeconds: 300,
});

async function waotpApp() {
  const otp = createOtp({
    secret: SECRET,
    channel: benchChannel(),
    // Room for every code and counter of a run: a full store refuses sends, as it should.
    store: memoryStore({ maxEntries: 10_000_000 }),
    limits: OPEN_LIMITS,
  });
  const app = express();
  app.use("/otp", otpRouter(otp, { secret: SECRET }));
  const prepare = async (phones) => {
    preparing = true;
    for (const phone of phones) await otp.send({ phone });
    preparing = false;
  };
  return { handler: app, prepare };
}

async function bareApp() {
  const pending = new Map();
  const app = express();
  app.use(express.json());
  // Only what cannot be avoided: a random code, one fetch with the same payload, a Map set.
  app.post("/otp/send", async (req, res) => {
    const phone = String(req.body.phone).replace(/\D/g, "");
    const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
    const response = await fetch(`${simulatorUrl}/${SIM.channelId}/sendTemplate`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${SIM.token}` },
      body: JSON.stringify(templateBody(phone, code)),
    });
    const sent = await response.json();
    pending.set(phone, code);
    res.json({ messageId: sent.id });
  });
  app.post("/otp/verify", (req, res) => {
    const phone = String(req.body.phone).replace(/\D/g, "");
    const code = pending.get(phone);
    const given = String(req.body.code);
    const ok =
      code !== undefined &&
      code.length === given.length &&
      timingSafeEqual(Buffer.from(code), Buffer.from(given));
    if (ok) pending.delete(phone);
    res.status(ok ? 200 : 400).json({ verified: ok });
  });
  const prepare = async (phones) => {
    for (const phone of phones) {
      const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
      pending.set(phone.replace(/\D/g, ""), code);
      codes.push([phone, code]);
    }
  };
  return { handler: app, prepare };
}

async function betterAuthApp(ours) {
  const database = new Database(":memory:");
  const plugin = ours
    ? whatsappOtp({ channel: benchChannel(), limits: OPEN_LIMITS })
    : phoneNumber({
        sendOTP: async ({ phoneNumber: phone, code }) => {
          if (preparing) return void codes.push([phone, code]);
          const response = await fetch(`${simulatorUrl}/${SIM.channelId}/sendTemplate`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${SIM.token}` },
            body: JSON.stringify(templateBody(phone.replace(/\D/g, ""), code)),
          });
          await response.json();
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
  const prepare = async (phones) => {
    preparing = true;
    for (const phone of phones) {
      const request = { body: { phoneNumber: phone }, headers: CLIENT };
      if (ours) await auth.api.sendWhatsappOtp(request);
      else await auth.api.sendPhoneNumberOTP(request);
    }
    preparing = false;
  };
  return { handler: toNodeHandler(auth), prepare };
}

// Prepared codes are asked for as the load's requests are: from one client behind a proxy.
const CLIENT = new Headers({ "x-forwarded-for": "127.0.0.1" });

const apps = {
  waotp: waotpApp,
  bare: bareApp,
  "ba-waotp": () => betterAuthApp(true),
  "ba-builtin": () => betterAuthApp(false),
};
const { handler, prepare } = await apps[kind]();

// Bench control: POST /bench/prepare with a list of phones; GET /bench/codes gives [phone, code] pairs.
const server = createServer(async (req, res) => {
  if (req.url === "/bench/prepare") {
    let body = "";
    for await (const chunk of req) body += chunk;
    codes.length = 0;
    await prepare(JSON.parse(body));
    res.end(JSON.stringify({ prepared: codes.length }));
  } else if (req.url === "/bench/codes") {
    res.end(JSON.stringify(codes));
  } else {
    handler(req, res);
  }
});
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: server.address().port })));
process.on("SIGINT", () => process.exit(0));

import { request } from "node:http";
import { FAILING_PHONES, startOneMsgSimulator } from "@waotp/core/simulator";
import { afterEach, describe, expect, it } from "vitest";
import { startDemo } from "../src/main.mjs";

const PHONE = "+14155550101";
const running = [];
afterEach(async () => {
  while (running.length > 0) await running.pop().close();
});

async function demo(env = {}, otpOptions = {}, simulatorOptions = {}) {
  const lines = [];
  const started = await startDemo(
    { PORT: "0", ...env },
    (line) => lines.push(line),
    otpOptions,
    simulatorOptions,
  );
  running.push(started);
  return { ...started, lines };
}

/** A browser-like client: JSON in and out, cookies kept. */
function client(base) {
  let cookies = {};
  return async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        cookie: Object.entries(cookies)
          .map(([k, v]) => `${k}=${v}`)
          .join("; "),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const [name, value] = pair.split("=");
      if (/Max-Age=0|Expires=Thu, 01 Jan 1970/.test(header)) delete cookies[name];
      else cookies = { ...cookies, [name]: value };
    }
    return { status: response.status, body: await response.json().catch(() => null) };
  };
}

/** A POST of JSON (or of `body` as it is, when a string) with extra headers. */
const postJson = (d, path, body, headers = {}) =>
  fetch(`${d.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

/** A GET with any headers, `Host` included (which fetch does not let a caller set). */
function rawGet(port, path, headers) {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function until(read, done, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("the demo over HTTP, on the embedded simulator", () => {
  it("says on its first line that it runs on the simulator, with its URL", async () => {
    const d = await demo();
    expect(d.lines[0]).toMatch(
      /^waotp demo on http:\/\/localhost:\d+ \(simulator mode: no ONEMSG_TOKEN, so codes go to the embedded 1MSG simulator at http:\/\/127\.0\.0\.1:\d+\)$/,
    );
    const page = await fetch(d.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('autocomplete="one-time-code"');
  });

  it("signs in with a code read from the simulated phone, and tracks delivery through the webhook", async () => {
    const d = await demo();
    const call = client(d.url);
    expect((await call("GET", "/api/me")).body).toEqual({ signedIn: false });

    const sent = await call("POST", "/otp/send", { phone: "+1 (415) 555-0101" });
    expect(sent.status).toBe(200);
    const inbox = await call("GET", `/api/inbox?phone=${encodeURIComponent(PHONE)}`);
    const [message] = inbox.body.messages;
    expect(message.text).toBe(
      `${message.code} is your verification code. For your security, do not share this code with anyone.`,
    );
    expect(message.button).toBe("Copy code");

    const status = await until(
      () => call("GET", `/otp/status/${sent.body.messageId}`),
      (r) => r.body.status === "delivered",
    );
    expect(status.body.status).toBe("delivered");

    const verified = await call("POST", "/otp/verify", { phone: PHONE, code: message.code });
    expect(verified).toEqual({ status: 200, body: { verified: true, phone: PHONE } });
    expect((await call("GET", "/api/me")).body).toMatchObject({ signedIn: true, phone: PHONE });

    const forged = await fetch(`${d.url}/api/logout`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "x=1",
    });
    expect(forged.status).toBe(415);
    await call("POST", "/api/logout", {});
    expect((await call("GET", "/api/me")).body).toEqual({ signedIn: false });
  });

  it("guards the transfer with a step-up code for the signed-in phone", async () => {
    const d = await demo({}, { limits: { sendsPerPhone: { cooldownSeconds: 0 } } });
    const call = client(d.url);
    expect((await call("POST", "/api/transfer", {})).status).toBe(401);

    await call("POST", "/otp/send", { phone: PHONE });
    await call("POST", "/otp/verify", { phone: PHONE, code: d.simulator.lastCode(PHONE) });
    const refused = await call("POST", "/api/transfer", {});
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe("STEP_UP_REQUIRED");

    // A step-up code for another phone does not unlock this user's action.
    await call("POST", "/otp/send", { phone: "+14155550102", purpose: "step-up" });
    await call("POST", "/otp/verify", {
      phone: "+14155550102",
      code: d.simulator.lastCode("+14155550102"),
      purpose: "step-up",
    });
    expect((await call("POST", "/api/transfer", {})).status).toBe(401);

    await call("POST", "/otp/send", { phone: PHONE, purpose: "step-up" });
    await call("POST", "/otp/verify", {
      phone: PHONE,
      code: d.simulator.lastCode(PHONE),
      purpose: "step-up",
    });
    const approved = await call("POST", "/api/transfer", {});
    expect(approved.status).toBe(200);
    expect(approved.body.message).toMatch(/Transfer of \$100 approved/);
  });

  it("answers bad input with 4xx codes, never 500", async () => {
    const d = await demo();
    const post = (body, type = "application/json") =>
      fetch(`${d.url}/otp/send`, { method: "POST", headers: { "content-type": type }, body });
    expect((await post("{bad")).status).toBe(400);
    expect((await post("x".repeat(100_000))).status).toBe(413);
    expect((await post("phone=1", "application/x-www-form-urlencoded")).status).toBe(415);
    expect((await post(JSON.stringify({ phone: "hello" }))).status).toBe(400);
  });
});

describe("the demo's SMS fallback, on the embedded simulator", () => {
  const inbox = async (call, phone) =>
    (await call("GET", `/api/inbox?phone=${encodeURIComponent(phone)}`)).body.messages;

  it("tells the page about the SMS fallback and the numbers without WhatsApp", async () => {
    const d = await demo({ WAOTP_SMS_OFFER_SECONDS: "3" });
    expect((await client(d.url)("GET", "/api/demo")).body).toMatchObject({
      sms: { channel: "twilio-sms", offerAfterSeconds: 3 },
      failingPhones: { refused: "+14155550150", failed: "+14155550151" },
    });
    expect(d.lines[1]).toBe(
      "Codes go by simulated SMS to users WhatsApp cannot reach: try +14155550150 (no WhatsApp) or +14155550151 (WhatsApp fails).",
    );
    const off = await demo({ WAOTP_SMS_OFFER_SECONDS: "off" });
    expect((await client(off.url)("GET", "/api/demo")).body.sms.offerAfterSeconds).toBe(false);
    await expect(
      startDemo({ PORT: "0", WAOTP_SMS_OFFER_SECONDS: "soon" }, () => {}),
    ).rejects.toThrow(
      /WAOTP_SMS_OFFER_SECONDS must be a whole number of seconds from 0 to 600, or "off"/,
    );
    await expect(
      startDemo({ PORT: "0", WAOTP_SMS_TIMEOUT_SECONDS: "2" }, () => {}),
    ).rejects.toThrow(/WAOTP_SMS_TIMEOUT_SECONDS must be a whole number of seconds from 5 to 600/);
  });

  it("sends the code by SMS at once to the number 1MSG refuses, and that code signs in", async () => {
    const d = await demo({ WAOTP_WEBHOOK_SECRET: "hook-secret-0123456789" });
    const call = client(d.url);
    const sent = await call("POST", "/otp/send", { phone: FAILING_PHONES.refused, locale: "es" });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ channel: "twilio-sms", fallback: "refused" });
    const messages = await inbox(call, FAILING_PHONES.refused);
    expect(messages).toHaveLength(1);
    const [sms] = messages;
    expect(sms).toMatchObject({ id: sent.body.messageId, channel: "sms", from: "+14155550100" });
    expect(sms.text).toBe(
      `Tu código de verificación es ${sms.code}. Vale 5 minutos; no se lo des a nadie.`,
    );
    expect(sms).not.toHaveProperty("button");
    // Its delivery reports go to the demo's own webhook route.
    expect(d.simulator.sms.messages[0].statusCallback).toBe(
      `http://127.0.0.1:${d.port}/otp/webhook/hook-secret-0123456789`,
    );
    const status = await call("GET", `/otp/status/${sent.body.messageId}`);
    expect(status.body).toMatchObject({ channel: "twilio-sms" });
    const verified = await call("POST", "/otp/verify", {
      phone: FAILING_PHONES.refused,
      code: sms.code,
    });
    expect(verified.status).toBe(200);
    expect((await call("GET", "/api/me")).body).toMatchObject({
      signedIn: true,
      phone: FAILING_PHONES.refused,
    });
  });

  it("hands the code to SMS when the WhatsApp message fails, and the status leads the page there", async () => {
    const d = await demo();
    const call = client(d.url);
    const sent = await call("POST", "/otp/send", { phone: FAILING_PHONES.failed });
    expect(sent.body.channel).toBe("1msg");
    const whatsappCode = d.simulator.inbox(FAILING_PHONES.failed)[0].code;
    const status = await until(
      () => call("GET", `/otp/status/${sent.body.messageId}`),
      (r) => r.body.fallback !== undefined,
    );
    expect(status.body).toMatchObject({
      status: "failed",
      channel: "1msg",
      fallback: { channel: "twilio-sms", messageId: expect.stringMatching(/^SM[0-9a-f]{32}$/) },
    });
    // The phone shows the SMS only: the WhatsApp message never reached it.
    const messages = await inbox(call, FAILING_PHONES.failed);
    expect(messages.map((m) => [m.channel, m.id])).toEqual([
      ["sms", status.body.fallback.messageId],
    ]);
    const smsStatus = await call("GET", `/otp/status/${status.body.fallback.messageId}`);
    expect(smsStatus.body.channel).toBe("twilio-sms");
    if (whatsappCode !== messages[0].code) {
      const stale = await call("POST", "/otp/verify", {
        phone: FAILING_PHONES.failed,
        code: whatsappCode,
      });
      expect(stale.status).toBe(400);
    }
    const verified = await call("POST", "/otp/verify", {
      phone: FAILING_PHONES.failed,
      code: messages[0].code,
    });
    expect(verified.status).toBe(200);
  });

  it("sends by SMS when the user asks, in the user's language, and only that code works", async () => {
    const d = await demo();
    const call = client(d.url);
    const whatsapp = await call("POST", "/otp/send", { phone: PHONE, locale: "pt-BR" });
    expect(whatsapp.body.channel).toBe("1msg");
    const [message] = await inbox(call, PHONE);
    expect(message).toMatchObject({ channel: "whatsapp", button: "Copiar código" });
    expect(message.text).toBe(
      `${message.code} é o seu código de verificação. Por segurança, não o compartilhe com ninguém.`,
    );
    const sms = await call("POST", "/otp/send", { phone: PHONE, locale: "pt-BR", channel: "sms" });
    expect(sms.status).toBe(200);
    expect(sms.body).toMatchObject({ channel: "twilio-sms", fallback: "requested" });
    const messages = await inbox(call, PHONE);
    expect(messages.map((m) => m.channel)).toEqual(["whatsapp", "sms"]);
    expect(messages[1].text).toMatch(/^Seu código de verificação é \d{6}\./);
    // A channel the demo does not have is refused, not ignored.
    const other = await call("POST", "/otp/send", { phone: PHONE, channel: "voice" });
    expect(other.status).toBe(400);
    if (message.code !== messages[1].code) {
      const stale = await call("POST", "/otp/verify", { phone: PHONE, code: message.code });
      expect(stale.status).toBe(400);
    }
    const verified = await call("POST", "/otp/verify", { phone: PHONE, code: messages[1].code });
    expect(verified.status).toBe(200);
  });

  it("sends by SMS by itself when WhatsApp reports no delivery in time (WAOTP_SMS_TIMEOUT_SECONDS)", async () => {
    const d = await demo(
      { WAOTP_SMS_TIMEOUT_SECONDS: "5" },
      {},
      { acks: { sent: 10, delivered: false } },
    );
    const call = client(d.url);
    const sent = await call("POST", "/otp/send", { phone: "+14155550133" });
    const status = await until(
      () => call("GET", `/otp/status/${sent.body.messageId}`),
      (r) => r.body.fallback !== undefined,
      10_000,
    );
    expect(status.body).toMatchObject({ status: "sent", fallback: { channel: "twilio-sms" } });
    expect((await inbox(call, "+14155550133")).map((m) => m.channel)).toEqual(["whatsapp", "sms"]);
  });
});

describe("the operator page, on the embedded simulator", () => {
  it("serves /admin and its figures to this machine only", async () => {
    const d = await demo();
    const page = await fetch(`${d.url}/admin`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="/admin/admin.js" defer></script>');
    expect(html).not.toMatch(/<script>|<style>| style=/);
    expect((await fetch(`${d.url}/admin/admin.js`)).status).toBe(200);
    expect(d.lines[2]).toBe(
      `Operator page (metrics, pumping tripwire): ${d.url}/admin (tripwire: 30 settled sends, 30 s settle, 1800 s pause).`,
    );

    // Through a proxy from elsewhere, or under a name that is not this machine's (a page that
    // rebound its DNS to 127.0.0.1): refused.
    for (const headers of [{ "x-forwarded-for": "203.0.113.9" }, { host: "attacker.example" }]) {
      for (const path of ["/admin", "/admin/api/metrics"]) {
        const refused = await rawGet(d.port, path, headers);
        expect(refused.status).toBe(403);
        expect(JSON.parse(refused.body).error.code).toBe("LOCAL_ONLY");
      }
    }
    expect((await rawGet(d.port, "/admin", { host: `127.0.0.1:${d.port}` })).status).toBe(200);

    const call = client(d.url);
    await call("POST", "/otp/send", { phone: PHONE });
    await call("POST", "/otp/verify", { phone: PHONE, code: d.simulator.lastCode(PHONE) });
    const view = (await call("GET", "/admin/api/metrics")).body;
    expect(view.metrics.totals).toMatchObject({ sent: 1, codes: 1, verified: 1, conversion: 1 });
    expect(view.metrics.series).toHaveLength(30);
    // The send and its verify fall in the last minute or two (a minute may end between them).
    const recent = view.metrics.series.slice(-2);
    expect(recent.reduce((n, minute) => n + minute.sent, 0)).toBe(1);
    expect(recent.reduce((n, minute) => n + minute.verified, 0)).toBe(1);
    expect(view.prices).toEqual({ illustrative: true, currency: "USD" });
    expect(view.tripwire.settings).toEqual({
      minSends: 30,
      minVerifyRate: 0.1,
      windowSeconds: 3600,
      pauseSeconds: 1800,
      settleSeconds: 30,
    });
    expect(view.tripwire.countries).toEqual([
      expect.objectContaining({ country: "US", paused: false, sends: 1, verifications: 1 }),
    ]);
  });

  it("pauses a country nobody verifies in, and lifts it only on a same-origin JSON request", async () => {
    const d = await demo({ WAOTP_TRIPWIRE_MIN_SENDS: "3", WAOTP_TRIPWIRE_SETTLE_SECONDS: "0" });
    const send = (phone, ip) => postJson(d, "/otp/send", { phone }, { "x-forwarded-for": ip });
    for (let i = 0; i < 3; i++) {
      expect((await send(`+4915123456${700 + i}`, `203.0.113.${i}`)).status).toBe(200);
    }
    const paused = await send("+4915123456799", "203.0.113.99");
    expect(paused.status).toBe(403);
    expect((await paused.json()).error).toMatchObject({
      code: "SEND_REFUSED",
      reason: "country_paused",
    });
    const view = await (await fetch(`${d.url}/admin/api/metrics`)).json();
    expect(view.tripwire.countries[0]).toMatchObject({
      country: "DE",
      paused: true,
      refusedWhilePaused: 1,
    });
    expect(view.tripwire.trips[0]).toMatchObject({ country: "DE", sends: 3, verifications: 0 });
    expect(view.metrics.refused).toEqual({ "SEND_REFUSED:country_paused": 1 });
    expect(d.lines.some((line) => line.startsWith("Tripwire: sends to DE paused until"))).toBe(
      true,
    );

    // A form post (what a cross-site page can send), another origin, garbage: all refused.
    const form = await postJson(d, "/admin/api/tripwire/lift", "country=DE", {
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(form.status).toBe(415);
    const foreign = await postJson(
      d,
      "/admin/api/tripwire/lift",
      { country: "DE" },
      {
        origin: "http://attacker.example",
      },
    );
    expect(foreign.status).toBe(403);
    const crossSite = await postJson(
      d,
      "/admin/api/tripwire/lift",
      { country: "DE" },
      {
        "sec-fetch-site": "cross-site",
      },
    );
    expect(crossSite.status).toBe(403);
    expect((await postJson(d, "/admin/api/tripwire/lift", { country: "Germany" })).status).toBe(
      400,
    );
    expect((await postJson(d, "/admin/api/tripwire/lift", "{bad")).status).toBe(400);
    expect((await send("+4915123456798", "203.0.113.98")).status).toBe(403);

    const lifted = await postJson(
      d,
      "/admin/api/tripwire/lift",
      { country: "DE" },
      {
        origin: d.url,
        "sec-fetch-site": "same-origin",
      },
    );
    expect(lifted.status).toBe(200);
    expect(await lifted.json()).toMatchObject({
      lifted: true,
      tripwire: { country: "DE", paused: false, sends: 0 },
    });
    expect((await send("+4915123456797", "203.0.113.97")).status).toBe(200);
  });

  it("reads the tripwire settings from the environment, and refuses nonsense", async () => {
    await expect(startDemo({ PORT: "0", WAOTP_TRIPWIRE_MIN_SENDS: "0" }, () => {})).rejects.toThrow(
      /WAOTP_TRIPWIRE_MIN_SENDS must be a whole number of sends from 1 to 100000/,
    );
    await expect(
      startDemo({ PORT: "0", WAOTP_TRIPWIRE_SETTLE_SECONDS: "1h" }, () => {}),
    ).rejects.toThrow(/WAOTP_TRIPWIRE_SETTLE_SECONDS must be a whole number of seconds/);
    const d = await demo({ WAOTP_TRIPWIRE_PAUSE_SECONDS: "60" });
    const view = await (await fetch(`${d.url}/admin/api/metrics`)).json();
    expect(view.tripwire.settings.pauseSeconds).toBe(60);
  });
});

describe("the demo against a 1MSG endpoint", () => {
  it("uses the ONEMSG_* settings, ONEMSG_API_URL included, and says so", async () => {
    const endpoint = await startOneMsgSimulator({ token: "live-token-0123456789" });
    running.push(endpoint);
    const d = await demo({
      ONEMSG_API_URL: endpoint.url,
      ONEMSG_CHANNEL_ID: endpoint.channelId,
      ONEMSG_TOKEN: "live-token-0123456789",
      ONEMSG_TEMPLATE: endpoint.template.name,
      ONEMSG_NAMESPACE: endpoint.template.namespace,
      WAOTP_WEBHOOK_SECRET: "webhook-secret-0123456789",
    });
    expect(d.lines[0]).toMatch(
      /^waotp demo on http:\/\/localhost:\d+ \(1MSG mode: channel sim-channel at http:\/\/127/,
    );
    expect(d.lines.join("\n")).not.toContain("live-token-0123456789");
    const call = client(d.url);
    expect((await call("GET", "/api/demo")).body).toMatchObject({ mode: "1msg" });
    expect((await call("GET", `/api/inbox?phone=${PHONE}`)).status).toBe(404);
    // The operator page is the simulator's: a real deployment puts its own behind its own sign-in.
    expect((await fetch(`${d.url}/admin`)).status).toBe(404);
    expect((await fetch(`${d.url}/admin/api/metrics`)).status).toBe(404);
    expect((await postJson(d, "/admin/api/tripwire/lift", { country: "US" })).status).toBe(404);
    await call("POST", "/otp/send", { phone: PHONE });
    const code = endpoint.lastCode(PHONE);
    expect((await call("POST", "/otp/verify", { phone: PHONE, code })).status).toBe(200);
    expect(d.lines).toContain(
      "No SMS fallback: set the TWILIO_* variables to send codes by SMS to users WhatsApp cannot reach.",
    );
    expect((await call("GET", "/api/demo")).body.sms).toBeNull();
  });

  it("falls back to Twilio SMS from the TWILIO_* settings", async () => {
    const endpoint = await startOneMsgSimulator({ token: "live-token-0123456789" });
    running.push(endpoint);
    const d = await demo({
      ONEMSG_API_URL: endpoint.url,
      ONEMSG_CHANNEL_ID: endpoint.channelId,
      ONEMSG_TOKEN: "live-token-0123456789",
      ONEMSG_TEMPLATE: endpoint.template.name,
      ONEMSG_NAMESPACE: endpoint.template.namespace,
      WAOTP_WEBHOOK_SECRET: "webhook-secret-0123456789",
      TWILIO_ACCOUNT_SID: endpoint.sms.accountSid,
      TWILIO_AUTH_TOKEN: endpoint.sms.authToken,
      TWILIO_FROM: endpoint.sms.from,
      TWILIO_API_URL: endpoint.url,
    });
    expect(d.lines).toContain("Codes go by SMS (twilio-sms) to users WhatsApp cannot reach.");
    expect(d.lines.join("\n")).not.toContain(endpoint.sms.authToken);
    const call = client(d.url);
    expect((await call("GET", "/api/demo")).body).toMatchObject({
      sms: { channel: "twilio-sms", offerAfterSeconds: 10 },
    });
    expect((await call("GET", "/api/demo")).body).not.toHaveProperty("failingPhones");
    const sent = await call("POST", "/otp/send", { phone: FAILING_PHONES.refused });
    expect(sent.body).toMatchObject({ channel: "twilio-sms", fallback: "refused" });
    // Real mode sets no status callback of its own (TWILIO_STATUS_CALLBACK would).
    expect(endpoint.sms.messages[0]).not.toHaveProperty("statusCallback");
    const code = endpoint.sms.lastCode(FAILING_PHONES.refused);
    const verified = await call("POST", "/otp/verify", { phone: FAILING_PHONES.refused, code });
    expect(verified.status).toBe(200);
  });

  it("refuses to start with ONEMSG_TOKEN but no channel settings", async () => {
    await expect(startDemo({ PORT: "0", ONEMSG_TOKEN: "t" }, () => {})).rejects.toThrow(
      /WAOTP_WEBHOOK_SECRET is required/,
    );
    await expect(
      startDemo({ PORT: "0", ONEMSG_TOKEN: "t", WAOTP_WEBHOOK_SECRET: "w".repeat(20) }, () => {}),
    ).rejects.toThrow(/Set ONEMSG_CHANNEL_ID/);
  });
});

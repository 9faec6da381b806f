import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SECRET } from "../../test/helpers.js";
import type { OtpEvent } from "../events.js";
import { oneMsg } from "../one-msg/channel.js";
import type { OtpOptions } from "../options.js";
import { createOtp, type Otp } from "../otp.js";
import { createTestChannel } from "../testing/test-channel.js";
import { twilioSms } from "../twilio/channel.js";
import { FAILING_PHONES, TRANSLATED_TEMPLATES } from "./one-msg-fake.js";
import {
  isLoopbackHost,
  type OneMsgSimulator,
  type SimulatorOptions,
  startOneMsgSimulator,
} from "./server.js";

const PHONE = "+14155550101";

let sim: OneMsgSimulator;
let receiver: Server | undefined;

afterEach(async () => {
  await sim?.close();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  receiver = undefined;
});

async function start(options: SimulatorOptions = {}) {
  sim = await startOneMsgSimulator(options);
  return sim;
}

function engine(overrides: Partial<OtpOptions> = {}) {
  const events: OtpEvent[] = [];
  const otp = createOtp({
    secret: SECRET,
    channel: oneMsg({
      baseUrl: sim.url,
      channelId: sim.channelId,
      token: sim.token,
      template: sim.template,
      retry: { baseDelayMs: 1 },
    }),
    onEvent: (event) => {
      events.push(event);
    },
    ...overrides,
  });
  return { otp, events };
}

/** A real HTTP endpoint that feeds 1MSG webhooks to the engine, registered with the simulator. */
async function receiveWebhooks(otp: Otp): Promise<string> {
  receiver = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    await otp.handleWebhook(body);
    res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => receiver?.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook/s3cret`;
  const answer = await api("POST", "webhook", { webhookUrl: url });
  expect(answer.status).toBe(200);
  return url;
}

function api(method: string, path: string, body?: unknown, token = sim.token) {
  return fetch(`${sim.url}/${sim.channelId}/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 3000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("the simulator with the engine, over HTTP", () => {
  beforeEach(async () => {
    await start();
  });

  it("delivers a code to the inbox the way WhatsApp shows it, and the code verifies", async () => {
    const { otp } = engine();
    const sent = await otp.send({ phone: "+1 (415) 555-0101" });
    const [message] = sim.inbox(PHONE);
    expect(message).toMatchObject({
      id: sent.messageId,
      phone: "14155550101",
      button: "Copy code",
    });
    expect(message?.text).toBe(
      `${message?.code} is your verification code. For your security, do not share this code with anyone.`,
    );
    expect(message?.channel === "whatsapp" && message.ttlSeconds).toBe(300);
    expect((await otp.verify({ phone: PHONE, code: sim.lastCode(PHONE) as string })).ok).toBe(true);
  });

  it("reports delivery through the registered webhook, in ack[]", async () => {
    const { otp, events } = engine();
    await receiveWebhooks(otp);
    const { messageId } = await otp.send({ phone: PHONE });
    const status = await until(
      () => otp.status(messageId),
      (s) => s?.status === "delivered",
    );
    expect(status?.status).toBe("delivered");
    expect(
      events.filter((e) => e.type === "delivery").map((e) => e.type === "delivery" && e.status),
    ).toEqual(["sent", "delivered"]);
  });

  it("serves hookInfo, so status() can poll when no webhook is set", async () => {
    const { otp } = engine({ delivery: { poll: true, pollIntervalSeconds: 1 } });
    const { messageId } = await otp.send({ phone: PHONE });
    await until(
      async () => sim.messages[0]?.status,
      (s) => s === "delivered",
    );
    expect(await otp.status(messageId)).toMatchObject({ status: "delivered" });
    expect(sim.calls.hookInfo).toBe(1);
    // Within the interval, status() answers from the store without asking 1MSG again.
    await otp.status(messageId);
    expect(sim.calls.hookInfo).toBe(1);
  });

  it("does not poll unless asked to", async () => {
    const { otp } = engine();
    const { messageId } = await otp.send({ phone: PHONE });
    await until(
      async () => sim.messages[0]?.status,
      (s) => s === "delivered",
    );
    expect(await otp.status(messageId)).toMatchObject({ status: "accepted" });
    expect(sim.calls.hookInfo).toBeUndefined();
  });

  it("a 5xx after the message went out gives one message, not two, and its code works", async () => {
    const { otp, events } = engine();
    sim.inject({ kind: "http_after_send", status: 500 });
    const error = await otp.send({ phone: PHONE }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "SEND_FAILED",
      retryAfter: 60,
      details: { reason: "server_error", delivery: "unknown" },
    });
    expect((error as Error).message).toMatch(/may still arrive, and its code will work/);
    expect(sim.calls.sendTemplate).toBe(1);
    expect(sim.inbox(PHONE)).toHaveLength(1);
    expect(events.find((e) => e.type === "send_failed")).toMatchObject({ uncertain: true });
    // A resend waits for the usual cooldown; the late message's code still verifies.
    await expect(otp.send({ phone: PHONE })).rejects.toMatchObject({ code: "RATE_LIMITED" });
    expect(sim.calls.sendTemplate).toBe(1);
    expect((await otp.verify({ phone: PHONE, code: sim.lastCode(PHONE) as string })).ok).toBe(true);
  });

  it("a timed-out send is not sent again either", async () => {
    const { otp } = engine({
      channel: oneMsg({
        baseUrl: sim.url,
        channelId: sim.channelId,
        token: sim.token,
        template: sim.template,
        timeoutMs: 50,
      }),
    });
    sim.inject({ kind: "slow", ms: 300 });
    await expect(otp.send({ phone: PHONE })).rejects.toMatchObject({
      code: "SEND_FAILED",
      details: { reason: "timeout", delivery: "unknown" },
    });
    expect(sim.calls.sendTemplate).toBe(1);
  });

  it("reads Meta's raw webhooks (rawHooks on), failures with their error code", async () => {
    await sim.close();
    await start({ rawHooks: true });
    const { otp, events } = engine();
    await receiveWebhooks(otp);
    sim.inject({ kind: "fail_delivery", error: "(#131026) Message undeliverable" });
    const { messageId } = await otp.send({ phone: PHONE });
    const status = await until(
      () => otp.status(messageId),
      (s) => s?.status === "failed",
    );
    expect(status).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/^131026 Message undeliverable/),
    });
    expect(events.find((e) => e.type === "delivery" && e.status === "failed")).toMatchObject({
      errorCode: "131026",
    });
  });

  it("tracks a queued send (sent: false with a jobId) through the webhook that names its phone", async () => {
    const { otp } = engine();
    await receiveWebhooks(otp);
    sim.inject({ kind: "queued", delayMs: 20 });
    const sent = await otp.send({ phone: PHONE });
    expect(sent.messageId).toMatch(/^job:/);
    expect(await otp.status(sent.messageId)).toMatchObject({ status: "accepted" });
    const status = await until(
      () => otp.status(sent.messageId),
      (s) => s?.status === "delivered",
    );
    expect(status?.status).toBe("delivered");
    expect(sim.inbox(PHONE)).toHaveLength(1);
    expect((await otp.verify({ phone: PHONE, code: sim.lastCode(PHONE) as string })).ok).toBe(true);
  });

  it("hands a fresh code to the fallback channel when delivery fails", async () => {
    const fallback = createTestChannel({ name: "sms" });
    const { otp, events } = engine({ delivery: { fallback } });
    await receiveWebhooks(otp);
    sim.inject({ kind: "fail_delivery", error: "(#131026) Message undeliverable" });
    const { messageId } = await otp.send({ phone: PHONE });
    const whatsappCode = sim.lastCode(PHONE) as string;
    await until(
      async () => fallback.messages.length,
      (n) => n > 0,
    );
    expect(await otp.status(messageId)).toMatchObject({
      status: "failed",
      error: "(#131026) Message undeliverable",
    });
    expect(fallback.messages).toHaveLength(1);
    expect(events.find((e) => e.type === "fallback")).toMatchObject({
      messageId,
      fallbackMessageId: fallback.messages[0]?.messageId,
      channel: "sms",
    });
    const smsCode = fallback.lastCode(PHONE) as string;
    if (smsCode !== whatsappCode) {
      expect((await otp.verify({ phone: PHONE, code: whatsappCode })).ok).toBe(false);
    }
    expect((await otp.verify({ phone: PHONE, code: smsCode })).ok).toBe(true);
  });
});

describe("the simulator's failing numbers, with SMS as the fallback", () => {
  function withSms(overrides: Partial<OtpOptions> = {}) {
    const sms = twilioSms({
      baseUrl: sim.url,
      accountSid: sim.sms.accountSid,
      authToken: sim.sms.authToken,
      from: sim.sms.from,
    });
    return engine({ delivery: { fallback: sms }, ...overrides });
  }

  it("refuses the first one at send time: the engine sends the code by SMS at once", async () => {
    await start();
    const { otp, events } = withSms();
    const sent = await otp.send({ phone: FAILING_PHONES.refused });
    expect(sent).toMatchObject({ channel: "twilio-sms", fallback: "refused" });
    expect(sent.messageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(sim.messages).toHaveLength(0);
    const inbox = sim.inbox(FAILING_PHONES.refused);
    expect(inbox.map((m) => m.channel)).toEqual(["sms"]);
    expect(events.find((e) => e.type === "fallback")).toMatchObject({ why: "refused" });
    const code = sim.lastCode(FAILING_PHONES.refused) as string;
    expect(inbox[0]?.text).toContain(code);
    expect((await otp.verify({ phone: FAILING_PHONES.refused, code })).ok).toBe(true);
  });

  it("says why to a 1MSG client: sent false, (#131026) Message undeliverable", async () => {
    await start();
    const body = {
      phone: FAILING_PHONES.refused.slice(1),
      template: sim.template.name,
      namespace: sim.template.namespace,
      language: { policy: "deterministic", code: "en" },
      params: [
        { type: "body", parameters: [{ type: "text", text: "123456" }] },
        {
          type: "button",
          sub_type: "url",
          index: "0",
          parameters: [{ type: "text", text: "123456" }],
        },
      ],
    };
    expect(await (await api("POST", "sendTemplate", body)).json()).toEqual({
      sent: false,
      message: "(#131026) Message undeliverable",
    });
  });

  it("takes the second one, reports it failed, and the engine falls back to SMS", async () => {
    await start();
    const { otp, events } = withSms();
    await receiveWebhooks(otp);
    const { messageId, channel } = await otp.send({ phone: FAILING_PHONES.failed });
    expect(channel).toBe("1msg");
    const status = await until(
      () => otp.status(messageId),
      (s) => s?.fallback !== undefined,
    );
    expect(status).toMatchObject({
      status: "failed",
      error: "(#131026) Message undeliverable",
      fallback: { channel: "twilio-sms", why: "failed" },
    });
    expect(sim.inbox(FAILING_PHONES.failed).map((m) => [m.channel, m.status])).toEqual([
      ["whatsapp", "failed"],
      ["sms", expect.any(String)],
    ]);
    expect(events.find((e) => e.type === "fallback")).toMatchObject({
      why: "failed",
      messageId,
      fallbackMessageId: status?.fallback?.messageId,
    });
    const code = sim.sms.lastCode(FAILING_PHONES.failed) as string;
    expect(sim.lastCode(FAILING_PHONES.failed)).toBe(code);
    expect((await otp.verify({ phone: FAILING_PHONES.failed, code })).ok).toBe(true);
  });

  it("leaves the numbers beside them alone, and failingPhones: false turns both off", async () => {
    await start();
    const { otp } = withSms();
    await receiveWebhooks(otp);
    const { messageId, channel } = await otp.send({ phone: "+14155550152" });
    expect(channel).toBe("1msg");
    await until(
      () => otp.status(messageId),
      (s) => s?.status === "delivered",
    );
    expect(sim.sms.messages).toHaveLength(0);

    await sim.close();
    await start({ failingPhones: false });
    const plain = engine();
    for (const phone of [FAILING_PHONES.refused, FAILING_PHONES.failed]) {
      expect((await plain.otp.send({ phone })).channel).toBe("1msg");
    }
    await until(
      async () => sim.messages.map((m) => m.status),
      (all) => all.every((s) => s === "delivered"),
    );
    expect(sim.messages.map((m) => m.status)).toEqual(["delivered", "delivered"]);
  });

  it("lets an injected fault play instead of a failing number's own failure", async () => {
    await start();
    const { otp } = engine();
    sim.inject({ kind: "http", status: 500 });
    await expect(otp.send({ phone: FAILING_PHONES.refused })).rejects.toMatchObject({
      details: { reason: "server_error" },
    });
  });
});

describe("the simulator's inbox holds WhatsApp and SMS", () => {
  it("orders both by arrival, serves them as JSON with their channel, and shows SMS on its page", async () => {
    await start({ sms: { acks: { sent: false, delivered: false } } });
    const { otp } = engine({ limits: { sendsPerPhone: { cooldownSeconds: 0 } } });
    const sms = twilioSms({
      baseUrl: sim.url,
      accountSid: sim.sms.accountSid,
      authToken: sim.sms.authToken,
      from: sim.sms.from,
      text: { en: "SMS code {code}" },
    });
    const waiting = sim.waitForMessage(PHONE);
    await otp.send({ phone: PHONE });
    expect((await waiting).channel).toBe("whatsapp");
    const next = sim.waitForMessage(PHONE);
    await sms.send({
      phone: "14155550101",
      code: "771100",
      purpose: "login",
      expiresAt: new Date(Date.now() + 60_000),
      ttlSeconds: 60,
    });
    expect(await next).toMatchObject({ channel: "sms", code: "771100" });
    expect(sim.inbox(PHONE).map((m) => m.channel)).toEqual(["whatsapp", "sms"]);
    expect(sim.lastCode(PHONE)).toBe("771100");

    const json = (await (await fetch(`${sim.url}/_inbox/${PHONE}`)).json()) as {
      messages: { channel: string; text: string; button?: string }[];
    };
    expect(json.messages.map((m) => m.channel)).toEqual(["whatsapp", "sms"]);
    expect(json.messages[0]?.button).toBe("Copy code");
    expect(json.messages[1]).toMatchObject({ text: "SMS code 771100", from: "+14155550100" });
    expect(json.messages[1]).not.toHaveProperty("button");
    const page = await (await fetch(sim.url)).text();
    expect(page).toContain('<li class="sms"><b>+14155550101</b> <small>SMS from +14155550100');
    expect(page).toContain("SMS code 771100");

    await expect(sim.waitForMessage(PHONE, { timeoutMs: 20 })).rejects.toThrow(
      /no message to \+14155550101 within 20 ms/,
    );
    sim.reset();
    expect(sim.inbox(PHONE)).toEqual([]);
  });
});

describe("the simulator's templates in several languages", () => {
  it("sends the template in the language the send asks for, among those approved", async () => {
    await start({ templates: TRANSLATED_TEMPLATES });
    const { otp } = engine({
      channel: oneMsg({
        baseUrl: sim.url,
        channelId: sim.channelId,
        token: sim.token,
        template: { ...sim.template, languages: ["en", "pt_BR", "es"] },
      }),
      limits: { sendsPerPhone: { cooldownSeconds: 0 } },
    });
    for (const locale of ["pt-BR", "es-MX", "de"]) await otp.send({ phone: PHONE, locale });
    const inbox = sim.inbox(PHONE);
    expect(inbox.map((m) => m.channel === "whatsapp" && [m.language, m.button])).toEqual([
      ["pt_BR", "Copiar código"],
      ["es", "Copiar código"],
      ["en", "Copy code"],
    ]);
    expect(inbox[0]?.text).toBe(
      `${inbox[0]?.code} é o seu código de verificação. Por segurança, não o compartilhe com ninguém.`,
    );
    expect(inbox[1]?.text).toMatch(/^\d{6} es tu código de verificación\./);
    const listed = (await (await api("GET", "templates")).json()) as {
      templates: { language: string; components: { buttons?: { text: string }[] }[] }[];
    };
    expect(listed.templates.map((t) => [t.language, t.components[1]?.buttons?.[0]?.text])).toEqual([
      ["en", "Copy code"],
      ["pt_BR", "Copiar código"],
      ["es", "Copiar código"],
    ]);
  });

  it("refuses a language the template is not approved in", async () => {
    await start();
    const { otp } = engine({
      channel: oneMsg({
        baseUrl: sim.url,
        channelId: sim.channelId,
        token: sim.token,
        template: { ...sim.template, languages: ["en", "pt_BR"] },
      }),
    });
    await expect(otp.send({ phone: PHONE, locale: "pt-BR" })).rejects.toMatchObject({
      code: "SEND_FAILED",
      message: expect.stringMatching(/132001/),
    });
  });
});

describe("the simulator with hooks[] and delayed acks", () => {
  it("posts hooks[] when configured so, and acks can be sent by hand in any order", async () => {
    await start({ webhookKey: "hooks", acks: { sent: false, delivered: false } });
    const { otp } = engine();
    const seen: unknown[] = [];
    receiver = createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      seen.push(JSON.parse(body));
      await otp.handleWebhook(body);
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => receiver?.listen(0, "127.0.0.1", resolve));
    await api("POST", "webhook", {
      webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
    });
    const { messageId } = await otp.send({ phone: PHONE });
    await sim.ack(messageId, "read");
    await sim.ack(messageId, "delivered");
    expect(seen).toEqual([
      {
        instanceId: sim.channelId,
        hooks: [expect.objectContaining({ id: messageId, status: "read", phone: "14155550101" })],
      },
    ]);
    expect(await otp.status(messageId)).toMatchObject({ status: "read" });
  });
});

describe("the simulator checks requests as 1MSG does", () => {
  beforeEach(async () => {
    await start();
  });

  const good = () => ({
    phone: "14155550101",
    template: sim.template.name,
    namespace: sim.template.namespace,
    language: { policy: "deterministic", code: "en" },
    params: [
      { type: "body", parameters: [{ type: "text", text: "123456" }] },
      {
        type: "button",
        sub_type: "url",
        index: "0",
        parameters: [{ type: "text", text: "123456" }],
      },
    ],
  });

  it("accepts the full request, with index as a number too", async () => {
    const body = good();
    (body.params[1] as { index: unknown }).index = 0;
    const answer = await (await api("POST", "sendTemplate", body)).json();
    expect(answer).toMatchObject({ sent: true, id: expect.stringMatching(/^wamid\./) });
  });

  it.each([
    ["body only", (b: ReturnType<typeof good>) => b.params.pop(), 200, false],
    [
      "a different code in the button",
      (b: ReturnType<typeof good>) => {
        (b.params[1] as { parameters: { text: string }[] }).parameters[0] = {
          text: "654321",
        } as never;
      },
      200,
      false,
    ],
    [
      "no namespace",
      (b: ReturnType<typeof good>) => {
        delete (b as Partial<typeof b>).namespace;
      },
      422,
      undefined,
    ],
    [
      "a wrong namespace",
      (b: ReturnType<typeof good>) => {
        b.namespace = "other";
      },
      200,
      false,
    ],
    [
      "two body variables",
      (b: ReturnType<typeof good>) => {
        (b.params[0] as { parameters: unknown[] }).parameters.push({ type: "text", text: "x" });
      },
      422,
      undefined,
    ],
    [
      "an unknown template",
      (b: ReturnType<typeof good>) => {
        b.template = "nope";
      },
      200,
      false,
    ],
    [
      "a phone with a plus",
      (b: ReturnType<typeof good>) => {
        b.phone = "+14155550101";
      },
      200,
      false,
    ],
    [
      "another language",
      (b: ReturnType<typeof good>) => {
        b.language.code = "fr";
      },
      200,
      false,
    ],
  ])("refuses %s", async (_name, change, status, sent) => {
    const body = good();
    change(body);
    const response = await api("POST", "sendTemplate", body);
    expect(response.status).toBe(status);
    if (sent !== undefined) expect(await response.json()).toMatchObject({ sent });
    expect(sim.messages).toHaveLength(0);
  });

  it("answers 401 to a wrong token and 400 to a token in two places", async () => {
    expect((await api("POST", "sendTemplate", good(), "wrong")).status).toBe(401);
    const both = await fetch(`${sim.url}/${sim.channelId}/templates?token=${sim.token}`, {
      headers: { authorization: `Bearer ${sim.token}` },
    });
    expect(both.status).toBe(400);
  });

  it("serves templates, status, webhook and settings", async () => {
    const templates = await (await api("GET", "templates")).json();
    expect(templates).toMatchObject({
      total: 1,
      templates: [{ name: "waotp_code", category: "AUTHENTICATION", status: "approved" }],
    });
    expect(await (await api("GET", "status")).json()).toMatchObject({ status: "connected" });
    await api("POST", "webhook", { webhookUrl: ["https://a.example/h", "https://b.example/h"] });
    expect(await (await api("GET", "webhook")).json()).toEqual({
      webhookUrl: ["https://a.example/h", "https://b.example/h"],
    });
    expect((await api("POST", "webhook", { webhookUrl: "not a url" })).status).toBe(400);
    expect(
      await (await api("POST", "settings", { ackNotificationsOn: false })).json(),
    ).toMatchObject({
      ackNotificationsOn: false,
    });
  });

  it("shows its inbox as a page and as JSON", async () => {
    await api("POST", "sendTemplate", good());
    const page = await (await fetch(sim.url)).text();
    expect(page).toContain("123456 is your verification code.");
    const inbox = (await (await fetch(`${sim.url}/_inbox/+14155550101`)).json()) as {
      messages: unknown[];
    };
    expect(inbox.messages).toHaveLength(1);
  });

  it("shows codes only to requests that name this machine (no DNS rebinding)", async () => {
    await api("POST", "sendTemplate", good());
    // fetch() will not forge Host: send it with node:http, as a rebinding page's browser would.
    const { request } = await import("node:http");
    const get = (path: string, host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${sim.url}${path}`, { headers: { host } }, (res) => {
          let body = "";
          res.on("data", (chunk) => {
            body += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });
    for (const path of ["/", "/_inbox/+14155550101"]) {
      const foreign = await get(path, "attacker.example");
      expect(foreign.status).toBe(403);
      expect(foreign.body).not.toContain("123456");
      expect((await get(path, `localhost:${sim.port}`)).status).toBe(200);
    }
    expect(isLoopbackHost("127.0.0.1:4010")).toBe(true);
    expect(isLoopbackHost("[::1]:80")).toBe(true);
    expect(isLoopbackHost("127.0.0.1.attacker.example")).toBe(false);
    expect(isLoopbackHost(undefined)).toBe(false);
  });

  it("answers odd bodies and paths with 400, never 500", async () => {
    for (const body of [null, [], "x", 5]) {
      expect((await api("POST", "sendTemplate", body)).status).toBe(400);
      expect((await api("POST", "webhook", body)).status).toBe(400);
      expect((await api("POST", "settings", body)).status).toBe(400);
    }
    const odd = good();
    (odd.params as unknown[]).unshift(null, { type: "header" });
    expect(await (await api("POST", "sendTemplate", odd)).json()).toMatchObject({ sent: true });
    const untyped = good();
    (untyped.params[0] as { parameters: unknown[] }).parameters = [{ text: "123456" }];
    expect(await (await api("POST", "sendTemplate", untyped)).json()).toMatchObject({
      sent: false,
    });
    expect((await fetch(`${sim.url}/_inbox/%E0%A4%A`)).status).toBe(400);
  });

  it("answers malformed bodies with 400", async () => {
    const response = await fetch(`${sim.url}/${sim.channelId}/sendTemplate`, {
      method: "POST",
      headers: { authorization: `Bearer ${sim.token}` },
      body: "{nope",
    });
    expect(response.status).toBe(400);
  });
});

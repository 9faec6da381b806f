import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { twilioSms } from "../twilio/channel.js";
import { TwilioError } from "../twilio/errors.js";
import { CREATED_MESSAGE } from "../twilio/fixtures.js";
import { TWILIO_SIGNATURE_HEADER, verifyTwilioSignature } from "../twilio/signature.js";
import { readTwilioWebhook } from "../twilio/webhook.js";
import { type OneMsgSimulator, type SimulatorOptions, startOneMsgSimulator } from "./server.js";
import { createTwilioFake, SIMULATOR_ACCOUNT_SID } from "./twilio-fake.js";

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

function sms(overrides: Partial<Parameters<typeof twilioSms>[0]> = {}) {
  return twilioSms({
    baseUrl: sim.url,
    accountSid: sim.sms.accountSid,
    authToken: sim.sms.authToken,
    from: sim.sms.from,
    retry: { baseDelayMs: 1 },
    ...overrides,
  });
}

const message = (code = "493027", extra: Record<string, unknown> = {}) => ({
  phone: "14155550101",
  code,
  purpose: "login",
  expiresAt: new Date(Date.now() + 300_000),
  ttlSeconds: 300,
  ...extra,
});

const messagesUrl = () => `${sim.url}/2010-04-01/Accounts/${sim.sms.accountSid}/Messages.json`;
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** Posts a create by hand, form-encoded with this account's credentials unless told otherwise. */
function create(fields: Record<string, string>, init: RequestInit = {}) {
  return fetch(messagesUrl(), {
    method: "POST",
    headers: {
      authorization: basic(sim.sms.accountSid, sim.sms.authToken),
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams(fields).toString(),
    ...init,
  });
}

const GOOD = { To: PHONE, From: "+14155550100", Body: "Your code is 493027." };

/** A real HTTP endpoint that records each callback: its URL, headers and form body. */
async function callbacks() {
  const seen: { url: string; signature: string | undefined; type: string; body: string }[] = [];
  receiver = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    seen.push({
      url: req.url ?? "",
      signature: req.headers[TWILIO_SIGNATURE_HEADER] as string | undefined,
      type: req.headers["content-type"] ?? "",
      body,
    });
    res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => receiver?.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/otp/webhook/s3cret?x=1`;
  return { url, seen };
}

async function until<T>(read: () => T, done: (value: T) => boolean, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("the simulator's Twilio, with the real twilioSms client", () => {
  it("takes the create, answers a Message resource with a fresh SID, and puts the SMS in the inbox", async () => {
    await start();
    const channel = sms({ text: { en: "Code {code}, {minutes} min" } });
    const first = await channel.send(message("493027"));
    const second = await channel.send(message("118822"));
    expect(first.messageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(second.messageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(second.messageId).not.toBe(first.messageId);
    expect(sim.sms.calls.create).toBe(2);
    const [received] = sim.inbox(PHONE);
    expect(received).toMatchObject({
      id: first.messageId,
      channel: "sms",
      phone: "14155550101",
      from: "+14155550100",
      text: "Code 493027, 5 min",
      code: "493027",
      validityPeriod: 300,
    });
    expect(sim.lastCode(PHONE)).toBe("118822");
    // WhatsApp's own list stays WhatsApp's.
    expect(sim.messages).toHaveLength(0);
  });

  it("answers the documented 201 shape, and the same resource to a fetch", async () => {
    await start({ sms: { acks: { sent: false, delivered: false } } });
    const answer = await create({ ...GOOD, ValidityPeriod: "300" });
    expect(answer.status).toBe(201);
    const body = (await answer.json()) as Record<string, unknown>;
    for (const key of Object.keys(CREATED_MESSAGE)) expect(body).toHaveProperty(key);
    expect(body).toMatchObject({
      account_sid: SIMULATOR_ACCOUNT_SID,
      to: PHONE,
      from: "+14155550100",
      status: "queued",
      direction: "outbound-api",
      api_version: "2010-04-01",
      num_segments: "1",
      error_code: null,
      body: GOOD.Body,
      uri: `/2010-04-01/Accounts/${SIMULATOR_ACCOUNT_SID}/Messages/${body.sid}.json`,
    });
    expect(String(body.date_created)).toMatch(
      /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/,
    );

    await sim.sms.ack(String(body.sid), "undelivered", "30003");
    expect(await sms().poll?.(String(body.sid))).toEqual({
      messageId: body.sid,
      status: "undelivered",
      phone: "14155550101",
      errorCode: "30003",
      error: "30003 Unreachable destination handset",
    });
    expect(sim.sms.calls.fetch).toBe(1);
  });

  it("starts a Messaging Service send as accepted, and counts segments of a long or accented body", async () => {
    await start();
    const service = await create({
      To: PHONE,
      MessagingServiceSid: `MG${"ab".repeat(16)}`,
      Body: "ó".repeat(71),
    });
    expect(await service.json()).toMatchObject({
      status: "accepted",
      messaging_service_sid: `MG${"ab".repeat(16)}`,
      from: "+14155550100",
      num_segments: "2",
    });
  });

  it("refuses wrong credentials with Twilio's 401 body, and the client reads it as unauthorized", async () => {
    await start();
    for (const authorization of [
      basic(SIMULATOR_ACCOUNT_SID, "wrong-token"),
      basic(`AC${"0".repeat(32)}`, "sim-twilio-auth-token"),
      `Bearer ${"sim-twilio-auth-token"}`,
      "",
    ]) {
      const answer = await create(GOOD, {
        headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
      });
      expect(answer.status).toBe(401);
      expect(answer.headers.get("www-authenticate")).toMatch(/^Basic/);
      expect(await answer.json()).toEqual({
        code: 20003,
        message: "Authenticate",
        more_info: "https://www.twilio.com/docs/errors/20003",
        status: 401,
      });
    }
    const error = await sms({ authToken: "wrong-token" })
      .send(message())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TwilioError);
    expect(error).toMatchObject({ reason: "unauthorized", twilioCode: 20003, httpStatus: 401 });
    expect(sim.sms.messages).toHaveLength(0);
  });

  it.each([
    ["no To", { To: "" }, 400, 21604],
    ["a To that is not E.164", { To: "4155550101" }, 400, 21211],
    ["no sender", { From: "" }, 400, 21603],
    ["a From the account does not own", { From: "+14155550199" }, 400, 21606],
    ["a malformed Messaging Service", { From: "", MessagingServiceSid: "MG1" }, 404, 20404],
    ["no Body", { Body: "" }, 400, 21602],
    ["a Body over 1600 characters", { Body: `1234 ${"x".repeat(1600)}` }, 400, 21617],
    ["a ValidityPeriod of 0", { ValidityPeriod: "0" }, 400, 21624],
    ["a ValidityPeriod over 4 hours", { ValidityPeriod: "14401" }, 400, 21624],
    ["a ValidityPeriod that is not a number", { ValidityPeriod: "5m" }, 400, 21624],
    ["a StatusCallback that is not a URL", { StatusCallback: "not a url" }, 400, 21609],
  ])("refuses %s", async (_name, change, status, code) => {
    await start();
    const fields = Object.fromEntries(
      Object.entries({ ...GOOD, ...change }).filter(([, value]) => value !== ""),
    );
    const answer = await create(fields);
    expect(answer.status).toBe(status);
    expect(await answer.json()).toMatchObject({
      code,
      status,
      more_info: `https://www.twilio.com/docs/errors/${code}`,
    });
    expect(sim.sms.messages).toHaveLength(0);
  });

  it("finds no To in a JSON body, and 404s other paths and accounts", async () => {
    await start();
    const json = await create(GOOD, {
      headers: {
        authorization: basic(sim.sms.accountSid, sim.sms.authToken),
        "content-type": "application/json",
      },
      body: JSON.stringify(GOOD),
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ code: 21604 });
    const other = await fetch(`${sim.url}/2010-04-01/Accounts/AC${"1".repeat(32)}/Messages.json`, {
      method: "POST",
      headers: {
        authorization: basic(sim.sms.accountSid, sim.sms.authToken),
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(GOOD).toString(),
    });
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ code: 20404 });
    const unknown = await fetch(
      `${sim.url}/2010-04-01/Accounts/${sim.sms.accountSid}/Messages/SM${"0".repeat(32)}.json`,
      { headers: { authorization: basic(sim.sms.accountSid, sim.sms.authToken) } },
    );
    expect(unknown.status).toBe(404);
  });
});

describe("the simulator's Twilio status callbacks", () => {
  it("posts sent then delivered, form-encoded and signed so that verifyTwilioSignature accepts them", async () => {
    await start({ sms: { acks: { sent: 5, delivered: 40 } } });
    const { url, seen } = await callbacks();
    const { messageId } = await sms({ statusCallback: url }).send(message());
    await until(
      () => seen.length,
      (n) => n >= 2,
    );
    expect(seen).toHaveLength(2);
    const forms = seen.map((c) => Object.fromEntries(new URLSearchParams(c.body)));
    expect(forms.map((f) => f.MessageStatus)).toEqual(["sent", "delivered"]);
    expect(forms[0]).toEqual({
      AccountSid: sim.sms.accountSid,
      ApiVersion: "2010-04-01",
      From: "+14155550100",
      MessageSid: messageId,
      MessageStatus: "sent",
      SmsSid: messageId,
      SmsStatus: "sent",
      To: PHONE,
    });
    for (const callback of seen) {
      expect(callback.url).toBe("/otp/webhook/s3cret?x=1");
      expect(callback.type).toBe("application/x-www-form-urlencoded");
      expect(
        verifyTwilioSignature({
          authToken: sim.sms.authToken,
          url,
          params: callback.body,
          signature: callback.signature,
        }),
      ).toBe(true);
      // Signed with this account's token, not any other.
      expect(
        verifyTwilioSignature({
          authToken: "another-token",
          url,
          params: callback.body,
          signature: callback.signature,
        }),
      ).toBe(false);
    }
    expect(readTwilioWebhook(seen[1]?.body ?? "")).toEqual([
      { messageId, status: "delivered", phone: "14155550101" },
    ]);
    expect(sim.inbox(PHONE)[0]?.status).toBe("delivered");
  });

  it("reports a failure with its ErrorCode, and nothing moves a failed message on", async () => {
    await start({ sms: { acks: { sent: false, delivered: false } } });
    const { url, seen } = await callbacks();
    const { messageId } = await sms({ statusCallback: url }).send(message());
    await sim.sms.ack(messageId, "undelivered", "30003");
    await sim.sms.ack(messageId, "delivered");
    expect(seen).toHaveLength(1);
    const form = new URLSearchParams(seen[0]?.body);
    expect(form.get("MessageStatus")).toBe("undelivered");
    expect(form.get("ErrorCode")).toBe("30003");
    expect(
      verifyTwilioSignature({
        authToken: sim.sms.authToken,
        url,
        params: form,
        signature: seen[0]?.signature,
      }),
    ).toBe(true);
  });

  it("posts nothing without a StatusCallback, and shrugs off a callback URL that fails", async () => {
    await start({ sms: { acks: { sent: false, delivered: false } } });
    const quiet = await sms().send(message());
    await sim.sms.ack(quiet.messageId, "sent");
    const dead = await sms({ statusCallback: "http://127.0.0.1:9/nowhere" }).send(message());
    await expect(sim.sms.ack(dead.messageId, "delivered")).resolves.toBeUndefined();
    expect(sim.sms.messages.map((m) => m.status)).toEqual(["sent", "delivered"]);
  });
});

describe("createTwilioFake without a server", () => {
  it("answers Web Requests, with its own account and sender when given", async () => {
    const fake = createTwilioFake({
      accountSid: `AC${"12".repeat(16)}`,
      authToken: "tok",
      from: "+15005550006",
      acks: { sent: false, delivered: false },
    });
    try {
      const url = `http://twilio.test/2010-04-01/Accounts/${fake.accountSid}/Messages.json`;
      const answer = await fake.handle(
        new Request(url, {
          method: "POST",
          headers: {
            authorization: basic(fake.accountSid, "tok"),
            "content-type": "application/x-www-form-urlencoded",
          },
          body: new URLSearchParams({
            To: "+442079460958",
            From: "+15005550006",
            Body: "Code 4417\n\n@example.com #4417",
          }).toString(),
        }),
      );
      expect(answer.status).toBe(201);
      expect(fake.lastCode("+44 20 7946 0958")).toBe("4417");
      const waiting = fake.waitForMessage("+442079460958", { timeoutMs: 20 });
      await expect(waiting).rejects.toThrow(/no SMS to \+442079460958 within 20 ms/);
      fake.reset();
      expect(fake.messages).toHaveLength(0);
    } finally {
      fake.close();
    }
  });
});

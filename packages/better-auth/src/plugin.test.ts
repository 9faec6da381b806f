import { isOtpError, oneMsg } from "@waotp/core";
import { createTestChannel } from "@waotp/core/testing";
import { twilioSignature, twilioSms } from "@waotp/core/twilio";
import { afterEach, describe, expect, it } from "vitest";
import { whatsappOtp } from "./plugin.js";
import { type setupAuth as Setup, setupAuth, WEBHOOK_SECRET } from "./test-setup.js";

const PHONE = "+14155550101";
const ACCOUNT_SID = `AC${"0123456789abcdef".repeat(2)}`;
let t: Awaited<ReturnType<typeof Setup>>;
afterEach(async () => {
  await t?.close();
});

async function signIn(client: ReturnType<typeof t.client>["authClient"], phone = PHONE) {
  const sent = await client.whatsappOtp.send({ phoneNumber: phone });
  expect(sent.error).toBeNull();
  return client.whatsappOtp.verify({ phoneNumber: phone, code: t.sim.lastCode(phone) as string });
}

describe("whatsappOtp with a real better-auth and its client", () => {
  it("signs up on the first code, with a session, and the user carries the phone", async () => {
    t = await setupAuth();
    const { authClient } = t.client();
    const sent = await authClient.whatsappOtp.send({ phoneNumber: "+1 (415) 555-0101" });
    expect(sent.data).toMatchObject({
      phoneNumber: PHONE,
      messageId: expect.stringMatching(/^wamid\./),
    });
    const [message] = t.sim.inbox(PHONE);
    expect(message?.text).toMatch(/^\d{6} is your verification code\./);

    const verified = await authClient.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: message?.code as string,
    });
    expect(verified.error).toBeNull();
    expect(verified.data?.user).toMatchObject({ phoneNumber: PHONE, phoneNumberVerified: true });
    const session = await authClient.getSession();
    expect(session.data?.user).toMatchObject({ phoneNumber: PHONE });
    expect(t.db.user).toHaveLength(1);
  });

  it("sends in the user's language, and by SMS when the user asks and the app configured it", async () => {
    const sms = createTestChannel({ name: "sms-test", kind: "sms" });
    t = await setupAuth({ delivery: { fallback: sms } });
    const { authClient } = t.client();
    const sent = await authClient.whatsappOtp.send({ phoneNumber: PHONE, locale: "pt-BR" });
    expect(sent.data).toMatchObject({ channel: "1msg" });
    const bySms = await authClient.whatsappOtp.send({
      phoneNumber: PHONE,
      channel: "sms",
      locale: "es",
    });
    expect(bySms.data).toMatchObject({ channel: "sms-test", fallback: "requested" });
    expect(sms.messages[0]?.locale).toBe("es");
    const verified = await authClient.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: sms.lastCode(PHONE) as string,
    });
    expect(verified.error).toBeNull();
    // Without a locale, the browser's preferred language.
    await authClient.whatsappOtp.send(
      { phoneNumber: "+14155550103", channel: "sms" },
      { headers: { "accept-language": "pt-BR,pt;q=0.9" } },
    );
    expect(sms.messages.at(-1)?.locale).toBe("pt-BR");
    const unknown = await authClient.whatsappOtp.send({
      phoneNumber: "+14155550102",
      channel: "email",
    });
    expect(unknown.error).toMatchObject({ status: 400, code: "INVALID_INPUT" });
  });

  it("signs the same user in on later codes", async () => {
    t = await setupAuth({ limits: { sendsPerPhone: { cooldownSeconds: 0 } } });
    const first = await signIn(t.client().authClient);
    const second = await signIn(t.client().authClient);
    expect(second.data?.user.id).toBe(first.data?.user.id);
    expect(t.db.user).toHaveLength(1);
    expect(t.db.session).toHaveLength(2);
  });

  it("does not create users when sign-up is off", async () => {
    t = await setupAuth({ signUpOnVerification: false });
    const result = await signIn(t.client().authClient);
    expect(result.error).toMatchObject({ status: 400, code: "USER_NOT_FOUND" });
    expect(t.db.user).toHaveLength(0);
  });

  it("answers wrong, expired and missing codes alike by default", async () => {
    let now = Date.now();
    t = await setupAuth({ now: () => now });
    const { authClient } = t.client();
    const none = await authClient.whatsappOtp.verify({ phoneNumber: PHONE, code: "123456" });
    await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    const code = t.sim.lastCode(PHONE) as string;
    const wrong = await authClient.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: code === "000000" ? "111111" : "000000",
    });
    now += 300_000;
    const expired = await authClient.whatsappOtp.verify({ phoneNumber: PHONE, code });
    const bodies = [none, wrong, expired].map((r) => JSON.stringify(r.error));
    expect(new Set(bodies).size).toBe(1);
    expect(none.error).toMatchObject({ status: 400, code: "INVALID_CODE" });
    expect(none.error).not.toHaveProperty("attemptsLeft");
  });

  it("maps wrong, expired and exhausted codes to better-auth errors with the core's codes", async () => {
    let now = Date.now();
    t = await setupAuth({
      now: () => now,
      limits: { attemptsPerCode: 2 },
      verifyFailures: "precise",
    });
    const { authClient } = t.client();
    await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    const code = t.sim.lastCode(PHONE) as string;
    const wrong = code === "000000" ? "111111" : "000000";
    const first = await authClient.whatsappOtp.verify({ phoneNumber: PHONE, code: wrong });
    expect(first.error).toMatchObject({ status: 400, code: "INVALID_CODE", attemptsLeft: 1 });
    await authClient.whatsappOtp.verify({ phoneNumber: PHONE, code: wrong });
    const locked = await authClient.whatsappOtp.verify({ phoneNumber: PHONE, code });
    expect(locked.error).toMatchObject({ status: 429, code: "TOO_MANY_ATTEMPTS" });

    now += 61_000;
    await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    now += 300_000;
    const expired = await authClient.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: t.sim.lastCode(PHONE) as string,
    });
    expect(expired.error).toMatchObject({ status: 400, code: "EXPIRED" });
    const none = await authClient.whatsappOtp.verify({
      phoneNumber: "+14155550102",
      code: "123456",
    });
    expect(none.error).toMatchObject({ status: 400, code: "NO_PENDING_CODE" });
    expect(t.db.session).toHaveLength(0);
  });

  it("refuses bad input with 400 codes", async () => {
    t = await setupAuth();
    const { authClient } = t.client();
    expect(
      (await authClient.whatsappOtp.send({ phoneNumber: "+1 555 123 4567" })).error,
    ).toMatchObject({
      status: 400,
      code: "INVALID_PHONE",
    });
    expect((await authClient.whatsappOtp.send({ phoneNumber: 42 as never })).error?.status).toBe(
      400,
    );
    await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    expect(
      (await authClient.whatsappOtp.verify({ phoneNumber: PHONE, code: "12ab56" })).error,
    ).toMatchObject({
      status: 400,
      code: "INVALID_INPUT",
    });
    const limited = await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    expect(limited.error).toMatchObject({ status: 429, code: "RATE_LIMITED", retryAfter: 60 });
  });

  it("creates exactly one session for concurrent right codes", async () => {
    t = await setupAuth();
    const { authClient } = t.client();
    await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    const code = t.sim.lastCode(PHONE) as string;
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.client().authClient.whatsappOtp.verify({ phoneNumber: PHONE, code }),
      ),
    );
    expect(results.filter((r) => r.error === null)).toHaveLength(1);
    expect(t.db.session).toHaveLength(1);
    expect(t.db.user).toHaveLength(1);
  });

  it("does not reset the phone's failure budget on a resend", async () => {
    t = await setupAuth({
      limits: { failuresPerPhone: { max: 3 }, sendsPerPhone: { cooldownSeconds: 0 } },
      verifyFailures: "precise",
    });
    const { authClient } = t.client();
    await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    const wrong = (c: string) => (c === "000000" ? "111111" : "000000");
    await authClient.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: wrong(t.sim.lastCode(PHONE) as string),
    });
    await authClient.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: wrong(t.sim.lastCode(PHONE) as string),
    });
    await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    const third = await authClient.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: wrong(t.sim.lastCode(PHONE) as string),
    });
    expect(third.error).toMatchObject({ code: "INVALID_CODE", attemptsLeft: 0 });
    const right = await authClient.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: t.sim.lastCode(PHONE) as string,
    });
    expect(right.error).toMatchObject({ status: 429, code: "TOO_MANY_ATTEMPTS" });
  });

  it("keeps only hashes in the database", async () => {
    t = await setupAuth();
    const { authClient } = t.client();
    await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    const code = t.sim.lastCode(PHONE) as string;
    expect(t.db.waotpRecord.length).toBeGreaterThan(0);
    const stored = JSON.stringify(t.db.waotpRecord);
    expect(stored).not.toContain(`"${code}"`);
    expect(stored).not.toMatch(new RegExp(`[^\\d]${code}[^\\d]`));
  });

  it("adds a number to a signed-in user, and refuses another user's number", async () => {
    t = await setupAuth({ limits: { sendsPerPhone: { cooldownSeconds: 0 } } });
    const alice = t.client().authClient;
    await signIn(alice, PHONE);
    const bob = t.client().authClient;
    await signIn(bob, "+14155550102");
    await bob.whatsappOtp.send({ phoneNumber: "+14155550102", purpose: "change-phone" });
    await bob.whatsappOtp.send({ phoneNumber: "+14155550103", purpose: "verify-phone" });
    const changed = await bob.whatsappOtp.verifyPhone({
      phoneNumber: "+14155550103",
      code: t.sim.lastCode("+14155550103") as string,
      currentCode: t.sim.lastCode("+14155550102") as string,
    });
    expect(changed.data?.user).toMatchObject({ phoneNumber: "+14155550103" });
    await bob.whatsappOtp.send({ phoneNumber: "+14155550103", purpose: "change-phone" });
    await bob.whatsappOtp.send({ phoneNumber: PHONE, purpose: "verify-phone" });
    const taken = await bob.whatsappOtp.verifyPhone({
      phoneNumber: PHONE,
      code: t.sim.lastCode(PHONE) as string,
      currentCode: t.sim.lastCode("+14155550103") as string,
    });
    expect(taken.error).toMatchObject({ code: "PHONE_NUMBER_EXIST" });
    const anonymous = t.client().authClient;
    expect(
      (await anonymous.whatsappOtp.verifyPhone({ phoneNumber: PHONE, code: "123456" })).error
        ?.status,
    ).toBe(401);
  });

  it("takes the SMS fallback's signed Twilio callbacks on the same webhook", async () => {
    const token = "twilio-token-for-better-auth-0123";
    const sid = `SM${"ef".repeat(16)}`;
    const sms = twilioSms({
      accountSid: ACCOUNT_SID,
      authToken: token,
      from: "+14155550100",
      fetch: async () => Response.json({ sid, status: "queued" }, { status: 201 }),
    });
    t = await setupAuth({ delivery: { fallback: sms } });
    const { authClient } = t.client();
    const sent = await authClient.whatsappOtp.send({ phoneNumber: PHONE, channel: "sms" });
    expect(sent.data).toMatchObject({ messageId: sid, channel: "twilio-sms" });
    const url = `http://localhost:3000/api/auth/whatsapp-otp/webhook/${WEBHOOK_SECRET}`;
    const fields = { MessageSid: sid, SmsSid: sid, MessageStatus: "delivered", To: PHONE };
    const post = (signature?: string) =>
      t.auth.handler(
        new Request(url, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            ...(signature === undefined ? {} : { "x-twilio-signature": signature }),
          },
          body: new URLSearchParams(fields).toString(),
        }),
      );
    expect(await (await post()).json()).toEqual({ updated: 0, ignored: 0 });
    expect(await (await post(twilioSignature(token, url, fields))).json()).toEqual({
      updated: 1,
      ignored: 0,
    });
    const status = await authClient.whatsappOtp.status({ query: { messageId: sid } });
    expect(status.data).toMatchObject({ status: "delivered", channel: "twilio-sms" });
  });

  it("hands beforeSend the request's body and headers, and answers its refusal with SEND_REFUSED", async () => {
    const seen: unknown[] = [];
    t = await setupAuth({
      beforeSend: (send) => {
        seen.push(send.context);
        const { body } = send.context as { body: Record<string, unknown> };
        return body.captchaToken === "good-token" ? undefined : { refuse: "captcha_failed" };
      },
    });
    const { authClient } = t.client();
    const refused = await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    expect(refused.error).toMatchObject({ status: 403, code: "SEND_REFUSED" });
    expect(t.sim.inbox(PHONE)).toHaveLength(0);
    const allowed = await authClient.whatsappOtp.send({
      phoneNumber: PHONE,
      captchaToken: "good-token",
    } as { phoneNumber: string });
    expect(allowed.error).toBeNull();
    expect(seen.at(-1)).toMatchObject({
      body: { captchaToken: "good-token" },
      headers: { "content-type": expect.stringContaining("application/json") },
    });
  });

  it("tracks delivery through the webhook and answers status", async () => {
    t = await setupAuth();
    const { authClient } = t.client();
    const sent = await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    const messageId = sent.data?.messageId as string;
    const post = (secret: string, body: unknown) =>
      t.auth.handler(
        new Request(`http://localhost:3000/api/auth/whatsapp-otp/webhook/${secret}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
      );
    expect((await post("wrong", { ack: [] })).status).toBe(401);
    const ok = await post(WEBHOOK_SECRET, { ack: [{ id: messageId, status: "delivered" }] });
    expect(await ok.json()).toEqual({ updated: 1, ignored: 0 });
    const status = await authClient.whatsappOtp.status({ query: { messageId } });
    expect(status.data).toMatchObject({ status: "delivered" });
    const unknown = await authClient.whatsappOtp.status({ query: { messageId: "wamid.none" } });
    expect(unknown.error?.status).toBe(404);
    // Read receipts and failure reasons stay on the server; other browsers learn nothing.
    await post(WEBHOOK_SECRET, { ack: [{ id: messageId, status: "read" }] });
    const read = await authClient.whatsappOtp.status({ query: { messageId } });
    expect(read.data).toEqual({
      status: "delivered",
      channel: "1msg",
      updatedAt: expect.anything(),
    });
    const stranger = t.client().authClient;
    expect((await stranger.whatsappOtp.status({ query: { messageId } })).error?.status).toBe(404);
  });
});

describe("whatsappOtp keeps the phone number proven", () => {
  it("does not let a user write a phone number through better-auth's own endpoints", async () => {
    t = await setupAuth();
    const { authClient } = t.client();
    const signUp = await authClient.signUp.email({
      email: "mallory@example.com",
      password: "correct-horse-battery",
      name: "Mallory",
      phoneNumber: "+14155550199",
    } as never);
    const created = t.db.user.find((u) => u.email === "mallory@example.com");
    expect(signUp.error !== null || created?.phoneNumber == null).toBe(true);
    if (signUp.error === null) {
      await authClient.updateUser({ phoneNumber: "+14155550199" } as never);
      expect(
        t.db.user.find((u) => u.email === "mallory@example.com")?.phoneNumber ?? null,
      ).toBeNull();
    }
    // The real owner of the number signs in to their own, new account.
    const owner = await signIn(t.client().authClient, "+14155550199");
    expect(owner.data?.user).toMatchObject({ phoneNumber: "+14155550199" });
    expect(owner.data?.user.email).not.toBe("mallory@example.com");
  });

  it("marks a number set on the server as verified once its owner proves it", async () => {
    t = await setupAuth();
    const context = await t.auth.$context;
    const user = await context.internalAdapter.createUser(
      {
        email: "ann@example.com",
        name: "Ann",
        emailVerified: true,
        phoneNumber: PHONE,
        phoneNumberVerified: false,
      } as never,
      undefined as never,
    );
    const result = await signIn(t.client().authClient);
    expect(result.data?.user).toMatchObject({ id: user.id, phoneNumberVerified: true });
  });

  it("gives each new user a placeholder email no one else holds", async () => {
    t = await setupAuth({ limits: { sendsPerPhone: { cooldownSeconds: 0 } } });
    const bob = t.client().authClient;
    await signIn(bob, PHONE);
    await bob.whatsappOtp.send({ phoneNumber: PHONE, purpose: "change-phone" });
    await bob.whatsappOtp.send({ phoneNumber: "+14155550102", purpose: "verify-phone" });
    const moved = await bob.whatsappOtp.verifyPhone({
      phoneNumber: "+14155550102",
      code: t.sim.lastCode("+14155550102") as string,
      currentCode: t.sim.lastCode(PHONE) as string,
    });
    expect(moved.error).toBeNull();
    const next = await signIn(t.client().authClient, PHONE);
    expect(next.error).toBeNull();
    expect(t.db.user).toHaveLength(2);
    const chosen = await setupAuth({
      signUpOnVerification: { getTempEmail: (p) => `${p.slice(1)}@example.org` },
    });
    const named = await (async () => {
      const c = chosen.client().authClient;
      await c.whatsappOtp.send({ phoneNumber: PHONE });
      return c.whatsappOtp.verify({
        phoneNumber: PHONE,
        code: chosen.sim.lastCode(PHONE) as string,
      });
    })();
    expect(named.data?.user.email).toBe("14155550101@example.org");
    await chosen.close();
  });

  it("answers with the user as better-auth shows it, without fields marked not returned", async () => {
    t = await setupAuth(
      {},
      {
        user: {
          additionalFields: {
            secretNote: {
              type: "string",
              required: false,
              returned: false,
              defaultValue: "TOP-SECRET",
            },
          },
        },
      },
    );
    const result = await signIn(t.client().authClient);
    expect(JSON.stringify(result.data)).not.toContain("TOP-SECRET");
  });

  it("counts sends per client IP and answers 429 with Retry-After", async () => {
    t = await setupAuth({ limits: { sendsPerIp: { max: 1 } } });
    const send = (phone: string, ip: string) =>
      t.auth.handler(
        new Request("http://localhost:3000/api/auth/whatsapp-otp/send", {
          method: "POST",
          headers: { "content-type": "application/json", "x-forwarded-for": ip },
          body: JSON.stringify({ phoneNumber: phone }),
        }),
      );
    expect((await send("+14155550101", "203.0.113.5")).status).toBe(200);
    expect((await send("+14155550102", "203.0.113.6")).status).toBe(200);
    const limited = await send("+14155550103", "203.0.113.5");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("600");
    expect(await limited.json()).toMatchObject({ code: "RATE_LIMITED", limit: "ip_window" });
  });
});

describe("whatsappOtp refuses what it cannot defend", () => {
  const channel = oneMsg({
    channelId: "1",
    token: "t",
    template: { name: "login_code", namespace: "ns", language: "en" },
  });

  it("refuses a webhook secret shorter than 16 characters when it is built", () => {
    for (const webhookSecret of ["", "x", "a".repeat(15), 42 as never]) {
      let thrown: unknown;
      try {
        whatsappOtp({ channel, webhookSecret });
      } catch (error) {
        thrown = error;
      }
      expect(isOtpError(thrown) && thrown.code).toBe("CONFIG_INVALID");
      expect(String(thrown)).toMatch(/at least 16 characters/);
      expect(String(thrown)).not.toContain("a".repeat(15));
    }
    expect(() => whatsappOtp({ channel, webhookSecret: "a".repeat(16) })).not.toThrow();
    expect(() => whatsappOtp({ channel })).not.toThrow();
  });

  it("counts requests without an address as better-auth's loopback in test mode: the 21st is refused", async () => {
    t = await setupAuth();
    const send = (i: number) =>
      t.auth.handler(
        new Request("http://localhost:3000/api/auth/whatsapp-otp/send", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ phoneNumber: `+1415555${String(100 + i).padStart(4, "0")}` }),
        }),
      );
    for (let i = 0; i < 20; i++) expect((await send(i)).status).toBe(200);
    const limited = await send(20);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ code: "RATE_LIMITED", limit: "ip_window" });
  });
});

describe("whatsappOtp in better-auth's plugin registry", () => {
  it("is found by id on the auth context", async () => {
    t = await setupAuth();
    const context = await t.auth.$context;
    expect(context.hasPlugin("whatsapp-otp")).toBe(true);
    expect(context.getPlugin("whatsapp-otp")?.id).toBe("whatsapp-otp");
  });
});

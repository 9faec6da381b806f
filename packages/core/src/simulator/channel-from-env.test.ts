import { describe, expect, it } from "vitest";
import { oneMsg } from "../one-msg/channel.js";
import { oneMsgOptionsFromEnv } from "../one-msg/env.js";
import { channelFromEnv } from "./channel-from-env.js";
import { startOneMsgSimulator } from "./server.js";
import { SIMULATOR_ACCOUNT_SID } from "./twilio-fake.js";

const send = (code: string, locale?: string) => ({
  phone: "14155550101",
  code,
  purpose: "login",
  expiresAt: new Date(Date.now() + 600_000),
  ttlSeconds: 600,
  ...(locale === undefined ? {} : { locale }),
});

describe("channelFromEnv", () => {
  it("starts the simulator when ONEMSG_TOKEN is unset, and sends through it", async () => {
    const { channel, simulator } = await channelFromEnv({});
    try {
      expect(simulator?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await channel.send(send("123456"));
      expect(simulator?.lastCode("14155550101")).toBe("123456");
    } finally {
      await simulator?.close();
    }
  });

  it("gives the simulator's WhatsApp template in en, pt_BR and es, and SMS through its Twilio", async () => {
    const { channel, sms, simulator } = await channelFromEnv({ TWILIO_AUTH_TOKEN: "ignored" });
    try {
      expect(sms?.name).toBe("twilio-sms");
      expect(sms?.client.baseUrl).toBe(simulator?.url);
      expect(sms?.client.accountSid).toBe(simulator?.sms.accountSid);
      await channel.send(send("111111", "pt-BR"));
      await channel.send(send("222222", "es"));
      await channel.send(send("333333"));
      const { messageId } = (await sms?.send(send("444444", "pt-BR"))) ?? { messageId: "" };
      expect(messageId).toMatch(/^SM/);
      await sms?.send(send("555555", "es"));
      await sms?.send(send("666666", "fr"));
      expect(simulator?.inbox("+14155550101").map((m) => `${m.channel}: ${m.text}`)).toEqual([
        "whatsapp: 111111 é o seu código de verificação. Por segurança, não o compartilhe com ninguém.",
        "whatsapp: 222222 es tu código de verificación. Por seguridad, no lo compartas con nadie.",
        "whatsapp: 333333 is your verification code. For your security, do not share this code with anyone.",
        "sms: Seu código de verificação é 444444. Ele vale por 10 minutos; nunca o compartilhe.",
        "sms: Tu código de verificación es 555555. Vale 10 minutos; no se lo des a nadie.",
        "sms: Your verification code is 666666. It is valid for 10 minutes; never share it.",
      ]);
    } finally {
      await simulator?.close();
    }
  });

  it("takes SMS settings and simulator options, such as a status callback and slower acks", async () => {
    const { sms, simulator } = await channelFromEnv(
      {},
      { sms: { acks: { sent: false, delivered: false } } },
      { statusCallback: "http://127.0.0.1:9/otp/webhook/x", webOtpDomain: "localhost:3000" },
    );
    try {
      await sms?.send(send("909090"));
      const [message] = simulator?.sms.messages ?? [];
      expect(message).toMatchObject({
        statusCallback: "http://127.0.0.1:9/otp/webhook/x",
        code: "909090",
        status: "accepted",
      });
      expect(message?.text).toMatch(/\n\n@localhost:3000 #909090$/);
    } finally {
      await simulator?.close();
    }
  });

  it("uses the ONEMSG_* variables when ONEMSG_TOKEN is set, with no SMS unless TWILIO_* are set", async () => {
    const oneMsgEnv = {
      ONEMSG_TOKEN: "t0k3n-0123456789",
      ONEMSG_CHANNEL_ID: "ch",
      ONEMSG_TEMPLATE: "tpl",
      ONEMSG_NAMESPACE: "ns",
      ONEMSG_API_URL: "http://127.0.0.1:9",
    };
    const { channel, sms, simulator } = await channelFromEnv(oneMsgEnv);
    expect(simulator).toBeUndefined();
    expect(sms).toBeUndefined();
    expect(channel.client.baseUrl).toBe("http://127.0.0.1:9");
    expect(channel.client.channelId).toBe("ch");

    const twilio = await channelFromEnv({
      ...oneMsgEnv,
      TWILIO_ACCOUNT_SID: SIMULATOR_ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: "twilio-secret-0123456789",
      TWILIO_FROM: "+14155550100",
      TWILIO_API_URL: "http://127.0.0.1:8",
    });
    expect(twilio.sms?.client).toMatchObject({
      baseUrl: "http://127.0.0.1:8",
      accountSid: SIMULATOR_ACCOUNT_SID,
    });
    expect(twilio.simulator).toBeUndefined();

    const partial = await channelFromEnv({
      ...oneMsgEnv,
      TWILIO_AUTH_TOKEN: "twilio-secret-0123456789",
    }).catch((e: unknown) => e as Error);
    expect(partial).toMatchObject({ code: "CONFIG_INVALID" });
    expect((partial as Error).message).toMatch(/^Set TWILIO_ACCOUNT_SID, TWILIO_FROM/);
    expect((partial as Error).message).not.toContain("twilio-secret");
  });

  it("sends real SMS through the TWILIO_* account, in the user's language", async () => {
    const endpoint = await startOneMsgSimulator();
    try {
      const { sms } = await channelFromEnv({
        ONEMSG_TOKEN: endpoint.token,
        ONEMSG_CHANNEL_ID: endpoint.channelId,
        ONEMSG_TEMPLATE: endpoint.template.name,
        ONEMSG_NAMESPACE: endpoint.template.namespace,
        ONEMSG_API_URL: endpoint.url,
        TWILIO_ACCOUNT_SID: endpoint.sms.accountSid,
        TWILIO_AUTH_TOKEN: endpoint.sms.authToken,
        TWILIO_FROM: endpoint.sms.from,
        TWILIO_API_URL: endpoint.url,
      });
      await sms?.send(send("246802", "pt-PT"));
      expect(endpoint.sms.messages[0]?.text).toBe(
        "Seu código de verificação é 246802. Ele vale por 10 minutos; nunca o compartilhe.",
      );
    } finally {
      await endpoint.close();
    }
  });
});

describe("oneMsgOptionsFromEnv", () => {
  it("sends the token in the query string with ONEMSG_AUTH=query, to a channel id given as instanceNNN", async () => {
    const simulator = await startOneMsgSimulator({ channelId: "12345" });
    try {
      const options = oneMsgOptionsFromEnv({
        ONEMSG_API_URL: simulator.url,
        ONEMSG_TOKEN: simulator.token,
        ONEMSG_CHANNEL_ID: "instance12345",
        ONEMSG_TEMPLATE: simulator.template.name,
        ONEMSG_NAMESPACE: simulator.template.namespace,
        ONEMSG_AUTH: "query",
      });
      expect(options.auth).toBe("query");
      const seen: string[] = [];
      const channel = oneMsg({
        ...options,
        fetch: (input, init) => {
          seen.push(`${String(input)} ${new Headers(init?.headers).has("authorization")}`);
          return fetch(input, init);
        },
      });
      expect(channel.client.channelId).toBe("12345");
      await channel.send({
        phone: "14155550101",
        code: "123456",
        purpose: "login",
        expiresAt: new Date(Date.now() + 60_000),
        ttlSeconds: 60,
      });
      expect(seen).toEqual([`${simulator.url}/12345/sendTemplate?token=${simulator.token} false`]);
      expect(simulator.lastCode("14155550101")).toBe("123456");
    } finally {
      await simulator.close();
    }
  });

  it("refuses an ONEMSG_AUTH it does not know", () => {
    expect(() =>
      oneMsgOptionsFromEnv({
        ONEMSG_TOKEN: "t",
        ONEMSG_CHANNEL_ID: "c",
        ONEMSG_TEMPLATE: "x",
        ONEMSG_NAMESPACE: "n",
        ONEMSG_AUTH: "header",
      }),
    ).toThrow(/ONEMSG_AUTH must be "bearer".*or "query"/);
  });

  it("names the missing variables and fills the defaults", () => {
    expect(() => oneMsgOptionsFromEnv({ ONEMSG_TOKEN: "t" })).toThrow(
      /Set ONEMSG_CHANNEL_ID, ONEMSG_TEMPLATE, ONEMSG_NAMESPACE/,
    );
    expect(
      oneMsgOptionsFromEnv({
        ONEMSG_TOKEN: "t",
        ONEMSG_CHANNEL_ID: "c",
        ONEMSG_TEMPLATE: "x",
        ONEMSG_NAMESPACE: "n",
      }),
    ).toEqual({
      baseUrl: "https://api.1msg.io",
      channelId: "c",
      token: "t",
      auth: "bearer",
      template: { name: "x", namespace: "n", language: "en" },
    });
  });
});

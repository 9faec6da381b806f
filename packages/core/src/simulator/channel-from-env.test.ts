import { describe, expect, it } from "vitest";
import { oneMsg } from "../one-msg/channel.js";
import { oneMsgOptionsFromEnv } from "../one-msg/env.js";
import { channelFromEnv } from "./channel-from-env.js";
import { startOneMsgSimulator } from "./server.js";

describe("channelFromEnv", () => {
  it("starts the simulator when ONEMSG_TOKEN is unset, and sends through it", async () => {
    const { channel, simulator } = await channelFromEnv({});
    try {
      expect(simulator?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await channel.send({
        phone: "14155550101",
        code: "123456",
        purpose: "login",
        expiresAt: new Date(Date.now() + 60_000),
        ttlSeconds: 60,
      });
      expect(simulator?.lastCode("14155550101")).toBe("123456");
    } finally {
      await simulator?.close();
    }
  });

  it("uses the ONEMSG_* variables when ONEMSG_TOKEN is set", async () => {
    const { channel, simulator } = await channelFromEnv({
      ONEMSG_TOKEN: "t0k3n-0123456789",
      ONEMSG_CHANNEL_ID: "ch",
      ONEMSG_TEMPLATE: "tpl",
      ONEMSG_NAMESPACE: "ns",
      ONEMSG_API_URL: "http://127.0.0.1:9",
    });
    expect(simulator).toBeUndefined();
    expect(channel.client.baseUrl).toBe("http://127.0.0.1:9");
    expect(channel.client.channelId).toBe("ch");
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

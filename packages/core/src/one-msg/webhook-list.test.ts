import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ONEMSG_INBOX_WEBHOOK } from "../simulator/one-msg-fake.js";
import {
  type OneMsgSimulator,
  type SimulatorOptions,
  startOneMsgSimulator,
} from "../simulator/server.js";
import { oneMsg } from "./channel.js";
import { createOneMsgClient, type OneMsgClient, type OneMsgResponse } from "./client.js";
import {
  addWebhook,
  getAckNotifications,
  getWebhooks,
  isOneMsgInboxWebhook,
  normalizeWebhookUrl,
  readWebhookList,
  removeWebhook,
  sameWebhookUrl,
  WebhookListFullError,
} from "./webhook-list.js";

const OURS = "https://app.example/otp/webhook/s3cr3t";

let sim: OneMsgSimulator | undefined;
let receiver: Server | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  receiver = undefined;
});

async function simulated(options: SimulatorOptions = {}) {
  sim = await startOneMsgSimulator(options);
  const client = createOneMsgClient({
    baseUrl: sim.url,
    channelId: sim.channelId,
    token: sim.token,
  });
  return { sim, client };
}

/** A client whose `GET webhook` answers `body`, and which records what is written. */
function scripted(body: unknown) {
  const writes: unknown[] = [];
  let current = body;
  const client: Pick<OneMsgClient, "request"> = {
    async request(options): Promise<OneMsgResponse> {
      if (options.method === "POST" && options.path === "webhook") {
        writes.push(options.body);
        current = options.body;
      }
      const json = options.method === "GET" && options.path === "webhook" ? current : {};
      const data =
        typeof json === "object" && json !== null && !Array.isArray(json)
          ? (json as Record<string, unknown>)
          : {};
      return { status: 200, data, json };
    },
  };
  return { client, writes };
}

describe("readWebhookList", () => {
  it.each([
    ["one URL as a string (seed)", { webhookUrl: "https://a.example/h" }, ["https://a.example/h"]],
    [
      "an array (SDK-OLD)",
      { webhookUrl: ["https://a.example/h", "https://b.example/h"] },
      ["https://a.example/h", "https://b.example/h"],
    ],
    [
      "a legacy comma-separated string (N8N)",
      { webhookUrl: "https://a.example/h?x=1,2, https://b.example/h" },
      ["https://a.example/h?x=1,2", "https://b.example/h"],
    ],
    [
      "objects with a per-URL status (AGENTS)",
      { webhookUrl: [{ url: "https://a.example/h", status: "disabled" }] },
      ["https://a.example/h"],
    ],
    ["a bare array", ["https://a.example/h"], ["https://a.example/h"]],
    ["the webhookUrls key", { webhookUrls: ["https://a.example/h"] }, ["https://a.example/h"]],
    ["the urls key", { urls: "https://a.example/h" }, ["https://a.example/h"]],
    ["nothing", { webhookUrl: null }, []],
    ["an empty string", { webhookUrl: "" }, []],
    [
      "the same URL twice",
      { webhookUrl: ["https://a.example/h", "https://A.example/h/"] },
      ["https://a.example/h"],
    ],
  ])("reads %s", (_, body, urls) => {
    expect(readWebhookList(body).map((e) => e.url)).toEqual(urls);
  });

  it("keeps the per-URL status", () => {
    expect(readWebhookList([{ url: "https://a.example/h", status: "disabled" }])).toEqual([
      { url: "https://a.example/h", status: "disabled" },
    ]);
  });
});

describe("webhook URLs", () => {
  it("compares URLs as registrations", () => {
    expect(sameWebhookUrl("https://A.example:443/h/", "https://a.example/h")).toBe(true);
    expect(sameWebhookUrl("https://a.example/h", "https://a.example/h2")).toBe(false);
    expect(normalizeWebhookUrl("https://a.example/")).toBe("https://a.example");
  });

  it("knows 1MSG's inbox webhook", () => {
    expect(isOneMsgInboxWebhook(ONEMSG_INBOX_WEBHOOK)).toBe(true);
    expect(isOneMsgInboxWebhook("https://app.1msg.io/other")).toBe(false);
    expect(isOneMsgInboxWebhook("nope")).toBe(false);
  });
});

describe("addWebhook and removeWebhook", () => {
  it("add keeps 1MSG's inbox, turns acks on, and is idempotent", async () => {
    const { sim, client } = await simulated();
    await client.request({ method: "POST", path: "settings", body: { ackNotificationsOn: false } });
    expect(await addWebhook(client, OURS)).toEqual({
      changed: true,
      urls: [ONEMSG_INBOX_WEBHOOK, OURS],
    });
    expect(await getAckNotifications(client)).toBe(true);
    expect(await addWebhook(client, `${OURS}/`)).toEqual({
      changed: false,
      urls: [ONEMSG_INBOX_WEBHOOK, OURS],
    });
    expect(sim.webhookUrls).toEqual([ONEMSG_INBOX_WEBHOOK, OURS]);
  });

  it("add writes one URL as a string, several as an array", async () => {
    const empty = scripted({ webhookUrl: "" });
    await addWebhook(empty.client, OURS);
    expect(empty.writes).toEqual([{ webhookUrl: OURS }]);
    const legacy = scripted({ webhookUrl: `${ONEMSG_INBOX_WEBHOOK},https://b.example/h` });
    await addWebhook(legacy.client, OURS);
    expect(legacy.writes).toEqual([
      { webhookUrl: [ONEMSG_INBOX_WEBHOOK, "https://b.example/h", OURS] },
    ]);
  });

  it("add refuses a sixth URL and writes nothing", async () => {
    const others = [1, 2, 3, 4].map((i) => `https://h${i}.example/in/secret-${i}`);
    const { sim, client } = await simulated({ webhookUrls: others });
    const error = await addWebhook(client, OURS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookListFullError);
    expect((error as WebhookListFullError).code).toBe("CONFIG_INVALID");
    expect((error as WebhookListFullError).registered).toEqual([
      "https://app.1msg.io/… (1MSG's inbox)",
      "https://h1.example/…",
      "https://h2.example/…",
      "https://h3.example/…",
      "https://h4.example/…",
    ]);
    expect((error as Error).message).not.toMatch(/secret-/);
    expect(sim.webhookUrls).toEqual([ONEMSG_INBOX_WEBHOOK, ...others]);
    expect(sim.calls.webhook).toBe(1);
    // Ours among the five: nothing to add, no refusal.
    const { changed } = await addWebhook(client, others[0] as string);
    expect(changed).toBe(false);
  });

  it("add refuses a 200 that carries an error rather than write an empty list over it", async () => {
    const broken = scripted({ error: "Instance is not ready" });
    await expect(addWebhook(broken.client, OURS)).rejects.toThrow(/Instance is not ready/);
    expect(broken.writes).toEqual([]);
  });

  it("add refuses what is not an http(s) URL", async () => {
    const { client, writes } = scripted({ webhookUrl: [] });
    await expect(addWebhook(client, "ftp://a.example/h")).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    await expect(addWebhook(client, "not a url")).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(writes).toEqual([]);
  });

  it("remove takes off only that URL, and does nothing when it is absent", async () => {
    const { sim, client } = await simulated({
      webhookUrls: ["https://a.example/h", "https://b.example/h"],
    });
    expect(await removeWebhook(client, "https://a.example/h/")).toEqual({
      changed: true,
      urls: [ONEMSG_INBOX_WEBHOOK, "https://b.example/h"],
    });
    const posts = sim.calls.webhook;
    expect(await removeWebhook(client, "https://a.example/h")).toMatchObject({ changed: false });
    expect(sim.calls.webhook).toBe((posts ?? 0) + 1);
    expect((await getWebhooks(client)).map((e) => e.url)).toEqual([
      ONEMSG_INBOX_WEBHOOK,
      "https://b.example/h",
    ]);
  });
});

describe("the simulator's webhook list", () => {
  it("starts with 1MSG's inbox webhook and never posts to it", async () => {
    receiver = createServer((req, res) => {
      req.resume();
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => receiver?.listen(0, "127.0.0.1", resolve));
    const ours = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook/s3cr3t`;
    const { sim, client } = await simulated({ acks: { sent: false, delivered: false } });
    expect((await getWebhooks(client)).map((e) => e.url)).toEqual([ONEMSG_INBOX_WEBHOOK]);
    await addWebhook(client, ours);
    const channel = oneMsg({
      baseUrl: sim.url,
      channelId: sim.channelId,
      token: sim.token,
      template: sim.template,
    });
    const { messageId } = await channel.send({
      phone: "14155550101",
      code: "123456",
      purpose: "login",
      ttlSeconds: 300,
      expiresAt: new Date(Date.now() + 300_000),
    } as Parameters<typeof channel.send>[0]);
    const spy = vi.spyOn(globalThis, "fetch");
    try {
      await sim.ack(messageId, "delivered");
      const targets = spy.mock.calls.map(([input]) => String(input));
      expect(targets).toEqual([ours]);
    } finally {
      spy.mockRestore();
    }
  });

  it("can start without it", async () => {
    const { client } = await simulated({ inboxWebhook: false });
    expect(await getWebhooks(client)).toEqual([]);
  });
});

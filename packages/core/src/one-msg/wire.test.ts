import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { oneMsg } from "./channel.js";
import { OneMsgError } from "./errors.js";
import { SEND_ANSWERS, WEBHOOKS } from "./fixtures/wire.js";
import { readOneMsgWebhook } from "./webhook.js";

const BASE = "https://api.1msg.test";
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe("webhook bodies as 1MSG sends them", () => {
  it.each(WEBHOOKS.map((f) => [`${f.name} (${f.source})`, f] as const))("%s", (_, fixture) => {
    expect(readOneMsgWebhook(fixture.body)).toEqual(fixture.updates);
  });

  it("reads at most 1,000 entries from one body", () => {
    const ack = Array.from({ length: 5000 }, (_, i) => ({ id: `m${i}`, status: "sent" }));
    expect(readOneMsgWebhook({ ack })).toHaveLength(1000);
  });
});

describe("sendTemplate answers as 1MSG gives them", () => {
  const channel = () =>
    oneMsg({
      baseUrl: BASE,
      channelId: "ch",
      token: "tok-0123456789",
      template: { name: "otp", namespace: "ns" },
      retry: { baseDelayMs: 1 },
    });
  const message = {
    phone: "14155550101",
    code: "493027",
    purpose: "login",
    expiresAt: new Date(Date.now() + 300_000),
    ttlSeconds: 300,
  };

  it.each(SEND_ANSWERS.map((f) => [`${f.name} (${f.source})`, f] as const))(
    "%s",
    async (_, fixture) => {
      let calls = 0;
      server.use(
        http.post(`${BASE}/ch/sendTemplate`, () => {
          calls += 1;
          return typeof fixture.body === "string"
            ? new HttpResponse(fixture.body, { status: fixture.status })
            : HttpResponse.json(fixture.body as Record<string, unknown>, {
                status: fixture.status,
              });
        }),
      );
      const outcome = await channel()
        .send(message)
        .catch((e: unknown) => e);
      const { expected } = fixture;
      if ("messageId" in expected) {
        expect(outcome).toEqual(expected);
      } else {
        expect(outcome).toBeInstanceOf(OneMsgError);
        expect(outcome).toMatchObject({ reason: expected.reason, uncertain: expected.uncertain });
        if (expected.message) expect((outcome as Error).message).toMatch(expected.message);
      }
      // Every answer is final: nothing that could have sent a message is ever tried twice.
      expect(calls).toBe(1);
    },
  );
});

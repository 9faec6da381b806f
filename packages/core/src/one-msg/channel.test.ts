import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isUnreachable } from "../channel.js";
import { OtpError } from "../errors.js";
import { createOneMsgFake } from "../simulator/one-msg-fake.js";
import { oneMsgHandlers } from "../testing/msw.js";
import { type OneMsgOptions, oneMsg } from "./channel.js";
import { readOneMsgEnv } from "./env.js";
import { OneMsgError } from "./errors.js";

const BASE = "https://api.1msg.test";
const TOKEN = "tok-very-secret-1234567890";
const fake = createOneMsgFake({
  channelId: "ch1",
  token: TOKEN,
  acks: { sent: false, delivered: false },
});
const server = setupServer(...oneMsgHandlers(fake, BASE));

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => {
  server.resetHandlers();
  fake.reset();
});
afterAll(() => {
  server.close();
  fake.close();
});

function channel(overrides: Partial<OneMsgOptions> = {}) {
  return oneMsg({
    baseUrl: BASE,
    channelId: "ch1",
    token: TOKEN,
    template: { name: fake.template.name, namespace: fake.template.namespace, language: "en" },
    retry: { baseDelayMs: 1, maxDelayMs: 50 },
    ...overrides,
  });
}

const message = (code = "493027") => ({
  phone: "14155550101",
  code,
  purpose: "login",
  expiresAt: new Date(Date.now() + 300_000),
  ttlSeconds: 300,
});

/** Records each request to 1MSG, then lets the fake answer it. */
function capture() {
  const seen: { url: URL; headers: Headers; body: unknown }[] = [];
  server.use(
    http.all(`${BASE}/*`, async ({ request }) => {
      const text = await request.clone().text();
      seen.push({
        url: new URL(request.url),
        headers: request.headers,
        body: text ? JSON.parse(text) : undefined,
      });
    }),
  );
  return seen;
}

async function failure(promise: Promise<unknown>): Promise<OneMsgError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OneMsgError);
  expect(error).toMatchObject({ code: "SEND_FAILED", status: 502 });
  // The token never shows, however the error is printed.
  const printed = [
    (error as Error).message,
    JSON.stringify(error),
    String((error as OneMsgError).providerMessage),
    (error as Error).stack,
  ].join(" ");
  expect(printed).not.toContain(TOKEN);
  return error as OneMsgError;
}

describe("oneMsg send", () => {
  it("posts the authentication template with the code in the body and the copy-code button", async () => {
    const seen = capture();
    const result = await channel().send(message("493027"));
    expect(result.messageId).toMatch(/^wamid\./);
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request?.url.pathname).toBe("/ch1/sendTemplate");
    expect(request?.url.search).toBe("");
    expect(request?.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers.get("content-type")).toBe("application/json");
    expect(request?.body).toEqual({
      phone: "14155550101",
      template: "waotp_code",
      namespace: "waotp_simulator",
      language: { policy: "deterministic", code: "en" },
      params: [
        { type: "body", parameters: [{ type: "text", text: "493027" }] },
        {
          type: "button",
          sub_type: "url",
          index: "0",
          parameters: [{ type: "text", text: "493027" }],
        },
      ],
      messageSendTtlSeconds: 300,
    });
    expect(fake.lastCode("14155550101")).toBe("493027");
  });

  it("sends the template in the user's language when it is approved in it, else the default", async () => {
    const seen = capture();
    const multi = channel({
      template: {
        name: fake.template.name,
        namespace: fake.template.namespace,
        language: "en",
        languages: ["en", "pt_BR", "es"],
      },
    });
    const cases: [string | undefined, string][] = [
      ["pt-BR", "pt_BR"],
      ["es-MX", "es"],
      ["de", "en"],
      [undefined, "en"],
    ];
    for (const [locale, _] of cases) {
      // The fake knows only its English template; what is asked of 1MSG is what counts here.
      await multi
        .send({ ...message(), ...(locale === undefined ? {} : { locale }) })
        .catch(() => {});
    }
    expect(seen.map((r) => (r.body as { language: { code: string } }).language.code)).toEqual(
      cases.map(([, code]) => code),
    );
    expect(() =>
      channel({ template: { name: "x", namespace: "n", language: "en", languages: ["pt-BR"] } }),
    ).toThrow(/template.languages/);
    const env = readOneMsgEnv({ ONEMSG_LANGUAGE: "en, pt_BR ,es" }).options.template;
    expect(env).toMatchObject({ language: "en", languages: ["en", "pt_BR", "es"] });
  });

  it("puts the token in the query instead when asked, and only there", async () => {
    const seen = capture();
    await channel({ auth: "query" }).send(message());
    expect(seen[0]?.url.searchParams.get("token")).toBe(TOKEN);
    expect(seen[0]?.headers.get("authorization")).toBeNull();
  });

  it("keeps the message TTL inside the code's lifetime, or leaves it out on request", async () => {
    const seen = capture();
    await channel().send({ ...message(), ttlSeconds: 120 });
    await channel({ messageTtl: false }).send(message());
    expect(seen[0]?.body).toHaveProperty("messageSendTtlSeconds", 120);
    expect(seen[1]?.body).not.toHaveProperty("messageSendTtlSeconds");
  });

  it("fails on HTTP 200 with sent: false, with 1MSG's message and what to check", async () => {
    fake.inject({ kind: "sent_false", message: "Template login_code is not approved" });
    const error = await failure(channel().send(message()));
    expect(error.reason).toBe("rejected");
    expect(error.httpStatus).toBe(200);
    expect(error.providerMessage).toBe("Template login_code is not approved");
    expect(error.message).toMatch(/not approved.*ONEMSG_TEMPLATE, ONEMSG_NAMESPACE/);
  });

  // What refuses the phone rather than the request: Meta's codes as 1MSG passes them on as text
  // (reference "Common Meta error codes"; LIVE's failed acks carry "(#131026) ..."), and the 1MSG
  // OTP guide's own list of failures (invalid phone, no opt-in). A fallback channel may reach these.
  const UNREACHABLE_ANSWERS = [
    "(#131026) Message undeliverable",
    "(#131049) This message was not delivered to maintain healthy ecosystem engagement.",
    "(#131030) Recipient phone number not in allowed list",
    "The number is not a WhatsApp user",
    "Phone is not registered on WhatsApp",
    "Invalid phone number",
    "Recipient has not opted in",
  ];

  it.each(UNREACHABLE_ANSWERS)("reads sent: false with %j as unreachable", async (said) => {
    fake.inject({ kind: "sent_false", message: said });
    const error = await failure(channel().send(message()));
    expect(error).toMatchObject({ reason: "unreachable", details: { reason: "unreachable" } });
    expect(isUnreachable(error)).toBe(true);
  });

  it("reads a 4xx that refuses the phone as unreachable, and a template error never", async () => {
    fake.inject({ kind: "http", status: 400, body: { error: "Invalid phone number: 1415" } });
    expect((await failure(channel().send(message()))).reason).toBe("unreachable");
    fake.inject({
      kind: "http",
      status: 422,
      body: { error: { code: 132001, message: "Template name does not exist in the translation" } },
    });
    const template = await failure(channel().send(message()));
    expect(template.reason).toBe("rejected");
    expect(isUnreachable(template)).toBe(false);
  });

  it("fails on 2xx without sent: true", async () => {
    server.use(http.post(`${BASE}/ch1/sendTemplate`, () => HttpResponse.json({ id: "wamid.x" })));
    expect((await failure(channel().send(message()))).reason).toBe("rejected");
  });

  it("takes a queued send (sent: false with a job id) as sent, so it is not repeated", async () => {
    server.use(
      http.post(`${BASE}/ch1/sendTemplate`, () => HttpResponse.json({ sent: false, jobId: 77 })),
    );
    expect(await channel().send(message())).toEqual({ messageId: "job:77", queued: true });
  });

  it("says which setting to fix on 401, does not retry, and never shows the token", async () => {
    server.use(
      http.post(`${BASE}/ch1/sendTemplate`, () =>
        HttpResponse.json({ error: `Wrong token ${TOKEN} for channel ch1` }, { status: 401 }),
      ),
    );
    let calls = 0;
    server.events.on("request:start", () => {
      calls += 1;
    });
    const error = await failure(channel().send(message()));
    server.events.removeAllListeners();
    expect(error.reason).toBe("unauthorized");
    expect(error.message).toMatch(/`token` option \(ONEMSG_TOKEN\)/);
    expect(error.providerMessage).toBe("Wrong token [redacted] for channel ch1");
    expect(calls).toBe(1);
  });

  it("answers a wrong token from the fake as unauthorized", async () => {
    const error = await failure(channel({ token: "wrong-token-000" }).send(message()));
    expect(error.reason).toBe("unauthorized");
    expect(error.message).not.toContain("wrong-token-000");
  });

  it("reports 422 (variable count, namespace) as rejected with 1MSG's message, without the code", async () => {
    fake.inject({
      kind: "http",
      status: 422,
      body: { error: { code: 132000, message: "Number of parameters does not match; got 493027" } },
    });
    const error = await failure(channel().send(message("493027")));
    expect(error).toMatchObject({ reason: "rejected", httpStatus: 422 });
    expect(error.providerMessage).toBe("Number of parameters does not match; got [redacted]");
    expect(JSON.stringify(error) + error.message).not.toContain("493027");
  });

  it("points at the channel id and base URL on 404", async () => {
    const error = await failure(channel({ channelId: "nope" }).send(message()));
    expect(error.message).toMatch(/ONEMSG_CHANNEL_ID.*ONEMSG_API_URL/);
  });

  it("does not retry a send's 5xx: 1MSG may have taken the message before failing", async () => {
    fake.inject({ kind: "http_after_send", status: 500 });
    const error = await failure(channel().send(message()));
    expect(error).toMatchObject({ reason: "server_error", httpStatus: 500, uncertain: true });
    expect(error.message).toMatch(/may still arrive, and its code will work/);
    // One message reached the phone, and only one: a retry would have sent a second code.
    expect(fake.calls.sendTemplate).toBe(1);
    expect(fake.inbox("14155550101")).toHaveLength(1);
  });

  it("retries a 5xx of a call that sends nothing, up to 3 tries", async () => {
    const { messageId } = await channel().send(message());
    let asked = 0;
    server.use(
      http.get(`${BASE}/ch1/hookInfo`, () => {
        asked += 1;
        return HttpResponse.json({ error: "busy" }, { status: 503 });
      }),
    );
    const error = await failure(channel().poll?.(messageId) as Promise<unknown>);
    expect(error).toMatchObject({ reason: "server_error", httpStatus: 503, uncertain: false });
    expect(asked).toBe(3);
  });

  it("retries a send refused with 429 (1MSG did not take it), and sends one message", async () => {
    fake.inject({ kind: "http", status: 429, retryAfter: 0 });
    await channel().send(message());
    expect(fake.calls.sendTemplate).toBe(2);
    expect(fake.inbox("14155550101")).toHaveLength(1);
  });

  it("honours Retry-After on 429 when it fits, and reports it when it does not", async () => {
    fake.inject({ kind: "http", status: 429, retryAfter: 0 });
    await channel().send(message());
    expect(fake.calls.sendTemplate).toBe(2);

    fake.reset();
    fake.inject({ kind: "http", status: 429, retryAfter: 120 });
    const error = await failure(channel().send(message()));
    expect(error).toMatchObject({ reason: "rate_limited", retryAfter: 120 });
    expect(fake.calls.sendTemplate).toBe(1);
  });

  it("does not retry a timeout: the message may have gone out", async () => {
    fake.inject({ kind: "slow", ms: 2000 });
    const error = await failure(channel({ timeoutMs: 50 }).send(message()));
    expect(error.reason).toBe("timeout");
    expect(error.message).toMatch(/not sent again/);
    expect(fake.calls.sendTemplate).toBe(1);
  });

  it("keeps every try inside the code's lifetime", async () => {
    fake.inject({ kind: "http", status: 429 }, 3);
    const started = Date.now();
    const error = await failure(
      channel({ retry: { baseDelayMs: 400, maxDelayMs: 400 } }).send({
        ...message(),
        expiresAt: new Date(Date.now() + 150),
      }),
    );
    expect(error.reason).toBe("rate_limited");
    expect(fake.calls.sendTemplate).toBe(1);
    expect(Date.now() - started).toBeLessThan(400);
  });

  it("reports a non-JSON answer as invalid_response", async () => {
    fake.inject({ kind: "garbage" });
    const error = await failure(channel().send(message()));
    expect(error.reason).toBe("invalid_response");
  });

  it("does not retry when retries are off", async () => {
    fake.inject({ kind: "http", status: 429 });
    await failure(channel({ retry: false }).send(message()));
    expect(fake.calls.sendTemplate).toBe(1);
  });
});

describe("oneMsg keeps secrets out of what it reports", () => {
  it("redacts a long token that 1MSG echoes before cutting the message short", async () => {
    const jwt = `eyJ${"a".repeat(400)}.sig`;
    server.use(
      http.post(`${BASE}/ch1/sendTemplate`, () =>
        HttpResponse.json({ error: `Wrong token ${jwt} for channel ch1` }, { status: 401 }),
      ),
    );
    const error = await failure(channel({ token: jwt }).send(message()));
    const printed = `${error.message} ${error.providerMessage} ${JSON.stringify(error)} ${error.stack}`;
    expect(printed).not.toContain(jwt.slice(0, 24));
    expect(error.providerMessage).toBe("Wrong token [redacted] for channel ch1");
  });

  it("redacts the token in its URL-encoded form and the code near a cut", async () => {
    const token = "ab+cd/ef=gh12";
    server.use(
      http.post(`${BASE}/ch1/sendTemplate`, () =>
        HttpResponse.json(
          { error: `no route for /x?token=${encodeURIComponent(token)}` },
          { status: 404 },
        ),
      ),
    );
    const error = await failure(channel({ token, auth: "query" }).send(message()));
    expect(`${error.message} ${error.providerMessage}`).not.toMatch(/ab(\+|%2B)cd/);

    fake.inject({ kind: "sent_false", message: `${"x".repeat(297)}493027` });
    const cut = await failure(channel().send(message("493027")));
    expect(`${cut.message} ${cut.providerMessage}`).not.toContain("493");
  });
});

describe("oneMsg answers", () => {
  it("names the settings to check on 422", async () => {
    fake.inject({
      kind: "http",
      status: 422,
      body: { error: "(#132000) Number of parameters does not match" },
    });
    const error = await failure(channel().send(message()));
    expect(error.message).toMatch(
      /HTTP 422.*ONEMSG_TEMPLATE, ONEMSG_NAMESPACE, ONEMSG_LANGUAGE.*\(#132000\)/,
    );
  });

  it("does not call a send without a message id a refusal: it may still arrive", async () => {
    server.use(http.post(`${BASE}/ch1/sendTemplate`, () => HttpResponse.json({ sent: true })));
    const error = await failure(channel().send(message()));
    expect(error.reason).toBe("invalid_response");
    expect(error.message).toMatch(/may still arrive/);
  });

  it("times out even when fetch ignores the abort signal", async () => {
    const deaf: typeof fetch = () => new Promise(() => {});
    const error = await failure(channel({ fetch: deaf, timeoutMs: 30 }).send(message()));
    expect(error.reason).toBe("timeout");
  });

  it("ignores a Retry-After it cannot read and falls back to its own backoff", async () => {
    for (const header of ["-1", "soon 2", "", "0x10"]) {
      let calls = 0;
      server.use(
        http.post(`${BASE}/ch1/sendTemplate`, () => {
          calls += 1;
          return HttpResponse.json(
            { error: "slow down" },
            { status: 429, headers: { "retry-after": header } },
          );
        }),
      );
      const error = await failure(
        channel({ retry: { baseDelayMs: 5000, maxDelayMs: 5000 } }).send({
          ...message(),
          expiresAt: new Date(Date.now() + 2000),
        }),
      );
      // Its own backoff does not fit in the code's lifetime, so it stops at once; "0 s" would have retried.
      expect(error.reason).toBe("rate_limited");
      expect(calls).toBe(1);
      server.resetHandlers();
    }
  });
});

describe("oneMsg over a refused connection", () => {
  it("reports a refused connection as such when no retry fits the code's lifetime", async () => {
    const refused: typeof fetch = () =>
      Promise.reject(
        Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }),
      );
    const error = await failure(
      channel({ fetch: refused, retry: { baseDelayMs: 5000, maxDelayMs: 5000 } }).send({
        ...message(),
        expiresAt: new Date(Date.now() + 1000),
      }),
    );
    expect(error.reason).toBe("network");
  });

  async function closedPort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }

  it("retries a refused connection, then reports it as a network failure", async () => {
    const port = await closedPort();
    server.close();
    try {
      let tries = 0;
      const counting: typeof fetch = (input, init) => {
        tries += 1;
        return fetch(input, init);
      };
      const error = await failure(
        channel({ baseUrl: `http://127.0.0.1:${port}`, fetch: counting }).send(message()),
      );
      expect(error.reason).toBe("network");
      expect(error.message).toContain("ECONNREFUSED");
      expect(tries).toBe(3);
    } finally {
      server.listen({ onUnhandledRequest: "error" });
    }
  });

  it("succeeds when the connection is refused once and then accepted", async () => {
    let tries = 0;
    const flaky: typeof fetch = (input, init) => {
      tries += 1;
      if (tries === 1) {
        return Promise.reject(
          Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } }),
        );
      }
      return fetch(input, init);
    };
    await channel({ fetch: flaky }).send(message());
    expect(tries).toBe(2);
    expect(fake.messages).toHaveLength(1);
  });

  it("does not retry a connection that broke after sending", async () => {
    let tries = 0;
    const reset: typeof fetch = () => {
      tries += 1;
      return Promise.reject(
        Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } }),
      );
    };
    expect((await failure(channel({ fetch: reset }).send(message()))).reason).toBe("network");
    expect(tries).toBe(1);
  });
});

describe("oneMsg poll", () => {
  it("reads the furthest state from hookInfo, whatever the order", async () => {
    const { messageId } = await channel().send(message());
    expect(await channel().poll?.(messageId)).toBeNull();
    await fake.ack(messageId, "sent");
    await fake.ack(messageId, "delivered");
    server.use(
      http.get(`${BASE}/ch1/hookInfo`, () =>
        HttpResponse.json({
          hooks: [
            { id: messageId, status: "delivered" },
            { id: messageId, status: "sent" },
          ],
        }),
      ),
    );
    expect(await channel().poll?.(messageId)).toEqual({ messageId, status: "delivered" });
  });

  it("carries a failure's text", async () => {
    fake.inject({ kind: "fail_delivery", error: "(#131026) Message undeliverable" });
    const { messageId } = await channel().send(message());
    await fake.ack(messageId, "failed", "(#131026) Message undeliverable");
    expect(await channel().poll?.(messageId)).toEqual({
      messageId,
      status: "failed",
      error: "(#131026) Message undeliverable",
      errorCode: "131026",
    });
  });
});

describe("oneMsg options", () => {
  it.each([
    [{ channelId: "" }, /`channelId` is required \(ONEMSG_CHANNEL_ID\)/],
    [{ token: undefined }, /`token` is required \(ONEMSG_TOKEN\)/],
    [{ template: { name: "x" } }, /`template.namespace` is required \(ONEMSG_NAMESPACE\)/],
    [{ template: { name: "", namespace: "n" } }, /`template.name` is required/],
    [{ template: { name: "x", namespace: "n", language: "english" } }, /template.language/],
    [{ baseUrl: "ftp://x" }, /ONEMSG_API_URL/],
    [{ auth: "header" }, /`auth`/],
    [{ timeoutMs: 0 }, /timeoutMs/],
    [{ retry: { attempts: 5 } }, /retry.attempts/],
  ])("refuses %j", (overrides, message) => {
    expect(() => channel(overrides as Partial<OneMsgOptions>)).toThrow(OtpError);
    expect(() => channel(overrides as Partial<OneMsgOptions>)).toThrow(message);
  });
});

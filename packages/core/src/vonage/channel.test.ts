import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type VonageSmsOptions, vonageSms } from "./channel.js";
import { readVonageEnv, vonageOptionsFromEnv } from "./env.js";
import { VonageError } from "./errors.js";
import {
  receipt,
  SEND_MULTIPART,
  SEND_OK,
  SEND_STATUSES,
  SEND_URL,
  sendRefused,
} from "./fixtures.js";
import { vonageSignature } from "./signature.js";

const SECRET = "api-secret-very-1234";
const SIG_SECRET = "sig-secret-very-5678";
const CODE = "493027";
const server = setupServer();

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function channel(overrides: Partial<VonageSmsOptions> = {}) {
  return vonageSms({
    apiKey: "abc123",
    apiSecret: SECRET,
    from: "AcmeInc",
    retry: { baseDelayMs: 1, maxDelayMs: 50 },
    ...overrides,
  });
}

const message = (extra: Record<string, unknown> = {}) => ({
  phone: "447700900000",
  code: CODE,
  purpose: "login",
  expiresAt: new Date(Date.now() + 300_000),
  ttlSeconds: 300,
  ...extra,
});

/** Answers each send with the next body, recording the form fields. */
function answer(...bodies: (object | (() => Response | Promise<Response>))[]) {
  const seen: { fields: Record<string, string>; contentType: string | null }[] = [];
  server.use(
    http.post(SEND_URL, async ({ request }) => {
      seen.push({
        fields: Object.fromEntries(new URLSearchParams(await request.text())),
        contentType: request.headers.get("content-type"),
      });
      const next = bodies[Math.min(seen.length - 1, bodies.length - 1)];
      return typeof next === "function" ? next() : HttpResponse.json(next);
    }),
  );
  return seen;
}

async function failure(promise: Promise<unknown>): Promise<VonageError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VonageError);
  expect(error).toMatchObject({ code: "SEND_FAILED" });
  const printed = [
    (error as Error).message,
    JSON.stringify(error),
    String((error as VonageError).providerMessage),
  ].join(" ");
  for (const secret of [SECRET, SIG_SECRET, CODE]) expect(printed).not.toContain(secret);
  return error as VonageError;
}

describe("vonageSms send", () => {
  it("posts the documented form fields and returns the message id", async () => {
    const seen = answer(SEND_OK);
    const result = await channel({ callback: "https://app.example/dlr", clientRef: "login" }).send(
      message(),
    );
    expect(result).toEqual({ messageId: "0C000000217B7F02" });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.contentType).toContain("application/x-www-form-urlencoded");
    expect(seen[0]?.fields).toEqual({
      api_key: "abc123",
      api_secret: SECRET,
      from: "AcmeInc",
      to: "447700900000",
      text: `Your verification code is ${CODE}. It expires in 5 minutes. Do not share it.`,
      type: "text",
      callback: "https://app.example/dlr",
      "client-ref": "login",
      ttl: "300000",
    });
  });

  it("signs the request with the signature secret instead of sending a secret", async () => {
    const seen = answer(SEND_OK);
    await channel({
      apiSecret: undefined,
      signatureSecret: SIG_SECRET,
      signatureMethod: "sha256",
    }).send(message());
    const fields = seen[0]?.fields ?? {};
    expect(fields.api_secret).toBeUndefined();
    expect(Math.abs(Number(fields.timestamp) - Date.now() / 1000)).toBeLessThan(5);
    const { sig, ...rest } = fields;
    expect(sig).toBe(vonageSignature(rest, SIG_SECRET, "sha256"));
  });

  it("picks the text by locale, switches to unicode, and adds the WebOTP line", async () => {
    const seen = answer(SEND_OK);
    const sms = channel({
      text: {
        en: "Code {code}",
        "pt-BR": "Seu código é {code}",
        ru: "Ваш код {code}",
        es: "Tu código: {code}",
      },
      webOtpDomain: "example.com",
    });
    await sms.send(message({ locale: "pt_BR" }));
    await sms.send(message({ locale: "ru-RU" }));
    await sms.send(message({ locale: "de" }));
    expect(seen.map((s) => [s.fields.text, s.fields.type])).toEqual([
      [`Seu código é ${CODE}\n\n@example.com #${CODE}`, "unicode"],
      [`Ваш код ${CODE}\n\n@example.com #${CODE}`, "unicode"],
      [`Code ${CODE}\n\n@example.com #${CODE}`, "text"],
    ]);
  });

  it("takes a text function and refuses one that does not carry the code exactly once", async () => {
    answer(SEND_OK);
    const seen: unknown[] = [];
    await channel({
      text: (code, ctx) => {
        seen.push(ctx);
        return `${code} is your code`;
      },
    }).send(message({ locale: "fr" }));
    expect(seen).toEqual([{ locale: "fr", ttlMinutes: 5, purpose: "login" }]);
    const error = await channel({ text: (code) => `${code} ${code}` })
      .send(message())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CONFIG_INVALID" });
    expect((error as Error).message).toContain("`text`");
    expect(() => channel({ text: { en: "no code here" } })).toThrow(/exactly once/);
  });

  it.each(SEND_STATUSES)(
    "classes status $status as $reason, naming no secret",
    async ({ status, text, reason }) => {
      const seen = answer(sendRefused(status, `${text} ${SECRET}`));
      const error = await failure(channel().send(message()));
      expect(error).toMatchObject({ reason, vonageStatus: status, uncertain: false });
      expect(error.providerMessage).toContain("[redacted]");
      expect(seen).toHaveLength(1);
    },
  );

  it("names the setting to fix for credential errors", async () => {
    answer(sendRefused("4", "Bad Credentials"));
    expect((await failure(channel().send(message()))).message).toMatch(
      /VONAGE_API_KEY.*VONAGE_API_SECRET/,
    );
    answer(sendRefused("15", "Illegal Sender Address"));
    expect((await failure(channel().send(message()))).message).toContain("VONAGE_FROM");
  });

  it("returns the first part's id for a multi-part answer", async () => {
    answer(SEND_MULTIPART);
    expect(await channel().send(message())).toEqual({ messageId: "0C000000217B7F03" });
  });

  it("marks a partly refused multi-part send uncertain", async () => {
    const seen = answer({
      ...SEND_MULTIPART,
      messages: [SEND_MULTIPART.messages[0], { status: "5", "error-text": "Internal" }],
    });
    const error = await failure(channel().send(message()));
    expect(error).toMatchObject({ reason: "partial", uncertain: true });
    expect(seen).toHaveLength(1);
  });

  it("retries a throttled send (status 1, then HTTP 429) and succeeds", async () => {
    const seen = answer(
      sendRefused("1", "Throughput Rate Exceeded"),
      () => new HttpResponse(null, { status: 429 }),
      SEND_OK,
    );
    expect(await channel().send(message())).toEqual({ messageId: "0C000000217B7F02" });
    expect(seen).toHaveLength(3);
  });

  it("gives up on throttling after the attempts allowed", async () => {
    const seen = answer(sendRefused("1", "Throughput Rate Exceeded"));
    const error = await failure(
      channel({ retry: { attempts: 2, baseDelayMs: 1 } }).send(message()),
    );
    expect(error).toMatchObject({ reason: "rate_limited", uncertain: false });
    expect(error.retryAfter).toBeGreaterThanOrEqual(1);
    expect(seen).toHaveLength(2);
  });

  it("does not retry a timeout and marks it uncertain", async () => {
    const seen = answer(async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return HttpResponse.json(SEND_OK);
    });
    const error = await failure(channel({ timeoutMs: 50 }).send(message()));
    expect(error).toMatchObject({ reason: "timeout", uncertain: true });
    expect(seen).toHaveLength(1);
  });

  it("does not retry a 5xx and marks it uncertain; a 401 names the settings", async () => {
    const seen = answer(() => new HttpResponse("oops", { status: 503 }));
    expect(await failure(channel().send(message()))).toMatchObject({
      reason: "server_error",
      uncertain: true,
    });
    expect(seen).toHaveLength(1);
    answer(() => HttpResponse.json({ title: "Unauthorized" }, { status: 401 }));
    expect((await failure(channel().send(message()))).message).toContain("VONAGE_API_SECRET");
  });

  it("marks a lost connection uncertain and a 2xx that is not JSON uncertain", async () => {
    answer(() => HttpResponse.error());
    expect(await failure(channel().send(message()))).toMatchObject({
      reason: "network",
      uncertain: true,
    });
    answer(() => new HttpResponse("<html>", { status: 200 }));
    expect(await failure(channel().send(message()))).toMatchObject({
      reason: "invalid_response",
      uncertain: true,
    });
  });

  it("retries a refused connection, which cannot have sent anything", async () => {
    let calls = 0;
    const fetchStub: typeof fetch = async (input, init) => {
      calls++;
      if (calls === 1)
        throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
      return fetch(input, init);
    };
    answer(SEND_OK);
    expect(await channel({ fetch: fetchStub }).send(message())).toEqual({
      messageId: "0C000000217B7F02",
    });
    expect(calls).toBe(2);
  });
});

describe("vonageSms settings", () => {
  it("refuses missing or conflicting settings, naming the variable and never the secret", () => {
    expect(() => channel({ apiKey: "" })).toThrow(/VONAGE_API_KEY/);
    expect(() => channel({ apiSecret: undefined })).toThrow(
      /VONAGE_API_SECRET.*VONAGE_SIGNATURE_SECRET/,
    );
    expect(() => channel({ signatureSecret: SIG_SECRET })).toThrow(/not both/);
    expect(() => channel({ from: "" })).toThrow(/VONAGE_FROM/);
    expect(() => channel({ signatureMethod: "sha3" as never })).toThrow(/VONAGE_SIGNATURE_METHOD/);
    expect(() => channel({ webOtpDomain: "https://example.com" })).toThrow(/webOtpDomain/);
    expect(() => channel({ verifyReceipts: true })).toThrow(/VONAGE_SIGNATURE_SECRET/);
  });

  it("reads VONAGE_* variables", () => {
    expect(readVonageEnv({}).missing).toEqual([
      "VONAGE_API_KEY",
      "VONAGE_API_SECRET|VONAGE_SIGNATURE_SECRET",
      "VONAGE_FROM",
    ]);
    expect(
      vonageOptionsFromEnv({
        VONAGE_API_KEY: "k",
        VONAGE_SIGNATURE_SECRET: SIG_SECRET,
        VONAGE_SIGNATURE_METHOD: "SHA256",
        VONAGE_FROM: "Acme",
      }),
    ).toEqual({
      apiKey: "k",
      signatureSecret: SIG_SECRET,
      signatureMethod: "sha256",
      from: "Acme",
    });
    let thrown: unknown;
    try {
      vonageOptionsFromEnv({ VONAGE_API_SECRET: SECRET });
    } catch (error) {
      thrown = error;
    }
    expect(String((thrown as Error).message)).toMatch(/VONAGE_API_KEY, VONAGE_FROM/);
    expect(String((thrown as Error).message)).not.toContain(SECRET);
    expect(() => readVonageEnv({ VONAGE_SIGNATURE_METHOD: "rot13" })).toThrow(/md5hash/);
  });
});

describe("vonageSms readWebhook", () => {
  it("reads receipts, and with verifyReceipts drops unsigned, tampered or stale ones", () => {
    expect(channel().readWebhook?.(receipt("delivered"))).toHaveLength(1);
    const sms = channel({
      apiSecret: undefined,
      signatureSecret: SIG_SECRET,
      signatureMethod: "sha256",
      verifyReceipts: true,
    });
    const params = {
      ...receipt("delivered"),
      timestamp: String(Math.floor(Date.now() / 1000)),
      nonce: "n1",
    };
    const signed = { ...params, sig: vonageSignature(params, SIG_SECRET, "sha256") };
    expect(sms.readWebhook?.(signed)).toEqual([
      { messageId: "0B00000127FDBC63", status: "delivered", phone: "447700900000" },
    ]);
    expect(sms.readWebhook?.(new URLSearchParams(signed).toString() as never)).toHaveLength(1);
    expect(sms.readWebhook?.(receipt("delivered"))).toEqual([]);
    expect(sms.readWebhook?.({ ...signed, status: "failed" })).toEqual([]);
    const old = { ...params, timestamp: String(Math.floor(Date.now() / 1000) - 3600) };
    expect(sms.readWebhook?.({ ...old, sig: vonageSignature(old, SIG_SECRET, "sha256") })).toEqual(
      [],
    );
  });
});

import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isUnreachable } from "../channel.js";
import { OtpError } from "../errors.js";
import { type TwilioSmsOptions, twilioSms } from "./channel.js";
import { readTwilioEnv, twilioOptionsFromEnv } from "./env.js";
import { TwilioError } from "./errors.js";
import {
  ACCOUNT_SID,
  CREATED_MESSAGE,
  ERROR_ANSWERS,
  errorBody,
  MESSAGE_SID,
  SERVICE_SID,
} from "./fixtures.js";

const BASE = "https://api.twilio.test";
const TOKEN = "tok-very-secret-twilio-1234567890";
const MESSAGES = `${BASE}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
const server = setupServer();

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function channel(overrides: Partial<TwilioSmsOptions> = {}) {
  return twilioSms({
    baseUrl: BASE,
    accountSid: ACCOUNT_SID,
    authToken: TOKEN,
    from: "+14155550100",
    retry: { baseDelayMs: 1, maxDelayMs: 50 },
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

/** Answers each create with `answer` and records the requests. */
function twilio(answer: () => Response | Promise<Response>) {
  const seen: { method: string; url: string; headers: Headers; form: URLSearchParams }[] = [];
  server.use(
    http.post(MESSAGES, async ({ request }) => {
      seen.push({
        method: request.method,
        url: request.url,
        headers: request.headers,
        form: new URLSearchParams(await request.text()),
      });
      return answer();
    }),
  );
  return seen;
}

const created = () => HttpResponse.json(CREATED_MESSAGE, { status: 201 });

async function failure(promise: Promise<unknown>, code = "493027"): Promise<TwilioError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TwilioError);
  expect(error).toMatchObject({ code: "SEND_FAILED", status: 502 });
  const printed = [
    (error as Error).message,
    JSON.stringify(error),
    String((error as TwilioError).providerMessage),
    (error as Error).stack,
  ].join(" ");
  expect(printed).not.toContain(TOKEN);
  expect(printed).not.toContain(code);
  return error as TwilioError;
}

describe("twilioSms send", () => {
  it("posts the documented form with HTTP Basic auth and returns the message SID", async () => {
    const seen = twilio(created);
    const result = await channel({ statusCallback: "https://app.example/otp/twilio" }).send(
      message(),
    );
    expect(result).toEqual({ messageId: MESSAGE_SID });
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe(MESSAGES);
    expect(request?.headers.get("authorization")).toBe(
      `Basic ${Buffer.from(`${ACCOUNT_SID}:${TOKEN}`).toString("base64")}`,
    );
    expect(request?.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(request?.form ?? [])).toEqual({
      To: "+14155550101",
      From: "+14155550100",
      Body: "Your verification code is 493027. It expires in 5 minutes. Do not share it.",
      StatusCallback: "https://app.example/otp/twilio",
      ValidityPeriod: "300",
    });
  });

  it("uses an API key and a Messaging Service when given, and can leave ValidityPeriod out", async () => {
    const seen = twilio(created);
    await channel({
      authToken: undefined,
      apiKey: "SK0123456789abcdef0123456789abcdef",
      apiSecret: "key-secret-abcdef",
      from: undefined,
      messagingServiceSid: SERVICE_SID,
      validityPeriod: false,
    }).send(message());
    expect(seen[0]?.headers.get("authorization")).toBe(
      `Basic ${Buffer.from("SK0123456789abcdef0123456789abcdef:key-secret-abcdef").toString("base64")}`,
    );
    const form = Object.fromEntries(seen[0]?.form ?? []);
    expect(form.MessagingServiceSid).toBe(SERVICE_SID);
    expect(form).not.toHaveProperty("From");
    expect(form).not.toHaveProperty("ValidityPeriod");
  });

  it("writes the text in the user's language, and ends with the WebOTP line", async () => {
    const seen = twilio(created);
    const sms = channel({
      text: {
        en: "Code: {code}",
        pt: "Código: {code} ({minutes} min)",
        "pt-BR": "Seu código: {code}",
      },
      webOtpDomain: "example.com",
    });
    await sms.send(message("111222", { locale: "pt-BR" }));
    await sms.send(message("333444", { locale: "pt_PT" }));
    await sms.send(message("555666", { locale: "de" }));
    await sms.send(message("777888"));
    expect(seen.map((r) => r.form.get("Body"))).toEqual([
      "Seu código: 111222\n\n@example.com #111222",
      "Código: 333444 (5 min)\n\n@example.com #333444",
      "Code: 555666\n\n@example.com #555666",
      "Code: 777888\n\n@example.com #777888",
    ]);
  });

  it("takes a text function, and refuses text without the code exactly once", async () => {
    const seen = twilio(created);
    await channel({
      text: (code, { ttlMinutes }) => `${code} is your code (${ttlMinutes} min)`,
    }).send(message("246810"));
    expect(seen[0]?.form.get("Body")).toBe("246810 is your code (5 min)");
    const twice = channel({ text: (code) => `${code} ${code}` });
    const error = await twice.send(message("246810")).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CONFIG_INVALID" });
    expect((error as Error).message).not.toContain("246810");
    expect(() => channel({ text: { en: "no code here" } })).toThrow(/exactly once/);
  });

  it("fails with an uncertain error when Twilio answers 2xx without a SID", async () => {
    twilio(() => HttpResponse.json({ status: "queued" }, { status: 201 }));
    const error = await failure(channel().send(message()));
    expect(error).toMatchObject({ reason: "invalid_response", uncertain: true });
  });
});

describe("twilioSms errors", () => {
  for (const answer of ERROR_ANSWERS) {
    it(`reads Twilio error ${answer.code} (HTTP ${answer.httpStatus}) as ${answer.reason}`, async () => {
      const seen = twilio(() =>
        HttpResponse.json(errorBody(answer), { status: answer.httpStatus }),
      );
      const error = await failure(channel().send(message()));
      expect(seen).toHaveLength(1);
      expect(error).toMatchObject({
        reason: answer.reason,
        httpStatus: answer.httpStatus,
        twilioCode: answer.code,
        providerMessage: answer.message,
        uncertain: false,
      });
      expect(error.details).toMatchObject({ reason: answer.reason, providerCode: answer.code });
      expect(isUnreachable(error)).toBe(answer.reason === "unreachable");
    });
  }

  it("names the settings to fix for credentials and sender errors", async () => {
    twilio(() => HttpResponse.json(errorBody(ERROR_ANSWERS[0] as never), { status: 401 }));
    expect((await failure(channel().send(message()))).message).toMatch(
      /TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/,
    );
    server.resetHandlers();
    twilio(() =>
      HttpResponse.json(errorBody({ httpStatus: 400, code: 21606, message: "bad from" }), {
        status: 400,
      }),
    );
    expect((await failure(channel().send(message()))).message).toMatch(/TWILIO_FROM/);
  });

  it("scrubs the token and the code from what Twilio says back", async () => {
    twilio(() =>
      HttpResponse.json(
        { code: 21211, message: `echo ${TOKEN} 493027`, status: 400 },
        { status: 400 },
      ),
    );
    const error = await failure(channel().send(message("493027")));
    expect(error.providerMessage).toBe("echo [redacted] [redacted]");
  });

  it("retries a 429 after its Retry-After, and gives up with retryAfter", async () => {
    let calls = 0;
    const seen = twilio(() => {
      calls++;
      return calls === 1
        ? HttpResponse.json(
            { code: 20429, message: "Too Many Requests", status: 429 },
            { status: 429, headers: { "retry-after": "0" } },
          )
        : created();
    });
    expect(await channel().send(message())).toEqual({ messageId: MESSAGE_SID });
    expect(seen).toHaveLength(2);

    server.resetHandlers();
    const again = twilio(() =>
      HttpResponse.json(
        { code: 20429, message: "Too Many Requests", status: 429 },
        { status: 429, headers: { "retry-after": "30" } },
      ),
    );
    const error = await failure(channel().send(message()));
    expect(again).toHaveLength(1); // 30 s is past maxDelayMs: not waited for inside the call
    expect(error).toMatchObject({ reason: "rate_limited", retryAfter: 30, uncertain: false });
  });

  it("never retries a send's 5xx, and marks it uncertain", async () => {
    const seen = twilio(() =>
      HttpResponse.json(
        { code: 20500, message: "Internal Server Error", status: 500 },
        { status: 500 },
      ),
    );
    const error = await failure(channel().send(message()));
    expect(seen).toHaveLength(1);
    expect(error).toMatchObject({ reason: "server_error", uncertain: true, httpStatus: 500 });
    expect(error.message).toMatch(/may still arrive/);
  });

  it("times out once, uncertain, without a second try", async () => {
    const seen = twilio(async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return created();
    });
    const error = await failure(channel({ timeoutMs: 50 }).send(message()));
    expect(seen).toHaveLength(1);
    expect(error).toMatchObject({ reason: "timeout", uncertain: true });
  });

  it("retries a refused connection (nothing left), but not a connection lost mid-call", async () => {
    let calls = 0;
    const refusing: typeof fetch = async (input, init) => {
      calls++;
      if (calls === 1) throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
      return fetch(input, init);
    };
    twilio(created);
    expect(await channel({ fetch: refusing }).send(message())).toEqual({ messageId: MESSAGE_SID });
    expect(calls).toBe(2);

    let lost = 0;
    const resetting: typeof fetch = async () => {
      lost++;
      throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
    };
    const error = await failure(channel({ fetch: resetting }).send(message()));
    expect(lost).toBe(1);
    expect(error).toMatchObject({ reason: "network", uncertain: true });
  });
});

describe("twilioSms poll", () => {
  it("fetches the message and reads its status and error code", async () => {
    server.use(
      http.get(`${BASE}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages/${MESSAGE_SID}.json`, () =>
        HttpResponse.json({ ...CREATED_MESSAGE, status: "undelivered", error_code: 30003 }),
      ),
    );
    expect(await channel().poll?.(MESSAGE_SID)).toEqual({
      messageId: MESSAGE_SID,
      status: "undelivered",
      phone: "14155550101",
      errorCode: "30003",
      error: "30003 Unreachable destination handset",
    });
    expect(await channel().poll?.("not-a-sid")).toBeNull();
  });
});

describe("twilioSms settings", () => {
  it("refuses bad settings with the variable to fix, and never shows a secret", () => {
    const attempt = (options: Partial<TwilioSmsOptions>) => {
      try {
        channel(options);
      } catch (error) {
        expect(error).toBeInstanceOf(OtpError);
        expect(String((error as Error).message)).not.toContain(TOKEN);
        return (error as Error).message;
      }
      return "";
    };
    expect(attempt({ accountSid: "nope" })).toMatch(/TWILIO_ACCOUNT_SID/);
    expect(attempt({ authToken: "" })).toMatch(/TWILIO_AUTH_TOKEN/);
    expect(attempt({ from: undefined })).toMatch(/TWILIO_FROM.*TWILIO_MESSAGING_SERVICE_SID/);
    expect(attempt({ messagingServiceSid: "MG1" })).toMatch(/TWILIO_MESSAGING_SERVICE_SID/);
    expect(attempt({ apiKey: "SK0123456789abcdef0123456789abcdef" })).toMatch(/TWILIO_API_SECRET/);
    expect(attempt({ webOtpDomain: "https://example.com/" })).toMatch(/webOtpDomain/);
    expect(attempt({ statusCallback: "ftp://x" })).toMatch(/TWILIO_STATUS_CALLBACK/);
  });

  it("reads TWILIO_* variables and names the missing ones only", () => {
    expect(readTwilioEnv({}).missing).toEqual([
      "TWILIO_ACCOUNT_SID",
      "TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)",
      "TWILIO_FROM (or TWILIO_MESSAGING_SERVICE_SID)",
    ]);
    expect(readTwilioEnv({ TWILIO_API_KEY: "SKx" }).missing).toContain("TWILIO_API_SECRET");
    const options = twilioOptionsFromEnv({
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: TOKEN,
      TWILIO_MESSAGING_SERVICE_SID: SERVICE_SID,
    });
    expect(options).toMatchObject({
      accountSid: ACCOUNT_SID,
      authToken: TOKEN,
      messagingServiceSid: SERVICE_SID,
      baseUrl: "https://api.twilio.com",
    });
    expect(() => twilioOptionsFromEnv({ TWILIO_AUTH_TOKEN: TOKEN })).toThrow(
      /^Set TWILIO_ACCOUNT_SID, TWILIO_FROM/,
    );
    try {
      twilioOptionsFromEnv({ TWILIO_AUTH_TOKEN: TOKEN });
    } catch (error) {
      expect((error as Error).message).not.toContain(TOKEN);
    }
  });
});

/**
 * The core README's Cloudflare Turnstile sample, run as written through the Web handler behind a
 * real Node server, with msw playing Cloudflare's siteverify endpoint (and nothing else: requests
 * to the local server pass, any other address fails the test).
 */
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { nodeHarness, type Served } from "../../test/web-harness.js";
import type { HttpSendContext } from "../http-routes.js";
import type { BeforeSend } from "../options.js";
import { createOtp } from "../otp.js";
import { createTestChannel } from "../testing/test-channel.js";
import { otpHandler } from "./handler.js";

// --- The README's sample, word for word. ---
const SITEVERIFY = "https://challenges.cloudflare.com/turnstile/v0/siteverify";

/** A `beforeSend` that lets a send through only with a Turnstile token Cloudflare vouches for. */
function turnstile(options: { secret: string; hostname: string; action?: string }): BeforeSend {
  return async ({ context, ip }) => {
    const { body, headers } = context as HttpSendContext;
    // The widget's hidden field, posted with the phone; or a header the page sets.
    const token = body["cf-turnstile-response"] ?? headers["x-captcha-response"];
    if (typeof token !== "string" || token === "" || token.length > 2048) {
      return { refuse: "captcha_missing" };
    }
    const response = await fetch(SITEVERIFY, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ secret: options.secret, response: token, remoteip: ip }),
      signal: AbortSignal.timeout(5000),
    });
    // Cloudflare unreachable: throwing refuses the send (BEFORE_SEND_FAILED).
    if (!response.ok) throw new Error(`Turnstile siteverify answered ${response.status}`);
    const outcome = (await response.json()) as {
      success: boolean;
      hostname?: string;
      action?: string;
    };
    // A bad, expired or already used token (each is good once, for 300 s).
    if (!outcome.success) return { refuse: "captcha_failed" };
    // A token solved on another site, or for another form.
    if (outcome.hostname !== options.hostname) return { refuse: "captcha_mismatch" };
    if (options.action !== undefined && outcome.action !== options.action) {
      return { refuse: "captcha_mismatch" };
    }
    return undefined;
  };
}
// --- End of the sample. ---

const SECRET = "test-secret-0123456789abcdef0123456789abcdef";
const TURNSTILE_SECRET = "0x4AAAAAAAtest-secret";
const PHONE = "+14155550101";

/** What Cloudflare says of each token the tests use. */
const TOKENS: Record<string, object> = {
  "token-of-a-person": { success: true, hostname: "app.example", action: "send-code" },
  "token-from-elsewhere": { success: true, hostname: "evil.example", action: "send-code" },
  "token-for-the-newsletter": { success: true, hostname: "app.example", action: "newsletter" },
  "token-used-before": { success: false, "error-codes": ["timeout-or-duplicate"] },
};

const asked: Record<string, unknown>[] = [];
const server = setupServer(
  http.post(SITEVERIFY, async ({ request }) => {
    const body = (await request.json()) as Record<string, unknown>;
    asked.push(body);
    if (body.secret !== TURNSTILE_SECRET) {
      return HttpResponse.json({ success: false, "error-codes": ["invalid-input-secret"] });
    }
    const known = TOKENS[String(body.response)];
    return HttpResponse.json(
      known ?? { success: false, "error-codes": ["invalid-input-response"] },
    );
  }),
);

beforeAll(() =>
  server.listen({
    onUnhandledRequest(request, print) {
      if (new URL(request.url).hostname !== "127.0.0.1") print.error();
    },
  }),
);
afterEach(() => {
  server.resetHandlers();
  asked.length = 0;
});
afterAll(() => server.close());

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function start() {
  const channel = createTestChannel();
  const otp = createOtp({
    secret: SECRET,
    channel,
    beforeSend: turnstile({
      secret: TURNSTILE_SECRET,
      hostname: "app.example",
      action: "send-code",
    }),
  });
  served = await nodeHarness(
    otpHandler(otp, {
      secret: SECRET,
      clientIp: (request) => request.headers.get("x-client-ip") ?? undefined,
    }),
  );
  const url = `${served.url}/otp/send`;
  const send = async (body: object, headers: Record<string, string> = {}) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-client-ip": "203.0.113.5", ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { error?: Record<string, unknown> } };
  };
  return { channel, send };
}

describe("Cloudflare Turnstile in beforeSend", () => {
  it("sends to a person whose token Cloudflare vouches for, telling Cloudflare their address", async () => {
    const { channel, send } = await start();
    const res = await send({ phone: PHONE, "cf-turnstile-response": "token-of-a-person" });
    expect(res.status).toBe(200);
    expect(channel.messages).toHaveLength(1);
    expect(asked).toEqual([
      { secret: TURNSTILE_SECRET, response: "token-of-a-person", remoteip: "203.0.113.5" },
    ]);
    // The token may come in a header instead (a typed client that only sends declared fields).
    const byHeader = await send(
      { phone: "+14155550102" },
      { "x-captcha-response": "token-of-a-person" },
    );
    expect(byHeader.status).toBe(200);
  });

  it("refuses a bot without a token, without asking Cloudflare or holding the phone", async () => {
    const { channel, send } = await start();
    for (let i = 0; i < 5; i++) {
      const res = await send({ phone: PHONE });
      expect(res.status).toBe(403);
      expect(res.body.error).toEqual({
        code: "SEND_REFUSED",
        message: "The request for a code was refused.",
        reason: "captcha_missing",
      });
    }
    expect(asked).toEqual([]);
    const person = await send({ phone: PHONE, "cf-turnstile-response": "token-of-a-person" });
    expect(person.status).toBe(200);
    expect(channel.messages).toHaveLength(1);
  });

  it("refuses a used token, and tokens solved on another site or for another form", async () => {
    const { channel, send } = await start();
    const cases = {
      "token-used-before": "captcha_failed",
      "made-up-token": "captcha_failed",
      "token-from-elsewhere": "captcha_mismatch",
      "token-for-the-newsletter": "captcha_mismatch",
    };
    for (const [token, reason] of Object.entries(cases)) {
      const res = await send({ phone: PHONE, "cf-turnstile-response": token });
      expect(res.status, token).toBe(403);
      expect(res.body.error, token).toMatchObject({ code: "SEND_REFUSED", reason });
    }
    expect(channel.messages).toHaveLength(0);
  });

  it("refuses every send while Cloudflare is down, and says to try again", async () => {
    server.use(http.post(SITEVERIFY, () => new HttpResponse(null, { status: 503 })));
    const { channel, send } = await start();
    const res = await send({ phone: PHONE, "cf-turnstile-response": "token-of-a-person" });
    expect(res.status).toBe(500);
    expect(res.body.error).toEqual({
      code: "BEFORE_SEND_FAILED",
      message: "The request could not be checked right now. Try again in a moment.",
    });
    expect(channel.messages).toHaveLength(0);
  });
});

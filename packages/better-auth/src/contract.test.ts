import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  errorAnswer,
  HTTP_ERRORS,
  type HttpAnswer,
  OtpError,
  thrownAnswer,
  verifyFailureAnswer,
} from "@waotp/core";
import { afterEach, describe, expect, it } from "vitest";
import { PLUGIN_CODES, WHATSAPP_OTP_ERROR_CODES } from "./error-codes.js";
import { type setupAuth as Setup, setupAuth, WEBHOOK_SECRET } from "./test-setup.js";

const PHONE = "+14155550101";
let t: Awaited<ReturnType<typeof Setup>> | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The core's answer as better-auth's JSON body and its Retry-After. */
function expected(answer: HttpAnswer) {
  return {
    status: answer.status,
    retryAfter: answer.headers["Retry-After"] ?? null,
    body: answer.body.error,
  };
}

async function call(path: string, body?: unknown) {
  const response = await (t as NonNullable<typeof t>).auth.handler(
    new Request(`http://localhost:3000/api/auth/whatsapp-otp${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe("the plugin's error codes", () => {
  it("list the core's HTTP_ERRORS for every code the plugin answers", () => {
    for (const code of PLUGIN_CODES) {
      expect(WHATSAPP_OTP_ERROR_CODES[code]).toMatchObject({
        code,
        message: HTTP_ERRORS[code].message,
      });
      expect(String(WHATSAPP_OTP_ERROR_CODES[code])).toBe(code);
    }
  });

  it("reach the browser through the core's Node-free table only", async () => {
    // The client bundle may load the plugin's code list and, through it, \`@waotp/core/http-errors\`:
    // nothing of the core that needs Node (crypto, libphonenumber) may come with it.
    const allowed: Record<string, string[]> = {
      "client.ts": ["./error-codes.js"],
      "error-codes.ts": ["@waotp/core/http-errors"],
    };
    for (const [file, imports] of Object.entries(allowed)) {
      const source = readFileSync(new URL(file, import.meta.url), "utf8");
      const runtime = [...source.matchAll(/^import (?!type )[^"]*"([^"]+)";$/gm)].map((m) => m[1]);
      expect(runtime.filter((from) => !from?.startsWith("better-auth"))).toEqual(imports);
    }
    const table = fileURLToPath(import.meta.resolve("@waotp/core/http-errors"));
    const loaded = new Set<string>();
    const walk = (path: string) => {
      if (loaded.has(path)) return;
      loaded.add(path);
      for (const m of readFileSync(path, "utf8").matchAll(/from "([^"]+)"|import "([^"]+)"/g)) {
        const from = m[1] ?? m[2] ?? "";
        expect(from).toMatch(/^\.\//);
        walk(fileURLToPath(new URL(from, pathToFileURL(path))));
      }
    };
    walk(table);
    expect(loaded.size).toBeGreaterThan(1);
  });
});

describe("whatsappOtp answers as the core's HTTP contract says", () => {
  it("for failed verifications, webhooks, status lookups and 4xx errors", async () => {
    t = await setupAuth();
    expect(await call("/verify", { phoneNumber: PHONE, code: "123456" })).toEqual(
      expected(verifyFailureAnswer({ ok: false, reason: "NO_PENDING_CODE" })),
    );
    expect(await call("/webhook/not-the-secret", { ack: [] })).toEqual(
      expected(errorAnswer("UNAUTHORIZED")),
    );
    expect(await call("/status?messageId=wamid.none")).toEqual(expected(errorAnswer("NOT_FOUND")));
    expect(await call(`/webhook/${WEBHOOK_SECRET}`, [])).toMatchObject({
      status: 400,
      body: { code: "WEBHOOK_INVALID" },
    });
    await call("/send", { phoneNumber: PHONE });
    const limited = await call("/send", { phoneNumber: PHONE });
    expect(limited).toEqual(
      expected(
        thrownAnswer(
          new OtpError("RATE_LIMITED", String(limited.body.message), {
            retryAfter: 60,
            details: { limit: "phone_cooldown" },
          }),
        ),
      ),
    );
  });

  it("for failures on our side: the core's words only, and the wait of a message that may still arrive", async () => {
    t = await setupAuth();
    t.sim.inject({ kind: "http", status: 401 });
    expect(await call("/send", { phoneNumber: PHONE })).toEqual(
      expected(thrownAnswer(new OtpError("SEND_FAILED", "1MSG refused the token"))),
    );
    t.sim.inject({ kind: "http_after_send", status: 500 });
    const uncertain = await call("/send", { phoneNumber: "+14155550102" });
    expect(uncertain).toEqual(
      expected(
        thrownAnswer(
          new OtpError("SEND_FAILED", "HTTP 500", {
            retryAfter: Number(uncertain.body.retryAfter),
            details: { delivery: "unknown" },
          }),
        ),
      ),
    );
    expect(uncertain.body.retryAfter).toBeGreaterThan(0);
    expect(JSON.stringify(uncertain.body)).not.toMatch(/1MSG|token|HTTP/);
  });
});

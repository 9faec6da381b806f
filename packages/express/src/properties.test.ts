/** Property-based tests of the router's bodies: any JSON, any content type, huge and deep bodies. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createOtp } from "@waotp/core";
import { createTestChannel } from "@waotp/core/testing";
import express from "express";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { otpRouter } from "./router.js";

const RUNS = Number(process.env.WAOTP_PROPERTY_RUNS ?? 300);
vi.setConfig({ testTimeout: 60_000 });
let server: Server;
let base: string;

beforeAll(async () => {
  const otp = createOtp({
    secret: "property-secret-0123456789abcdef0123",
    channel: createTestChannel(),
  });
  const app = express();
  app.use(
    "/otp",
    otpRouter(otp, {
      secret: "property-cookie-secret-0123456789abcd",
      webhookSecret: "hook-secret-0123456789",
    }),
  );
  server = createServer(app);
  // fetch reuses idle connections: on a busy machine a gap past Node's 5 s keep-alive timeout let
  // the server close one just as the next request went out on it (ECONNRESET, not an answer).
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/otp`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function answer(path: string, body: string, contentType: string | undefined) {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: contentType === undefined ? {} : { "content-type": contentType },
    body,
  });
  const text = await response.text();
  return { status: response.status, text };
}

/** No server error, and every refusal is JSON with a code. */
function expectHandled({ status, text }: { status: number; text: string }) {
  expect(status).toBeLessThan(500);
  if (status >= 400) expect(JSON.parse(text).error.code).toMatch(/^[A-Z_]+$/);
}

const paths = fc.constantFrom("/send", "/verify", "/webhook/hook-secret-0123456789");
const contentTypes = fc.oneof(
  fc.constant("application/json"),
  fc.constant("application/json; charset=utf-8"),
  fc.constantFrom(
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/xml",
  ),
  fc.constant(undefined),
  fc.string({ maxLength: 40 }),
);

describe("the router under arbitrary bodies", () => {
  it("answers any JSON value with 2xx or a coded 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(paths, fc.jsonValue(), async (path, value) => {
        expectHandled(await answer(path, JSON.stringify(value), "application/json"));
      }),
      { numRuns: RUNS },
    );
  });

  it("answers objects with fields of any type with a coded 4xx", async () => {
    const field = fc.oneof(fc.anything(), fc.string(), fc.constant("+14155550101"));
    await fc.assert(
      fc.asyncProperty(paths, field, field, field, async (path, phone, code, purpose) => {
        const body = JSON.stringify({ phone, code, purpose }, (_key, v) =>
          typeof v === "bigint" ? String(v) : v,
        );
        expectHandled(await answer(path, body ?? "{}", "application/json"));
      }),
      { numRuns: RUNS },
    );
  });

  it("answers any bytes under any content type without a server error", async () => {
    await fc.assert(
      fc.asyncProperty(
        paths,
        fc.string({ unit: "binary", maxLength: 300 }),
        contentTypes,
        async (path, body, type) => {
          expectHandled(await answer(path, body, type));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("holds its own 2 kB limit, well under Express's default", async () => {
    const body = JSON.stringify({ phone: "+14155550101", pad: "x".repeat(3_000) });
    for (const path of ["/send", "/verify"]) {
      const result = await answer(path, body, "application/json");
      expect(result.status).toBe(413);
      expectHandled(result);
    }
  });

  it("answers huge and deeply nested bodies with 4xx", async () => {
    const huge = JSON.stringify({ phone: "+14155550101", pad: "x".repeat(5_000_000) });
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const deepObject = `${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}`;
    for (const body of [huge, deep, deepObject]) {
      for (const path of ["/send", "/verify", "/webhook/hook-secret-0123456789"]) {
        const result = await answer(path, body, "application/json");
        expectHandled(result);
        // send and verify take 2 kB; the webhook may accept a deep but small JSON object.
        if (!path.startsWith("/webhook") || body.length > 256 * 1024)
          expect(result.status).toBeGreaterThanOrEqual(400);
      }
    }
  });
});

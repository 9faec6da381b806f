// Test helpers: the example on a fresh SQLite file, and a browser-like HTTP client with a cookie jar.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { startExample } from "../src/main.mjs";

export const PASSWORD = "a long enough password";

/** The example in simulator mode, on its own database file. */
export async function start(lines = []) {
  const dir = mkdtempSync(join(tmpdir(), "waotp-ba-"));
  return startExample({ PORT: "0", DATABASE_PATH: join(dir, "auth.sqlite") }, (line) =>
    lines.push(line),
  );
}

/** A browser: keeps the cookies better-auth and the plugin set, and sends the page's Origin. */
export function browser(example) {
  const jar = new Map();
  return async function call(path, body) {
    const response = await fetch(`${example.url}/api/auth${path}`, {
      method: body ? "POST" : "GET",
      headers: {
        ...(body ? { "content-type": "application/json" } : {}),
        cookie: [...jar].map(([name, value]) => `${name}=${value}`).join("; "),
        origin: example.url,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const name = pair.slice(0, pair.indexOf("="));
      const value = pair.slice(pair.indexOf("=") + 1);
      if (value === "" || /max-age=0/i.test(header)) jar.delete(name);
      else jar.set(name, value);
    }
    return { status: response.status, body: await response.json().catch(() => null) };
  };
}

/** Signs `call`'s browser up or in with a WhatsApp code to `phone`; resolves with the user. */
export async function signInWithCode(example, call, phone) {
  expect((await call("/whatsapp-otp/send", { phoneNumber: phone })).status).toBe(200);
  const code = example.simulator.lastCode(phone);
  const verified = await call("/whatsapp-otp/verify", { phoneNumber: phone, code });
  expect(verified.status).toBe(200);
  return verified.body.user;
}

/** Sets the account's password with a reset code to `phone` (which signs every session out). */
export async function resetPassword(example, call, phone, newPassword = PASSWORD) {
  const requested = await call("/whatsapp-otp/request-password-reset", { phoneNumber: phone });
  expect(requested.body).toEqual({ status: true });
  const code = example.simulator.lastCode(phone);
  const reset = await call("/whatsapp-otp/reset-password", {
    phoneNumber: phone,
    code,
    newPassword,
  });
  expect(reset.body).toEqual({ status: true });
}

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";

// Run as production: there, better-auth finds no client address unless a header carries one.
process.env.NODE_ENV = "production";
delete process.env.TEST;
const { startExample } = await import("../src/main.mjs");

let example;
afterEach(async () => {
  await example?.close();
});

it("limits sends per client by its socket address, whatever X-Forwarded-For it forges", async () => {
  const dir = mkdtempSync(join(tmpdir(), "waotp-ba-"));
  example = await startExample(
    { PORT: "0", DATABASE_PATH: join(dir, "auth.sqlite"), BETTER_AUTH_SECRET: "x".repeat(32) },
    () => {},
  );
  const send = (i) =>
    fetch(`${example.url}/api/auth/whatsapp-otp/send`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        origin: example.url,
        "x-forwarded-for": `198.51.100.${i}`,
      },
      body: JSON.stringify({ phoneNumber: `+1415555${String(100 + i).padStart(4, "0")}` }),
    });
  for (let i = 0; i < 20; i++) expect((await send(i)).status).toBe(200);
  const limited = await send(20);
  expect(limited.status).toBe(429);
  expect(await limited.json()).toMatchObject({ code: "RATE_LIMITED", limit: "ip_window" });
});

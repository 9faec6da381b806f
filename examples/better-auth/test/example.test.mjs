import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { startExample } from "../src/main.mjs";

let example;
afterEach(async () => {
  await example?.close();
});

it("signs up and in with a WhatsApp code, on SQLite, against the simulator", async () => {
  const dir = mkdtempSync(join(tmpdir(), "waotp-ba-"));
  const lines = [];
  example = await startExample({ PORT: "0", DATABASE_PATH: join(dir, "auth.sqlite") }, (l) =>
    lines.push(l),
  );
  expect(lines[0]).toMatch(/simulator mode/);
  let cookie = "";
  const call = async (path, body) => {
    const response = await fetch(`${example.url}/api/auth${path}`, {
      method: body ? "POST" : "GET",
      headers: {
        ...(body ? { "content-type": "application/json" } : {}),
        cookie,
        origin: example.url,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const set = response.headers.getSetCookie().map((c) => c.split(";")[0]);
    if (set.length) cookie = set.join("; ");
    return { status: response.status, body: await response.json().catch(() => null) };
  };

  const sent = await call("/whatsapp-otp/send", { phoneNumber: "+1 415 555 0101" });
  expect(sent.status).toBe(200);
  const code = example.simulator.lastCode("+14155550101");
  const wrong = await call("/whatsapp-otp/verify", {
    phoneNumber: "+14155550101",
    code: code === "000000" ? "111111" : "000000",
  });
  expect(wrong.body).toMatchObject({ code: "INVALID_CODE" });
  expect(wrong.body).not.toHaveProperty("attemptsLeft");
  const verified = await call("/whatsapp-otp/verify", { phoneNumber: "+14155550101", code });
  expect(verified.status).toBe(200);
  const session = await call("/get-session");
  expect(session.body.user).toMatchObject({
    phoneNumber: "+14155550101",
    phoneNumberVerified: true,
  });

  const rows = example.database.prepare('select "key", value from "waotpRecord"').all();
  expect(rows.length).toBeGreaterThan(0);
  expect(JSON.stringify(rows)).not.toMatch(new RegExp(`\\b${code}\\b`));
  const users = example.database.prepare('select "phoneNumber" from user').all();
  expect(users).toEqual([{ phoneNumber: "+14155550101" }]);

  const page = await fetch(example.url);
  expect(await page.text()).toContain('autocomplete="one-time-code"');
});

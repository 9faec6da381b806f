import { get } from "node:http";
import { afterEach, expect, it } from "vitest";
import { browser, start } from "./helpers.mjs";

let example;
afterEach(async () => {
  await example?.close();
});

it("signs up and in with a WhatsApp code, on SQLite, against the simulator", async () => {
  const lines = [];
  example = await start(lines);
  expect(lines[0]).toMatch(/simulator mode/);
  const call = browser(example);

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

it("shows the simulated phones only to requests that name this machine", async () => {
  example = await start();
  const inbox = (host) =>
    new Promise((resolve, reject) => {
      const request = get(`${example.url}/demo/inbox`, { headers: { host } }, (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      request.once("error", reject);
    });
  expect(await inbox(new URL(example.url).host)).toBe(200);
  // A page elsewhere reaching 127.0.0.1 through its own DNS name (DNS rebinding) sees nothing.
  expect(await inbox("attacker.example")).toBe(403);
});

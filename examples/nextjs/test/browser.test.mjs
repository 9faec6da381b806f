import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CHROMIUM_ARGS, ensureChromium } from "../../../scripts/chromium.mjs";
import { startExample } from "../src/main.mjs";

const ARTIFACTS = new URL("../test-results/", import.meta.url).pathname;
let browser;
let example;

beforeAll(async () => {
  const executablePath = ensureChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
  example = await startExample({ PORT: "0" }, () => {});
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await example?.close();
});

it("signs in in a real browser: phone, the simulated WhatsApp message, code, account", async () => {
  const tab = await browser.newPage();
  const problems = [];
  tab.on("pageerror", (error) => problems.push(error.message));
  await tab.goto(`${example.url}/account`);
  await tab.getByRole("heading", { name: "Sign in with WhatsApp" }).waitFor();
  expect(new URL(tab.url()).pathname).toBe("/");

  await tab.getByLabel("Phone number").fill("+44 20 7946 0958");
  await tab.getByRole("button", { name: "Send code" }).click();
  const code = tab.getByLabel("Code");
  await code.waitFor();
  expect(await code.getAttribute("autocomplete")).toBe("one-time-code");
  const real = example.simulator.lastCode("+442079460958");
  await expect.poll(() => tab.locator(".whatsapp").textContent()).toContain(real);

  await code.fill(real === "000000" ? "111111" : "000000");
  await tab.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => tab.locator("#error").textContent()).toMatch(/code is not right/);

  await code.fill(real);
  await tab.getByRole("button", { name: "Sign in" }).click();
  await tab.getByRole("heading", { name: "Your account" }).waitFor({ timeout: 10_000 });
  expect(await tab.locator("#phone").textContent()).toBe("+442079460958");
  await tab.screenshot({ path: `${ARTIFACTS}nextjs-signed-in.png`, fullPage: true });
  expect(problems).toEqual([]);
});

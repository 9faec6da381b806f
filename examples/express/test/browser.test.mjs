import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_ARGS, ensureChromium } from "../../../scripts/chromium.mjs";
import { startDemo } from "../src/main.mjs";

const ARTIFACTS = new URL("../test-results/", import.meta.url).pathname;
let browser;
let demo;

beforeAll(async () => {
  const executablePath = ensureChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
  demo = await startDemo({ PORT: "0" }, () => {});
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

async function page(viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: demo.url });
  const tab = await context.newPage();
  const problems = [];
  tab.on("pageerror", (error) => problems.push(error.message));
  await tab.goto(demo.url);
  return { tab, problems };
}

describe("the demo in a real browser", () => {
  it("signs in by copying the code from the simulated phone and pasting it", async () => {
    const { tab, problems } = await page();
    const phone = tab.getByLabel("Phone number");
    await expect.poll(() => phone.evaluate((el) => el === document.activeElement)).toBe(true);
    await phone.fill("+44 20 7946 0958");
    await phone.press("Enter");

    const code = tab.getByLabel("Verification code");
    await code.waitFor();
    expect(await code.getAttribute("autocomplete")).toBe("one-time-code");
    expect(await code.getAttribute("inputmode")).toBe("numeric");
    await expect.poll(() => tab.locator("#delivery").textContent()).toMatch(/Delivered|Read/);

    const bubble = tab.locator(".bubble").first();
    await expect
      .poll(() => bubble.locator("p").textContent())
      .toMatch(
        /^\d{6} is your verification code\. For your security, do not share this code with anyone\.$/,
      );
    await bubble.getByRole("button", { name: /Copy code/ }).click();
    await code.click();
    await tab.keyboard.press("Control+V");

    await tab.getByRole("heading", { name: "You're signed in" }).waitFor({ timeout: 10_000 });
    expect(await tab.locator("#me").textContent()).toBe("+442079460958");
    await tab.screenshot({ path: `${ARTIFACTS}demo-signed-in.png`, fullPage: true });
    expect(problems).toEqual([]);
  });

  it("explains a wrong number and a wrong code", async () => {
    const { tab } = await page();
    await tab.getByLabel("Phone number").fill("+1 555 123 4567");
    await tab.getByRole("button", { name: "Send code" }).click();
    await expect
      .poll(() => tab.locator("#phone-error").textContent())
      .toMatch(/doesn't look like a phone number/);
    expect(await tab.getByLabel("Phone number").getAttribute("aria-invalid")).toBe("true");

    await tab.getByLabel("Phone number").fill("+1 415 555 0177");
    await tab.getByRole("button", { name: "Send code" }).click();
    await tab.getByLabel("Verification code").waitFor();
    const real = demo.simulator.lastCode("+14155550177");
    await tab.getByLabel("Verification code").fill(real === "000000" ? "111111" : "000000");
    await expect
      .poll(() => tab.locator("#code-error").textContent())
      .toMatch(/isn't right, or it's no longer valid/);
    await expect.poll(() => tab.locator("#resend").textContent()).toMatch(/Resend code in \d+ s/);
  });

  it("asks for a step-up code for the transfer, and logs out", async () => {
    const quick = await startDemo({ PORT: "0" }, () => {}, {
      limits: { sendsPerPhone: { cooldownSeconds: 0 } },
    });
    try {
      const context = await browser.newContext();
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: quick.url });
      const tab = await context.newPage();
      await tab.goto(quick.url);
      const signIn = async (phone) => {
        await tab.getByLabel("Verification code").waitFor();
        await expect.poll(() => quick.simulator.lastCode(phone)).toBeTruthy();
        await tab.getByLabel("Verification code").fill(quick.simulator.lastCode(phone));
      };
      await tab.getByLabel("Phone number").fill("+1 415 555 0199");
      await tab.getByRole("button", { name: "Send code" }).click();
      await signIn("+14155550199");
      await tab.getByRole("button", { name: "Approve a $100 transfer" }).click();
      await tab.getByRole("heading", { name: "Confirm it's you" }).waitFor();
      await expect.poll(() => quick.simulator.inbox("+14155550199").length).toBe(2);
      await signIn("+14155550199");
      await expect
        .poll(() => tab.locator("#transfer-result").textContent())
        .toMatch(/Transfer of \$100 approved/);
      await tab.getByRole("button", { name: "Log out" }).click();
      await tab.getByRole("heading", { name: "Sign in with WhatsApp" }).waitFor();
      expect(await tab.locator(".bubble").count()).toBe(0);
    } finally {
      await quick.close();
    }
  });

  it("fits a phone-sized screen", async () => {
    const { tab } = await page({ width: 390, height: 844 });
    await tab.getByLabel("Phone number").fill("+1 415 555 0188");
    await tab.getByRole("button", { name: "Send code" }).click();
    await tab.locator(".bubble").first().waitFor();
    const overflow = await tab.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await tab.screenshot({ path: `${ARTIFACTS}demo-phone-size.png`, fullPage: true });
  });
});

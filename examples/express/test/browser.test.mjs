import { mkdirSync } from "node:fs";
import { FAILING_PHONES } from "@waotp/core/simulator";
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

async function page(viewport = { width: 1280, height: 860 }, on = demo) {
  const context = await browser.newContext({ viewport });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: on.url });
  const tab = await context.newPage();
  const problems = [];
  tab.on("pageerror", (error) => problems.push(error.message));
  await tab.goto(on.url);
  return { tab, problems };
}

/** The code in the newest SMS on the simulated phone, as a user would read it off the screen. */
async function codeFromSms(tab) {
  const text = await tab.locator(".bubble.sms p").last().textContent();
  return /\b(\d{6})\b/.exec(text)?.[1];
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

    await tab.getByLabel("Phone number").fill("+1 900 234 5678");
    await tab.getByRole("button", { name: "Send code" }).click();
    await expect
      .poll(() => tab.locator("#phone-error").textContent())
      .toBe("Codes can't be sent to premium-rate or shared-cost numbers. Use your mobile number.");

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

describe("the SMS fallback in a real browser", () => {
  it("signs in with the SMS that replaced a failed WhatsApp message", async () => {
    const { tab, problems } = await page();
    await tab.getByLabel("Phone number").fill("+1 415 555 0151");
    await tab.getByRole("button", { name: "Send code" }).click();
    await tab.getByLabel("Verification code").waitFor();

    const sms = tab.locator(".bubble.sms");
    await sms.first().waitFor({ timeout: 10_000 });
    await expect
      .poll(() => tab.locator("#channel-note").textContent())
      .toBe("WhatsApp couldn't deliver the message, so we sent a new code by SMS.");
    expect(await tab.locator("#sent-via").textContent()).toBe("by SMS");
    expect(await tab.locator("#delivery").textContent()).toMatch(/SMS: /);
    // The phone shows the SMS only, looking like an SMS: the WhatsApp message never arrived.
    expect(await tab.locator(".bubble").count()).toBe(1);
    expect(await sms.locator(".tag").textContent()).toBe("SMS from +14155550100");
    const look = await sms.evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(look).toBe("rgb(233, 233, 235)");
    expect(await sms.locator("p").textContent()).toMatch(
      /^Your verification code is \d{6}\. It is valid for 5 minutes; never share it\.$/,
    );

    await tab.screenshot({ path: `${ARTIFACTS}demo-sms-fallback.png`, fullPage: true });

    await tab.getByLabel("Verification code").fill(await codeFromSms(tab));
    await tab.getByRole("heading", { name: "You're signed in" }).waitFor({ timeout: 10_000 });
    expect(await tab.locator("#me").textContent()).toBe(FAILING_PHONES.failed);
    expect(problems).toEqual([]);
  });

  it("texts a number without WhatsApp at once, in the language picked", async () => {
    const { tab, problems } = await page();
    await expect.poll(() => tab.locator("#try-fallback").isVisible()).toBe(true);
    await tab.getByRole("button", { name: "+1 415 555 0150" }).click();
    expect(await tab.getByLabel("Phone number").inputValue()).toBe("+1 415 555 0150");
    await tab.getByLabel("Message language").selectOption({ label: "Español" });
    await tab.getByRole("button", { name: "Send code" }).click();

    await tab.getByLabel("Verification code").waitFor();
    expect(await tab.locator("#channel-note").textContent()).toBe(
      "This number can't get WhatsApp messages, so we sent your code by SMS.",
    );
    const sms = tab.locator(".bubble.sms p");
    await sms.waitFor();
    expect(await sms.textContent()).toMatch(
      /^Tu código de verificación es \d{6}\. Vale 5 minutos; no se lo des a nadie\.$/,
    );
    await tab.getByLabel("Verification code").fill(await codeFromSms(tab));
    await tab.getByRole("heading", { name: "You're signed in" }).waitFor({ timeout: 10_000 });
    expect(problems).toEqual([]);
  });

  it("writes the WhatsApp message in the language picked", async () => {
    const { tab } = await page();
    await tab.getByLabel("Phone number").fill("+1 415 555 0166");
    await tab.getByLabel("Message language").selectOption({ label: "Português (Brasil)" });
    await tab.getByRole("button", { name: "Send code" }).click();
    const bubble = tab.locator(".bubble").first();
    await expect
      .poll(() => bubble.locator("p").textContent())
      .toMatch(
        /^\d{6} é o seu código de verificação\. Por segurança, não o compartilhe com ninguém\.$/,
      );
    expect(await bubble.getAttribute("class")).toBe("bubble");
    await bubble.getByRole("button", { name: /Copiar código/ }).click();
    await tab.getByLabel("Verification code").click();
    await tab.keyboard.press("Control+V");
    await tab.getByRole("heading", { name: "You're signed in" }).waitFor({ timeout: 10_000 });
  });

  it("offers 'Send by SMS instead' when WhatsApp stays undelivered, and that SMS signs in", async () => {
    // WhatsApp takes the message but never reports it delivered; the page offers SMS after 1 s.
    const slow = await startDemo(
      { PORT: "0", WAOTP_SMS_OFFER_SECONDS: "1" },
      () => {},
      {},
      {
        acks: { sent: 20, delivered: false },
      },
    );
    try {
      const { tab, problems } = await page(undefined, slow);
      await tab.getByLabel("Phone number").fill("+1 415 555 0177");
      await tab.getByLabel("Message language").selectOption({ label: "Português (Brasil)" });
      await tab.getByRole("button", { name: "Send code" }).click();
      await tab.getByLabel("Verification code").waitFor();
      await tab.locator(".bubble").first().waitFor();
      const offer = tab.getByRole("button", { name: "Send by SMS instead" });
      await offer.waitFor({ timeout: 10_000 });
      expect(await tab.locator("#sms-offer-text").textContent()).toBe("No WhatsApp message yet?");
      expect(await tab.locator(".bubble.sms").count()).toBe(0);

      await offer.click();
      await tab.locator(".bubble.sms").waitFor({ timeout: 10_000 });
      expect(await offer.isVisible()).toBe(false);
      expect(await tab.locator("#channel-note").textContent()).toBe(
        "We sent a new code by SMS. Use that one: the WhatsApp code no longer works.",
      );
      expect(await tab.locator("#sent-via").textContent()).toBe("by SMS");
      expect(await tab.locator(".bubble.sms p").textContent()).toMatch(
        /^Seu código de verificação é \d{6}\. Ele vale por 5 minutos; nunca o compartilhe\.$/,
      );
      expect(await tab.locator(".bubble").count()).toBe(2);
      await tab.getByLabel("Verification code").fill(await codeFromSms(tab));
      await tab.getByRole("heading", { name: "You're signed in" }).waitFor({ timeout: 10_000 });
      expect(await tab.locator("#me").textContent()).toBe("+14155550177");
      expect(problems).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it("does not offer SMS once WhatsApp delivered", async () => {
    const quick = await startDemo({ PORT: "0", WAOTP_SMS_OFFER_SECONDS: "1" }, () => {});
    try {
      const { tab } = await page(undefined, quick);
      await tab.getByLabel("Phone number").fill("+1 415 555 0188");
      await tab.getByRole("button", { name: "Send code" }).click();
      await expect.poll(() => tab.locator("#delivery").textContent()).toMatch(/Delivered/);
      await tab.waitForTimeout(1500);
      expect(await tab.locator("#sms-offer").isVisible()).toBe(false);
    } finally {
      await quick.close();
    }
  });
});

describe("the operator page in a real browser", () => {
  // The page asks for fresh figures every 1.5 s.
  const REFRESH = { timeout: 5000 };

  it("shows the counts rising, draws the chart, and lifts a country the tripwire paused", async () => {
    // A small tripwire, so four unverified sends trip it (the shipped one wants 30, settled 30 s).
    const op = await startDemo(
      { PORT: "0", WAOTP_TRIPWIRE_MIN_SENDS: "4", WAOTP_TRIPWIRE_SETTLE_SECONDS: "0" },
      () => {},
    );
    try {
      const send = async (phone, ip) =>
        (
          await fetch(`${op.url}/otp/send`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-forwarded-for": ip },
            body: JSON.stringify({ phone }),
          })
        ).status;
      const verify = async (phone, ip) =>
        (
          await fetch(`${op.url}/otp/verify`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-forwarded-for": ip },
            body: JSON.stringify({ phone, code: op.simulator.lastCode(phone) }),
          })
        ).status;

      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      const tab = await context.newPage();
      const problems = [];
      tab.on("pageerror", (error) => problems.push(error.message));
      tab.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      // The sign-in page links to it in simulator mode.
      await tab.goto(op.url);
      await tab.getByRole("link", { name: "operator page" }).click();
      await tab.getByRole("heading", { name: /pumping defences/ }).waitFor();
      expect(new URL(tab.url()).pathname).toBe("/admin");
      const total = (name) => tab.locator(`#total-${name}`).textContent();
      await expect.poll(() => total("sent"), REFRESH).toBe("0");
      await tab.getByText("No send asked for yet.").waitFor();

      // One user signs in; another never types the code.
      expect(await send("+14155550123", "192.0.2.1")).toBe(200);
      expect(await verify("+14155550123", "192.0.2.1")).toBe(200);
      expect(await send("+442079460958", "192.0.2.2")).toBe(200);
      await expect.poll(() => total("sent"), REFRESH).toBe("2");
      await expect.poll(() => total("verified"), REFRESH).toBe("1");
      await expect.poll(() => total("conversion"), REFRESH).toBe("50 %");
      await expect.poll(() => total("delivered"), REFRESH).toBe("2");
      expect(await total("cost")).toMatch(/^\$0\.05/);
      const us = tab.locator('#countries tr[data-country="US"]');
      expect(await us.locator("th").textContent()).toBe("United States (US)");
      expect(await us.locator("td").nth(2).textContent()).toBe("100 %");

      // The chart: thirty minutes of bars, the sends' minute drawn to scale (the sends may straddle
      // a minute's end, so the minute is found, not assumed to be the last).
      const bars = tab.locator("#chart svg rect.bar.sends");
      expect(await bars.count()).toBe(30);
      const values = await bars.evaluateAll((rects) => rects.map((r) => r.dataset.value));
      const verifiedBars = tab.locator("#chart svg rect.bar.verified");
      const verifiedValues = await verifiedBars.evaluateAll((rects) =>
        rects.map((r) => r.dataset.value),
      );
      expect(values.map(Number).reduce((a, b) => a + b, 0)).toBe(2);
      expect(verifiedValues.map(Number).reduce((a, b) => a + b, 0)).toBe(1);
      // Every bar is to scale: its height is its value times the height of one verification.
      const unit = (await verifiedBars.nth(verifiedValues.indexOf("1")).boundingBox()).height;
      expect(unit).toBeGreaterThan(0);
      for (const [index, value] of values.entries()) {
        if (value === "0") continue;
        const box = await bars.nth(index).boundingBox();
        expect(box.height / unit).toBeCloseTo(Number(value), 1);
      }
      expect(await tab.locator("#chart-summary").textContent()).toBe(
        "Last 30 minutes: 2 sends, 1 verification",
      );

      // Pumping Germany: four sends from four addresses, nobody types a code.
      for (let i = 0; i < 4; i++) {
        expect(await send(`+4915123456${780 + i}`, `203.0.113.${i}`)).toBe(200);
      }
      expect(await send("+4915123456789", "203.0.113.9")).toBe(403);
      const germany = tab.locator('#tripwire tr[data-country="DE"]');
      await expect
        .poll(() => germany.locator(".state").textContent(), REFRESH)
        .toMatch(/^Paused until /);
      await expect.poll(() => germany.locator("td").nth(5).textContent(), REFRESH).toBe("1");
      await expect.poll(() => total("refused"), REFRESH).toBe("1");
      expect(await tab.locator("#refused dd").textContent()).toBe("1");
      expect(await tab.locator("#trips li").first().textContent()).toMatch(
        /Germany \(DE\) paused until .*, 0 of 4 settled sends verified\./,
      );
      const look = await germany.evaluate((row) => getComputedStyle(row).backgroundColor);
      expect(look).toBe("rgb(253, 236, 234)");
      await tab.screenshot({ path: `${ARTIFACTS}demo-operator.png`, fullPage: true });

      await tab.getByRole("button", { name: "Lift the pause on Germany (DE)" }).click();
      await expect.poll(() => germany.locator(".state").textContent(), REFRESH).toBe("Watching");
      expect(await tab.getByRole("button", { name: /Lift the pause/ }).count()).toBe(0);
      expect(await send("+4915123456788", "203.0.113.8")).toBe(200);
      expect(problems).toEqual([]);
    } finally {
      await op.close();
    }
  });
});

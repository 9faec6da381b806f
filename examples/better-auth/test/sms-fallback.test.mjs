import { FAILING_PHONES } from "@waotp/core/simulator";
import { afterEach, expect, it } from "vitest";
import { browser, start } from "./helpers.mjs";

let example;
afterEach(async () => {
  await example?.close();
});

it("sends an SMS at once to a number WhatsApp refuses, and its code signs in", async () => {
  example = await start();
  const call = browser(example);
  const phone = FAILING_PHONES.refused;
  const sent = await call("/whatsapp-otp/send", { phoneNumber: phone });
  expect(sent.body).toMatchObject({
    phoneNumber: phone,
    channel: "twilio-sms",
    fallback: "refused",
  });
  const [sms] = example.simulator.inbox(phone);
  expect(sms).toMatchObject({ channel: "sms" });
  expect(sms.text).toContain(sms.code);

  const verified = await call("/whatsapp-otp/verify", { phoneNumber: phone, code: sms.code });
  expect(verified.status).toBe(200);
  expect((await call("/get-session")).body.user).toMatchObject({ phoneNumber: phone });

  // The page's simulated phones show the SMS.
  const inbox = await fetch(`${example.url}/demo/inbox`).then((r) => r.json());
  expect(inbox.messages[0]).toMatchObject({ phone, channel: "sms", text: sms.text });
});

it("sends an SMS when the WhatsApp message fails after 1MSG took it, and its code signs in", async () => {
  example = await start();
  const call = browser(example);
  const phone = FAILING_PHONES.failed;
  const sent = await call("/whatsapp-otp/send", { phoneNumber: phone });
  expect(sent.body).toMatchObject({ phoneNumber: phone, channel: "1msg" });
  // The simulator reports the failure to the plugin's webhook, and the plugin sends the SMS.
  await expect.poll(() => example.simulator.sms.inbox(phone).length).toBe(1);
  const sms = example.simulator.inbox(phone).at(-1);
  expect(sms).toMatchObject({ channel: "sms" });

  const verified = await call("/whatsapp-otp/verify", { phoneNumber: phone, code: sms.code });
  expect(verified.status).toBe(200);
  expect((await call("/get-session")).body.user).toMatchObject({ phoneNumber: phone });
});

import { oneMsg } from "@waotp/core";
import { startOneMsgSimulator } from "@waotp/core/simulator";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { phoneNumber } from "better-auth/plugins";
import { expect, it } from "vitest";
import { whatsappSendOTP } from "./send-otp.js";

it("lets better-auth's own phoneNumber plugin deliver its codes over WhatsApp", async () => {
  const sim = await startOneMsgSimulator();
  try {
    const channel = oneMsg({
      baseUrl: sim.url,
      channelId: sim.channelId,
      token: sim.token,
      template: sim.template,
    });
    const db = { user: [], session: [], account: [], verification: [] };
    const auth = betterAuth({
      secret: "better-auth-test-secret-0123456789abcdef",
      database: memoryAdapter(db),
      plugins: [
        phoneNumber({
          sendOTP: whatsappSendOTP(channel),
          signUpOnVerification: { getTempEmail: (phone) => `${phone.slice(1)}@phone.invalid` },
        }),
      ],
    });
    await auth.api.sendPhoneNumberOTP({ body: { phoneNumber: "+14155550101" } });
    const [message] = sim.inbox("+14155550101");
    expect(message?.text).toMatch(/^\d{6} is your verification code\./);
    const result = await auth.api.verifyPhoneNumber({
      body: { phoneNumber: "+14155550101", code: message?.code as string },
    });
    expect(result.user).toMatchObject({ phoneNumber: "+14155550101", phoneNumberVerified: true });
  } finally {
    await sim.close();
  }
});

it("refuses a number it cannot read before calling the channel", async () => {
  const sent: unknown[] = [];
  const send = whatsappSendOTP({
    name: "rec",
    send: async (message) => {
      sent.push(message);
      return { messageId: "x" };
    },
  });
  await expect(send({ phoneNumber: "not a phone", code: "123456" })).rejects.toMatchObject({
    code: "INVALID_PHONE",
  });
  expect(sent).toHaveLength(0);
});

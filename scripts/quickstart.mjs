// Sends a code and verifies it with @waotp/core, showing each step. The code goes to a local test
// channel that prints the WhatsApp message instead of sending it.

import { randomBytes } from "node:crypto";
import { createOtp } from "@waotp/core";
import { createTestChannel } from "@waotp/core/testing";

const channel = createTestChannel({ name: "local" });
const otp = createOtp({
  secret: process.env.WAOTP_SECRET ?? randomBytes(32).toString("hex"),
  channel,
  onEvent: (event) => console.log(`  event: ${event.type}`, "phone" in event ? event.phone : ""),
});

const phone = process.argv[2] ?? "+1 415 555 0101";
console.log(`waotp quickstart: sending a code to ${phone} through a local test channel\n`);

const sent = await otp.send({ phone, ip: "127.0.0.1" });
const message = channel.messages.at(-1);
const line = (text) => console.log(`  │ ${text.padEnd(61)}│`);
console.log(`\n  WhatsApp message to +${message.phone}:`);
console.log(`  ┌${"─".repeat(62)}┐`);
line(`${message.code} is your verification code. For your security,`);
line("do not share this code with anyone.");
line(`${" ".repeat(22)}[ Copy code ]`);
console.log(`  └${"─".repeat(62)}┘`);
console.log(`  message ${sent.messageId}, expires ${sent.expiresAt.toISOString()}\n`);

const wrongCode = message.code === "000000" ? "111111" : "000000";
console.log(`verify with a wrong code:`, await otp.verify({ phone, code: wrongCode }));
console.log(`verify with the right code:`, await otp.verify({ phone, code: message.code }));
console.log(`verify the same code again:`, await otp.verify({ phone, code: message.code }));
try {
  await otp.send({ phone });
} catch (error) {
  console.log(`send again at once: ${error.code} (retry after ${error.retryAfter} s)`);
}

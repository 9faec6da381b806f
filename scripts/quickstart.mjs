// Sends a code and verifies it with @waotp/core, showing each step. The code travels over HTTP to
// the local 1MSG simulator, which checks the request as 1MSG does and "delivers" it to its inbox.
import { randomBytes } from "node:crypto";
import { createOtp, oneMsg } from "@waotp/core";
import { startOneMsgSimulator } from "@waotp/core/testing";

const sim = await startOneMsgSimulator();
const otp = createOtp({
  secret: randomBytes(32),
  channel: oneMsg({
    baseUrl: sim.url,
    channelId: sim.channelId,
    token: sim.token,
    template: sim.template,
  }),
  onEvent: (event) => console.log(`  event: ${event.type}`, "phone" in event ? event.phone : ""),
});

const phone = process.argv[2] ?? "+1 415 555 0101";
console.log(`waotp quickstart: a code for ${phone} through the 1MSG simulator at ${sim.url}\n`);

const sent = await otp.send({ phone, ip: "127.0.0.1" });
const message = sim.messages.at(-1);
const line = (text) => console.log(`  │ ${text.padEnd(61)}│`);
console.log(`\n  WhatsApp message to +${message.phone}:`);
console.log(`  ┌${"─".repeat(62)}┐`);
line(message.text.slice(0, 52));
line(message.text.slice(52).trimStart());
line(`${" ".repeat(22)}[ ${message.button} ]`);
console.log(`  └${"─".repeat(62)}┘`);
console.log(`  message ${sent.messageId}, expires ${sent.expiresAt.toISOString()}\n`);

const wrongCode = message.code === "000000" ? "111111" : "000000";
console.log("verify with a wrong code:", await otp.verify({ phone, code: wrongCode }));
console.log("verify with the right code:", await otp.verify({ phone, code: message.code }));
console.log("verify the same code again:", await otp.verify({ phone, code: message.code }));
try {
  await otp.send({ phone });
} catch (error) {
  console.log(`send again at once: ${error.code} (retry after ${error.retryAfter} s)`);
}
await sim.close();

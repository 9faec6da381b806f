import { afterEach, expect, it } from "vitest";
import { browser, PASSWORD, resetPassword, signInWithCode, start } from "./helpers.mjs";

let example;
afterEach(async () => {
  await example?.close();
});

const PHONE = "+14155550101";

it("turns WhatsApp two-factor on, then asks for a WhatsApp code after the password", async () => {
  example = await start();
  const call = browser(example);
  const user = await signInWithCode(example, call, PHONE);
  await resetPassword(example, call, PHONE);
  const first = await call("/sign-in/email", { email: user.email, password: PASSWORD });
  expect(first.body).not.toHaveProperty("twoFactorRedirect");

  // On once a code sent to the verified number comes back.
  expect((await call("/two-factor/send-otp", {})).body).toEqual({ status: true });
  const message = example.simulator.inbox(PHONE).at(-1);
  expect(message).toMatchObject({ channel: "whatsapp" });
  const enabled = await call("/two-factor/verify-otp", { code: message.code });
  expect(enabled.status).toBe(200);
  expect((await call("/get-session")).body.user).toMatchObject({ twoFactorEnabled: true });
  await call("/sign-out", {});

  // The password alone no longer makes a session.
  const signedIn = await call("/sign-in/email", { email: user.email, password: PASSWORD });
  expect(signedIn.body).toEqual({ twoFactorRedirect: true, twoFactorMethods: ["otp"] });
  expect((await call("/get-session")).body).toBeNull();
  expect((await call("/two-factor/send-otp", {})).body).toEqual({ status: true });
  const code = example.simulator.lastCode(PHONE);
  const wrong = await call("/two-factor/verify-otp", {
    code: code === "000000" ? "111111" : "000000",
  });
  expect(wrong.status).toBe(401);
  expect((await call("/get-session")).body).toBeNull();
  const verified = await call("/two-factor/verify-otp", { code });
  expect(verified.status).toBe(200);
  expect((await call("/get-session")).body.user).toMatchObject({ id: user.id });

  // storeOTP: "hashed": better-auth's verification table does not hold the code.
  const rows = example.database.prepare("select value from verification").all();
  expect(JSON.stringify(rows)).not.toContain(code);
});

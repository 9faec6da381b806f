import { afterEach, expect, it } from "vitest";
import { browser, PASSWORD, resetPassword, signInWithCode, start } from "./helpers.mjs";

let example;
afterEach(async () => {
  await example?.close();
});

const OLD = "+14155550101";
const NEW = "+14155550102";

it("changes the number with a code to the new number and one to the current number", async () => {
  example = await start();
  const call = browser(example);
  const user = await signInWithCode(example, call, OLD);

  const toNew = await call("/whatsapp-otp/send", { phoneNumber: NEW, purpose: "verify-phone" });
  expect(toNew.status).toBe(200);
  const toOld = await call("/whatsapp-otp/send", { phoneNumber: OLD, purpose: "change-phone" });
  expect(toOld.status).toBe(200);
  const code = example.simulator.lastCode(NEW);
  const currentCode = example.simulator.lastCode(OLD);

  // A session alone cannot move the number: the owner of the current one must approve.
  const alone = await call("/whatsapp-otp/verify-phone", { phoneNumber: NEW, code });
  expect(alone.status).toBe(403);
  expect(alone.body).toMatchObject({ code: "CURRENT_PHONE_PROOF_REQUIRED" });

  const changed = await call("/whatsapp-otp/verify-phone", { phoneNumber: NEW, code, currentCode });
  expect(changed.status).toBe(200);
  expect(changed.body.user).toMatchObject({ id: user.id, phoneNumber: NEW });
  expect((await call("/get-session")).body.user).toMatchObject({
    phoneNumber: NEW,
    phoneNumberVerified: true,
  });
  const users = example.database.prepare('select id, "phoneNumber" from user').all();
  expect(users).toEqual([{ id: user.id, phoneNumber: NEW }]);
});

it("changes the number with the password as proof instead of a code to the current number", async () => {
  example = await start();
  const call = browser(example);
  const user = await signInWithCode(example, call, OLD);
  await resetPassword(example, call, OLD);
  // The reset signed every session out; a password sign-in makes a fresh one.
  expect((await call("/sign-in/email", { email: user.email, password: PASSWORD })).status).toBe(
    200,
  );

  await call("/whatsapp-otp/send", { phoneNumber: NEW, purpose: "verify-phone" });
  const code = example.simulator.lastCode(NEW);
  const wrong = await call("/whatsapp-otp/verify-phone", {
    phoneNumber: NEW,
    code,
    currentPassword: "not the password",
  });
  expect(wrong.body).toMatchObject({ code: "INVALID_PASSWORD" });
  const changed = await call("/whatsapp-otp/verify-phone", {
    phoneNumber: NEW,
    code,
    currentPassword: PASSWORD,
  });
  expect(changed.status).toBe(200);
  expect((await call("/get-session")).body.user).toMatchObject({ id: user.id, phoneNumber: NEW });
});

import { afterEach, expect, it } from "vitest";
import { browser, PASSWORD, signInWithCode, start } from "./helpers.mjs";

let example;
afterEach(async () => {
  await example?.close();
});

it("resets the password with a WhatsApp code, then signs in with email and the new password", async () => {
  example = await start();
  const call = browser(example);
  // Signed up by phone: the account has a placeholder email and no password yet.
  const user = await signInWithCode(example, call, "+14155550101");
  expect((await call("/list-accounts")).body).toEqual([]);

  // A number without an account gets the same answer, and no message.
  const unknown = await call("/whatsapp-otp/request-password-reset", {
    phoneNumber: "+14155550109",
  });
  expect(unknown).toEqual({ status: 200, body: { status: true } });
  expect(example.simulator.inbox("+14155550109")).toEqual([]);

  // better-auth's password rules come first: a short password spends neither the code nor a guess.
  await call("/whatsapp-otp/request-password-reset", { phoneNumber: "+14155550101" });
  const code = example.simulator.lastCode("+14155550101");
  const short = await call("/whatsapp-otp/reset-password", {
    phoneNumber: "+14155550101",
    code,
    newPassword: "short",
  });
  expect(short.body).toMatchObject({ code: "PASSWORD_TOO_SHORT" });
  const reset = await call("/whatsapp-otp/reset-password", {
    phoneNumber: "+14155550101",
    code,
    newPassword: PASSWORD,
  });
  expect(reset).toEqual({ status: 200, body: { status: true } });
  // Every session of the user is signed out, this one too.
  expect((await call("/get-session")).body).toBeNull();

  const wrong = await call("/sign-in/email", { email: user.email, password: "not the password" });
  expect(wrong.status).toBe(401);
  const signedIn = await call("/sign-in/email", { email: user.email, password: PASSWORD });
  expect(signedIn.status).toBe(200);
  const session = await call("/get-session");
  expect(session.body.user).toMatchObject({ id: user.id, phoneNumber: "+14155550101" });
  expect((await call("/list-accounts")).body).toEqual([
    expect.objectContaining({ providerId: "credential" }),
  ]);
});

import { APIError } from "better-auth/api";
import { afterEach, describe, expect, it } from "vitest";
import { type setupAuth as Setup, setupAuth } from "./test-setup.js";

const PHONE = "+14155550101";
const OTHER = "+14155550102";

let t: Awaited<ReturnType<typeof Setup>>;
afterEach(async () => {
  await t?.close();
});

type AuthClient = ReturnType<typeof t.client>["authClient"];

async function sendCode(client: AuthClient, phoneNumber: string, purpose?: "verify-phone") {
  const sent = await client.whatsappOtp.send({
    phoneNumber,
    ...(purpose === undefined ? {} : { purpose }),
  });
  expect(sent.error).toBeNull();
  return t.sim.lastCode(phoneNumber) as string;
}

describe("callbackOnVerification", () => {
  it("runs after each proven number, on sign-up, sign-in and verify-phone, with the user", async () => {
    const calls: { phoneNumber: string; userId: string; phone: unknown; path?: string }[] = [];
    t = await setupAuth({
      limits: { sendsPerPhone: { cooldownSeconds: 0 } },
      callbackOnVerification: ({ phoneNumber, user }, ctx) => {
        calls.push({ phoneNumber, userId: user.id, phone: user.phoneNumber, path: ctx?.path });
      },
    });
    const first = t.client().authClient;
    const signedUp = await first.whatsappOtp.verify({
      phoneNumber: "+1 415 555 0101",
      code: await sendCode(first, PHONE),
    });
    const id = signedUp.data?.user.id as string;
    const again = t.client().authClient;
    await again.whatsappOtp.verify({ phoneNumber: PHONE, code: await sendCode(again, PHONE) });

    const ann = t.client().authClient;
    const annId = (
      await ann.signUp.email({ email: "ann@example.com", password: "correct-horse", name: "Ann" })
    ).data?.user.id as string;
    await ann.whatsappOtp.verifyPhone({
      phoneNumber: OTHER,
      code: await sendCode(ann, OTHER, "verify-phone"),
    });
    expect(calls).toEqual([
      { phoneNumber: PHONE, userId: id, phone: PHONE, path: "/whatsapp-otp/verify" },
      { phoneNumber: PHONE, userId: id, phone: PHONE, path: "/whatsapp-otp/verify" },
      { phoneNumber: OTHER, userId: annId, phone: OTHER, path: "/whatsapp-otp/verify-phone" },
    ]);
  });

  it("refuses the sign-in when it throws: its error is the answer, and no session is made", async () => {
    t = await setupAuth({
      callbackOnVerification: () => {
        throw new APIError("FORBIDDEN", { code: "ACCOUNT_LOCKED", message: "Locked." });
      },
    });
    const client = t.client().authClient;
    const result = await client.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: await sendCode(client, PHONE),
    });
    expect(result.error).toMatchObject({ status: 403, code: "ACCOUNT_LOCKED" });
    expect(t.db.session).toHaveLength(0);
    expect((await client.getSession()).data).toBeNull();
  });
});

describe("disableSession", () => {
  it("proves the number and signs up without a session", async () => {
    t = await setupAuth();
    const client = t.client().authClient;
    const result = await client.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: await sendCode(client, PHONE),
      disableSession: true,
    });
    expect(result.error).toBeNull();
    expect(result.data).toMatchObject({
      status: true,
      token: null,
      user: { phoneNumber: PHONE, phoneNumberVerified: true },
    });
    expect(t.db.user).toHaveLength(1);
    expect(t.db.session).toHaveLength(0);
    expect((await client.getSession()).data).toBeNull();
  });

  it("signs in as before when it is false or left out", async () => {
    t = await setupAuth({ limits: { sendsPerPhone: { cooldownSeconds: 0 } } });
    const client = t.client().authClient;
    const result = await client.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: await sendCode(client, PHONE),
      disableSession: false,
    });
    expect(result.data).toMatchObject({ status: true, token: expect.any(String) });
    expect((await client.getSession()).data?.user.phoneNumber).toBe(PHONE);
  });
});

describe("signUpOnVerification", () => {
  it("names new users with getTempEmail and getTempName", async () => {
    t = await setupAuth({
      signUpOnVerification: {
        getTempEmail: (phone) => `${phone.slice(1)}@phone.example.org`,
        getTempName: (phone) => `WhatsApp ${phone.slice(-4)}`,
      },
    });
    const client = t.client().authClient;
    const result = await client.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: await sendCode(client, PHONE),
    });
    expect(result.data?.user).toMatchObject({
      email: "14155550101@phone.example.org",
      name: "WhatsApp 0101",
    });
  });

  it("keeps the placeholder email and the number as name with `true`", async () => {
    t = await setupAuth({ signUpOnVerification: true });
    const client = t.client().authClient;
    const result = await client.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: await sendCode(client, PHONE),
    });
    expect(result.data?.user.name).toBe(PHONE);
    expect(result.data?.user.email).toMatch(/^14155550101\.[0-9a-f]{12}@phone\.invalid$/);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { type setupAuth as Setup, setupAuth } from "./test-setup.js";

// Two owners of different kinds (signed up by phone; by email, number added later) and a third
// user who tries to take their numbers.
const BY_PHONE = "+14155550101";
const BY_EMAIL = "+14155550102";
const FREE = "+14155550103";
const CAROL = "+14155550104";

let t: Awaited<ReturnType<typeof Setup>>;
afterEach(async () => {
  await t?.close();
});

type AuthClient = ReturnType<typeof t.client>["authClient"];

async function code(
  client: AuthClient,
  phoneNumber: string,
  purpose?: "change-phone" | "verify-phone",
) {
  const sent = await client.whatsappOtp.send({
    phoneNumber,
    ...(purpose === undefined ? {} : { purpose }),
  });
  expect(sent.error).toBeNull();
  return t.sim.lastCode(phoneNumber) as string;
}

async function owners() {
  const first = t.client().authClient;
  const byPhone = await first.whatsappOtp.verify({
    phoneNumber: BY_PHONE,
    code: await code(first, BY_PHONE),
  });
  const second = t.client().authClient;
  const byEmail = await second.signUp.email({
    email: "bea@example.com",
    password: "correct-horse-battery",
    name: "Bea Owner",
  });
  await second.whatsappOtp.verifyPhone({
    phoneNumber: BY_EMAIL,
    code: await code(second, BY_EMAIL, "verify-phone"),
  });
  const carol = t.client().authClient;
  await carol.whatsappOtp.verify({ phoneNumber: CAROL, code: await code(carol, CAROL) });
  return {
    carol,
    secrets: [
      byPhone.data?.user.id,
      byPhone.data?.user.email,
      byEmail.data?.user.id,
      "bea@example.com",
      "Bea Owner",
    ] as string[],
  };
}

/** Carol's attempt to move her number to `target`, proving both numbers. */
async function takeOver(carol: AuthClient, target: string) {
  const currentCode = await code(carol, CAROL, "change-phone");
  return carol.whatsappOtp.verifyPhone({
    phoneNumber: target,
    code: await code(carol, target, "verify-phone"),
    currentCode,
  });
}

describe("a number another user holds", () => {
  it("is refused with one answer whoever holds it, naming no one", async () => {
    t = await setupAuth({ limits: { sendsPerPhone: { cooldownSeconds: 0 } } });
    const { carol, secrets } = await owners();
    const fromPhoneUser = await takeOver(carol, BY_PHONE);
    const fromEmailUser = await takeOver(carol, BY_EMAIL);
    expect(fromPhoneUser.error).toMatchObject({ status: 400, code: "PHONE_NUMBER_EXIST" });
    expect(fromEmailUser.error).toEqual(fromPhoneUser.error);
    const answers = JSON.stringify([fromPhoneUser, fromEmailUser]);
    for (const secret of secrets) expect(answers).not.toContain(secret);
    // Nothing moved.
    expect(t.db.user.map((u) => u.phoneNumber).sort()).toEqual([BY_PHONE, BY_EMAIL, CAROL]);
    // A free number moves.
    expect((await takeOver(carol, FREE)).data?.user).toMatchObject({ phoneNumber: FREE });
  });

  it("cannot be told from a free one without its code", async () => {
    t = await setupAuth({ limits: { sendsPerPhone: { cooldownSeconds: 0 } } });
    const { carol } = await owners();
    const attempt = async (target: string) => {
      const sent = await carol.whatsappOtp.send({ phoneNumber: target, purpose: "verify-phone" });
      const guessed = t.sim.lastCode(target) === "000000" ? "111111" : "000000";
      const result = await carol.whatsappOtp.verifyPhone({
        phoneNumber: target,
        code: guessed,
        currentCode: await code(carol, CAROL, "change-phone"),
      });
      return { sent: Object.keys(sent.data ?? {}).sort(), error: result.error };
    };
    const taken = await attempt(BY_EMAIL);
    const free = await attempt(FREE);
    expect(taken.error).toMatchObject({ status: 400, code: "INVALID_CODE", field: "code" });
    expect(free).toEqual(taken);
  });
});

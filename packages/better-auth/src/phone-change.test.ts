import { afterEach, describe, expect, it } from "vitest";
import { type setupAuth as Setup, setupAuth } from "./test-setup.js";

const VICTIM = "+14155550101";
const ATTACKER = "+14155550166";
const NEW = "+14155550102";
const DAY = 86_400_000;

let t: Awaited<ReturnType<typeof Setup>>;
afterEach(async () => {
  await t?.close();
});

type Client = ReturnType<typeof t.client>;

async function signIn(client: Client, phone: string) {
  const sent = await client.authClient.whatsappOtp.send({ phoneNumber: phone });
  expect(sent.error).toBeNull();
  const result = await client.authClient.whatsappOtp.verify({
    phoneNumber: phone,
    code: code(phone),
  });
  expect(result.error).toBeNull();
  return result.data?.user.id as string;
}

function code(phone: string) {
  return t.sim.lastCode(phone) as string;
}

/** Another browser holding the same cookies: a stolen session. */
function steal(victim: Client): Client {
  const thief = t.client();
  for (const [name, value] of victim.jar) thief.jar.set(name, value);
  return thief;
}

/** Makes every session in the database look created `ms` ago. */
function age(ms: number) {
  for (const session of t.db.session) session.createdAt = new Date(Date.now() - ms);
}

function userRow(id: string) {
  return t.db.user.find((u) => u.id === id);
}

async function sendFor(client: Client, phone: string, purpose: "verify-phone" | "change-phone") {
  const sent = await client.authClient.whatsappOtp.send({ phoneNumber: phone, purpose });
  expect(sent.error).toBeNull();
  return code(phone);
}

const noCooldown = { limits: { sendsPerPhone: { cooldownSeconds: 0 } } };

describe("changing the sign-in phone: the attack", () => {
  it("a stolen week-old session cannot swap the phone and outlive the victim's revocation", async () => {
    t = await setupAuth(noCooldown);
    const victim = t.client();
    const victimId = await signIn(victim, VICTIM);
    age(6 * DAY);

    const attacker = steal(victim);
    const newCode = await sendFor(attacker, ATTACKER, "verify-phone");
    const swap = await attacker.authClient.whatsappOtp.verifyPhone({
      phoneNumber: ATTACKER,
      code: newCode,
    });
    expect(swap.error).toMatchObject({ status: 403, code: "SESSION_NOT_FRESH" });
    expect(userRow(victimId)?.phoneNumber).toBe(VICTIM);

    // The victim notices and signs every session out; the attacker's WhatsApp gets nothing back.
    expect((await victim.authClient.revokeSessions()).error).toBeNull();
    expect(t.db.session).toHaveLength(0);
    const back = await signIn(t.client(), ATTACKER);
    expect(back).not.toBe(victimId);
  });

  it("a freshly stolen session cannot swap the phone without proof of the current one", async () => {
    t = await setupAuth(noCooldown);
    const victim = t.client();
    const victimId = await signIn(victim, VICTIM);
    const attacker = steal(victim);

    const newCode = await sendFor(attacker, ATTACKER, "verify-phone");
    const swap = await attacker.authClient.whatsappOtp.verifyPhone({
      phoneNumber: ATTACKER,
      code: newCode,
    });
    expect(swap.error).toMatchObject({ status: 403, code: "CURRENT_PHONE_PROOF_REQUIRED" });
    expect(userRow(victimId)?.phoneNumber).toBe(VICTIM);

    // A code for the current number goes to the victim's WhatsApp; a guess does not pass.
    await sendFor(attacker, VICTIM, "change-phone");
    const guessed = code(VICTIM) === "000000" ? "111111" : "000000";
    const guess = await attacker.authClient.whatsappOtp.verifyPhone({
      phoneNumber: ATTACKER,
      code: await sendFor(attacker, ATTACKER, "verify-phone"),
      currentCode: guessed,
    });
    expect(guess.error).toMatchObject({ status: 400, code: "INVALID_CODE", field: "currentCode" });
    expect(userRow(victimId)?.phoneNumber).toBe(VICTIM);

    expect((await victim.authClient.revokeSessions()).error).toBeNull();
    expect(await signIn(t.client(), ATTACKER)).not.toBe(victimId);
  });
});

describe("changing the sign-in phone", () => {
  it("refuses a session older than better-auth's session.freshAge with SESSION_NOT_FRESH", async () => {
    t = await setupAuth(noCooldown, { session: { freshAge: 600 } });
    const user = t.client();
    const id = await signIn(user, VICTIM);
    age(601_000);
    const current = await sendFor(user, VICTIM, "change-phone");
    const result = await user.authClient.whatsappOtp.verifyPhone({
      phoneNumber: NEW,
      code: await sendFor(user, NEW, "verify-phone"),
      currentCode: current,
    });
    expect(result.error).toMatchObject({
      status: 403,
      code: "SESSION_NOT_FRESH",
      message: expect.any(String),
    });
    expect(userRow(id)?.phoneNumber).toBe(VICTIM);
  });

  it("changes with a code from the current phone, revokes the other sessions and tells onPhoneChanged", async () => {
    const changes: unknown[] = [];
    t = await setupAuth({
      ...noCooldown,
      onPhoneChanged: (change) => {
        changes.push(change);
      },
    });
    const laptop = t.client();
    const id = await signIn(laptop, VICTIM);
    const phone = t.client();
    await signIn(phone, VICTIM);
    const tablet = t.client();
    await signIn(tablet, VICTIM);
    expect(t.db.session).toHaveLength(3);

    const changed = await laptop.authClient.whatsappOtp.verifyPhone({
      phoneNumber: NEW,
      code: await sendFor(laptop, NEW, "verify-phone"),
      currentCode: await sendFor(laptop, VICTIM, "change-phone"),
    });
    expect(changed.error).toBeNull();
    expect(changed.data?.user).toMatchObject({ id, phoneNumber: NEW, phoneNumberVerified: true });
    expect(userRow(id)?.phoneNumber).toBe(NEW);

    expect(t.db.session).toHaveLength(1);
    expect((await laptop.authClient.getSession()).data?.user).toMatchObject({ phoneNumber: NEW });
    expect((await phone.authClient.getSession()).data).toBeNull();
    expect((await tablet.authClient.getSession()).data).toBeNull();

    expect(changes).toEqual([
      { user: expect.objectContaining({ id, phoneNumber: NEW }), oldPhone: VICTIM, newPhone: NEW },
    ]);
    // The old number no longer signs in to this account.
    expect(await signIn(t.client(), VICTIM)).not.toBe(id);
  });

  it("takes only a code sent for the change: the current phone's sign-in code does not pass", async () => {
    t = await setupAuth(noCooldown);
    const user = t.client();
    const id = await signIn(user, VICTIM);
    await user.authClient.whatsappOtp.send({ phoneNumber: VICTIM });
    const result = await user.authClient.whatsappOtp.verifyPhone({
      phoneNumber: NEW,
      code: await sendFor(user, NEW, "verify-phone"),
      currentCode: code(VICTIM),
    });
    expect(result.error).toMatchObject({ code: "INVALID_CODE", field: "currentCode" });
    expect(userRow(id)?.phoneNumber).toBe(VICTIM);
  });

  it("changes with the account password instead, and refuses a wrong one", async () => {
    t = await setupAuth(noCooldown);
    const user = t.client();
    const signUp = await user.authClient.signUp.email({
      email: "ann@example.com",
      password: "correct-horse-battery",
      name: "Ann",
    });
    expect(signUp.error).toBeNull();
    const id = signUp.data?.user.id as string;
    const added = await user.authClient.whatsappOtp.verifyPhone({
      phoneNumber: VICTIM,
      code: await sendFor(user, VICTIM, "verify-phone"),
    });
    expect(added.error).toBeNull();

    const wrong = await user.authClient.whatsappOtp.verifyPhone({
      phoneNumber: NEW,
      code: await sendFor(user, NEW, "verify-phone"),
      currentPassword: "wrong-horse-battery",
    });
    expect(wrong.error).toMatchObject({ status: 400, code: "INVALID_PASSWORD" });
    expect(userRow(id)?.phoneNumber).toBe(VICTIM);

    const right = await user.authClient.whatsappOtp.verifyPhone({
      phoneNumber: NEW,
      code: await sendFor(user, NEW, "verify-phone"),
      currentPassword: "correct-horse-battery",
    });
    expect(right.error).toBeNull();
    expect(userRow(id)?.phoneNumber).toBe(NEW);
  });

  it("refuses a password for a user who has none", async () => {
    t = await setupAuth(noCooldown);
    const user = t.client();
    const id = await signIn(user, VICTIM);
    const result = await user.authClient.whatsappOtp.verifyPhone({
      phoneNumber: NEW,
      code: await sendFor(user, NEW, "verify-phone"),
      currentPassword: "anything-at-all",
    });
    expect(result.error).toMatchObject({ status: 400, code: "CREDENTIAL_ACCOUNT_NOT_FOUND" });
    expect(userRow(id)?.phoneNumber).toBe(VICTIM);
  });

  it("adds a first phone with a fresh session and the new number's code alone, and tells onPhoneChanged", async () => {
    const changes: unknown[] = [];
    t = await setupAuth({ onPhoneChanged: (change) => void changes.push(change) });
    const user = t.client();
    const signUp = await user.authClient.signUp.email({
      email: "ann@example.com",
      password: "correct-horse-battery",
      name: "Ann",
    });
    const id = signUp.data?.user.id as string;
    const other = t.client();
    await other.authClient.signIn.email({
      email: "ann@example.com",
      password: "correct-horse-battery",
    });
    const added = await user.authClient.whatsappOtp.verifyPhone({
      phoneNumber: VICTIM,
      code: await sendFor(user, VICTIM, "verify-phone"),
    });
    expect(added.error).toBeNull();
    expect(userRow(id)).toMatchObject({ phoneNumber: VICTIM, phoneNumberVerified: true });
    expect(changes).toEqual([
      { user: expect.objectContaining({ id }), oldPhone: null, newPhone: VICTIM },
    ]);
    // Adding a number signs no one out.
    expect(t.db.session).toHaveLength(2);
  });

  it("refuses adding a first phone from a stale session", async () => {
    t = await setupAuth();
    const user = t.client();
    const signUp = await user.authClient.signUp.email({
      email: "ann@example.com",
      password: "correct-horse-battery",
      name: "Ann",
    });
    age(2 * DAY);
    const added = await user.authClient.whatsappOtp.verifyPhone({
      phoneNumber: VICTIM,
      code: await sendFor(user, VICTIM, "verify-phone"),
    });
    expect(added.error).toMatchObject({ status: 403, code: "SESSION_NOT_FRESH" });
    expect(userRow(signUp.data?.user.id as string)?.phoneNumber ?? null).toBeNull();
  });

  it("re-proves the current number with its own code, without signing anyone out", async () => {
    const changes: unknown[] = [];
    t = await setupAuth({ ...noCooldown, onPhoneChanged: (c) => void changes.push(c) });
    const user = t.client();
    const id = await signIn(user, VICTIM);
    await signIn(t.client(), VICTIM);
    const same = await user.authClient.whatsappOtp.verifyPhone({
      phoneNumber: VICTIM,
      code: await sendFor(user, VICTIM, "verify-phone"),
    });
    expect(same.error).toBeNull();
    expect(userRow(id)?.phoneNumber).toBe(VICTIM);
    expect(t.db.session).toHaveLength(2);
    expect(changes).toEqual([]);
  });

  it("does not block the change when onPhoneChanged fails", async () => {
    t = await setupAuth(
      { ...noCooldown, onPhoneChanged: () => Promise.reject(new Error("mail server down")) },
      { logger: { disabled: true } },
    );
    const user = t.client();
    const id = await signIn(user, VICTIM);
    const changed = await user.authClient.whatsappOtp.verifyPhone({
      phoneNumber: NEW,
      code: await sendFor(user, NEW, "verify-phone"),
      currentCode: await sendFor(user, VICTIM, "change-phone"),
    });
    expect(changed.error).toBeNull();
    expect(userRow(id)?.phoneNumber).toBe(NEW);
  });

  it("still refuses another account's number, and anonymous callers", async () => {
    t = await setupAuth(noCooldown);
    await signIn(t.client(), VICTIM);
    const bob = t.client();
    const bobId = await signIn(bob, NEW);
    const taken = await bob.authClient.whatsappOtp.verifyPhone({
      phoneNumber: VICTIM,
      code: await sendFor(bob, VICTIM, "verify-phone"),
      currentCode: await sendFor(bob, NEW, "change-phone"),
    });
    expect(taken.error).toMatchObject({ code: "PHONE_NUMBER_EXIST" });
    expect(userRow(bobId)?.phoneNumber).toBe(NEW);
    const anonymous = t.client().authClient;
    const result = await anonymous.whatsappOtp.verifyPhone({ phoneNumber: NEW, code: "123456" });
    expect(result.error?.status).toBe(401);
  });
});

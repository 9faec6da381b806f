import type { Channel } from "@waotp/core";
import { createTestChannel } from "@waotp/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type setupAuth as Setup, setupAuth } from "./test-setup.js";

const OWNER = "+14155550101";
const NOBODY = "+14155550177";
const OLD_PASSWORD = "correct-horse-battery";
const NEW_PASSWORD = "staple-lamp-orbit-42";

let t: Awaited<ReturnType<typeof Setup>>;
afterEach(async () => {
  await t?.close();
});

type Client = ReturnType<typeof t.client>;
const noCooldown = { limits: { sendsPerPhone: { cooldownSeconds: 0 } } };

/** A user with an email, a password and the phone `OWNER`, signed in on the returned client. */
async function ownerWithPassword(): Promise<{ id: string; owner: Client }> {
  const owner = t.client();
  const signUp = await owner.authClient.signUp.email({
    email: "ann@example.com",
    password: OLD_PASSWORD,
    name: "Ann",
  });
  expect(signUp.error).toBeNull();
  await owner.authClient.whatsappOtp.send({ phoneNumber: OWNER, purpose: "verify-phone" });
  const added = await owner.authClient.whatsappOtp.verifyPhone({
    phoneNumber: OWNER,
    code: t.sim.lastCode(OWNER) as string,
  });
  expect(added.error).toBeNull();
  return { id: signUp.data?.user.id as string, owner };
}

async function signInWith(password: string) {
  return t.client().authClient.signIn.email({ email: "ann@example.com", password });
}

/** A raw request to the plugin, for comparing whole answers. */
async function post(path: string, body: unknown) {
  const response = await t.auth.handler(
    new Request(`http://localhost:3000/api/auth/whatsapp-otp/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.7" },
      body: JSON.stringify(body),
    }),
  );
  return {
    status: response.status,
    body: await response.text(),
    retryAfter: response.headers.get("retry-after"),
    cookies: response.headers
      .getSetCookie()
      .map((cookie) => cookie.split("=")[0])
      .sort(),
  };
}

function wrong(code: string) {
  return code === "000000" ? "111111" : "000000";
}

describe("password reset by WhatsApp code", () => {
  it("sets a new password with a code sent to the account's number", async () => {
    t = await setupAuth(noCooldown);
    await ownerWithPassword();
    const stranger = t.client().authClient;
    const requested = await stranger.whatsappOtp.requestPasswordReset({ phoneNumber: OWNER });
    expect(requested).toMatchObject({ data: { status: true }, error: null });
    const code = t.sim.lastCode(OWNER) as string;
    expect(t.sim.inbox(OWNER)).toHaveLength(2);

    const reset = await stranger.whatsappOtp.resetPassword({
      phoneNumber: "+1 (415) 555-0101",
      code,
      newPassword: NEW_PASSWORD,
    });
    expect(reset).toMatchObject({ data: { status: true }, error: null });
    // No session comes with a reset.
    expect((await stranger.getSession()).data).toBeNull();
    expect((await signInWith(OLD_PASSWORD)).error?.status).toBe(401);
    expect((await signInWith(NEW_PASSWORD)).error).toBeNull();
    // The code was single use.
    const again = await stranger.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code,
      newPassword: "another-password-1",
    });
    expect(again.error).toMatchObject({ status: 400, code: "INVALID_CODE" });
    expect((await signInWith(NEW_PASSWORD)).error).toBeNull();
  });

  it("gives a password to a user who signed up by phone", async () => {
    t = await setupAuth(noCooldown);
    const user = t.client().authClient;
    await user.whatsappOtp.send({ phoneNumber: OWNER });
    const signedIn = await user.whatsappOtp.verify({
      phoneNumber: OWNER,
      code: t.sim.lastCode(OWNER) as string,
    });
    expect(signedIn.error).toBeNull();
    const id = signedIn.data?.user.id as string;
    const email = signedIn.data?.user.email as string;
    expect(t.db.account.filter((a) => a.providerId === "credential")).toHaveLength(0);

    await user.whatsappOtp.requestPasswordReset({ phoneNumber: OWNER });
    const reset = await user.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code: t.sim.lastCode(OWNER) as string,
      newPassword: NEW_PASSWORD,
    });
    expect(reset.error).toBeNull();
    expect(t.db.account.filter((a) => a.providerId === "credential")).toEqual([
      expect.objectContaining({ userId: id, accountId: id }),
    ]);
    const byPassword = await t.client().authClient.signIn.email({ email, password: NEW_PASSWORD });
    expect(byPassword.error).toBeNull();
    expect(byPassword.data?.user.id).toBe(id);
  });

  it("takes only a reset code: a sign-in code resets nothing, a reset code signs no one in", async () => {
    t = await setupAuth(noCooldown);
    await ownerWithPassword();
    const client = t.client().authClient;
    await client.whatsappOtp.send({ phoneNumber: OWNER });
    const signInCode = t.sim.lastCode(OWNER) as string;
    const withSignInCode = await client.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code: signInCode,
      newPassword: NEW_PASSWORD,
    });
    expect(withSignInCode.error).toMatchObject({ status: 400, code: "INVALID_CODE" });

    await client.whatsappOtp.requestPasswordReset({ phoneNumber: OWNER });
    const resetCode = t.sim.lastCode(OWNER) as string;
    const signIn = await client.whatsappOtp.verify({ phoneNumber: OWNER, code: resetCode });
    expect(signIn.error).toMatchObject({ status: 400, code: "INVALID_CODE" });
    expect((await signInWith(OLD_PASSWORD)).error).toBeNull();
    // Each code still works for its own purpose.
    expect(
      (await client.whatsappOtp.verify({ phoneNumber: OWNER, code: signInCode })).error,
    ).toBeNull();
    expect(
      (
        await client.whatsappOtp.resetPassword({
          phoneNumber: OWNER,
          code: resetCode,
          newPassword: NEW_PASSWORD,
        })
      ).error,
    ).toBeNull();
  });

  it("applies better-auth's password length rules, as better-auth answers them, before spending the code", async () => {
    t = await setupAuth(noCooldown, {
      emailAndPassword: { enabled: true, minPasswordLength: 12, maxPasswordLength: 40 },
    });
    await ownerWithPassword();
    const client = t.client().authClient;
    await client.whatsappOtp.requestPasswordReset({ phoneNumber: OWNER });
    const code = t.sim.lastCode(OWNER) as string;
    const short = await client.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code,
      newPassword: "elevenchars",
    });
    const long = await client.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code,
      newPassword: "x".repeat(41),
    });
    const betterAuthShort = await t.client().authClient.signUp.email({
      email: "bob@example.com",
      password: "elevenchars",
      name: "Bob",
    });
    const betterAuthLong = await t.client().authClient.signUp.email({
      email: "bob@example.com",
      password: "x".repeat(41),
      name: "Bob",
    });
    expect(short.error).toMatchObject({ status: 400, code: "PASSWORD_TOO_SHORT" });
    expect(short.error).toEqual(betterAuthShort.error);
    expect(long.error).toMatchObject({ status: 400, code: "PASSWORD_TOO_LONG" });
    expect(long.error).toEqual(betterAuthLong.error);
    // Neither spent the code nor a guess.
    const ok = await client.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code,
      newPassword: "twelve-chars",
    });
    expect(ok.error).toBeNull();
    expect((await signInWith("twelve-chars")).error).toBeNull();
  });

  it("signs out every session of the user, unless told not to", async () => {
    t = await setupAuth(noCooldown);
    const { id, owner } = await ownerWithPassword();
    const laptop = t.client();
    await laptop.authClient.signIn.email({ email: "ann@example.com", password: OLD_PASSWORD });
    expect(t.db.session.filter((s) => s.userId === id)).toHaveLength(2);
    await owner.authClient.whatsappOtp.requestPasswordReset({ phoneNumber: OWNER });
    await owner.authClient.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code: t.sim.lastCode(OWNER) as string,
      newPassword: NEW_PASSWORD,
    });
    expect(t.db.session.filter((s) => s.userId === id)).toHaveLength(0);
    expect((await laptop.authClient.getSession()).data).toBeNull();
    expect((await owner.authClient.getSession()).data).toBeNull();
    await t.close();

    t = await setupAuth({ ...noCooldown, revokeSessionsOnPasswordReset: false });
    const kept = await ownerWithPassword();
    await kept.owner.authClient.whatsappOtp.requestPasswordReset({ phoneNumber: OWNER });
    const reset = await kept.owner.authClient.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code: t.sim.lastCode(OWNER) as string,
      newPassword: NEW_PASSWORD,
    });
    expect(reset.error).toBeNull();
    expect((await kept.owner.authClient.getSession()).data?.user.id).toBe(kept.id);
  });

  it("calls onPasswordReset and better-auth's own onPasswordReset; a failing one does not undo the reset", async () => {
    const ours: unknown[] = [];
    const theirs: unknown[] = [];
    t = await setupAuth(
      {
        ...noCooldown,
        onPasswordReset: ({ user }) => {
          ours.push(user.id);
          throw new Error("mail server down");
        },
      },
      {
        logger: { disabled: true },
        emailAndPassword: {
          enabled: true,
          onPasswordReset: async ({ user }) => {
            theirs.push(user.id);
          },
        },
      },
    );
    const { id, owner } = await ownerWithPassword();
    await owner.authClient.whatsappOtp.requestPasswordReset({ phoneNumber: OWNER });
    const reset = await owner.authClient.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code: t.sim.lastCode(OWNER) as string,
      newPassword: NEW_PASSWORD,
    });
    expect(reset.error).toBeNull();
    expect(ours).toEqual([id]);
    expect(theirs).toEqual([id]);
    expect((await signInWith(NEW_PASSWORD)).error).toBeNull();
  });

  it("marks the number verified once a reset code proved it", async () => {
    t = await setupAuth(noCooldown);
    const context = await t.auth.$context;
    const user = await context.internalAdapter.createUser(
      {
        email: "ann@example.com",
        name: "Ann",
        emailVerified: true,
        phoneNumber: OWNER,
        phoneNumberVerified: false,
      } as never,
      undefined as never,
    );
    const client = t.client().authClient;
    await client.whatsappOtp.requestPasswordReset({ phoneNumber: OWNER });
    expect(t.sim.inbox(OWNER)).toHaveLength(1);
    await client.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code: t.sim.lastCode(OWNER) as string,
      newPassword: NEW_PASSWORD,
    });
    expect(t.db.user.find((u) => u.id === user.id)).toMatchObject({ phoneNumberVerified: true });
  });
});

describe("password reset tells no one who has an account", () => {
  it("answers a number without an account exactly as one with an account, and sends it nothing", async () => {
    let now = Date.now();
    t = await setupAuth({ now: () => now });
    await ownerWithPassword();
    // Past the cooldown of the code that added the number.
    now += 61_000;
    const forOwner = await post("request-password-reset", { phoneNumber: OWNER });
    const forNobody = await post("request-password-reset", { phoneNumber: NOBODY });
    expect(forOwner).toEqual({
      status: 200,
      body: JSON.stringify({ status: true }),
      retryAfter: null,
      cookies: ["better-auth.waotp_client"],
    });
    expect(forNobody).toEqual(forOwner);
    expect(t.sim.inbox(NOBODY)).toEqual([]);
    expect(t.sim.inbox(OWNER)).toHaveLength(2);

    // The send limits count both: the cooldown answers alike.
    const ownerAgain = await post("request-password-reset", { phoneNumber: OWNER });
    const nobodyAgain = await post("request-password-reset", { phoneNumber: NOBODY });
    expect(ownerAgain).toMatchObject({ status: 429, retryAfter: "60" });
    expect(JSON.parse(ownerAgain.body)).toMatchObject({
      code: "RATE_LIMITED",
      limit: "phone_cooldown",
    });
    expect(nobodyAgain).toEqual(ownerAgain);
  });

  it("counts a number without an account in the phone's send window", async () => {
    t = await setupAuth({ limits: { sendsPerPhone: { cooldownSeconds: 0, max: 2 } } });
    for (let i = 0; i < 2; i++) {
      expect((await post("request-password-reset", { phoneNumber: NOBODY })).status).toBe(200);
    }
    const third = await post("request-password-reset", { phoneNumber: NOBODY });
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body)).toMatchObject({ code: "RATE_LIMITED", limit: "phone_window" });
    // The same window holds sign-in codes to that number: the reset requests used it up.
    const signIn = await post("send", { phoneNumber: NOBODY });
    expect(JSON.parse(signIn.body)).toMatchObject({ code: "RATE_LIMITED", limit: "phone_window" });
    expect(t.sim.inbox(NOBODY)).toEqual([]);
    // onEvent hears of the refusals, and of no message, since none went out.
    expect(t.events.map((e) => e.type)).toEqual(["limited", "limited"]);
  });

  it("answers a guessed code for a number without an account as a wrong code", async () => {
    t = await setupAuth(noCooldown);
    await ownerWithPassword();
    await post("request-password-reset", { phoneNumber: OWNER });
    await post("request-password-reset", { phoneNumber: NOBODY });
    const code = t.sim.lastCode(OWNER) as string;
    const body = (phoneNumber: string) => ({
      phoneNumber,
      code: wrong(code),
      newPassword: NEW_PASSWORD,
    });
    const forOwner = await post("reset-password", body(OWNER));
    const forNobody = await post("reset-password", body(NOBODY));
    expect(forOwner.status).toBe(400);
    expect(JSON.parse(forOwner.body)).toMatchObject({ code: "INVALID_CODE" });
    expect(forNobody).toEqual(forOwner);
  });

  it("answers a right code as a wrong one once the number has no account, and creates none", async () => {
    t = await setupAuth(noCooldown);
    const { id } = await ownerWithPassword();
    await post("request-password-reset", { phoneNumber: OWNER });
    // The number leaves the account before the code is used.
    const row = t.db.user.find((u) => u.id === id) as Record<string, unknown>;
    row.phoneNumber = null;
    const reset = await post("reset-password", {
      phoneNumber: OWNER,
      code: t.sim.lastCode(OWNER),
      newPassword: NEW_PASSWORD,
    });
    expect(reset.status).toBe(400);
    expect(JSON.parse(reset.body)).toMatchObject({ code: "INVALID_CODE", field: "code" });
    expect((await signInWith(OLD_PASSWORD)).error).toBeNull();
    expect(t.db.account).toHaveLength(1);
  });

  it("answers a failed delivery as a sent one", async () => {
    const channel = createTestChannel({ name: "1msg" });
    t = await setupAuth({ channel }, { logger: { disabled: true } });
    await (await t.auth.$context).internalAdapter.createUser(
      { email: "ann@example.com", name: "Ann", phoneNumber: OWNER, phoneNumberVerified: true },
      undefined as never,
    );
    channel.failNext(new Error("1MSG is down"));
    const failed = await post("request-password-reset", { phoneNumber: OWNER });
    const forNobody = await post("request-password-reset", { phoneNumber: NOBODY });
    expect(channel.messages).toHaveLength(0);
    expect(failed).toEqual({
      status: 200,
      body: JSON.stringify({ status: true }),
      retryAfter: null,
      cookies: ["better-auth.waotp_client"],
    });
    expect(forNobody).toEqual(failed);
    expect(t.events.map((e) => e.type)).toContain("send_failed");
  });

  it("takes about as long for a number without an account as a real send takes", async () => {
    const SEND_MS = 600;
    const test = createTestChannel({ name: "1msg" });
    const slow: Channel = {
      name: test.name,
      send: async (message) => {
        await new Promise((resolve) => setTimeout(resolve, SEND_MS));
        return test.send(message);
      },
    };
    t = await setupAuth({ channel: slow, ...noCooldown });
    await (await t.auth.$context).internalAdapter.createUser(
      { email: "ann@example.com", name: "Ann", phoneNumber: OWNER, phoneNumberVerified: true },
      undefined as never,
    );
    const timed = async (phoneNumber: string) => {
      const started = performance.now();
      const answer = await post("request-password-reset", { phoneNumber });
      expect(answer.status).toBe(200);
      return performance.now() - started;
    };
    expect(await timed(OWNER)).toBeGreaterThanOrEqual(SEND_MS - 5);
    expect(test.messages).toHaveLength(1);
    // Well above the first estimate (300 ms): the wait follows the sends this instance saw.
    expect(await timed(NOBODY)).toBeGreaterThanOrEqual(SEND_MS * 0.8);
    expect(test.messages).toHaveLength(1);
  });

  it("sends by SMS on request to a number with an account only, and counts both alike", async () => {
    const sms = createTestChannel({ name: "sms-test", kind: "sms" });
    t = await setupAuth({ delivery: { fallback: sms }, ...noCooldown });
    await ownerWithPassword();
    const forOwner = await post("request-password-reset", { phoneNumber: OWNER, channel: "sms" });
    const forNobody = await post("request-password-reset", { phoneNumber: NOBODY, channel: "sms" });
    expect(forNobody).toEqual(forOwner);
    expect(sms.messages.map((m) => m.phone)).toEqual([OWNER.slice(1)]);
    const reset = await t.client().authClient.whatsappOtp.resetPassword({
      phoneNumber: OWNER,
      code: sms.lastCode(OWNER) as string,
      newPassword: NEW_PASSWORD,
    });
    expect(reset.error).toBeNull();
    // The fallback's own budget (3 an hour by default) holds for both.
    for (let i = 0; i < 2; i++) {
      await post("request-password-reset", { phoneNumber: OWNER, channel: "sms" });
      await post("request-password-reset", { phoneNumber: NOBODY, channel: "sms" });
    }
    const ownerOver = await post("request-password-reset", { phoneNumber: OWNER, channel: "sms" });
    const nobodyOver = await post("request-password-reset", {
      phoneNumber: NOBODY,
      channel: "sms",
    });
    expect(JSON.parse(ownerOver.body)).toMatchObject({ limit: "fallback_window" });
    expect(nobodyOver).toEqual(ownerOver);
    const unknown = await post("request-password-reset", { phoneNumber: NOBODY, channel: "email" });
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body)).toMatchObject({ code: "INVALID_INPUT" });
  });
});

describe("a CAPTCHA on password reset requests", () => {
  it("hands beforeSend the body and refuses alike whether or not the number has an account", async () => {
    const purposes: string[] = [];
    t = await setupAuth({
      ...noCooldown,
      beforeSend: (send) => {
        // This app asks for a CAPTCHA on reset requests only.
        if (send.purpose !== "reset-password") return undefined;
        purposes.push(send.purpose);
        const { body } = send.context as { body: Record<string, unknown> };
        return body.captchaToken === "solved" ? undefined : { refuse: "captcha_required" };
      },
    });
    await ownerWithPassword();
    const asker = t.client().authClient;
    const before = t.sim.inbox(OWNER).length;
    for (const phoneNumber of [OWNER, NOBODY]) {
      const refused = await asker.whatsappOtp.requestPasswordReset({ phoneNumber });
      expect(refused.error).toMatchObject({ status: 403, code: "SEND_REFUSED" });
    }
    expect(t.sim.inbox(OWNER)).toHaveLength(before);
    for (const phoneNumber of [OWNER, NOBODY]) {
      const allowed = await asker.whatsappOtp.requestPasswordReset({
        phoneNumber,
        captchaToken: "solved",
      } as { phoneNumber: string });
      expect(allowed.data).toEqual({ status: true });
    }
    expect(t.sim.inbox(OWNER)).toHaveLength(before + 1);
    expect(purposes).toHaveLength(4);
  });
});

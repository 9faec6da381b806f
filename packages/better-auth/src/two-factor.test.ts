import { type Channel, type OtpMessage, oneMsg } from "@waotp/core";
import {
  type FakeMessage,
  type OneMsgSimulator,
  startOneMsgSimulator,
  TRANSLATED_TEMPLATES,
} from "@waotp/core/simulator";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { createAuthClient } from "better-auth/client";
import { twoFactorClient } from "better-auth/client/plugins";
import { type TwoFactorOptions, twoFactor } from "better-auth/plugins";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { whatsappOtpClient } from "./client.js";
import { whatsappOtp } from "./plugin.js";
import { cookieFetch } from "./test-setup.js";
import {
  TWO_FACTOR_PURPOSE,
  WHATSAPP_TWO_FACTOR_ERROR_CODES,
  type WhatsappTwoFactorOtpOptions,
  whatsappTwoFactorOtp,
} from "./two-factor.js";

const PHONE = "+14155550101";
const OTHER_PHONE = "+14155550102";
const PASSWORD = "a long enough password 1";
const BASE_URL = "http://localhost:3000";

type Row = Record<string, unknown>;

interface Setup {
  otpOptions?: TwoFactorOptions["otpOptions"];
  helper?: Partial<WhatsappTwoFactorOtpOptions>;
  userFields?: Record<string, { type: "string"; required: false; input: false }>;
}

/** Everything written to better-auth's logger and to the console, as text. */
let logs: string[] = [];
let sim: OneMsgSimulator | undefined;

beforeEach(() => {
  logs = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      logs.push(args.map(asText).join(" "));
    });
  }
});

afterEach(async () => {
  vi.restoreAllMocks();
  await sim?.close();
  sim = undefined;
});

/** Every field of a logged value, errors included (message, stack, own fields, cause). */
function asText(value: unknown): string {
  if (value instanceof Error) {
    const fields = JSON.stringify({ ...value });
    return [value.name, value.message, value.stack ?? "", fields, asText(value.cause)].join(" | ");
  }
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A real better-auth on its memory adapter with whatsappOtp and twoFactor sharing one 1MSG
 * channel (on the simulator), and a real client with both client plugins and a cookie jar.
 */
async function setup(options: Setup = {}) {
  sim = await startOneMsgSimulator({ templates: TRANSLATED_TEMPLATES });
  const simulator = sim;
  const oneMsgChannel = oneMsg({
    baseUrl: simulator.url,
    channelId: simulator.channelId,
    token: simulator.token,
    template: { ...simulator.template, languages: ["en", "pt_BR", "es"] },
    retry: { baseDelayMs: 1 },
  });
  const sent: OtpMessage[] = [];
  const channel: Channel = {
    name: oneMsgChannel.name,
    kind: "whatsapp",
    send(message) {
      sent.push(message);
      return oneMsgChannel.send(message);
    },
  };
  const db: Record<
    "user" | "session" | "account" | "verification" | "waotpRecord" | "twoFactor",
    Row[]
  > = {
    user: [],
    session: [],
    account: [],
    verification: [],
    waotpRecord: [],
    twoFactor: [],
  };
  const auth = betterAuth({
    baseURL: BASE_URL,
    secret: "better-auth-test-secret-0123456789abcdef",
    database: memoryAdapter(db),
    emailAndPassword: { enabled: true },
    logger: {
      level: "debug",
      log: (level, message, ...args) => {
        logs.push([level, message, ...args.map(asText)].join(" "));
      },
    },
    ...(options.userFields ? { user: { additionalFields: options.userFields } } : {}),
    plugins: [
      whatsappOtp({ channel }),
      twoFactor({
        otpOptions: {
          sendOTP: whatsappTwoFactorOtp({ channel, ...options.helper }),
          storeOTP: "hashed",
          ...options.otpOptions,
        },
      }),
    ],
  });

  const client = () => {
    const { jar, customFetchImpl } = cookieFetch(auth.handler);
    const authClient = createAuthClient({
      baseURL: BASE_URL,
      plugins: [twoFactorClient(), whatsappOtpClient()],
      fetchOptions: { customFetchImpl },
    });
    const cookieHeaders = () =>
      new Headers({ cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") });
    return { authClient, jar, cookieHeaders };
  };

  /** The last WhatsApp message the simulator delivered to `phone`. */
  const lastMessage = (phone: string) => simulator.inbox(phone).at(-1) as FakeMessage | undefined;
  /** Second-factor codes the channel was asked to deliver. */
  const twoFactorMessages = () => sent.filter((m) => m.purpose === TWO_FACTOR_PURPOSE);
  return { auth, db, sent, twoFactorMessages, lastMessage, client, sim: simulator };
}

type T = Awaited<ReturnType<typeof setup>>;
type AuthClient = ReturnType<T["client"]>["authClient"];

/** Signs up by email and password, then adds `phone` through whatsappOtp's verify-phone. */
async function signUpWithVerifiedPhone(t: T, authClient: AuthClient, email: string, phone = PHONE) {
  const signedUp = await authClient.signUp.email({ email, password: PASSWORD, name: "Ada" });
  expect(signedUp.error).toBeNull();
  const sent = await authClient.whatsappOtp.send({ phoneNumber: phone, purpose: "verify-phone" });
  expect(sent.error).toBeNull();
  const verified = await authClient.whatsappOtp.verifyPhone({
    phoneNumber: phone,
    code: t.sim.lastCode(phone) as string,
  });
  expect(verified.error).toBeNull();
  expect(t.db.user[0]).toMatchObject({ phoneNumber: phone, phoneNumberVerified: true });
}

/** Email and password sign-in that stops at the second factor. */
async function signInToSecondFactor(authClient: AuthClient, email: string) {
  const signedIn = await authClient.signIn.email({ email, password: PASSWORD });
  expect(signedIn.error).toBeNull();
  expect(signedIn.data).toMatchObject({ twoFactorRedirect: true, twoFactorMethods: ["otp"] });
  expect((await authClient.getSession()).data).toBeNull();
}

describe("WhatsApp as better-auth's second factor", () => {
  it("signs in with email, password and a code sent over WhatsApp to the verified number", async () => {
    const t = await setup();
    const { authClient } = t.client();
    await signUpWithVerifiedPhone(t, authClient, "ada@example.com");

    // Turning 2FA on by proving the code arrives: better-auth enables it on the first right code.
    expect((await authClient.twoFactor.sendOtp({})).data).toEqual({ status: true });
    const enabled = await authClient.twoFactor.verifyOtp({
      code: t.sim.lastCode(PHONE) as string,
    });
    expect(enabled.error).toBeNull();
    expect(t.db.user[0]).toMatchObject({ twoFactorEnabled: true });
    await authClient.signOut();

    const fresh = t.client().authClient;
    await signInToSecondFactor(fresh, "ada@example.com");
    const sent = await fresh.twoFactor.sendOtp(
      {},
      { headers: { "accept-language": "pt-BR,pt;q=0.9,en;q=0.8" } },
    );
    expect(sent.data).toEqual({ status: true });
    const message = t.lastMessage(PHONE);
    expect(message?.language).toBe("pt_BR");
    expect(message?.text).toMatch(/^\d{6} é o seu código/);
    expect(message?.ttlSeconds).toBe(180);
    expect(t.twoFactorMessages().at(-1)).toMatchObject({
      phone: "14155550101",
      purpose: "two-factor",
      ttlSeconds: 180,
      locale: "pt-BR",
    });

    const verified = await fresh.twoFactor.verifyOtp({ code: message?.code as string });
    expect(verified.error).toBeNull();
    expect(verified.data?.token).toEqual(expect.any(String));
    const session = await fresh.getSession();
    expect(session.data?.user).toMatchObject({ email: "ada@example.com", phoneNumber: PHONE });
    // better-auth's storeOTP: "hashed": no code in its verification table.
    expect(JSON.stringify(t.db.verification)).not.toContain(message?.code as string);
  });

  it("serves a user who signed up by WhatsApp code and set a password later", async () => {
    const t = await setup({ otpOptions: { period: 5 } });
    const { authClient, cookieHeaders } = t.client();
    await authClient.whatsappOtp.send({ phoneNumber: PHONE });
    const signedUp = await authClient.whatsappOtp.verify({
      phoneNumber: PHONE,
      code: t.sim.lastCode(PHONE) as string,
    });
    expect(signedUp.error).toBeNull();
    await t.auth.api.setPassword({ body: { newPassword: PASSWORD }, headers: cookieHeaders() });
    const enabled = await authClient.twoFactor.enable({ password: PASSWORD, method: "otp" });
    expect(enabled.error).toBeNull();
    await authClient.signOut();

    const email = t.db.user[0]?.email as string;
    const fresh = t.client().authClient;
    await signInToSecondFactor(fresh, email);
    await fresh.twoFactor.sendOtp({});
    const message = t.lastMessage(PHONE);
    expect(message?.ttlSeconds).toBe(300);
    expect(t.twoFactorMessages()).toHaveLength(1);
    expect(t.twoFactorMessages()[0]).not.toHaveProperty("locale");
    const verified = await fresh.twoFactor.verifyOtp({ code: message?.code as string });
    expect(verified.error).toBeNull();
    expect((await fresh.getSession()).data?.user.id).toBe(signedUp.data?.user.id);
  });

  it("refuses a user without a verified number with a stable error, and sends nothing", async () => {
    const t = await setup();
    const { authClient } = t.client();
    await authClient.signUp.email({ email: "bob@example.com", password: PASSWORD, name: "Bob" });

    // Enabling by proof fails before anything is sent.
    const proof = await authClient.twoFactor.sendOtp({});
    expect(proof.error).toMatchObject({
      status: 400,
      code: "PHONE_NUMBER_NOT_VERIFIED",
      message: WHATSAPP_TWO_FACTOR_ERROR_CODES.PHONE_NUMBER_NOT_VERIFIED.message,
    });
    expect(t.db.user[0]).toMatchObject({ twoFactorEnabled: false });

    // better-auth lets the user enable the OTP method without a number; sign-in then says why.
    await authClient.twoFactor.enable({ password: PASSWORD, method: "otp" });
    await authClient.signOut();
    const fresh = t.client().authClient;
    await signInToSecondFactor(fresh, "bob@example.com");
    const none = await fresh.twoFactor.sendOtp({});
    expect(none.error).toMatchObject({ status: 400, code: "PHONE_NUMBER_NOT_VERIFIED" });

    // A number on the user that was never proved is not used.
    Object.assign(t.db.user[0] as Row, { phoneNumber: OTHER_PHONE, phoneNumberVerified: false });
    const unproved = await fresh.twoFactor.sendOtp({});
    expect(unproved.error).toMatchObject({ status: 400, code: "PHONE_NUMBER_NOT_VERIFIED" });

    // Nor is a verified one that is not a real number.
    Object.assign(t.db.user[0] as Row, { phoneNumber: "12345", phoneNumberVerified: true });
    const unreadable = await fresh.twoFactor.sendOtp({});
    expect(unreadable.error).toMatchObject({ status: 400, code: "PHONE_NUMBER_NOT_VERIFIED" });
    expect(logs.join("\n")).toMatch(/not a valid international number/);

    expect(t.twoFactorMessages()).toHaveLength(0);
    expect(t.sim.inbox(OTHER_PHONE)).toHaveLength(0);
    expect(t.db.session).toHaveLength(0);
  });

  it("refuses a wrong code, then the right one after better-auth's five failures", async () => {
    const t = await setup();
    const { authClient } = t.client();
    await signUpWithVerifiedPhone(t, authClient, "cy@example.com");
    await authClient.twoFactor.enable({ password: PASSWORD, method: "otp" });
    await authClient.signOut();

    const fresh = t.client().authClient;
    await signInToSecondFactor(fresh, "cy@example.com");
    await fresh.twoFactor.sendOtp({});
    const code = t.sim.lastCode(PHONE) as string;
    const wrong = code === "000000" ? "111111" : "000000";
    const refused = await fresh.twoFactor.verifyOtp({ code: wrong });
    expect(refused.error).toMatchObject({ status: 401, code: "INVALID_CODE" });
    expect((await fresh.getSession()).data).toBeNull();
    for (let i = 0; i < 4; i++) await fresh.twoFactor.verifyOtp({ code: wrong });
    const spent = await fresh.twoFactor.verifyOtp({ code });
    expect(spent.error).toMatchObject({ code: "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE" });
    expect((await fresh.getSession()).data).toBeNull();

    // A new code, sent again over WhatsApp, passes.
    await fresh.twoFactor.sendOtp({});
    const next = t.sim.lastCode(PHONE) as string;
    expect(t.twoFactorMessages()).toHaveLength(2);
    expect((await fresh.twoFactor.verifyOtp({ code: next })).error).toBeNull();
    expect((await fresh.getSession()).data?.user.email).toBe("cy@example.com");
  });

  it("never logs a code or a full number, even when 1MSG fails and repeats them", async () => {
    const t = await setup();
    const { authClient } = t.client();
    await signUpWithVerifiedPhone(t, authClient, "dee@example.com");
    await authClient.twoFactor.enable({ password: PASSWORD, method: "otp" });
    await authClient.signOut();
    const fresh = t.client().authClient;
    await signInToSecondFactor(fresh, "dee@example.com");
    const answers: unknown[] = [];

    // 1MSG refuses the send and its error repeats the code it was given.
    t.sim.inject({ kind: "http", status: 400, echo: true });
    const echoed = await fresh.twoFactor.sendOtp({});
    answers.push(echoed);
    // better-auth answers success and logs the failure: the client cannot be told.
    expect(echoed.data).toEqual({ status: true });
    // 1MSG refuses it and names the number in full.
    t.sim.inject({ kind: "sent_false", message: "Phone 14155550101 (4155550101) did not opt in" });
    answers.push(await fresh.twoFactor.sendOtp({}));
    expect(t.sim.inbox(PHONE).filter((m) => m.code === t.twoFactorMessages()[0]?.code)).toEqual([]);

    // Then a code that arrives, a wrong guess and the right one.
    answers.push(await fresh.twoFactor.sendOtp({}));
    const code = t.sim.lastCode(PHONE) as string;
    answers.push(
      await fresh.twoFactor.verifyOtp({ code: code === "000000" ? "111111" : "000000" }),
    );
    answers.push(await fresh.twoFactor.verifyOtp({ code }));
    expect((await fresh.getSession()).data).not.toBeNull();

    const logged = logs.join("\n");
    expect(logged).toMatch(/Failed to send two-factor OTP/);
    expect(logged).toMatch(/The two-factor code to \+14\*{7}01 was not sent through 1msg/);
    expect(logged).toContain("SEND_FAILED");
    const codes = t.twoFactorMessages().map((m) => m.code);
    expect(codes).toHaveLength(3);
    const answered = answers.map(asText).join("\n");
    for (const sentCode of codes) {
      expect(logged).not.toContain(sentCode);
      expect(answered).not.toContain(sentCode);
    }
    expect(logged).not.toContain("4155550101");
  });

  it("refuses codes that do not fit a WhatsApp template, or are too short to be safe", async () => {
    for (const digits of [16, 4]) {
      const t = await setup({ otpOptions: { digits } });
      const { authClient } = t.client();
      await signUpWithVerifiedPhone(t, authClient, `d${digits}@example.com`);
      const refused = await authClient.twoFactor.sendOtp({});
      expect(refused.error).toMatchObject({ status: 500, code: "CONFIG_INVALID" });
      expect(t.twoFactorMessages()).toHaveLength(0);
      expect(logs.join("\n")).toMatch(/otpOptions\.digits must be between 6 and 15/);
      await t.sim.close();
    }
  });

  it("sends to the number and in the language the app names", async () => {
    const t = await setup({
      userFields: { workPhone: { type: "string", required: false, input: false } },
      helper: {
        phoneOf: (user) => (typeof user.workPhone === "string" ? user.workPhone : null),
        defaultCountry: "US",
        localeOf: () => "es",
      },
      otpOptions: { digits: 8 },
    });
    const { authClient } = t.client();
    await authClient.signUp.email({ email: "eve@example.com", password: PASSWORD, name: "Eve" });
    Object.assign(t.db.user[0] as Row, { workPhone: "(415) 555-0102" });
    await authClient.twoFactor.sendOtp({}, { headers: { "accept-language": "pt-BR" } });
    const message = t.lastMessage(OTHER_PHONE);
    expect(message?.language).toBe("es");
    expect(message?.code).toMatch(/^\d{8}$/);
    expect(t.twoFactorMessages()[0]).toMatchObject({ phone: "14155550102", locale: "es" });
    expect((await authClient.twoFactor.verifyOtp({ code: message?.code as string })).error).toBe(
      null,
    );
    expect(t.db.user[0]).toMatchObject({ twoFactorEnabled: true });
  });
});

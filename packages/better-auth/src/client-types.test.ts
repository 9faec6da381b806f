import { createAuthClient } from "better-auth/client";
import { describe, expect, expectTypeOf, it } from "vitest";
import { whatsappOtpClient } from "./client.js";

// `tsc --noEmit` checks the type assertions below; the test run checks where each method goes.
const requests: { method: string; path: string; body: unknown }[] = [];
const authClient = createAuthClient({
  baseURL: "http://localhost:3000",
  plugins: [whatsappOtpClient()],
  fetchOptions: {
    customFetchImpl: async (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      requests.push({
        method: request.method,
        path: `${url.pathname}${url.search}`,
        body: request.method === "GET" ? undefined : await request.json(),
      });
      return Response.json({});
    },
  },
});

type Api = typeof authClient.whatsappOtp;
type Body<M extends keyof Api> = Parameters<Api[M]>[0];
// Each method is generic in its fetch options, so its answer is read from a call.
const phoneNumber = "+14155550101";
const calls = {
  send: () => authClient.whatsappOtp.send({ phoneNumber }),
  verify: () => authClient.whatsappOtp.verify({ phoneNumber, code: "123456" }),
  verifyPhone: () => authClient.whatsappOtp.verifyPhone({ phoneNumber, code: "123456" }),
  requestPasswordReset: () => authClient.whatsappOtp.requestPasswordReset({ phoneNumber }),
  resetPassword: () =>
    authClient.whatsappOtp.resetPassword({ phoneNumber, code: "1", newPassword: "pw" }),
  status: () => authClient.whatsappOtp.status({ query: { messageId: "wamid.1" } }),
};
type Data<M extends keyof Api> = NonNullable<Awaited<ReturnType<(typeof calls)[M]>>["data"]>;
type Failure<M extends keyof Api> = NonNullable<Awaited<ReturnType<(typeof calls)[M]>>["error"]>;

describe("the client plugin's types", () => {
  it("has a typed method for every endpoint a browser calls, and none for the webhook", () => {
    expectTypeOf<keyof Api>().toEqualTypeOf<
      "send" | "verify" | "verifyPhone" | "requestPasswordReset" | "resetPassword" | "status"
    >();
  });

  it("types each body", () => {
    expectTypeOf<Body<"send">>().toExtend<{
      phoneNumber: string;
      purpose?: "sign-in" | "verify-phone" | "change-phone";
      locale?: string;
      channel?: string;
    }>();
    // A reset code is asked for only through requestPasswordReset.
    expectTypeOf<NonNullable<Body<"send">>["purpose"]>().toEqualTypeOf<
      "sign-in" | "verify-phone" | "change-phone" | undefined
    >();
    expectTypeOf<Body<"verify">>()
      .toHaveProperty("disableSession")
      .toEqualTypeOf<boolean | undefined>();
    expectTypeOf<Body<"verify">>().toHaveProperty("code").toEqualTypeOf<string>();
    expectTypeOf<Body<"verifyPhone">>()
      .toHaveProperty("currentCode")
      .toEqualTypeOf<string | undefined>();
    expectTypeOf<Body<"verifyPhone">>()
      .toHaveProperty("currentPassword")
      .toEqualTypeOf<string | undefined>();
    expectTypeOf<Body<"requestPasswordReset">>()
      .toHaveProperty("phoneNumber")
      .toEqualTypeOf<string>();
    expectTypeOf<Body<"resetPassword">>().toExtend<{
      phoneNumber: string;
      code: string;
      newPassword: string;
    }>();
    expectTypeOf<Body<"status">>().toHaveProperty("query").toEqualTypeOf<{ messageId: string }>();
  });

  it("types each answer, the user with its phone fields", () => {
    expectTypeOf<Data<"send">>().toExtend<{
      phoneNumber: string;
      messageId: string;
      channel: string;
      expiresAt: string;
      resendAt: string;
    }>();
    expectTypeOf<Data<"verify">["token"]>().toEqualTypeOf<string | null>();
    expectTypeOf<Data<"verify">["user"]>().toHaveProperty("phoneNumber");
    expectTypeOf<Data<"verify">["user"]>().toHaveProperty("phoneNumberVerified");
    expectTypeOf<Data<"verifyPhone">["user"]>().toHaveProperty("phoneNumber");
    expectTypeOf<Data<"requestPasswordReset">>().toEqualTypeOf<{ status: boolean }>();
    expectTypeOf<Data<"resetPassword">>().toEqualTypeOf<{ status: boolean }>();
    expectTypeOf<Data<"status">>().toHaveProperty("status");
    expectTypeOf<Failure<"resetPassword">>().toHaveProperty("status").toEqualTypeOf<number>();
  });

  it("sends each method to its endpoint", async () => {
    requests.length = 0;
    await authClient.whatsappOtp.send({ phoneNumber });
    await authClient.whatsappOtp.verify({ phoneNumber, code: "123456", disableSession: true });
    await authClient.whatsappOtp.verifyPhone({ phoneNumber, code: "123456", currentCode: "1" });
    await authClient.whatsappOtp.requestPasswordReset({ phoneNumber });
    await authClient.whatsappOtp.resetPassword({ phoneNumber, code: "1", newPassword: "pw" });
    await authClient.whatsappOtp.status({ query: { messageId: "wamid.1" } });
    expect(requests).toEqual([
      { method: "POST", path: "/api/auth/whatsapp-otp/send", body: { phoneNumber } },
      {
        method: "POST",
        path: "/api/auth/whatsapp-otp/verify",
        body: { phoneNumber, code: "123456", disableSession: true },
      },
      {
        method: "POST",
        path: "/api/auth/whatsapp-otp/verify-phone",
        body: { phoneNumber, code: "123456", currentCode: "1" },
      },
      {
        method: "POST",
        path: "/api/auth/whatsapp-otp/request-password-reset",
        body: { phoneNumber },
      },
      {
        method: "POST",
        path: "/api/auth/whatsapp-otp/reset-password",
        body: { phoneNumber, code: "1", newPassword: "pw" },
      },
      { method: "GET", path: "/api/auth/whatsapp-otp/status?messageId=wamid.1", body: undefined },
    ]);
  });
});

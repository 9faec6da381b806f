import { describe, expect, it } from "vitest";
import {
  ACCOUNT_SID,
  CALLBACK_STATUSES,
  callback,
  MESSAGE_SID,
  SIGNATURE_EXAMPLE,
} from "./fixtures.js";
import { twilioSignature, verifyTwilioSignature } from "./signature.js";
import { readTwilioWebhook } from "./webhook.js";

describe("readTwilioWebhook", () => {
  for (const [twilioStatus, status] of CALLBACK_STATUSES) {
    it(`reads a ${twilioStatus} callback as ${status}`, () => {
      expect(readTwilioWebhook(callback(twilioStatus))).toEqual([
        { messageId: MESSAGE_SID, status, phone: "14155550101" },
      ]);
    });
  }

  it("keeps the error code of a failure, with its meaning", () => {
    expect(readTwilioWebhook(callback("undelivered", { ErrorCode: "30007" }))).toEqual([
      {
        messageId: MESSAGE_SID,
        status: "undelivered",
        phone: "14155550101",
        errorCode: "30007",
        error: "30007 Message filtered by the carrier",
      },
    ]);
    expect(readTwilioWebhook(callback("failed", { ErrorCode: "12345" }))[0]?.error).toBe(
      "Twilio error 12345",
    );
  });

  it("accepts the raw form string and URLSearchParams", () => {
    const form = new URLSearchParams(callback("delivered"));
    const expected = [{ messageId: MESSAGE_SID, status: "delivered", phone: "14155550101" }];
    expect(readTwilioWebhook(form)).toEqual(expected);
    expect(readTwilioWebhook(form.toString())).toEqual(expected);
  });

  it("skips inbound messages, unknown statuses and bodies that are not callbacks", () => {
    expect(readTwilioWebhook(callback("received"))).toEqual([]);
    expect(readTwilioWebhook(callback("scheduled"))).toEqual([]);
    expect(readTwilioWebhook({ MessageSid: "nope", MessageStatus: "sent" })).toEqual([]);
    expect(readTwilioWebhook({ AccountSid: ACCOUNT_SID })).toEqual([]);
    expect(readTwilioWebhook({ ack: [{ id: "x", status: "sent" }] })).toEqual([]);
    expect(readTwilioWebhook("")).toEqual([]);
  });
});

describe("verifyTwilioSignature", () => {
  it("matches the worked example in Twilio's docs", () => {
    const { authToken, url, params, signature } = SIGNATURE_EXAMPLE;
    expect(twilioSignature(authToken, url, params)).toBe(signature);
    expect(verifyTwilioSignature({ authToken, url, params, signature })).toBe(true);
    expect(
      verifyTwilioSignature({
        authToken,
        url,
        params: new URLSearchParams(params).toString(),
        signature,
      }),
    ).toBe(true);
  });

  it("accepts the URL signed with or without the default port", () => {
    const { authToken, params } = SIGNATURE_EXAMPLE;
    const withPort = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    const signature = twilioSignature(authToken, withPort, params);
    expect(
      verifyTwilioSignature({ authToken, url: SIGNATURE_EXAMPLE.url, params, signature }),
    ).toBe(true);
    expect(
      verifyTwilioSignature({
        authToken,
        url: withPort,
        params,
        signature: SIGNATURE_EXAMPLE.signature,
      }),
    ).toBe(true);
  });

  it("refuses a tampered parameter, URL, token or signature, and a missing one", () => {
    const { authToken, url, params, signature } = SIGNATURE_EXAMPLE;
    const ok = { authToken, url, params, signature };
    expect(verifyTwilioSignature({ ...ok, params: { ...params, Digits: "1235" } })).toBe(false);
    expect(verifyTwilioSignature({ ...ok, params: { ...params, Extra: "1" } })).toBe(false);
    expect(verifyTwilioSignature({ ...ok, url: `${url}&baz=3` })).toBe(false);
    expect(verifyTwilioSignature({ ...ok, url: url.replace("https:", "http:") })).toBe(false);
    expect(verifyTwilioSignature({ ...ok, authToken: "12346" })).toBe(false);
    expect(verifyTwilioSignature({ ...ok, signature: `${signature.slice(0, -2)}A=` })).toBe(false);
    expect(verifyTwilioSignature({ ...ok, signature: `${signature}x` })).toBe(false);
    expect(verifyTwilioSignature({ ...ok, signature: "" })).toBe(false);
    expect(verifyTwilioSignature({ ...ok, signature: undefined })).toBe(false);
    expect(verifyTwilioSignature({ ...ok, url: "not a url" })).toBe(false);
  });

  it("signs a real status callback body the way it verifies it", () => {
    const body = new URLSearchParams(callback("delivered")).toString();
    const url = "https://app.example/otp/twilio?tenant=a";
    const signature = twilioSignature("token-abc", url, body);
    expect(verifyTwilioSignature({ authToken: "token-abc", url, params: body, signature })).toBe(
      true,
    );
    expect(
      verifyTwilioSignature({
        authToken: "token-abc",
        url,
        params: body.replace("delivered", "undelivered"),
        signature,
      }),
    ).toBe(false);
  });
});

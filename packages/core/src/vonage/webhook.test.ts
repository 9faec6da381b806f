import { describe, expect, it } from "vitest";
import { RECEIPTS, receipt } from "./fixtures.js";
import { readVonageParams, readVonageReceipt } from "./webhook.js";

describe("readVonageReceipt", () => {
  it.each(RECEIPTS)(
    "reads a $status receipt (err-code $errCode) sent as POST JSON",
    ({ status, errCode, expected }) => {
      expect(readVonageReceipt(receipt(status, errCode))).toEqual([
        { messageId: "0B00000127FDBC63", phone: "447700900000", ...expected },
      ]);
    },
  );

  it.each(RECEIPTS)(
    "reads a $status receipt (err-code $errCode) sent as a GET query",
    ({ status, errCode, expected }) => {
      const query = `?${new URLSearchParams(receipt(status, errCode)).toString()}`;
      expect(readVonageReceipt(query)).toEqual([
        { messageId: "0B00000127FDBC63", phone: "447700900000", ...expected },
      ]);
    },
  );

  it("reads a form body string and a JSON text", () => {
    const params = { ...receipt("delivered"), "client-ref": "login" };
    expect(readVonageReceipt(new URLSearchParams(params).toString())).toHaveLength(1);
    expect(readVonageReceipt(JSON.stringify(params))).toHaveLength(1);
    expect(readVonageParams(JSON.stringify(params))["client-ref"]).toBe("login");
  });

  it("gives nothing for bodies that are not receipts", () => {
    expect(readVonageReceipt({})).toEqual([]);
    expect(
      readVonageReceipt({ msisdn: "447700900000", text: "hi", type: "text", messageId: "1" }),
    ).toEqual([]);
    expect(readVonageReceipt({ ...receipt("delivered"), messageId: "<script>" })).toEqual([]);
    expect(readVonageReceipt({ ...receipt("sparkling") })).toEqual([]);
    expect(readVonageReceipt("{not json")).toEqual([]);
  });

  it("reads an err-code it has no words for", () => {
    expect(readVonageReceipt(receipt("failed", "42"))[0]).toMatchObject({
      errorCode: "42",
      error: "failed: error 42",
    });
  });
});

import { describe, expect, it } from "vitest";
import { SIGNATURE_PARAMS, SIGNATURE_SECRET, SIGNATURE_VECTORS } from "./fixtures.js";
import { verifyVonageSignature, vonageSignature, vonageSigningString } from "./signature.js";

const NOW = 1385047698 * 1000 + 30_000;

describe("verifyVonageSignature", () => {
  it.each(SIGNATURE_VECTORS)("accepts the SDK's published $method example", ({ method, sig }) => {
    const params = { ...SIGNATURE_PARAMS, sig };
    expect(
      verifyVonageSignature({ params, signatureSecret: SIGNATURE_SECRET, method, now: NOW }),
    ).toBe(true);
    expect(vonageSignature(SIGNATURE_PARAMS, SIGNATURE_SECRET, method)).toBe(sig.toLowerCase());
  });

  it.each(SIGNATURE_VECTORS)("refuses a tampered $method receipt", ({ method, sig }) => {
    for (const change of [{ msisdn: "14843472195" }, { text: "Test agaiN" }, { extra: "1" }]) {
      const params = { ...SIGNATURE_PARAMS, ...change, sig };
      expect(
        verifyVonageSignature({ params, signatureSecret: SIGNATURE_SECRET, method, now: NOW }),
      ).toBe(false);
    }
  });

  it("refuses a wrong secret, a wrong method, a missing or malformed sig", () => {
    const { sig } = SIGNATURE_VECTORS[0];
    const base = { now: NOW, method: "md5hash" as const };
    expect(
      verifyVonageSignature({
        ...base,
        params: { ...SIGNATURE_PARAMS, sig },
        signatureSecret: "other",
      }),
    ).toBe(false);
    expect(
      verifyVonageSignature({
        ...base,
        method: "sha256",
        params: { ...SIGNATURE_PARAMS, sig },
        signatureSecret: SIGNATURE_SECRET,
      }),
    ).toBe(false);
    expect(
      verifyVonageSignature({
        ...base,
        params: SIGNATURE_PARAMS,
        signatureSecret: SIGNATURE_SECRET,
      }),
    ).toBe(false);
    expect(
      verifyVonageSignature({
        ...base,
        params: { ...SIGNATURE_PARAMS, sig: "zz" },
        signatureSecret: SIGNATURE_SECRET,
      }),
    ).toBe(false);
    expect(
      verifyVonageSignature({
        ...base,
        params: { ...SIGNATURE_PARAMS, sig, to: ["a"] },
        signatureSecret: SIGNATURE_SECRET,
      }),
    ).toBe(false);
    expect(
      verifyVonageSignature({ ...base, params: { ...SIGNATURE_PARAMS, sig }, signatureSecret: "" }),
    ).toBe(false);
  });

  it("refuses a receipt older (or further ahead) than maxAgeSeconds, or without a timestamp", () => {
    const { sig } = SIGNATURE_VECTORS[0];
    const params = { ...SIGNATURE_PARAMS, sig };
    const check = (now: number, maxAgeSeconds?: number | false) =>
      verifyVonageSignature({
        params,
        signatureSecret: SIGNATURE_SECRET,
        method: "md5hash",
        now,
        ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
      });
    expect(check(1385047698_000 + 299_000)).toBe(true);
    expect(check(1385047698_000 + 301_000)).toBe(false);
    expect(check(1385047698_000 - 301_000)).toBe(false);
    expect(check(1385047698_000 + 3_600_000, 7200)).toBe(true);
    expect(check(Date.now(), false)).toBe(true);
    const { timestamp: _, ...noStamp } = SIGNATURE_PARAMS;
    const signed = { ...noStamp, sig: vonageSignature(noStamp, SIGNATURE_SECRET, "md5hash") };
    expect(
      verifyVonageSignature({
        params: signed,
        signatureSecret: SIGNATURE_SECRET,
        method: "md5hash",
      }),
    ).toBe(false);
  });

  it("replaces & and = inside values, and leaves sig out of the signed string", () => {
    expect(vonageSigningString({ b: "x=1&y", a: "2", sig: "abc" })).toBe("&a=2&b=x_1_y");
  });
});

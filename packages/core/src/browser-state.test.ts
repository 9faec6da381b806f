import { describe, expect, it } from "vitest";
import {
  clientCookie,
  cookieAttributes,
  readCookie,
  serializeCookie,
  stepUpRule,
  verifiedCookies,
} from "./browser-state.js";
import { isClientId, newClientId } from "./public.js";

const SECRET = "browser-state-secret-0123456789abcdef";
const T0 = Date.UTC(2026, 0, 1);

describe("cookies", () => {
  it("are written HttpOnly and SameSite=Lax, Secure on HTTPS, and deleted with Max-Age 0", () => {
    expect(serializeCookie("a", "x y", cookieAttributes(false, 60), T0)).toBe(
      "a=x%20y; Max-Age=60; Path=/; Expires=Thu, 01 Jan 2026 00:01:00 GMT; HttpOnly; SameSite=Lax",
    );
    expect(serializeCookie("a", "", cookieAttributes(true, 0), T0)).toBe(
      "a=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax",
    );
  });

  it("are read by name, decoded, and a malformed one is absent", () => {
    expect(readCookie("a=1; b=x%20y; c", "b")).toBe("x y");
    expect(readCookie("b=%E0%A4%A", "b")).toBeUndefined();
    expect(readCookie(undefined, "b")).toBeUndefined();
  });

  it("name the client id __Host- on HTTPS only", () => {
    expect(clientCookie("waotp_client", true).name).toBe("__Host-waotp_client");
    expect(clientCookie("waotp_client", false).name).toBe("waotp_client");
  });
});

describe("verified cookies", () => {
  const cookies = verifiedCookies({ secret: SECRET });
  const verification = { phone: "+14155550101", purpose: "login", verifiedAt: T0 };

  it("read back what they wrote, for its purpose only", () => {
    const value = cookies.write(verification);
    expect(cookies.read(value, "login")).toEqual(verification);
    expect(cookies.read(value, "step-up")).toBeUndefined();
    expect(cookies.nameOf("login")).toBe("waotp_login");
  });

  it("refuse a tampered, re-signed or differently keyed cookie", () => {
    const value = cookies.write(verification);
    const [payload, signature] = value.split(".") as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...verification, phone: "+14155550199" })).toString(
      "base64url",
    );
    expect(cookies.read(`${forged}.${signature}`, "login")).toBeUndefined();
    expect(cookies.read(`${payload}.${signature}x`, "login")).toBeUndefined();
    expect(cookies.read(`${value}.extra`, "login")).toBeUndefined();
    const other = verifiedCookies({ secret: `${SECRET}-other` });
    expect(other.read(value, "login")).toBeUndefined();
  });

  it("never count the client-id cookie as theirs, so clearing them all keeps the browser known", () => {
    expect(cookies.owns("waotp_login")).toBe(true);
    expect(cookies.owns("waotp_client")).toBe(false);
  });

  it("cannot be written without a secret, and say so at once", () => {
    const unsigned = verifiedCookies();
    expect(() => unsigned.assertSigns()).toThrow(/needs a session, or a `secret`/);
    expect(() => unsigned.write(verification)).toThrow(/CONFIG_INVALID|needs a session/);
    expect(unsigned.read(cookies.write(verification), "login")).toBeUndefined();
  });
});

describe("the step-up rule", () => {
  const verification = { phone: "+14155550101", purpose: "step-up", verifiedAt: T0 };

  it("lets a recent verification of the expected phone through, and nothing else", () => {
    const rule = stepUpRule({ hasPhone: true, maxAgeSeconds: 300 });
    expect(rule.passes(verification, "+14155550101", T0 + 300_000)).toBe(true);
    expect(rule.passes(verification, "+14155550101", T0 + 300_001)).toBe(false);
    expect(rule.passes(verification, "+14155550102", T0)).toBe(false);
    expect(rule.passes(verification, undefined, T0)).toBe(false);
    expect(rule.passes(undefined, "+14155550101", T0)).toBe(false);
    // Stamped in the future beyond clock drift: not trusted.
    expect(rule.passes(verification, "+14155550101", T0 - 60_001)).toBe(false);
  });

  it("fails closed on a verification whose time is not a number (a custom state's string or gap)", () => {
    const rule = stepUpRule({ hasPhone: false, anyPhone: true });
    const broken = [
      { ...verification, verifiedAt: "1970-01-01T00:00:00.000Z" },
      { phone: verification.phone, purpose: "step-up" },
      { ...verification, verifiedAt: Number.NaN },
      { ...verification, verifiedAt: Number.POSITIVE_INFINITY },
    ];
    for (const stored of broken) {
      expect(rule.passes(stored as unknown as typeof verification, undefined, T0)).toBe(false);
    }
  });

  it("takes any phone only when told to, and refuses bad settings at start-up", () => {
    expect(
      stepUpRule({ hasPhone: false, anyPhone: true }).passes(verification, undefined, T0),
    ).toBe(true);
    expect(() => stepUpRule({ hasPhone: false })).toThrow(/needs `phone`/);
    expect(() => stepUpRule({ hasPhone: true, maxAgeSeconds: 0 })).toThrow(/maxAgeSeconds/);
    expect(() => stepUpRule({ hasPhone: true, purpose: "step up" })).toThrow(/purpose/);
  });
});

describe("client ids", () => {
  it("are 128 random bits each, never repeated across the random pool's refills", () => {
    const ids = Array.from({ length: 2000 }, () => newClientId());
    expect(ids.every(isClientId)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // Every byte value shows up: the ids are drawn from the random source, not a fixed pattern.
    const bytes = new Set(ids.flatMap((id) => [...Buffer.from(id, "base64url")]));
    expect(bytes.size).toBe(256);
  });
});

import { createHash, createHmac } from "node:crypto";
import { constantTimeEqual } from "../code.js";

/**
 * How Vonage signs SMS API requests and webhooks, as set in the dashboard: the plain `md5hash`
 * (MD5 of the string followed by the secret; Vonage's default) or an HMAC keyed with the secret.
 * Facts and sources: `fixtures.ts` (SIGNING).
 */
export const VONAGE_SIGNATURE_METHODS = ["md5hash", "md5", "sha1", "sha256", "sha512"] as const;

export type VonageSignatureMethod = (typeof VONAGE_SIGNATURE_METHODS)[number];

export function isVonageSignatureMethod(value: unknown): value is VonageSignatureMethod {
  return (
    typeof value === "string" && (VONAGE_SIGNATURE_METHODS as readonly string[]).includes(value)
  );
}

/**
 * The string Vonage signs: every parameter but `sig`, sorted by name, each written `&name=value`
 * with `&` and `=` inside the value replaced by `_`.
 */
export function vonageSigningString(params: Readonly<Record<string, string>>): string {
  return Object.keys(params)
    .filter((name) => name !== "sig")
    .sort()
    .map((name) => `&${name}=${String(params[name]).replace(/[&=]/g, "_")}`)
    .join("");
}

/** The signature of `params` in lower-case hex. */
export function vonageSignature(
  params: Readonly<Record<string, string>>,
  signatureSecret: string,
  method: VonageSignatureMethod,
): string {
  const text = vonageSigningString(params);
  if (method === "md5hash") {
    return createHash("md5")
      .update(text + signatureSecret)
      .digest("hex");
  }
  return createHmac(method, signatureSecret).update(text).digest("hex");
}

export interface VerifyVonageSignatureOptions {
  /** Every parameter of the webhook (query string and body together), `sig` included. */
  params: Readonly<Record<string, unknown>>;
  signatureSecret: string;
  method: VonageSignatureMethod;
  /**
   * Oldest `timestamp` (Unix seconds, set by Vonage when signing) accepted, in seconds; also the
   * furthest into the future, for clock skew. A replayed receipt older than this is refused.
   * `false` skips the check (tests against published examples only). @default 300
   */
  maxAgeSeconds?: number | false;
  /** Current time in epoch ms. @default Date.now() */
  now?: number;
}

/**
 * Whether a signed Vonage webhook (a delivery receipt sent while signed webhooks are on) is
 * genuine and fresh: the `sig` it carries matches the one computed from its other parameters
 * with the signature secret, compared in constant time, and its `timestamp` is recent. Any
 * missing piece (no `sig`, no `timestamp`, a parameter that is not text) gives false.
 */
export function verifyVonageSignature(options: VerifyVonageSignatureOptions): boolean {
  const { params, signatureSecret, method } = options;
  if (typeof signatureSecret !== "string" || signatureSecret === "") return false;
  if (!isVonageSignatureMethod(method)) return false;
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === "number" && Number.isFinite(value)) text[name] = String(value);
    else if (typeof value === "string") text[name] = value;
    else return false;
  }
  const given = text.sig;
  if (given === undefined || !/^[0-9a-fA-F]{32,128}$/.test(given)) return false;
  const maxAge = options.maxAgeSeconds ?? 300;
  if (maxAge !== false) {
    const stamp = text.timestamp;
    if (stamp === undefined || !/^\d{1,12}$/.test(stamp)) return false;
    const now = options.now ?? Date.now();
    if (Math.abs(now / 1000 - Number(stamp)) > maxAge) return false;
  }
  const expected = vonageSignature(text, signatureSecret, method);
  // Vonage writes hex in either case (md5hash lower, the HMACs upper in some examples).
  return constantTimeEqual(given.toLowerCase(), expected);
}

import { createHmac } from "node:crypto";
import { constantTimeEqual } from "../code.js";

/** Where Twilio puts its signature of a webhook request. */
export const TWILIO_SIGNATURE_HEADER = "x-twilio-signature";

export type TwilioParams =
  | Record<string, string | readonly string[] | undefined>
  | URLSearchParams
  | string;

/**
 * Twilio's signature of a request: base64 of HMAC-SHA1, keyed with the auth token, over the full URL
 * (query included) followed by each POST parameter, sorted by name, as name then value. A name sent
 * more than once contributes each of its values, sorted.
 */
export function twilioSignature(authToken: string, url: string, params: TwilioParams = {}): string {
  let data = url;
  const entries = toEntries(params);
  for (const name of [...entries.keys()].sort(compare)) {
    for (const value of [...new Set(entries.get(name))].sort(compare)) data += name + value;
  }
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

export interface VerifyTwilioSignatureInput {
  /** The account's auth token (TWILIO_AUTH_TOKEN), the key Twilio signs with. */
  authToken: string;
  /**
   * The URL Twilio requested, exactly as configured (`StatusCallback`): scheme, host, path and query.
   * Behind a proxy, build it from the public address, not from what the app server sees.
   */
  url: string;
  /** The form-encoded POST body: parsed, as `URLSearchParams`, or the raw string. */
  params: TwilioParams;
  /** The `X-Twilio-Signature` header. */
  signature: string | null | undefined;
}

/**
 * Whether a webhook request is Twilio's, compared in constant time. Twilio may have signed the URL
 * with or without the default port (`:443`), so both forms are accepted, as Twilio's own helpers do.
 */
export function verifyTwilioSignature(input: VerifyTwilioSignatureInput): boolean {
  const { authToken, url, params, signature } = input;
  if (typeof signature !== "string" || signature === "") return false;
  if (typeof authToken !== "string" || authToken === "") return false;
  let candidates: string[];
  try {
    candidates = urlForms(url);
  } catch {
    return false;
  }
  let valid = false;
  // Every form is computed and compared, so the time taken does not depend on which one matched.
  for (const form of candidates) {
    if (constantTimeEqual(twilioSignature(authToken, form, params), signature)) valid = true;
  }
  return valid;
}

/** The URL as given, and with its default port added or removed. */
function urlForms(url: string): string[] {
  const parsed = new URL(url);
  const forms = new Set([url]);
  const defaultPort =
    parsed.protocol === "https:" ? "443" : parsed.protocol === "http:" ? "80" : "";
  if (defaultPort === "") return [...forms];
  const auth =
    parsed.username || parsed.password
      ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ""}@`
      : "";
  const tail = `${parsed.pathname}${parsed.search}${parsed.hash}`;
  // WHATWG URL drops a default port, so `parsed.host` never carries one.
  forms.add(`${parsed.protocol}//${auth}${parsed.host}${tail}`);
  if (parsed.port === "")
    forms.add(`${parsed.protocol}//${auth}${parsed.hostname}:${defaultPort}${tail}`);
  return [...forms];
}

function toEntries(params: TwilioParams): Map<string, string[]> {
  const entries = new Map<string, string[]>();
  const add = (name: string, value: string) => {
    const list = entries.get(name);
    if (list === undefined) entries.set(name, [value]);
    else list.push(value);
  };
  if (typeof params === "string" || params instanceof URLSearchParams) {
    const search = typeof params === "string" ? new URLSearchParams(params) : params;
    for (const [name, value] of search) add(name, value);
    return entries;
  }
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (typeof value === "string") add(name, value);
    else for (const item of value) add(name, item);
  }
  return entries;
}

/** Plain code-unit order, as Twilio's Node helper sorts (not the locale's). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

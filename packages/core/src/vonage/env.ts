import { OtpError } from "../errors.js";
import type { VonageSmsOptions } from "./channel.js";
import { isVonageSignatureMethod } from "./signature.js";

/** The Vonage settings of an environment. */
export type VonageEnv = Partial<
  Record<
    | "VONAGE_API_KEY"
    | "VONAGE_API_SECRET"
    | "VONAGE_SIGNATURE_SECRET"
    | "VONAGE_SIGNATURE_METHOD"
    | "VONAGE_FROM",
    string
  >
>;

export interface VonageEnvSettings {
  /** Variables to set; `VONAGE_API_SECRET|VONAGE_SIGNATURE_SECRET` when neither secret is set. */
  missing: string[];
  /** What the environment says; absent values are empty strings. Never print it: it holds secrets. */
  options: Pick<
    VonageSmsOptions,
    "apiKey" | "apiSecret" | "signatureSecret" | "signatureMethod" | "from"
  >;
}

/**
 * Reads the `VONAGE_*` variables without judging them, for callers that report every missing one.
 * `VONAGE_SIGNATURE_SECRET` signs requests instead of sending `VONAGE_API_SECRET`; when both are
 * set the signature secret wins. `VONAGE_SIGNATURE_METHOD` is md5hash (default), md5, sha1, sha256
 * or sha512; anything else is a `CONFIG_INVALID` error that does not repeat the value.
 */
export function readVonageEnv(env: VonageEnv): VonageEnvSettings {
  const method = (env.VONAGE_SIGNATURE_METHOD || "md5hash").trim().toLowerCase();
  if (!isVonageSignatureMethod(method)) {
    throw new OtpError(
      "CONFIG_INVALID",
      "VONAGE_SIGNATURE_METHOD must be md5hash, md5, sha1, sha256 or sha512, as set in the Vonage dashboard.",
    );
  }
  const signatureSecret = env.VONAGE_SIGNATURE_SECRET?.trim() || undefined;
  const apiSecret = signatureSecret ? undefined : env.VONAGE_API_SECRET?.trim() || undefined;
  const missing: string[] = [];
  if (!env.VONAGE_API_KEY?.trim()) missing.push("VONAGE_API_KEY");
  if (!signatureSecret && !apiSecret) missing.push("VONAGE_API_SECRET|VONAGE_SIGNATURE_SECRET");
  if (!env.VONAGE_FROM?.trim()) missing.push("VONAGE_FROM");
  return {
    missing,
    options: {
      apiKey: env.VONAGE_API_KEY?.trim() ?? "",
      ...(apiSecret === undefined ? {} : { apiSecret }),
      ...(signatureSecret === undefined ? {} : { signatureSecret, signatureMethod: method }),
      from: env.VONAGE_FROM?.trim() ?? "",
    },
  };
}

/** `vonageSms()` credentials and sender from `VONAGE_*` variables; missing ones are a `CONFIG_INVALID` error naming them. */
export function vonageOptionsFromEnv(env: VonageEnv): VonageEnvSettings["options"] {
  const { missing, options } = readVonageEnv(env);
  if (missing.length > 0) {
    throw new OtpError(
      "CONFIG_INVALID",
      `Set ${missing.join(", ").replace("|", " or ")} (from the Vonage dashboard).`,
    );
  }
  return options;
}

import { OtpError } from "../errors.js";
import type { OneMsgOptions } from "./channel.js";
import { DEFAULT_BASE_URL } from "./client.js";

/** The 1MSG settings of an environment, as the demo, the examples and the CLI name them. */
export type OneMsgEnv = Partial<
  Record<
    | "ONEMSG_API_URL"
    | "ONEMSG_CHANNEL_ID"
    | "ONEMSG_TOKEN"
    | "ONEMSG_TEMPLATE"
    | "ONEMSG_NAMESPACE"
    | "ONEMSG_LANGUAGE",
    string
  >
>;

const REQUIRED = [
  "ONEMSG_CHANNEL_ID",
  "ONEMSG_TOKEN",
  "ONEMSG_TEMPLATE",
  "ONEMSG_NAMESPACE",
] as const;

/**
 * `oneMsg()` options from `ONEMSG_*` variables: `ONEMSG_API_URL` (default https://api.1msg.io),
 * `ONEMSG_CHANNEL_ID`, `ONEMSG_TOKEN`, `ONEMSG_TEMPLATE`, `ONEMSG_NAMESPACE`, `ONEMSG_LANGUAGE`
 * (default en). Missing ones are a `CONFIG_INVALID` error that names them.
 */
export function oneMsgOptionsFromEnv(env: OneMsgEnv): OneMsgOptions {
  const missing = REQUIRED.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new OtpError("CONFIG_INVALID", `Set ${missing.join(", ")} (from the 1MSG dashboard).`);
  }
  return {
    baseUrl: env.ONEMSG_API_URL || DEFAULT_BASE_URL,
    channelId: env.ONEMSG_CHANNEL_ID as string,
    token: env.ONEMSG_TOKEN as string,
    template: {
      name: env.ONEMSG_TEMPLATE as string,
      namespace: env.ONEMSG_NAMESPACE as string,
      language: env.ONEMSG_LANGUAGE || "en",
    },
  };
}

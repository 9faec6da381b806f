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
    | "ONEMSG_LANGUAGE"
    | "ONEMSG_AUTH",
    string
  >
>;

const REQUIRED = [
  "ONEMSG_CHANNEL_ID",
  "ONEMSG_TOKEN",
  "ONEMSG_TEMPLATE",
  "ONEMSG_NAMESPACE",
] as const;

/** What an environment says, with the required variables it lacks; values it lacks are empty strings. */
export interface OneMsgEnvSettings {
  missing: (typeof REQUIRED)[number][];
  options: OneMsgOptions & {
    template: Required<Omit<OneMsgOptions["template"], "languages">> & {
      languages?: readonly string[];
    };
  };
}

/**
 * Reads the `ONEMSG_*` variables without judging them, for callers that report every missing one
 * (the CLI's `doctor`). `ONEMSG_AUTH` is `bearer` (the default) or `query`; anything else is a
 * `CONFIG_INVALID` error.
 */
export function readOneMsgEnv(env: OneMsgEnv): OneMsgEnvSettings {
  const auth = (env.ONEMSG_AUTH || "bearer").trim().toLowerCase();
  if (auth !== "bearer" && auth !== "query") {
    throw new OtpError(
      "CONFIG_INVALID",
      'ONEMSG_AUTH must be "bearer" (the Authorization header) or "query" (the token query parameter).',
    );
  }
  // ONEMSG_LANGUAGE is one code, or a comma list of the template's approved languages, default first.
  const languages = (env.ONEMSG_LANGUAGE || "en")
    .split(",")
    .map((each) => each.trim())
    .filter((each) => each !== "");
  return {
    missing: REQUIRED.filter((name) => !env[name]),
    options: {
      baseUrl: env.ONEMSG_API_URL || DEFAULT_BASE_URL,
      channelId: env.ONEMSG_CHANNEL_ID ?? "",
      token: env.ONEMSG_TOKEN ?? "",
      auth,
      template: {
        name: env.ONEMSG_TEMPLATE ?? "",
        namespace: env.ONEMSG_NAMESPACE ?? "",
        language: languages[0] ?? "en",
        ...(languages.length > 1 ? { languages } : {}),
      },
    },
  };
}

/**
 * `oneMsg()` options from `ONEMSG_*` variables: `ONEMSG_API_URL` (default https://api.1msg.io),
 * `ONEMSG_CHANNEL_ID`, `ONEMSG_TOKEN`, `ONEMSG_TEMPLATE`, `ONEMSG_NAMESPACE`, `ONEMSG_LANGUAGE`
 * (default en; a comma list names every approved language, default first), `ONEMSG_AUTH` (`bearer`, the default, or `query`). Missing ones are a
 * `CONFIG_INVALID` error that names them.
 */
export function oneMsgOptionsFromEnv(env: OneMsgEnv): OneMsgOptions {
  const { missing, options } = readOneMsgEnv(env);
  if (missing.length > 0) {
    throw new OtpError("CONFIG_INVALID", `Set ${missing.join(", ")} (from the 1MSG dashboard).`);
  }
  return options;
}

/**
 * The text of a code sent by SMS, for every SMS channel: templates by language (or a function), the
 * code exactly once, and the WebOTP line that lets browsers fill the code in on one site only.
 */
import { OtpError } from "./errors.js";
import { matchLocale } from "./locale.js";

/** What a message text is written from, besides the code. */
export interface SmsTextContext {
  /** The user's language, when the send named one (`pt-BR`); the template picked may be broader. */
  locale: string | undefined;
  /** Whole minutes the code lives, rounded up. */
  ttlMinutes: number;
  purpose: string;
}

/**
 * The SMS text: a function of the code, or templates by language (`{ en: "...", "pt-BR": "..." }`)
 * where `{code}` stands for the code (exactly once) and `{minutes}` for its lifetime.
 */
export type SmsText = ((code: string, context: SmsTextContext) => string) | Record<string, string>;

export const DEFAULT_SMS_TEXT: Record<string, string> = {
  en: "Your verification code is {code}. It expires in {minutes} minutes. Do not share it.",
};

export interface SmsTextOptions {
  text?: SmsText;
  /** Template language used when the user's matches none. @default "en", or the first template */
  defaultLocale?: string;
  /**
   * Adds the origin-bound last line `@<domain> #<code>` so browsers (WebOTP, `autocomplete=one-time-code`)
   * offer the code only on that site. A host name, such as `example.com`.
   */
  webOtpDomain?: string;
}

/** Builds the function that writes each message, checking the templates once. */
export function createSmsText(
  options: SmsTextOptions,
): (code: string, context: SmsTextContext) => string {
  const text = options.text ?? DEFAULT_SMS_TEXT;
  const domain = options.webOtpDomain === undefined ? undefined : readDomain(options.webOtpDomain);
  const finish = (body: string, code: string) => {
    if (occurrences(body, code) !== 1) {
      // The message names neither the code nor the text, which holds it.
      throw new OtpError(
        "CONFIG_INVALID",
        "The SMS text must contain the code exactly once: check the `text` option.",
      );
    }
    return domain === undefined ? body : `${body.trimEnd()}\n\n@${domain} #${code}`;
  };

  if (typeof text === "function") {
    return (code, context) => finish(text(code, context), code);
  }
  const templates = new Map<string, string>();
  for (const [locale, template] of Object.entries(text)) {
    if (typeof template !== "string" || template.split("{code}").length !== 2) {
      throw new OtpError(
        "CONFIG_INVALID",
        `The SMS template for "${locale}" must contain {code} exactly once (the \`text\` option).`,
      );
    }
    templates.set(locale, template);
  }
  const fallback = options.defaultLocale ?? (templates.has("en") ? "en" : Object.keys(text)[0]);
  const defaultKey =
    fallback === undefined ? undefined : matchLocale(fallback, [...templates.keys()]);
  if (defaultKey === undefined) {
    throw new OtpError(
      "CONFIG_INVALID",
      "`defaultLocale` must name one of the SMS templates in `text`.",
    );
  }
  return (code, context) => {
    const key = matchLocale(context.locale, [...templates.keys()]) ?? defaultKey;
    const template = templates.get(key) as string;
    return finish(
      template.replace("{minutes}", String(context.ttlMinutes)).replace("{code}", code),
      code,
    );
  };
}

function occurrences(text: string, part: string): number {
  return part === "" ? 0 : text.split(part).length - 1;
}

function readDomain(value: string): string {
  const domain = value.trim().toLowerCase();
  if (
    !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(:\d{1,5})?$/.test(
      domain,
    )
  ) {
    throw new OtpError(
      "CONFIG_INVALID",
      "`webOtpDomain` must be a host name such as example.com (no scheme, no path).",
    );
  }
  return domain;
}

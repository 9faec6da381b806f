/**
 * The user's language, as a send names it (`pt-BR`, `pt_BR`, `en`), and how a channel picks among
 * the languages it has (WhatsApp templates are approved per language; SMS texts are written per
 * language): the same locale in either spelling, then its language alone, else nothing.
 */
import { OtpError } from "./errors.js";

// BCP 47 in the shapes apps use: a 2-3 letter language, then subtags (region, script, variant).
const LOCALE = /^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,3}$/;

/** `pt-BR`, `pt_br` and `PT-br` all become `pt_br`. */
export function normalizeLocale(locale: string): string {
  return locale.trim().replace(/-/g, "_").toLowerCase();
}

/**
 * The best of `available` for `requested`: the same locale (`pt-BR` finds `pt_BR`), then its
 * language (`pt`); undefined when none fits (the caller then uses its default).
 */
export function matchLocale(
  requested: string | undefined,
  available: readonly string[],
): string | undefined {
  if (requested === undefined || requested.trim() === "") return undefined;
  const wanted = normalizeLocale(requested);
  const language = wanted.split("_")[0];
  return (
    available.find((candidate) => normalizeLocale(candidate) === wanted) ??
    available.find((candidate) => normalizeLocale(candidate) === language)
  );
}

/** A send's `locale`, checked: anything but a language tag is `INVALID_INPUT`. */
export function readLocale(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !LOCALE.test(value)) {
    throw new OtpError(
      "INVALID_INPUT",
      "`locale` must be a language tag such as `en`, `pt-BR` or `pt_BR`.",
    );
  }
  return value;
}

/**
 * The language a browser prefers most, from its `Accept-Language` header (`pt-BR,pt;q=0.9,en;q=0.8`
 * gives `pt-BR`): the tag with the highest weight, the first among equals; `*`, weight 0 and
 * anything that is not a language tag are skipped. Only the first 256 characters are read.
 */
export function preferredLocale(header: string | null | undefined): string | undefined {
  if (typeof header !== "string") return undefined;
  let best: string | undefined;
  let bestWeight = 0;
  for (const entry of header.slice(0, 256).split(",")) {
    const [tag = "", ...params] = entry.split(";").map((part) => part.trim());
    if (!LOCALE.test(tag)) continue;
    let weight = 1;
    for (const param of params) {
      const q = /^q=([01](?:\.\d{0,3})?)$/i.exec(param);
      if (q) weight = Number(q[1]);
    }
    if (weight > bestWeight) {
      best = tag;
      bestWeight = weight;
    }
  }
  return best;
}

/**
 * The user's language for a send that came over HTTP: the `locale` the body names (the core checks
 * it), else the browser's preferred one from `Accept-Language`, else none.
 */
export function requestLocale(
  given: string | undefined,
  acceptLanguage: string | null | undefined,
): { locale?: string } {
  // A body's `null` is passed on, for the core to refuse like any other wrong type.
  const locale = given !== undefined ? given : preferredLocale(acceptLanguage);
  return locale === undefined ? {} : { locale };
}

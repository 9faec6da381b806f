import { OtpError } from "../errors.js";
import type { OneMsgClient, OneMsgResponse } from "./client.js";
import { OneMsgError } from "./errors.js";

/**
 * The channel's webhook list, changed without losing anyone else's URL.
 *
 * `POST /webhook { webhookUrl }` **replaces** the whole list (a string, or an array of at most 5
 * URLs), and a live channel already has 1MSG's own agent-inbox URL there
 * (`https://app.1msg.io/service/service_core/whatsapp/webhook/<n>`): writing only our URL breaks the
 * customer's 1MSG inbox (LIVE: `ebor94/1msg` README). So every change reads the list, changes one
 * URL and writes the whole list back, as 1MSG's agent guide says (AGENTS: `1msg/1msg-for-agents`,
 * `references/webhooks.md`) and 1MSG's n8n nodes do (N8N: `1msg/1msg-n8n-nodes`, `utils/webhooks.ts`).
 * Read-change-write is not atomic: a change made elsewhere between the read and the write is lost.
 */

/** 1MSG keeps at most this many webhook URLs per channel. */
export const MAX_WEBHOOKS = 5;

/** One registered URL, with the state 1MSG reports for it when it does (AGENTS). */
export interface WebhookEntry {
  url: string;
  status?: string;
}

/** The channel has {@link MAX_WEBHOOKS} URLs and ours is not one of them: nothing was changed. */
export class WebhookListFullError extends OtpError {
  /** The registered URLs, masked (origin only). */
  readonly registered: readonly string[];

  constructor(registered: readonly string[]) {
    const masked = registered.map(describeWebhookUrl);
    super(
      "CONFIG_INVALID",
      `1MSG keeps at most ${MAX_WEBHOOKS} webhook URLs and this channel has ${registered.length}: ${masked.join(", ")}. Nothing was changed. Remove one you no longer use first (waotp webhook remove <url>, or the 1MSG dashboard); keep 1MSG's own inbox webhook.`,
      { details: { registered: masked } },
    );
    this.registered = masked;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A URL for display: origin only, since the path and query usually hold the webhook secret. */
export function maskWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname.length > 1 || parsed.search ? "/…" : "/"}`;
  } catch {
    return "(not a URL)";
  }
}

/** Whether a URL is 1MSG's own agent-inbox webhook, which the customer's 1MSG inbox needs. */
export function isOneMsgInboxWebhook(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (
      parsed.hostname === "app.1msg.io" &&
      parsed.pathname.startsWith("/service/service_core/whatsapp/webhook/")
    );
  } catch {
    return false;
  }
}

/** The masked URL, with a word when it is 1MSG's own inbox webhook. */
export function describeWebhookUrl(url: string): string {
  return `${maskWebhookUrl(url)}${isOneMsgInboxWebhook(url) ? " (1MSG's inbox)" : ""}`;
}

/**
 * A URL in the form used to compare two registrations: what `new URL()` makes of it (scheme and
 * host lower case, default port dropped), without a trailing slash (N8N compares the same way).
 */
export function normalizeWebhookUrl(url: string): string {
  const trimmed = url.trim();
  let href = trimmed;
  try {
    href = new URL(trimmed).href;
  } catch {
    // Not a URL: compare it as written.
  }
  return href.replace(/\/+(?=$|[?#])/, "");
}

export const sameWebhookUrl = (a: string, b: string): boolean =>
  normalizeWebhookUrl(a) === normalizeWebhookUrl(b);

/** One value of the list: a URL string, or an object with `url` (or `webhookUrl`) and `status`. */
function entriesOf(value: unknown): WebhookEntry[] {
  if (typeof value === "string") {
    // A legacy comma-separated string (N8N). Split only where a new URL starts, so a comma inside
    // a URL's query survives.
    return value
      .split(/,(?=\s*https?:\/\/)/i)
      .map((url) => url.trim())
      .filter((url) => url !== "")
      .map((url) => ({ url }));
  }
  if (Array.isArray(value)) return value.flatMap(entriesOf);
  if (isObject(value)) {
    const url = value.url ?? value.webhookUrl;
    if (typeof url !== "string" || url.trim() === "") return [];
    const status = value.status ?? value.state;
    return [{ url: url.trim(), ...(typeof status === "string" ? { status } : {}) }];
  }
  return [];
}

/**
 * The list from an answer of `GET /webhook`, in every shape seen:
 * - `{ webhookUrl: "https://..." }` or `{ webhookUrl: [...] }`: the documented forms (seed, SDK-OLD);
 * - `{ webhookUrl: "https://a,https://b" }`: a legacy comma-separated string (N8N);
 * - entries as objects with a per-URL state, `{ url, status }` (AGENTS), in a bare array or under
 *   any of the keys below;
 * - `webhookUrls`, `urls` or `webhooks` as the key: spellings of newer contracts, accepted so a
 *   renamed field cannot read as an empty list (and then be written back empty).
 * Duplicates (by {@link normalizeWebhookUrl}) are kept once.
 */
export function readWebhookList(body: unknown): WebhookEntry[] {
  let raw: unknown = body;
  if (isObject(body)) {
    const found = ["webhookUrl", "webhookUrls", "urls", "webhooks"].find(
      (key) => body[key] !== undefined && body[key] !== null,
    );
    raw = found === undefined ? [] : body[found];
  }
  const seen = new Set<string>();
  return entriesOf(raw).filter((entry) => {
    const key = normalizeWebhookUrl(entry.url);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

type Client = Pick<OneMsgClient, "request">;

function bodyOf(response: OneMsgResponse): unknown {
  return response.json ?? response.data;
}

/** A 200 that carries `error` instead of the list: reading it as "no URLs" would wipe them on write. */
function refuseError(body: unknown, what: string): void {
  if (!isObject(body)) return;
  const { error } = body;
  if (error === undefined || error === null || error === false || error === "") return;
  const said =
    typeof error === "string"
      ? error
      : isObject(error) && typeof error.message === "string"
        ? error.message
        : JSON.stringify(error);
  throw new OneMsgError("rejected", `1MSG did not ${what}. 1MSG said: ${said.slice(0, 300)}`, {
    providerMessage: said.slice(0, 300),
  });
}

/** Reads the channel's webhook list (`GET /webhook`). */
export async function getWebhooks(client: Client): Promise<WebhookEntry[]> {
  const body = bodyOf(await client.request({ method: "GET", path: "webhook" }));
  refuseError(body, "return the webhook list");
  return readWebhookList(body);
}

/** Whether delivery acks are on (`GET /settings` → `ackNotificationsOn`); `undefined` if 1MSG does not say. */
export async function getAckNotifications(client: Client): Promise<boolean | undefined> {
  const body = bodyOf(await client.request({ method: "GET", path: "settings" }));
  refuseError(body, "return the channel settings");
  const value = isObject(body) ? body.ackNotificationsOn : undefined;
  return typeof value === "boolean" ? value : undefined;
}

/** Turns delivery acks on (`POST /settings { ackNotificationsOn: true }`, as N8N does). */
export async function turnAcksOn(client: Client): Promise<void> {
  const body = bodyOf(
    await client.request({ method: "POST", path: "settings", body: { ackNotificationsOn: true } }),
  );
  refuseError(body, "turn delivery acks on");
}

async function writeWebhooks(client: Client, urls: string[]): Promise<void> {
  // One URL as a string, several as an array: the two forms 1MSG documents.
  const webhookUrl = urls.length === 1 ? urls[0] : urls;
  const body = bodyOf(
    await client.request({ method: "POST", path: "webhook", body: { webhookUrl } }),
  );
  refuseError(body, "change the webhook list");
}

function readUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new OtpError("INVALID_INPUT", "The webhook URL is not a URL.");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new OtpError("INVALID_INPUT", "The webhook URL must be http(s).");
  }
  return parsed.toString();
}

export interface WebhookChange {
  /** False when nothing needed writing: the URL was already there (add) or absent (remove). */
  changed: boolean;
  /** The list as 1MSG reads it back after the change. */
  urls: string[];
}

/**
 * Adds `url` to the channel's webhook list, keeping every other URL (1MSG's inbox first of all),
 * and turns delivery acks on. Idempotent: when the URL is already there, the list is not written.
 * Throws {@link WebhookListFullError} when 5 other URLs are registered, changing nothing.
 */
export async function addWebhook(client: Client, url: string): Promise<WebhookChange> {
  const ours = readUrl(url);
  const current = (await getWebhooks(client)).map((entry) => entry.url);
  let changed = false;
  if (!current.some((u) => sameWebhookUrl(u, ours))) {
    if (current.length >= MAX_WEBHOOKS) throw new WebhookListFullError(current);
    await writeWebhooks(client, [...current, ours]);
    changed = true;
  }
  await turnAcksOn(client);
  const urls = changed ? (await getWebhooks(client)).map((entry) => entry.url) : current;
  if (!urls.some((u) => sameWebhookUrl(u, ours))) {
    throw new OneMsgError(
      "invalid_response",
      `1MSG accepted the webhook list but does not list ${maskWebhookUrl(ours)} when read back.`,
    );
  }
  return { changed, urls };
}

/** Takes `url` off the channel's webhook list, keeping every other URL. Idempotent. */
export async function removeWebhook(client: Client, url: string): Promise<WebhookChange> {
  const current = (await getWebhooks(client)).map((entry) => entry.url);
  const kept = current.filter((u) => !sameWebhookUrl(u, url));
  if (kept.length === current.length) return { changed: false, urls: current };
  await writeWebhooks(client, kept);
  const urls = (await getWebhooks(client)).map((entry) => entry.url);
  if (urls.some((u) => sameWebhookUrl(u, url))) {
    throw new OneMsgError(
      "invalid_response",
      `1MSG accepted the webhook list but still lists ${maskWebhookUrl(url)} when read back.`,
    );
  }
  return { changed: true, urls };
}

import {
  type DeliveryPricing,
  type DeliveryStatus,
  type DeliveryUpdate,
  isFailed,
} from "../delivery-status.js";

/*
 * Delivery updates as 1MSG sends them. Two formats reach the same URL, each documented in the
 * package README (section "1MSG wire formats") with its sources:
 * - 1MSG's own: `{ instanceId, ack: [{ id, status, phone, chatId, error? }] }`, captured on a live
 *   channel; the seed document calls the array `hooks`.
 * - Meta's raw format, when the channel's `rawHooks` setting is on:
 *   `{ object, entry: [{ changes: [{ value: { statuses: [{ id, status, timestamp, recipient_id,
 *   errors?: [{ code, title, message, error_data: { details } }] }] } }] }] }`.
 * Anything else in a body (incoming messages, unknown fields) is skipped, never an error.
 */

const STATUS_ALIASES: Record<string, DeliveryStatus> = {
  sent: "sent",
  delivered: "delivered",
  read: "read",
  // 1MSG's older API calls a read message "viewed".
  viewed: "read",
  failed: "failed",
  undelivered: "undelivered",
};

const MAX_ID_LENGTH = 256;
const MAX_ERROR_LENGTH = 300;
const MAX_ENTRIES = 1000;

/**
 * What Meta's delivery error codes mean to an operator, for failures that carry a code and no
 * title (Meta's error-code reference; the codes 1MSG passes on most).
 */
const META_ERRORS: Record<string, string> = {
  "130429": "Throughput limit reached",
  "131026": "Message undeliverable (not a WhatsApp user, or an outdated app)",
  "131042": "Payment problem on the WhatsApp Business account",
  "131048": "Spam rate limit hit",
  "131049": "Not delivered, to keep the ecosystem healthy",
  "131056": "Too many messages to this phone",
  "132000": "Template parameter count mismatch",
  "132001": "Template does not exist in this language",
};

/** Reads every delivery update in a webhook body, in either format; an empty list if there is none. */
export function readOneMsgWebhook(body: Record<string, unknown>): DeliveryUpdate[] {
  const updates: DeliveryUpdate[] = [];
  const add = (entry: unknown) => {
    if (updates.length >= MAX_ENTRIES) return;
    const update = readDeliveryEntry(entry);
    if (update !== undefined) updates.push(update);
  };
  for (const list of [body.ack, body.hooks]) {
    if (Array.isArray(list)) list.forEach(add);
  }
  if (Array.isArray(body.entry)) {
    for (const entry of body.entry) {
      const changes = field(entry, "changes");
      if (!Array.isArray(changes)) continue;
      for (const change of changes) {
        const statuses = field(field(change, "value"), "statuses");
        if (Array.isArray(statuses)) statuses.forEach(add);
      }
    }
  }
  return updates;
}

/**
 * Reads one delivery entry of either format: an `ack[]`/`hooks[]` entry or a Meta `statuses[]`
 * entry. Ids may be strings or numbers; anything that is not a usable update gives undefined.
 */
export function readDeliveryEntry(entry: unknown): DeliveryUpdate | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const { id, messageId, status, error, errors, phone, chatId, recipient_id, pricing } =
    entry as Record<string, unknown>;
  const idValue = readId(id) ?? readId(messageId);
  if (idValue === undefined) return undefined;
  if (typeof status !== "string") return undefined;
  const mapped = STATUS_ALIASES[status.trim().toLowerCase()];
  if (mapped === undefined) return undefined;
  const update: DeliveryUpdate = { messageId: idValue, status: mapped };
  const digits = readPhone(phone) ?? readPhone(recipient_id) ?? readPhone(chatId);
  if (digits !== undefined) update.phone = digits;
  const price = readPricing(pricing);
  if (price !== undefined) update.pricing = price;
  if (isFailed(mapped)) {
    const failure = describeFailure(error, errors);
    if (failure.text !== undefined) update.error = failure.text;
    if (failure.code !== undefined) update.errorCode = failure.code;
  }
  return update;
}

/** Meta's `pricing` on a status (and on 1MSG's `hookInfo` entries): whether billed, and its category. */
function readPricing(value: unknown): DeliveryPricing | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { billable, category } = value as Record<string, unknown>;
  const pricing: DeliveryPricing = {};
  if (typeof billable === "boolean") pricing.billable = billable;
  if (typeof category === "string" && /^[a-z_]{1,64}$/i.test(category)) {
    pricing.category = category.toLowerCase();
  }
  return Object.keys(pricing).length > 0 ? pricing : undefined;
}

function readId(value: unknown): string | undefined {
  const text = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== "string") return undefined;
  const trimmed = text.trim();
  return trimmed.length > 0 && trimmed.length <= MAX_ID_LENGTH ? trimmed : undefined;
}

/** International digits from `14155550101`, `+14155550101` or a chat id `14155550101@c.us`. */
function readPhone(value: unknown): string | undefined {
  const text = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== "string") return undefined;
  const match = /^\+?([1-9][0-9]{6,14})(@c\.us)?$/.exec(text.trim());
  return match?.[1];
}

/**
 * One readable reason from either error form: 1MSG's `error` (text, or `{ code, message }`) or
 * Meta's `errors[]` (`code`, `title`, `message`, `error_data.details`). Meta's numeric code leads
 * the text and is kept apart, since each code calls for a different action.
 */
function describeFailure(error: unknown, errors: unknown): { text?: string; code?: string } {
  const first = Array.isArray(errors) ? errors[0] : typeof error === "object" ? error : undefined;
  if (typeof first === "object" && first !== null) {
    const { code, title, message, error_data } = first as Record<string, unknown>;
    const codeText = readCode(code);
    const details = field(error_data, "details");
    const parts = [title, message, details].filter(
      (part, index, all): part is string =>
        typeof part === "string" && part.trim() !== "" && all.indexOf(part) === index,
    );
    const words = parts.length > 0 ? parts.join(": ") : codeText && META_ERRORS[codeText];
    const text = [codeText, words].filter(Boolean).join(" ");
    return {
      ...(text === "" ? {} : { text: text.slice(0, MAX_ERROR_LENGTH) }),
      ...(codeText === undefined ? {} : { code: codeText }),
    };
  }
  if (typeof error === "string" && error.trim() !== "") {
    // 1MSG passes Meta's errors on as text such as "(#131026) Message undeliverable".
    const code = /\(#(\d{3,7})\)/.exec(error)?.[1];
    return { text: error.trim().slice(0, MAX_ERROR_LENGTH), ...(code ? { code } : {}) };
  }
  return {};
}

function readCode(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  if (typeof value === "string" && /^\d{1,10}$/.test(value.trim())) return value.trim();
  return undefined;
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

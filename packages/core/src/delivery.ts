/**
 * Delivery states of a message, in the order they can happen. `failed` and `undelivered` end a
 * message; `accepted` is waotp's own first state (the channel took the message).
 */
export const DELIVERY_STATUSES = [
  "accepted",
  "sent",
  "delivered",
  "read",
  "failed",
  "undelivered",
] as const;

export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

const RANK: Record<DeliveryStatus, number> = {
  accepted: 0,
  sent: 1,
  delivered: 2,
  read: 3,
  failed: 4,
  undelivered: 4,
};

export function isTerminal(status: DeliveryStatus): boolean {
  return status === "failed" || status === "undelivered";
}

/**
 * Whether a message in state `from` may move to `to`. States only move forward, so late or
 * duplicated acks never undo progress; a failure ends a message, and a message that reached the
 * phone cannot fail afterwards.
 */
export function canAdvance(from: DeliveryStatus, to: DeliveryStatus): boolean {
  if (isTerminal(from)) return false;
  if (isTerminal(to)) return RANK[from] < RANK.delivered;
  return RANK[to] > RANK[from];
}

/** One delivery update, from a webhook or from polling. */
export interface DeliveryUpdate {
  messageId: string;
  status: DeliveryStatus;
  /** Channel's failure text, kept short; never contains a code. */
  error?: string;
}

const STATUS_ALIASES: Record<string, DeliveryStatus> = {
  sent: "sent",
  delivered: "delivered",
  read: "read",
  viewed: "read",
  failed: "failed",
  undelivered: "undelivered",
};

const MAX_ID_LENGTH = 256;
const MAX_ERROR_LENGTH = 300;

/** Reads one `ack[]`/`hooks[]` entry; anything that is not a usable status update gives undefined. */
export function readDeliveryEntry(entry: unknown): DeliveryUpdate | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const { id, messageId, status, error } = entry as Record<string, unknown>;
  const idValue = typeof id === "string" ? id : messageId;
  if (typeof idValue !== "string" || idValue.length === 0 || idValue.length > MAX_ID_LENGTH) {
    return undefined;
  }
  if (typeof status !== "string") return undefined;
  const mapped = STATUS_ALIASES[status.toLowerCase()];
  if (mapped === undefined) return undefined;
  const update: DeliveryUpdate = { messageId: idValue, status: mapped };
  const errorText = describeError(error);
  if (errorText !== undefined && isTerminal(mapped)) update.error = errorText;
  return update;
}

function describeError(error: unknown): string | undefined {
  if (typeof error === "string" && error.length > 0) return error.slice(0, MAX_ERROR_LENGTH);
  if (typeof error === "object" && error !== null) {
    const { message, code } = error as Record<string, unknown>;
    if (typeof message === "string") return message.slice(0, MAX_ERROR_LENGTH);
    if (typeof code === "string" || typeof code === "number") return String(code);
  }
  return undefined;
}

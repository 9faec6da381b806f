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

/** Whether a message failed (`failed` or `undelivered`): nothing moves it on, and a fallback may start. */
export function isFailed(status: DeliveryStatus): boolean {
  return status === "failed" || status === "undelivered";
}

/**
 * Whether a message's state is settled: it failed, or was read. A delivered message may still be
 * read, so it is not final; nothing is worth asking the channel about a final one.
 */
export function isFinal(status: DeliveryStatus): boolean {
  return isFailed(status) || status === "read";
}

/**
 * Whether a message in state `from` may move to `to`. States only move forward, so late or
 * duplicated acks never undo progress; a failure ends a message, and a message that reached the
 * phone cannot fail afterwards.
 */
export function canAdvance(from: DeliveryStatus, to: DeliveryStatus): boolean {
  if (isFailed(from)) return false;
  if (isFailed(to)) return RANK[from] < RANK.delivered;
  return RANK[to] > RANK[from];
}

/** One delivery update, from a webhook or from polling, as a channel reads it. */
export interface DeliveryUpdate {
  messageId: string;
  status: DeliveryStatus;
  /** Channel's failure text, kept short; never contains a code. */
  error?: string;
  /** The provider's error code, when it gives one (Meta's `131026`, say). */
  errorCode?: string;
  /**
   * International digits of the phone the message went to, when the update names it. It links an
   * update to a send the channel queued before it had a message id (see `ChannelSendResult.queued`).
   */
  phone?: string;
  /** What the provider says about the message's price (Meta's `pricing`: billable, category). */
  pricing?: DeliveryPricing;
}

/** A provider's word on a message's price; no amount (Meta gives a category, not a price). */
export interface DeliveryPricing {
  billable?: boolean;
  /** Meta's pricing category: `authentication`, `authentication_international`, ... */
  category?: string;
}

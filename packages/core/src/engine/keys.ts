/**
 * Every key the engine writes to its store, in one place: what a record is called decides what
 * shares it (a phone's codes, a client's budget), so the shapes are kept side by side.
 * `digits` is a phone's international digits; `client` is a keyed tag (see `clientTag`), never the
 * value a browser sent.
 */

/** The pending code for a phone and purpose; a known client's own code carries its tag. */
export function challengeKey(purpose: string, digits: string, client?: string): string {
  return client === undefined ? `${purpose}:${digits}` : `${purpose}:${digits}:${client}`;
}

/** Marks `client` as known to the phone (it verified a code for it). */
export function knownKey(digits: string, client: string): string {
  return `known:${digits}:${client}`;
}

/** The phones a known client is known to, carried over when its id is replaced. */
export function knownPhonesKey(client: string): string {
  return `known:client:${client}`;
}

/** A known client's small budget of wrong guesses let through a full failure budget. */
export function sparedKey(digits: string, client: string): string {
  return `verify:spared:${digits}:${client}`;
}

export function phoneFailuresKey(digits: string): string {
  return `verify:failures:${digits}`;
}

export function ipFailuresKey(ip: string): string {
  return `verify:failures:ip:${ip}`;
}

/** Send buckets: a bound client's (`own`, `:<tag>`) are apart from the phone's shared ones. */
export const sendKeys = {
  cooldown: (digits: string, own: string) => `send:cooldown:${digits}${own}`,
  phone: (digits: string, own: string) => `send:phone:${digits}${own}`,
  /** Every send to the phone, bound or not. */
  phoneAll: (digits: string) => `send:phone:all:${digits}`,
  ip: (ip: string, own: string) => `send:ip:${ip}${own}`,
  /** Every send to a number range: the calling code and the next digits (`1415555` for six). */
  prefix: (range: string) => `send:prefix:${range}`,
  /** Every send to a country: its region (`US`), or `+` and the calling code. */
  country: (country: string) => `send:country:${country}`,
  global: "send:global",
} as const;

/** Fallback sends: the fallback's own cooldown and budget, apart from the main channel's. */
export const fallbackSendKeys = {
  cooldown: (digits: string, own: string) => `send:fallback:cooldown:${digits}${own}`,
  phone: (digits: string, own: string) => `send:fallback:phone:${digits}${own}`,
  /** Every fallback send to the phone, bound or not. */
  phoneAll: (digits: string) => `send:fallback:phone:all:${digits}`,
  global: "send:fallback:global",
} as const;

/** Claimed by the fallback that takes over from a message; then the fallback message's link. */
export function fallbackKey(messageId: string): string {
  return `fallback:${messageId}`;
}

/** A send's answer under its idempotency key; a send by the fallback keeps its own answers. */
export function idempotencyKey(
  purpose: string,
  digits: string,
  via: "channel" | "fallback",
  key: string,
): string {
  return via === "channel"
    ? `send:${purpose}:${digits}:${key}`
    : `send:${purpose}:${digits}:fallback:${key}`;
}

/** Set when the main channel refused the phone itself: its sends go to the fallback for a while. */
export function unreachableKey(digits: string): string {
  return `unreachable:${digits}`;
}

/** Held while one instance polls the channel for a message. */
export function pollKey(messageId: string): string {
  return `poll:${messageId}`;
}

/** The job id of a queued send to a phone, until an update for the phone claims it. */
export function queuedPhoneKey(digits: string): string {
  return `queued:phone:${digits}`;
}

/** The job id a channel's message id was linked to. */
export function queuedMessageKey(messageId: string): string {
  return `queued:message:${messageId}`;
}

/**
 * The delivery flow: what happened to a sent message. Updates come from the channel's webhook
 * (read by the channel, so the engine sees only `DeliveryUpdate`s) or from polling in `status`;
 * each only moves a message forward, and a failure of the message carrying a pending code starts
 * the fallback.
 */

import type { WebhookRequest } from "../channel.js";
import type { DeliveryUpdate } from "../delivery-status.js";
import { isFailed, isFinal } from "../delivery-status.js";
import { OtpError } from "../errors.js";
import type { StatusOptions, StatusResult, WebhookResult } from "../otp.js";
import type { DeliveryRecord } from "../store/types.js";
import { type Engine, guard } from "./context.js";
import { fallbackLink, takeOver } from "./fallback.js";
import { readClient, readString } from "./input.js";
import { pollKey, queuedMessageKey, queuedPhoneKey } from "./keys.js";

const MAX_MESSAGE_ID = 256;

export async function status(
  engine: Engine,
  messageId: string,
  options: StatusOptions = {},
): Promise<StatusResult | null> {
  const { config, store, now } = engine;
  const id = readString(messageId, "messageId", MAX_MESSAGE_ID);
  const asking = readClient(config, options.client);
  let record = await guard(() => store.getDelivery(id, now()));
  if (record === null) return null;
  // A message sent for a client is that client's business alone.
  if (record.sender !== undefined && record.sender !== asking) return null;
  record = await refresh(engine, id, record);
  const channel = record.fallback ? config.fallback?.channel : config.channel;
  const link = config.fallback === undefined ? undefined : await fallbackLink(engine, id);
  return {
    status: record.status,
    updatedAt: new Date(record.updatedAt),
    channel: channel?.name ?? config.channel.name,
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(link === undefined ? {} : { fallback: link }),
  };
}

/**
 * A message's record brought up to date: with `delivery.poll`, its channel is asked (once per
 * interval across instances); then an overdue message is handed to the fallback, by any instance
 * asked about it (the timer of the instance that sent it may have died with its process).
 * `overdue` is for that timer, which measured the wait itself.
 */
async function refresh(
  engine: Engine,
  id: string,
  found: DeliveryRecord,
  overdue = false,
): Promise<DeliveryRecord> {
  const { config, store, now } = engine;
  let record = found;
  const channel = record.fallback ? config.fallback?.channel : config.channel;
  const worthAsking =
    !isFinal(record.status) && (record.expiresAt ?? Number.POSITIVE_INFINITY) > now();
  if (config.poll && channel?.poll && worthAsking) {
    const busy = await guard(() =>
      store.setIfAbsent(pollKey(id), "1", config.pollIntervalMs, now()),
    );
    if (busy === null) {
      const update = await channel.poll(id).catch(() => null);
      if (update !== null && update.messageId === id) {
        record = (await applyUpdate(engine, update))?.record ?? record;
      }
    }
  }
  void takeOver(engine, id, record, "timeout", overdue).catch(() => {});
  return record;
}

/**
 * Starts the wait for a `delivered` report of a message just sent, when the timeout trigger is on.
 * The timer lives in this process only (it never keeps the process alive); `status()` checks the
 * same deadline on any instance, so a client that keeps asking gets its fallback even if this
 * process stops.
 */
export function watchDelivery(engine: Engine, messageId: string): void {
  const timeoutMs = engine.config.fallback?.timeoutMs ?? 0;
  if (timeoutMs === 0) return;
  const timer = setTimeout(() => {
    void guard(() => engine.store.getDelivery(messageId, engine.now()))
      .then(async (record) => {
        if (record !== null) await refresh(engine, messageId, record, true);
      })
      .catch(() => {});
  }, timeoutMs);
  timer.unref?.();
}

export async function handleWebhook(
  engine: Engine,
  body: unknown,
  request?: WebhookRequest,
): Promise<WebhookResult> {
  const { config } = engine;
  let payload = body;
  if (payload instanceof URLSearchParams) payload = Object.fromEntries(payload);
  if (typeof payload === "string" || payload instanceof Uint8Array) {
    try {
      payload = JSON.parse(
        typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8"),
      );
    } catch {
      throw new OtpError("WEBHOOK_INVALID", "The webhook body is not JSON.");
    }
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new OtpError("WEBHOOK_INVALID", "The webhook body must be a JSON object.");
  }
  // Each channel reads its own provider's bodies, and an update counts only for a message of the
  // channel that read it: a body in one provider's format cannot move another's message (whose
  // provider may sign its webhooks).
  const readers = [config.channel, config.fallback?.channel].flatMap((channel, index) =>
    channel?.readWebhook === undefined
      ? []
      : [{ read: channel.readWebhook.bind(channel), fallback: index === 1 }],
  );
  if (readers.length === 0) {
    throw new OtpError(
      "WEBHOOK_INVALID",
      `The ${config.channel.name} channel does not take delivery webhooks.`,
    );
  }
  const updates = new Map<string, { update: DeliveryUpdate; readBy: Set<boolean> }>();
  for (const { read, fallback } of readers) {
    for (const update of read(payload as Record<string, unknown>, request)) {
      const key = JSON.stringify(update);
      const seen = updates.get(key) ?? { update, readBy: new Set<boolean>() };
      seen.readBy.add(fallback);
      updates.set(key, seen);
    }
  }
  const result: WebhookResult = { updated: 0, ignored: 0 };
  for (const { update, readBy } of updates.values()) {
    const applied =
      readBy.size === 2 || (await sentBy(engine, update, readBy))
        ? await applyUpdate(engine, update)
        : null;
    if (applied?.changed) result.updated += 1;
    else result.ignored += 1;
  }
  return result;
}

/**
 * Whether the update's message was sent by the channel that read it (`readBy`: read by the
 * fallback's reader, or the main one's). A message not tracked yet (a queued send's) is the main
 * channel's.
 */
async function sentBy(
  engine: Engine,
  update: DeliveryUpdate,
  readBy: Set<boolean>,
): Promise<boolean> {
  if (engine.config.fallback === undefined) return true;
  const record = await guard(() => engine.store.getDelivery(update.messageId, engine.now()));
  return readBy.has(record?.fallback === true);
}

/**
 * Moves a message forward. A failure of the message that carries the pending code starts the
 * fallback, which runs on its own so the webhook is answered at once.
 */
async function applyUpdate(
  engine: Engine,
  received: DeliveryUpdate,
): Promise<{ changed: boolean; record: DeliveryRecord } | null> {
  const { store } = engine;
  const at = engine.now();
  let update = received;
  let applied = await guard(() => store.advanceDelivery(update, at));
  if (applied === null) {
    // Perhaps the message of a queued send, known so far by its job id only.
    const jobId = await queuedMessageFor(engine, update);
    if (jobId === null) return null;
    update = { ...update, messageId: jobId };
    applied = await guard(() => store.advanceDelivery(update, at));
  }
  if (applied === null || !applied.changed) return applied;
  const { record } = applied;
  engine.emit({
    type: "delivery",
    at: new Date(record.updatedAt),
    messageId: update.messageId,
    status: record.status,
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(update.errorCode === undefined ? {} : { errorCode: update.errorCode }),
    ...(update.pricing === undefined ? {} : { pricing: update.pricing }),
  });
  if (isFailed(record.status)) {
    void takeOver(engine, update.messageId, record, "failed").catch(() => {});
  }
  return applied;
}

/**
 * The job id of the queued send an update belongs to. The first update that names a phone with a
 * queued send claims it, and its message id is remembered for the updates after it, so only one
 * message (the first after the send) is ever taken for the queued one.
 */
async function queuedMessageFor(engine: Engine, update: DeliveryUpdate): Promise<string | null> {
  const { config, store, now } = engine;
  const alias = queuedMessageKey(update.messageId);
  const known = await guard(() => store.get(alias, now()));
  if (known !== null || update.phone === undefined) return known;
  const waiting = queuedPhoneKey(update.phone);
  const jobId = await guard(() => store.get(waiting, now()));
  if (jobId === null) return null;
  const claimed = await guard(() => store.setIfAbsent(alias, jobId, config.deliveryTtlMs, now()));
  await engine.forget(waiting);
  return claimed ?? jobId;
}

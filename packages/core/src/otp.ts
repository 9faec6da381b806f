import { createHmac } from "node:crypto";
import type { Channel } from "./channel.js";
import { generateCode, hashCode } from "./code.js";
import { type DeliveryStatus, type DeliveryUpdate, isTerminal } from "./delivery.js";
import type { VerifyFailureReason } from "./error-codes.js";
import { isOtpError, OtpError } from "./errors.js";
import type { LimitName, OtpEvent } from "./events.js";
import { ipKey } from "./ip.js";
import { isPurpose, type OtpOptions, resolveOptions } from "./options.js";
import { maskPhone, type Phone, parsePhone } from "./phone.js";
import type { Bucket, DeliveryRecord, FailureBucket } from "./store/types.js";

export interface SendInput {
  /** The phone as typed: `+1 (415) 555-0101`, `00 44 20 7946 0958`, or national with `defaultCountry`. */
  phone: string;
  /**
   * The client's IP address, for the per-IP send limit. Without one (undefined or null), the send
   * counts in one bucket shared by every client the server cannot see, or is refused with
   * `CLIENT_UNKNOWN` (`limits.sendsPerIp.unknownIp`).
   */
  ip?: string | null;
  /** What the code is for (`login`, `register`, `step-up`, ...): a code only passes for its purpose. */
  purpose?: string;
  /**
   * A retried request with the same key (for the same phone and purpose, within the code's
   * lifetime) gets the first answer back instead of a second message.
   */
  idempotencyKey?: string;
  /**
   * An opaque id of whoever asks for the code (the HTTP adapters keep a random one in a cookie).
   * Once a `verify` with this id succeeded for the phone, the phone knows the client (30 days), and
   * its codes are bound to it: only a verify with the same `client` checks them, other clients'
   * sends neither replace them nor hold their cooldown and window, and a phone budget filled by
   * strangers still lets a fresh one take its first guess. Other clients share the phone's code.
   */
  client?: string;
}

export interface SendResult {
  /** The normalized phone, E.164 (`+14155550101`). */
  phone: string;
  messageId: string;
  expiresAt: Date;
  /** The earliest moment another code can be sent to this phone. */
  resendAt: Date;
}

export interface VerifyInput {
  phone: string;
  /** The code as typed; spaces and dashes are ignored. */
  code: string;
  purpose?: string;
  /** The client's IP address, for the per-client failure budget. */
  ip?: string | null;
  /** The `client` that asked for the code (see `SendInput.client`). */
  client?: string;
  /**
   * The id the client goes on with after a successful verify, remembered in place of `client`.
   * Adapters issue a new one at each sign-in, so an id planted in a browser beforehand (a cookie
   * set from a sibling subdomain) never becomes known. @default client
   */
  nextClient?: string;
}

export type VerifyResult =
  | { ok: true; phone: string; purpose: string }
  | {
      ok: false;
      reason: VerifyFailureReason;
      /** Wrong guesses left for this code (after `INVALID_CODE`). */
      attemptsLeft?: number;
      /** Seconds until the phone may try again (after `TOO_MANY_ATTEMPTS` from the failure budget). */
      retryAfter?: number;
    };

export interface StatusResult {
  status: DeliveryStatus;
  updatedAt: Date;
  error?: string;
}

export interface StatusOptions {
  /**
   * The `client` asking. A message sent for a client is shown to that client only: for anyone
   * else it is unknown (null).
   */
  client?: string;
}

export interface WebhookResult {
  /** Entries that moved a message forward. */
  updated: number;
  /** Entries that were duplicates, stale, for unknown messages, or not delivery updates. */
  ignored: number;
}

export interface Otp {
  /** Sends a new code, replacing any code still pending for the same phone and purpose. */
  send(input: SendInput): Promise<SendResult>;
  /** Checks a code, atomically: a wrong code is a result, not an error. */
  verify(input: VerifyInput): Promise<VerifyResult>;
  /** The delivery state of a message sent by `send`, or null when it is unknown or forgotten. */
  status(messageId: string, options?: StatusOptions): Promise<StatusResult | null>;
  /** Applies a 1MSG webhook body (`ack[]` and/or `hooks[]`); safe to call twice with the same body. */
  handleWebhook(body: unknown): Promise<WebhookResult>;
}

type SendPlan = { bucket: Bucket; limit: LimitName; perPhone: boolean }[];

const MAX_IDEMPOTENCY_KEY = 200;
// The per-IP bucket of every client whose address is unknown; no address can take this form.
const UNKNOWN_CLIENT = "unknown";
const PENDING = "pending";

/**
 * Creates the OTP engine. Options are checked here, so a misconfiguration fails at start-up with
 * a `CONFIG_INVALID` error that says what to fix.
 *
 * @example
 * const otp = createOtp({ secret: process.env.WAOTP_SECRET, channel: oneMsg({ ... }) });
 * const { messageId } = await otp.send({ phone: "+1 415 555 0101", ip: req.ip });
 * const result = await otp.verify({ phone: "+1 415 555 0101", code: "123456" });
 */
export function createOtp(options: OtpOptions): Otp {
  const config = resolveOptions(options);
  const { store, now } = config;

  function emit(event: OtpEvent): void {
    if (config.onEvent === undefined) return;
    try {
      Promise.resolve(config.onEvent(event)).catch(() => {});
    } catch {
      // An observer's failure must never change the outcome of a call.
    }
  }

  async function send(input: SendInput): Promise<SendResult> {
    const request = readObject(input, "send");
    const phone = allowedPhone(request.phone);
    const purpose = readPurpose(request.purpose);
    const ip = clientKey(request.ip);
    const client = clientTag(request.client);
    const started = now();
    const base = { phone: maskPhone(phone.digits), purpose };

    let idempotency: string | undefined;
    if (request.idempotencyKey !== undefined) {
      const key = readString(request.idempotencyKey, "idempotencyKey", MAX_IDEMPOTENCY_KEY);
      idempotency = `send:${purpose}:${phone.digits}:${key}`;
      const earlier = await guard(() =>
        store.setIfAbsent(idempotency as string, PENDING, config.ttlMs, started),
      );
      if (earlier === PENDING) {
        throw new OtpError(
          "IDEMPOTENCY_CONFLICT",
          "A send with this idempotency key is still in progress.",
        );
      }
      if (earlier !== null) return reviveSendResult(earlier);
    }

    let result: SendResult;
    try {
      result = await sendNow(phone, purpose, ip, client, started, base);
    } catch (error) {
      if (idempotency !== undefined) await forget(idempotency);
      throw error;
    }
    if (idempotency !== undefined) {
      // The message is out: failing to remember it must not turn the send into an error.
      const key = idempotency;
      await Promise.resolve()
        .then(() => store.set(key, JSON.stringify(result), config.ttlMs, started))
        .catch(() => forget(key));
    }
    return result;
  }

  async function sendNow(
    phone: Phone,
    purpose: string,
    ip: string | undefined,
    client: string | undefined,
    started: number,
    base: { phone: string; purpose: string },
  ): Promise<SendResult> {
    // A client that signed in to this phone before gets a code bound to it, outside the phone's
    // shared cooldown and window: strangers can neither replace it, nor guess at it, nor keep the
    // owner from getting one. Any other client shares the phone's (and its codes).
    const bound =
      client !== undefined &&
      (await guard(() => store.get(knownKey(phone.digits, client), started))) !== null
        ? client
        : undefined;
    const plan = sendBuckets(phone, ip, bound);
    const { taken, refused } = await takeSends(plan, started, base);
    if (refused) {
      throw new OtpError("RATE_LIMITED", rateLimitMessage(refused.limit, refused.retryAfter), {
        retryAfter: refused.retryAfter,
        details: { limit: refused.limit },
      });
    }
    // The phone can receive again once every per-phone bucket has room.
    let resendAt = started;
    plan.forEach((p, i) => {
      const state = taken.buckets[i];
      if (p.perPhone && state !== undefined && state.remaining <= 0) {
        resendAt = Math.max(resendAt, state.resetAt);
      }
    });

    let delivered: Awaited<ReturnType<typeof deliverCode>>;
    try {
      delivered = await deliverCode(
        config.channel,
        { phone, purpose, ip, client: bound, sender: client },
        started,
      );
    } catch (error) {
      throw isUncertain(error) ? uncertainSendError(error, resendAt, now()) : error;
    }
    if (delivered === null) {
      throw new OtpError(
        "STORE_UNAVAILABLE",
        "The code store did not save the code; try again shortly.",
      );
    }
    const { messageId, expiresAt } = delivered;
    emit({
      type: "sent",
      at: new Date(now()),
      ...base,
      messageId,
      channel: config.channel.name,
      expiresAt: new Date(expiresAt),
    });
    return {
      phone: phone.e164,
      messageId,
      expiresAt: new Date(expiresAt),
      resendAt: new Date(resendAt),
    };
  }

  /** Counts a send in every bucket of the plan, or reports which limit refused it and for how long. */
  async function takeSends(
    plan: SendPlan,
    started: number,
    base: { phone: string; purpose: string },
  ) {
    const taken = await guard(() =>
      store.take(
        plan.map((p) => p.bucket),
        started,
      ),
    );
    if (taken.ok) return { taken };
    const limit = plan.find((p) => p.bucket.key === taken.key)?.limit ?? "phone_window";
    const retryAfter = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
    emit({ type: "limited", at: new Date(started), ...base, limit, retryAfter });
    return { refused: { limit, retryAfter } };
  }

  function sendBuckets(phone: Phone, ip: string | undefined, client: string | undefined): SendPlan {
    const plan: SendPlan = [];
    const add = (limit: LimitName, key: string, max: number, windowMs: number, perPhone: boolean) =>
      plan.push({ bucket: { key, limit: max, windowMs }, limit, perPhone });
    // A bound client has its own cooldown and window: other clients' sends must not hold them.
    const own = client === undefined ? "" : `:${client}`;
    if (config.phoneCooldownMs > 0) {
      add("phone_cooldown", `send:cooldown:${phone.digits}${own}`, 1, config.phoneCooldownMs, true);
    }
    if (config.sendsPerPhone) {
      const { max, windowMs } = config.sendsPerPhone;
      add("phone_window", `send:phone:${phone.digits}${own}`, max, windowMs, true);
      // Every send to the phone, bound or not, under a ceiling the shared window alone cannot
      // reach: strangers cannot fill it, and many known clients of one phone cannot pump it.
      const ceiling = max * PHONE_CEILING_FACTOR;
      add("phone_window", `send:phone:all:${phone.digits}`, ceiling, windowMs, true);
    }
    // A bound client is counted apart from its address: strangers behind the same NAT cannot use
    // up the owner's sends.
    if (ip !== undefined && config.sendsPerIp) {
      const { max, windowMs } = config.sendsPerIp;
      add("ip_window", `send:ip:${ip}${own}`, max, windowMs, false);
    }
    if (config.globalSends) {
      const { max, windowMs } = config.globalSends;
      add("global_window", "send:global", max, windowMs, false);
    }
    return plan;
  }

  async function verify(input: VerifyInput): Promise<VerifyResult> {
    const request = readObject(input, "verify");
    const phone = parsePhone(request.phone, config.defaultCountry);
    const purpose = readPurpose(request.purpose);
    const code = readCode(request.code, config.codeLength);
    const ip =
      request.ip === undefined || request.ip === null || config.failuresPerIp === undefined
        ? undefined
        : ipKey(readString(request.ip, "ip", 64), config.failuresPerIp.ipv6PrefixLength);
    const client = clientTag(request.client);
    const nextClient = request.nextClient === undefined ? client : clientTag(request.nextClient);
    const at = now();
    const base = { phone: maskPhone(phone.digits), purpose };
    const failures = failureBuckets(phone, ip, false);
    const hash = hashCode(config.key, purpose, phone.digits, code);
    let known: boolean | undefined;
    const isKnown = async () => {
      if (client === undefined) return false;
      known ??= (await guard(() => store.get(knownKey(phone.digits, client), at))) !== null;
      return known;
    };
    const attempt = async (key: string) => {
      const judge = (spare: boolean) =>
        guard(() =>
          store.attempt({
            key,
            hash,
            now: at,
            failures: failureBuckets(phone, ip, spare).map((f) => f.bucket),
          }),
        );
      const first = await judge(false);
      // A full phone or address budget still lets a client that signed in to this phone before
      // use a fresh code of its own: strangers filling them cannot lock the owner out. Wrong spared
      // guesses have a small budget of their own, so even a planted client id gains little.
      if (
        first.outcome === "blocked" &&
        failures.some((f) => f.bucket.key === first.key) &&
        (await isKnown())
      ) {
        // Checked before judging, counted only for a wrong guess: the owner's right ones are free.
        // Per known client: an old id someone kept cannot spend the budget of the owner's others.
        const spared = {
          key: `verify:spared:${phone.digits}:${client}`,
          limit: SPARED_PER_DAY,
          windowMs: DAY_MS,
        };
        const room = await guard(() => store.take([{ ...spared, peek: true }], at));
        if (room.ok) {
          const second = await judge(true);
          if (second.outcome === "mismatch") await guard(() => store.take([spared], at));
          return second;
        }
      }
      return first;
    };
    // A known client's code is bound to it; anyone else's is the phone's shared one.
    let result =
      client === undefined ? undefined : await attempt(challengeKey(purpose, phone, client));
    if (result === undefined || result.outcome === "missing") {
      result = await attempt(challengeKey(purpose, phone));
    }
    const reject = (
      reason: VerifyFailureReason,
      extra: { attemptsLeft?: number; retryAfter?: number } = {},
    ) => {
      emit({ type: "rejected", at: new Date(at), ...base, reason, ...extra });
      return { ok: false as const, reason, ...extra };
    };
    switch (result.outcome) {
      case "match":
        if (nextClient !== undefined) {
          // A failure to remember must not fail a sign-in that succeeded.
          await rememberClient(phone, client, nextClient, at).catch(() => {});
        }
        emit({ type: "verified", at: new Date(at), ...base });
        return { ok: true, phone: phone.e164, purpose };
      case "mismatch":
        return reject("INVALID_CODE", { attemptsLeft: result.attemptsLeft });
      case "locked":
        return reject("TOO_MANY_ATTEMPTS");
      case "blocked": {
        const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
        const limit = failures.find((f) => f.bucket.key === result.key)?.limit ?? "phone_failures";
        emit({ type: "limited", at: new Date(at), ...base, limit, retryAfter });
        return reject("TOO_MANY_ATTEMPTS", { retryAfter });
      }
      case "expired":
        return reject("EXPIRED");
      case "missing":
        return reject("NO_PENDING_CODE");
    }
  }

  /**
   * The budgets a wrong guess counts in: the phone's, which with `spare` lets a fresh code take its
   * first guess even when full, and the guessing client's, which stops a client spreading guesses
   * over many phones.
   */
  function failureBuckets(phone: Phone, ip: string | undefined, spare: boolean) {
    const buckets: { bucket: FailureBucket; limit: LimitName }[] = [];
    if (config.failuresPerPhone) {
      const { max, windowMs } = config.failuresPerPhone;
      buckets.push({
        bucket: { key: failureKey(phone), limit: max, windowMs, sparesFirstGuess: spare },
        limit: "phone_failures",
      });
    }
    if (ip !== undefined && config.failuresPerIp) {
      const { max, windowMs } = config.failuresPerIp;
      buckets.push({
        bucket: { key: `verify:failures:ip:${ip}`, limit: max, windowMs, sparesFirstGuess: spare },
        limit: "ip_failures",
      });
    }
    return buckets;
  }

  /**
   * Makes `next` known to this phone, and to every phone `previous` was known to (its id is being
   * replaced, not its standing); `previous` is then forgotten, so a copy of the old id is a stranger.
   * Each client's phones are listed under one key, at most `MAX_KNOWN_PHONES` of them.
   */
  async function rememberClient(
    phone: Phone,
    previous: string | undefined,
    next: string,
    at: number,
  ): Promise<void> {
    const listed = (id: string) =>
      store.get(`known:client:${id}`, at).then((raw) => (raw ? (JSON.parse(raw) as string[]) : []));
    const carried = previous !== undefined && previous !== next ? await listed(previous) : [];
    const phones = [...new Set([phone.digits, ...(await listed(next)), ...carried])].slice(
      0,
      MAX_KNOWN_PHONES,
    );
    for (const digits of phones) {
      const known = previous === undefined ? null : await store.get(knownKey(digits, previous), at);
      if (digits === phone.digits || known !== null) {
        await store.set(knownKey(digits, next), "1", KNOWN_CLIENT_MS, at);
      }
      if (previous !== undefined && previous !== next) await forget(knownKey(digits, previous));
    }
    await store.set(`known:client:${next}`, JSON.stringify(phones), KNOWN_CLIENT_MS, at);
    if (previous !== undefined && previous !== next) await forget(`known:client:${previous}`);
  }

  /** A requester id as the store sees it: keyed, so a cookie's value never becomes a store key. */
  function clientTag(value: unknown): string | undefined {
    if (value === undefined) return undefined;
    const client = readString(value, "client", 200);
    return createHmac("sha256", config.key)
      .update(`waotp:client\0${client}`)
      .digest("base64url")
      .slice(0, 22);
  }

  async function status(
    messageId: string,
    options: StatusOptions = {},
  ): Promise<StatusResult | null> {
    const id = readString(messageId, "messageId", 256);
    const asking = clientTag(options.client);
    let record = await guard(() => store.getDelivery(id, now()));
    if (record === null) return null;
    if (record.sender !== undefined && record.sender !== asking) return null;
    const channel = record.fallback ? config.fallback : config.channel;
    const worthAsking =
      !isTerminal(record.status) &&
      record.status !== "read" &&
      (record.expiresAt ?? Number.POSITIVE_INFINITY) > now();
    if (config.poll && channel?.poll && worthAsking) {
      // One poll per message per interval, across every instance sharing the store.
      const busy = await guard(() =>
        store.setIfAbsent(`poll:${id}`, "1", config.pollIntervalMs, now()),
      );
      if (busy === null) {
        const update = await channel.poll(id).catch(() => null);
        if (update !== null && update.messageId === id) {
          record = (await applyUpdate(update))?.record ?? record;
        }
      }
    }
    return {
      status: record.status,
      updatedAt: new Date(record.updatedAt),
      ...(record.error === undefined ? {} : { error: record.error }),
    };
  }

  /**
   * Moves a message forward. A failure of the message that carries the pending code starts the
   * fallback, which runs on its own so the webhook is answered at once.
   */
  async function applyUpdate(received: DeliveryUpdate) {
    const at = now();
    let update = received;
    let applied = await guard(() => store.advanceDelivery(update, at));
    if (applied === null) {
      // Perhaps the message of a queued send, known so far by its job id only.
      const jobId = await queuedMessageFor(update);
      if (jobId === null) return null;
      update = { ...update, messageId: jobId };
      applied = await guard(() => store.advanceDelivery(update, at));
    }
    if (applied === null || !applied.changed) return applied;
    const { record } = applied;
    emit({
      type: "delivery",
      at: new Date(record.updatedAt),
      messageId: update.messageId,
      status: record.status,
      ...(record.error === undefined ? {} : { error: record.error }),
      ...(update.errorCode === undefined ? {} : { errorCode: update.errorCode }),
    });
    const { phone, purpose, hash, ip, client, sender, expiresAt = 0 } = record;
    if (
      isTerminal(record.status) &&
      config.fallback !== undefined &&
      !record.fallback &&
      phone !== undefined &&
      purpose !== undefined &&
      hash !== undefined &&
      expiresAt > at
    ) {
      const failed = { phone, purpose, hash, ip, client, sender };
      void sendFallback(config.fallback, update.messageId, failed).catch(() => {});
    }
    return applied;
  }

  /**
   * The job id of the queued send an update belongs to. The first update that names a phone with a
   * queued send claims it, and its message id is remembered for the updates after it, so only one
   * message (the first after the send) is ever taken for the queued one.
   */
  async function queuedMessageFor(update: DeliveryUpdate): Promise<string | null> {
    const alias = `queued:message:${update.messageId}`;
    const known = await guard(() => store.get(alias, now()));
    if (known !== null || update.phone === undefined) return known;
    const waiting = `queued:phone:${update.phone}`;
    const jobId = await guard(() => store.get(waiting, now()));
    if (jobId === null) return null;
    const claimed = await guard(() => store.setIfAbsent(alias, jobId, config.deliveryTtlMs, now()));
    await forget(waiting);
    return claimed ?? jobId;
  }

  /**
   * Makes a code, stores its hash and hands it to a channel. Stored before sending, so a code never
   * reaches a phone without being verifiable. It replaces the pending code; with `replaces`, only if
   * the pending code is still that one (and otherwise sends nothing and answers null). `ip` is the
   * requesting client's bucket, kept so a fallback send is charged to the same client; `client`
   * the requester the code is bound to.
   */
  async function deliverCode(
    channel: Channel,
    to: {
      phone: Phone;
      purpose: string;
      ip: string | undefined;
      client: string | undefined;
      sender: string | undefined;
    },
    started: number,
    replaces?: string,
  ) {
    const { phone, purpose, ip, client, sender } = to;
    const code = generateCode(config.codeLength, config.random);
    const expiresAt = started + config.ttlMs;
    const hash = hashCode(config.key, purpose, phone.digits, code);
    const challenge = { hash, expiresAt, attempts: 0, maxAttempts: config.attemptsPerCode };
    const stored = await guard(() =>
      store.putChallenge(challengeKey(purpose, phone, client), challenge, started, replaces),
    );
    if (!stored) return null;
    let messageId: string;
    let queued: boolean | undefined;
    try {
      ({ messageId, queued } = await channel.send({
        phone: phone.digits,
        code,
        purpose,
        expiresAt: new Date(expiresAt),
        ttlSeconds: config.ttlMs / 1000,
      }));
      if (typeof messageId !== "string" || messageId.length === 0) {
        throw new Error("the channel returned no message id");
      }
    } catch (cause) {
      const error = channelError(cause, channel.name, code);
      emit({
        type: "send_failed",
        at: new Date(now()),
        phone: maskPhone(phone.digits),
        purpose,
        error: error.code,
        message: error.message,
        ...(isUncertain(error) ? { uncertain: true } : {}),
      });
      throw error;
    }
    // What a fallback needs to resend is kept only when there is a fallback: memory per pending code.
    const record: DeliveryRecord = {
      status: "accepted",
      updatedAt: now(),
      expiresAt,
      ...(config.fallback === undefined
        ? {}
        : { phone: phone.digits, purpose, hash, ...(ip === undefined ? {} : { ip }) }),
      ...(client === undefined ? {} : { client }),
      ...(sender === undefined ? {} : { sender }),
      ...(replaces === undefined ? {} : { fallback: true }),
    };
    // The message is out and its code is stored: failing to track its delivery only costs status().
    await Promise.resolve()
      .then(async () => {
        await store.putDelivery(messageId, record, config.deliveryTtlMs);
        if (queued === true) {
          await store.set(`queued:phone:${phone.digits}`, messageId, config.ttlMs, started);
        }
      })
      .catch(() => {});
    return { messageId, expiresAt };
  }

  /**
   * Sends a fresh code through the fallback channel, in place of a failed message's code if that is
   * still the pending one. It counts against the phone's and the app's send windows (not the
   * cooldown, which the failed send just started).
   */
  async function sendFallback(
    channel: Channel,
    failedId: string,
    failed: {
      phone: string;
      purpose: string;
      hash: string;
      ip: string | undefined;
      client: string | undefined;
      sender: string | undefined;
    },
  ) {
    const { purpose } = failed;
    const phone = parsePhone(`+${failed.phone}`);
    const base = { phone: maskPhone(failed.phone), purpose };
    const started = now();
    // Charged to the client that asked for the failed code (the shared bucket if it is unknown).
    const ip = config.sendsPerIp === undefined ? undefined : (failed.ip ?? UNKNOWN_CLIENT);
    const plan = sendBuckets(phone, ip, failed.client).filter((p) => p.limit !== "phone_cooldown");
    if ((await takeSends(plan, started, base)).refused) return;
    const to = { phone, purpose, ip, client: failed.client, sender: failed.sender };
    const sent = await deliverCode(channel, to, started, failed.hash);
    if (sent === null) return;
    emit({
      type: "fallback",
      at: new Date(now()),
      ...base,
      messageId: failedId,
      fallbackMessageId: sent.messageId,
      channel: channel.name,
    });
  }

  async function handleWebhook(body: unknown): Promise<WebhookResult> {
    let payload = body;
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
    const reader = config.channel.readWebhook ?? config.fallback?.readWebhook;
    if (reader === undefined) {
      throw new OtpError(
        "WEBHOOK_INVALID",
        `The ${config.channel.name} channel does not take delivery webhooks.`,
      );
    }
    const result: WebhookResult = { updated: 0, ignored: 0 };
    for (const update of reader(payload as Record<string, unknown>)) {
      const applied = await applyUpdate(update);
      if (applied?.changed) result.updated += 1;
      else result.ignored += 1;
    }
    return result;
  }

  async function forget(key: string): Promise<void> {
    await Promise.resolve()
      .then(() => store.delete(key))
      .catch(() => {});
  }

  function allowedPhone(value: unknown): Phone {
    const phone = parsePhone(value, config.defaultCountry);
    const allowed = config.countries;
    if (
      allowed !== undefined &&
      !allowed.callingCodes.has(phone.callingCode) &&
      !(phone.country !== undefined && allowed.regions.has(phone.country))
    ) {
      throw new OtpError("COUNTRY_NOT_ALLOWED", "Codes cannot be sent to numbers in this country.");
    }
    return phone;
  }

  /**
   * The per-IP bucket's key for a client: its address (IPv6 by prefix), or one shared key for
   * every client whose address the server could not read.
   */
  function clientKey(value: unknown): string | undefined {
    const limit = config.sendsPerIp;
    if (limit === undefined) return undefined;
    if (value !== undefined && value !== null) {
      return ipKey(readString(value, "ip", 64), limit.ipv6PrefixLength);
    }
    if (limit.unknownIp === "refuse") {
      throw new OtpError(
        "CLIENT_UNKNOWN",
        "The client's address is unknown, so no code is sent. The server must be set up to read it behind its proxy.",
      );
    }
    return UNKNOWN_CLIENT;
  }

  function readPurpose(value: unknown): string {
    if (value === undefined) return config.defaultPurpose;
    if (!isPurpose(value)) {
      throw new OtpError(
        "INVALID_INPUT",
        "`purpose` must be 1 to 32 letters, digits, '_', '.' or '-'.",
      );
    }
    return value;
  }

  return { send, verify, status, handleWebhook };
}

function challengeKey(purpose: string, phone: Phone, client?: string): string {
  return client === undefined
    ? `${purpose}:${phone.digits}`
    : `${purpose}:${phone.digits}:${client}`;
}

const DAY_MS = 86_400_000;
// How long a client that signed in stays known to its phone.
const KNOWN_CLIENT_MS = 30 * DAY_MS;
// Phones one client is known to at most (a shared family tablet; more are dropped).
const MAX_KNOWN_PHONES = 20;
// Wrong guesses per known client and phone per day that a full budget lets through for its fresh codes.
const SPARED_PER_DAY = 10;
// Sends to one phone in a window, across all its clients, as a multiple of the shared window.
const PHONE_CEILING_FACTOR = 4;

function knownKey(digits: string, client: string): string {
  return `known:${digits}:${client}`;
}

function failureKey(phone: Phone): string {
  return `verify:failures:${phone.digits}`;
}

/**
 * The error `send` throws for a channel failure. A channel's own `OtpError` passes through unless it
 * mentions the code; anything else becomes `SEND_FAILED`, keeping as cause only a copy whose message
 * has the code taken out, since loggers print causes.
 */
function channelError(cause: unknown, channel: string, code: string): OtpError {
  const scrub = (text: string) => text.split(code).join("[redacted]");
  if (isOtpError(cause) && !`${cause.message}${JSON.stringify(cause)}`.includes(code)) return cause;
  const message = isOtpError(cause)
    ? scrub(cause.message)
    : `The ${channel} channel could not send the code.`;
  const original = cause instanceof Error ? cause : new Error(String(cause));
  const safeCause = new Error(scrub(original.message));
  safeCause.name = original.name;
  return new OtpError("SEND_FAILED", message, {
    cause: safeCause,
    ...(isUncertain(cause) ? { details: { delivery: "unknown" } } : {}),
    ...(isOtpError(cause) && cause.retryAfter !== undefined
      ? { retryAfter: cause.retryAfter }
      : {}),
  });
}

/** Whether a channel's failure may have come after the message went out (see `Channel`). */
function isUncertain(error: unknown): boolean {
  const { uncertain, details } = (error ?? {}) as { uncertain?: unknown; details?: unknown };
  return (
    uncertain === true || (details as { delivery?: unknown } | undefined)?.delivery === "unknown"
  );
}

/**
 * The error for a send whose message may still arrive: the code stays valid, and the caller learns
 * when a new code can be asked for (the cooldown the send started), rather than a bare failure.
 */
function uncertainSendError(error: unknown, resendAt: number, at: number): OtpError {
  const cause = error as OtpError;
  return new OtpError("SEND_FAILED", cause.message, {
    retryAfter: Math.max(cause.retryAfter ?? 0, Math.ceil((resendAt - at) / 1000)),
    details: { ...cause.details, delivery: "unknown" },
    cause,
  });
}

/** Runs a store call; any failure becomes `STORE_UNAVAILABLE`, so no limit is ever skipped. */
async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (cause) {
    throw new OtpError("STORE_UNAVAILABLE", "The code store is unavailable; try again shortly.", {
      cause,
    });
  }
}

function readObject<T extends object>(input: T, method: string): Record<keyof T, unknown> {
  if (typeof input !== "object" || input === null) {
    throw new OtpError("INVALID_INPUT", `${method}() takes an object such as { phone }.`);
  }
  return input as Record<keyof T, unknown>;
}

function readString(value: unknown, name: string, maxLength: number): string {
  if (typeof value !== "string" || value.length === 0 || value.length > maxLength) {
    throw new OtpError(
      "INVALID_INPUT",
      `\`${name}\` must be a string of 1 to ${maxLength} characters.`,
    );
  }
  return value;
}

/** A code as typed, without the spaces or dashes people add; anything but `length` digits is refused. */
function readCode(value: unknown, length: number): string {
  const code = typeof value === "string" && value.length <= 64 ? value.replace(/[\s-]/g, "") : "";
  if (code.length !== length || !/^[0-9]+$/.test(code)) {
    throw new OtpError("INVALID_INPUT", `\`code\` must be ${length} digits.`);
  }
  return code;
}

function reviveSendResult(stored: string): SendResult {
  const value = JSON.parse(stored) as {
    phone: string;
    messageId: string;
    expiresAt: string;
    resendAt: string;
  };
  return {
    phone: value.phone,
    messageId: value.messageId,
    expiresAt: new Date(value.expiresAt),
    resendAt: new Date(value.resendAt),
  };
}

function rateLimitMessage(limit: LimitName, retryAfter: number): string {
  const wait = `Try again in ${retryAfter} s.`;
  switch (limit) {
    case "phone_cooldown":
      return `A code was just sent to this phone. ${wait}`;
    case "phone_window":
      return `Too many codes were sent to this phone. ${wait}`;
    case "phone_failures":
    case "ip_failures":
      return `Too many wrong codes were entered. ${wait}`;
    case "ip_window":
      return `Too many codes were requested from this address. ${wait}`;
    case "global_window":
      return `The service is sending too many codes right now. ${wait}`;
  }
}

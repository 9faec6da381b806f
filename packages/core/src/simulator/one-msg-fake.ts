/**
 * The 1MSG fake behind the simulator and the msw handlers. Long because it plays one whole API
 * (sending, templates, webhooks list, settings, status, hookInfo, injected faults) over one shared
 * state; each route is a short function below, and each shape it answers names its source.
 */
import { randomBytes } from "node:crypto";
import { canAdvance, type DeliveryStatus } from "../delivery-status.js";
import { isOneMsgInboxWebhook } from "../one-msg/webhook-list.js";
import { createMailbox } from "./mailbox.js";

export interface FakeTemplate {
  name: string;
  namespace: string;
  language: string;
  /** `OTP` is the older name of `AUTHENTICATION` (SDK-OLD). */
  category: "AUTHENTICATION" | "OTP" | "MARKETING" | "UTILITY";
  /** Lower case, as 1MSG lists it (SDK-OLD, LIVE, N8N). */
  status: "approved" | "pending" | "rejected";
  /** Body text with `{{1}}` where the code goes. */
  body: string;
  /** Whether the template has a button that carries the code; `false` lists no button. */
  copyCodeButton: boolean;
  /**
   * How `GET /templates` lists that button: `otp` is `{ type: "OTP", otp_type: "COPY_CODE" }`, `url`
   * is Meta's URL form (`otp_type=COPY_CODE` inside `url`), `one_tap` and `zero_tap` are autofill
   * buttons (OTP form). @default "otp"
   */
  button?: "otp" | "url" | "one_tap" | "zero_tap";
  /** The button's label, in the template's language. @default "Copy code" */
  buttonText?: string;
}

export const DEFAULT_TEMPLATE: FakeTemplate = {
  name: "waotp_code",
  namespace: "waotp_simulator",
  language: "en",
  category: "AUTHENTICATION",
  status: "approved",
  body: "{{1}} is your verification code. For your security, do not share this code with anyone.",
  copyCodeButton: true,
};

/**
 * `DEFAULT_TEMPLATE` approved in three languages (one entry per language, as 1MSG lists them), for
 * trying a send's `locale`: `en`, `pt_BR` and `es`.
 */
export const TRANSLATED_TEMPLATES: readonly FakeTemplate[] = [
  DEFAULT_TEMPLATE,
  {
    ...DEFAULT_TEMPLATE,
    language: "pt_BR",
    body: "{{1}} é o seu código de verificação. Por segurança, não o compartilhe com ninguém.",
    buttonText: "Copiar código",
  },
  {
    ...DEFAULT_TEMPLATE,
    language: "es",
    body: "{{1}} es tu código de verificación. Por seguridad, no lo compartas con nadie.",
    buttonText: "Copiar código",
  },
];

/**
 * Phone numbers whose WhatsApp fails in the fake, to see a fallback at work. Both are valid numbers
 * (libphonenumber) in the +1 415 555 01xx range kept for fiction; every other number behaves as usual.
 */
export const FAILING_PHONES = {
  /** Refused at once: `sent: false` with "(#131026) Message undeliverable" (not a WhatsApp user). */
  refused: "+14155550150",
  /** Taken (`sent: true`), then reported `failed` with "(#131026) Message undeliverable". */
  failed: "+14155550151",
} as const;

/** What 1MSG says of a phone WhatsApp cannot reach (Meta's error 131026). */
const UNDELIVERABLE = "(#131026) Message undeliverable";

export interface OneMsgFakeOptions {
  /** @default "sim-channel" */
  channelId?: string;
  /** @default "sim-token" */
  token?: string;
  /** @default [DEFAULT_TEMPLATE] */
  templates?: readonly FakeTemplate[];
  /**
   * Milliseconds after a send at which each delivery state is reported; `false` skips it.
   * @default { sent: 30, delivered: 120, read: false }
   */
  acks?: { sent?: number | false; delivered?: number | false; read?: number | false };
  /** The array name delivery webhooks use: 1MSG sends `ack`, its guide says `hooks`. @default "ack" */
  webhookKey?: "ack" | "hooks";
  /**
   * The channel's `rawHooks` setting: delivery webhooks in Meta's own format
   * (`entry[].changes[].value.statuses[]`) instead of 1MSG's `ack[]`. Also set by
   * `POST /settings { rawHooks }`. @default false
   */
  rawHooks?: boolean;
  /** Webhook URLs registered from the start, after 1MSG's own inbox webhook. */
  webhookUrls?: string[];
  /**
   * Whether the channel starts with 1MSG's own inbox webhook ({@link ONEMSG_INBOX_WEBHOOK}) on its
   * list, as every live channel does. The fake never posts to it. @default true
   */
  inboxWebhook?: boolean;
  /** What `GET /status` says. @default "connected" */
  channelStatus?: "connected" | "connecting" | "disconnected" | "uninitialized" | "unregistered";
  /**
   * Numbers (E.164 or digits) whose sends 1MSG refuses (`refused`) or takes and then reports
   * failed (`failed`), both with "(#131026) Message undeliverable". `false` lets every number through.
   * @default { refused: [FAILING_PHONES.refused], failed: [FAILING_PHONES.failed] }
   */
  failingPhones?: { refused?: readonly string[]; failed?: readonly string[] } | false;
}

/**
 * 1MSG's own agent-inbox webhook, which every live channel has on its webhook list (LIVE). The fake
 * lists it but never posts to it: it is 1MSG-internal.
 */
export const ONEMSG_INBOX_WEBHOOK =
  "https://app.1msg.io/service/service_core/whatsapp/webhook/4711";

/** The webhook URLs the fake posts acks to: all but 1MSG's own inbox, which is not reachable here. */
const postable = (urls: readonly string[]) => urls.filter((url) => !isOneMsgInboxWebhook(url));

/** Templates per page of `GET /templates` when the request gives no `limit`. */
const TEMPLATE_PAGE_SIZE = 20;

/** A message the fake accepted, as the phone would show it. */
export interface FakeMessage {
  id: string;
  /** Marks a WhatsApp message among the SMS in the simulator's inbox. */
  channel: "whatsapp";
  /** Digits, as sent. */
  phone: string;
  template: string;
  /** The template's language, as sent (`pt_BR`). */
  language: string;
  /** The code from the body parameter. */
  code: string;
  /** The body as WhatsApp renders it. */
  text: string;
  /** The copy-code button's label. */
  button: string;
  status: DeliveryStatus;
  history: { status: DeliveryStatus; timestamp: number; error?: string }[];
  ttlSeconds?: number;
  createdAt: Date;
}

/** A fault the fake plays instead of its normal answer. */
export type FakeFault =
  /** An HTTP error; with `echo`, its message repeats the code it was sent, as careless APIs do. */
  | { kind: "http"; status: number; body?: unknown; retryAfter?: number; echo?: boolean }
  /** Answers after `ms` (longer than the client's timeout, to test timeouts). */
  | { kind: "slow"; ms: number }
  | { kind: "sent_false"; message?: string }
  /** A 200 with a body that is not JSON. */
  | { kind: "garbage" }
  /** Accepts the send, then reports a failed delivery. */
  | { kind: "fail_delivery"; error?: string }
  /**
   * Takes the message (it reaches the phone), then answers an HTTP error anyway: a 5xx after the
   * message went out, which 1MSG's reliability guide warns of. Retrying it would send a second code.
   */
  | { kind: "http_after_send"; status: number }
  /**
   * Queues the send: answers `sent: false` with a `jobId` (1MSG's OpenAPI files and guides), and
   * sends the message `delayMs` later under a message id of its own; its acks name the phone.
   */
  | { kind: "queued"; delayMs?: number };

export interface OneMsgFake {
  readonly channelId: string;
  readonly token: string;
  /** The first template: what a client should be configured with. */
  readonly template: FakeTemplate;
  readonly messages: readonly FakeMessage[];
  readonly webhookUrls: readonly string[];
  /** Requests received, by path (`sendTemplate`, `hookInfo`, ...). */
  readonly calls: Record<string, number>;
  /** Answers one request as 1MSG would. */
  handle(request: Request): Promise<Response>;
  /** Plays `fault` for the next `times` `sendTemplate` calls. */
  inject(fault: FakeFault, times?: number): void;
  /** Messages delivered to a phone (digits or E.164), oldest first. */
  inbox(phone: string): FakeMessage[];
  lastCode(phone: string): string | undefined;
  /** Waits for the next message to a phone that arrives after this call. */
  waitForMessage(phone: string, options?: { timeoutMs?: number }): Promise<FakeMessage>;
  /** Reports a delivery state now, as 1MSG would: webhook and hookInfo. */
  ack(messageId: string, status: DeliveryStatus, error?: string): Promise<void>;
  /** Forgets messages, faults and counters; keeps templates and webhooks. */
  reset(): void;
  /** Cancels pending acks. */
  close(): void;
}

const COPY_CODE_LABEL = "Copy code";

/**
 * A delivery update in Meta's own webhook format, as 1MSG forwards it with `rawHooks` on (Meta's
 * WhatsApp Cloud API webhook reference; 1MSG's MCP tools and n8n nodes name the setting). A failure's
 * text such as "(#131026) Message undeliverable" becomes Meta's `errors[]` entry.
 */
function metaStatusBody(
  channelId: string,
  message: FakeMessage,
  entry: { status: DeliveryStatus; timestamp: number; error?: string },
) {
  const code = entry.error === undefined ? undefined : /\(#(\d+)\)/.exec(entry.error)?.[1];
  const title = entry.error?.replace(/^\(#\d+\)\s*/, "");
  return {
    object: "whatsapp_business_account",
    entry: [
      {
        id: channelId,
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: "15550001111", phone_number_id: channelId },
              statuses: [
                {
                  id: message.id,
                  status: entry.status,
                  // Meta sends the time as a string of epoch seconds.
                  timestamp: String(entry.timestamp),
                  recipient_id: message.phone,
                  ...(entry.error === undefined
                    ? {}
                    : {
                        errors: [
                          {
                            code: code === undefined ? 131000 : Number(code),
                            title,
                            message: title,
                            error_data: { details: `The message to this phone failed: ${title}` },
                          },
                        ],
                      }),
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The text of a `{ type: "text", text }` template parameter. */
function textOf(parameter: unknown): string | undefined {
  if (!isObject(parameter) || parameter.type !== "text") return undefined;
  return typeof parameter.text === "string" ? parameter.text : undefined;
}

/**
 * An in-memory 1MSG: it checks requests as 1MSG does (token, namespace, template, one body
 * variable, the same code in the body and the copy-code button), answers in 1MSG's shapes, reports
 * delivery through webhooks and `hookInfo`, and plays injected faults. `startOneMsgSimulator()`
 * serves it over HTTP; `oneMsgHandlers()` plugs it into msw.
 */
export function createOneMsgFake(options: OneMsgFakeOptions = {}): OneMsgFake {
  const channelId = options.channelId ?? "sim-channel";
  const token = options.token ?? "sim-token";
  const templates = options.templates ?? [DEFAULT_TEMPLATE];
  const first = templates[0];
  if (first === undefined) throw new Error("the fake needs at least one template");
  const acks = { sent: 30, delivered: 120, read: false as number | false, ...options.acks };
  const webhookKey = options.webhookKey ?? "ack";
  const digitsOf = (phones: readonly string[] | undefined) =>
    new Set((phones ?? []).map((phone) => phone.replace(/\D/g, "")));
  const failing = options.failingPhones ?? {
    refused: [FAILING_PHONES.refused],
    failed: [FAILING_PHONES.failed],
  };
  const refusedPhones = digitsOf(failing === false ? [] : failing.refused);
  const failedPhones = digitsOf(failing === false ? [] : failing.failed);
  let webhookUrls = [
    ...(options.inboxWebhook === false ? [] : [ONEMSG_INBOX_WEBHOOK]),
    ...(options.webhookUrls ?? []),
  ];
  let ackNotificationsOn = true;
  let rawHooks = options.rawHooks ?? false;
  const mailbox = createMailbox<FakeMessage>("message");
  const { messages, later } = mailbox;
  let jobs = 0;
  const faults: FakeFault[] = [];
  const calls: Record<string, number> = {};

  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });

  async function ack(messageId: string, status: DeliveryStatus, error?: string): Promise<void> {
    const message = messages.find((m) => m.id === messageId);
    if (message === undefined || !canAdvance(message.status, status)) return;
    message.status = status;
    const entry = { status, timestamp: Math.floor(Date.now() / 1000), ...(error ? { error } : {}) };
    message.history.push(entry);
    if (!ackNotificationsOn) return;
    const body = JSON.stringify(
      rawHooks
        ? metaStatusBody(channelId, message, entry)
        : {
            instanceId: channelId,
            [webhookKey]: [
              { id: message.id, chatId: `${message.phone}@c.us`, phone: message.phone, ...entry },
            ],
          },
    );
    const signal = AbortSignal.any([mailbox.closing, AbortSignal.timeout(5000)]);
    const headers = { "content-type": "application/json" };
    await Promise.all(
      postable(webhookUrls).map((url) =>
        fetch(url, { method: "POST", headers, body, signal }).then(
          (response) => response.body?.cancel(),
          () => {},
        ),
      ),
    );
  }

  function scheduleAcks(message: FakeMessage, failure: string | undefined) {
    const sentAt = acks.sent === false ? 0 : acks.sent;
    if (acks.sent !== false) later(sentAt, () => void ack(message.id, "sent"));
    if (failure !== undefined) {
      later(sentAt + 1, () => void ack(message.id, "failed", failure));
      return;
    }
    if (acks.delivered !== false) later(acks.delivered, () => void ack(message.id, "delivered"));
    if (acks.read !== false) later(acks.read, () => void ack(message.id, "read"));
  }

  function sendTemplate(body: unknown, fault: FakeFault | undefined): Response {
    if (!isObject(body)) return json({ error: "Request body must be a JSON object" }, 400);
    const req = body as Record<string, unknown>;
    const phone =
      typeof req.phone === "string"
        ? req.phone
        : typeof req.chatId === "string"
          ? req.chatId.replace(/@c\.us$/, "")
          : undefined;
    if (phone === undefined || !/^[1-9][0-9]{6,14}$/.test(phone)) {
      return json({
        sent: false,
        message: "Phone number is invalid: use international digits without + or spaces",
      });
    }
    if (typeof req.phone === "string" && typeof req.chatId === "string") {
      return json({ sent: false, message: "Send either phone or chatId, not both" });
    }
    if (typeof req.namespace !== "string" || req.namespace === "") {
      return json({ error: "The namespace parameter is required" }, 422);
    }
    const named = templates.filter((t) => t.name === req.template);
    if (named.length === 0)
      return json({ sent: false, message: `Template ${String(req.template)} not found` });
    if (!named.some((t) => t.namespace === req.namespace)) {
      return json({
        sent: false,
        message: `Template ${String(req.template)} does not exist in namespace ${req.namespace}`,
      });
    }
    // A template is approved per language: each language is its own entry.
    const language = req.language as { policy?: unknown; code?: unknown } | undefined;
    const template = named.find(
      (t) => t.namespace === req.namespace && t.language === language?.code,
    );
    if (language?.policy !== "deterministic" || template === undefined) {
      return json({
        sent: false,
        message: `(#132001) Template name does not exist in the translation ${String(language?.code)}`,
      });
    }
    if (template.status.toLowerCase() !== "approved") {
      return json({ sent: false, message: `Template ${template.name} is not approved` });
    }
    if (!Array.isArray(req.params))
      return json({ error: "params must be an array of components" }, 422);
    const components = (req.params as unknown[]).filter(isObject);
    const bodyParams = components.find((c) => c.type === "body")?.parameters;
    if (!Array.isArray(bodyParams) || bodyParams.length !== 1) {
      return json(
        { error: "(#132000) Number of parameters does not match the expected number of params" },
        422,
      );
    }
    const code = textOf(bodyParams[0]);
    if (code === undefined || code === "" || code.length > 15) {
      return json({
        sent: false,
        message: "The body parameter must be text of at most 15 characters",
      });
    }
    const button = components.find((c) => c.type === "button");
    if (button !== undefined && !template.copyCodeButton) {
      return json({ sent: false, message: `Template ${template.name} has no button at index 0` });
    }
    if (button === undefined) {
      if (template.category === "AUTHENTICATION") {
        return json({
          sent: false,
          message: "Authentication templates need the code in the copy-code button parameter too",
        });
      }
    } else {
      const buttonParams = button.parameters;
      if (
        button.sub_type !== "url" ||
        String(button.index) !== "0" ||
        !Array.isArray(buttonParams) ||
        buttonParams.length !== 1 ||
        textOf(buttonParams[0]) !== code
      ) {
        return json({
          sent: false,
          message:
            "The copy-code button must carry the same code as the body (sub_type url, index 0)",
        });
      }
    }
    const ttl = req.messageSendTtlSeconds;
    if (
      ttl !== undefined &&
      !(ttl === -1 || (Number.isInteger(ttl) && (ttl as number) >= 30 && (ttl as number) <= 900))
    ) {
      return json({ error: "messageSendTtlSeconds must be -1 or between 30 and 900" }, 422);
    }
    if (fault?.kind === "sent_false") {
      return json({
        sent: false,
        message: fault.message ?? "Message was not sent: the user has not opted in",
      });
    }
    // An injected fault plays instead of a failing number's own failure; a slow answer is both.
    const plain = fault === undefined || fault.kind === "slow";
    if (plain && refusedPhones.has(phone)) return json({ sent: false, message: UNDELIVERABLE });
    const failure: FakeFault | undefined =
      plain && failedPhones.has(phone) ? { kind: "fail_delivery", error: UNDELIVERABLE } : fault;
    const deliver = () => accept(phone, template, code, ttl, failure);
    if (fault?.kind === "queued") {
      later(fault.delayMs ?? 20, deliver);
      jobs += 1;
      return json({ sent: false, jobId: jobs, message: "Message has been queued" });
    }
    const message = deliver();
    if (fault?.kind === "http_after_send") {
      return json({ error: `Simulated HTTP ${fault.status} after sending` }, fault.status);
    }
    return json({
      sent: true,
      id: message.id,
      message: "Message has been sent",
      description: "accepted for delivery",
    });
  }

  /** Puts a message in the phone's inbox and schedules its acks. */
  function accept(
    phone: string,
    template: FakeTemplate,
    code: string,
    ttl: unknown,
    fault: FakeFault | undefined,
  ): FakeMessage {
    const message: FakeMessage = {
      id: `wamid.${randomBytes(12).toString("base64url")}`,
      channel: "whatsapp",
      phone,
      template: template.name,
      language: template.language,
      code,
      text: template.body.replace("{{1}}", code),
      button: template.buttonText ?? COPY_CODE_LABEL,
      status: "accepted",
      history: [],
      ...(typeof ttl === "number" ? { ttlSeconds: ttl } : {}),
      createdAt: new Date(),
    };
    mailbox.add(message);
    scheduleAcks(
      message,
      fault?.kind === "fail_delivery" ? (fault.error ?? UNDELIVERABLE) : undefined,
    );
    return message;
  }

  function templateView(t: FakeTemplate) {
    return {
      name: t.name,
      language: t.language,
      category: t.category,
      status: t.status,
      namespace: t.namespace,
      components: [
        { type: "BODY", text: t.body, example: { body_text: [["123456"]] } },
        ...(t.copyCodeButton ? [{ type: "BUTTONS", buttons: [buttonView(t)] }] : []),
      ],
    };
  }

  function buttonView(t: FakeTemplate) {
    const label = t.buttonText ?? COPY_CODE_LABEL;
    switch (t.button ?? "otp") {
      case "url":
        // Meta's form of the copy-code button (META).
        return {
          type: "URL",
          text: label,
          url: "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp{{1}}",
          example: ["https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp123456"],
        };
      case "one_tap":
        return {
          type: "OTP",
          otp_type: "ONE_TAP",
          text: label,
          autofill_text: "Autofill",
          package_name: "com.example.app",
          signature_hash: "AbCdEfGhIjK",
        };
      case "zero_tap":
        return {
          type: "OTP",
          otp_type: "ZERO_TAP",
          text: label,
          autofill_text: "Autofill",
          package_name: "com.example.app",
          signature_hash: "AbCdEfGhIjK",
        };
      default:
        return { type: "OTP", otp_type: "COPY_CODE", text: label };
    }
  }

  /** `GET /templates` pages with `limit` and `offset` (MCP). */
  function templatePage(url: URL) {
    const number = (name: string, fallback: number) => {
      const value = Number(url.searchParams.get(name) ?? fallback);
      return Number.isInteger(value) && value >= 0 ? value : fallback;
    };
    const limit = number("limit", TEMPLATE_PAGE_SIZE) || TEMPLATE_PAGE_SIZE;
    const offset = number("offset", 0);
    return {
      total: templates.length,
      templates: templates.slice(offset, offset + limit).map(templateView),
    };
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const [, pathChannel = "", method = ""] = url.pathname.split("/");
    calls[method] = (calls[method] ?? 0) + 1;
    const bearer = request.headers.get("authorization");
    const given = bearer?.startsWith("Bearer ") ? bearer.slice(7) : url.searchParams.get("token");
    if (bearer && url.searchParams.has("token")) {
      return json(
        { error: "Send the token in one place: the Authorization header or the token parameter" },
        400,
      );
    }
    if (pathChannel !== channelId) return json({ error: `Channel ${pathChannel} not found` }, 404);
    // 1MSG repeats the token it was given: clients must not show its answer unredacted.
    if (given !== token) {
      return json({ error: `Wrong token ${given ?? ""} for channel ${channelId}` }, 401);
    }

    let body: unknown;
    if (request.method === "POST") {
      const text = await request.text();
      try {
        body = text === "" ? {} : JSON.parse(text);
      } catch {
        return json({ error: "Request body is not valid JSON" }, 400);
      }
    }
    const route = `${request.method} ${method}`;
    switch (route) {
      case "POST sendTemplate": {
        const fault = faults.shift();
        if (fault?.kind === "http") {
          const headers: Record<string, string> =
            fault.retryAfter === undefined ? {} : { "retry-after": String(fault.retryAfter) };
          const sentCode = fault.echo
            ? textOf(
                (body as { params?: { parameters?: unknown[] }[] })?.params?.[0]?.parameters?.[0],
              )
            : undefined;
          return json(
            fault.body ?? {
              error: `Simulated HTTP ${fault.status}${sentCode ? ` for code ${sentCode}` : ""}`,
            },
            fault.status,
            headers,
          );
        }
        if (fault?.kind === "garbage")
          return new Response("<html>502 Bad Gateway</html>", { status: 200 });
        if (fault?.kind === "slow") {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, fault.ms);
            request.signal?.addEventListener("abort", () => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        return sendTemplate(body, fault);
      }
      case "GET hookInfo": {
        const id = url.searchParams.get("messageId");
        const message = messages.find((m) => m.id === id);
        return json({ hooks: (message?.history ?? []).map((h) => ({ id, ...h })) });
      }
      case "GET templates":
        return json(templatePage(url));
      case "GET status":
        return json({
          status: options.channelStatus ?? "connected",
          accountStatus: "authenticated",
        });
      case "GET webhook":
        return json({ webhookUrl: webhookUrls });
      case "POST webhook": {
        if (!isObject(body)) return json({ error: "Request body must be a JSON object" }, 400);
        const value = body.webhookUrl;
        const list = typeof value === "string" ? [value] : value;
        if (
          !Array.isArray(list) ||
          list.length > 5 ||
          !list.every((u) => typeof u === "string" && /^https?:\/\//.test(u))
        ) {
          return json({ error: "webhookUrl must be a URL or a list of at most 5 URLs" }, 400);
        }
        webhookUrls = list as string[];
        return json({ set: true, webhookUrl: webhookUrls });
      }
      case "GET settings":
        return json({ ackNotificationsOn, webhookUrl: webhookUrls });
      case "POST settings": {
        if (!isObject(body)) return json({ error: "Request body must be a JSON object" }, 400);
        const value = body.ackNotificationsOn;
        if (typeof value === "boolean") ackNotificationsOn = value;
        if (typeof body.rawHooks === "boolean") rawHooks = body.rawHooks;
        return json({ update: true, ackNotificationsOn });
      }
      default:
        return json({ error: `Unknown method ${method}` }, 404);
    }
  }

  return {
    channelId,
    token,
    template: first,
    messages,
    get webhookUrls() {
      return webhookUrls;
    },
    calls,
    handle,
    inject(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    inbox: mailbox.inbox,
    lastCode: mailbox.lastCode,
    waitForMessage: mailbox.waitForMessage,
    ack,
    reset() {
      messages.length = 0;
      faults.length = 0;
      for (const key of Object.keys(calls)) delete calls[key];
    },
    close: mailbox.close,
  };
}

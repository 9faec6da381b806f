import type { Channel } from "../channel.js";
import { canAdvance, type DeliveryStatus, type DeliveryUpdate } from "../delivery-status.js";
import { OtpError } from "../errors.js";
import { matchLocale } from "../locale.js";
import {
  createOneMsgClient,
  MAY_ARRIVE,
  type OneMsgClient,
  type OneMsgClientOptions,
  providerMessage,
} from "./client.js";
import { OneMsgError, redact, unreachableText } from "./errors.js";
import { readDeliveryEntry, readOneMsgWebhook } from "./webhook.js";

export interface OneMsgTemplate {
  /** The approved AUTHENTICATION template's name (ONEMSG_TEMPLATE). */
  name: string;
  /** Its namespace (ONEMSG_NAMESPACE); 1MSG answers 422 without it. */
  namespace: string;
  /** Its language code, used when a send names no language or none that fits (ONEMSG_LANGUAGE). @default "en" */
  language?: string;
  /**
   * Every language the template is approved in (`["en", "pt_BR", "es"]`; ONEMSG_LANGUAGE as a comma
   * list, the first being `language`): a send's `locale` picks among them (`pt-BR` → `pt_BR` → `pt`).
   * @default [language]
   */
  languages?: readonly string[];
}

export interface OneMsgOptions extends OneMsgClientOptions {
  template: OneMsgTemplate;
  /**
   * Sends `messageSendTtlSeconds` equal to the code's lifetime, so WhatsApp drops a message that could
   * only arrive after its code died. Turn off for API versions that refuse the field.
   * @default true
   */
  messageTtl?: boolean;
}

export interface OneMsgChannel extends Channel {
  readonly client: OneMsgClient;
}

/** The `sendTemplate` body for an authentication template: the code in the body and in the copy-code button. */
export function authenticationTemplateBody(
  phone: string,
  code: string,
  template: { name: string; namespace: string; language: string },
): Record<string, unknown> {
  return {
    phone,
    template: template.name,
    namespace: template.namespace,
    language: { policy: "deterministic", code: template.language },
    params: [
      { type: "body", parameters: [{ type: "text", text: code }] },
      { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: code }] },
    ],
  };
}

/**
 * The WhatsApp channel through 1MSG: sends the code as an authentication template and reads
 * delivery states back from `hookInfo`.
 *
 * @example
 * const channel = oneMsg({
 *   channelId: process.env.ONEMSG_CHANNEL_ID!,
 *   token: process.env.ONEMSG_TOKEN!,
 *   template: { name: "login_code", namespace: process.env.ONEMSG_NAMESPACE!, language: "en" },
 * });
 */
export function oneMsg(options: OneMsgOptions): OneMsgChannel {
  const client = createOneMsgClient(options);
  const template = readTemplate(options.template);
  const messageTtl = options.messageTtl ?? true;

  return {
    name: "1msg",
    kind: "whatsapp",
    client,
    async send(message) {
      // The user's language among the template's approved ones, else the default.
      const language = matchLocale(message.locale, template.languages) ?? template.language;
      const body = authenticationTemplateBody(message.phone, message.code, {
        ...template,
        language,
      });
      // WhatsApp takes 30 to 900 s for authentication templates; the code's lifetime is inside that.
      if (messageTtl) body.messageSendTtlSeconds = Math.min(900, Math.max(30, message.ttlSeconds));
      const { status, data } = await client
        .request({
          method: "POST",
          path: "sendTemplate",
          body,
          deadline: message.expiresAt.getTime(),
          secrets: [message.code],
          sendsMessage: true,
        })
        .catch((error: unknown) => {
          // A 4xx whose text refuses the phone, not the request.
          if (
            error instanceof OneMsgError &&
            error.reason === "rejected" &&
            unreachableText(error.providerMessage)
          ) {
            throw new OneMsgError("unreachable", error.message, {
              ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
              ...(error.providerMessage === undefined
                ? {}
                : { providerMessage: error.providerMessage }),
            });
          }
          throw error;
        });
      // `sent` is a boolean in 1MSG's OpenAPI files and a string in some answers (1MSG's n8n nodes).
      const sent = flag(data.sent);
      const id = idOf(data.id);
      if (sent === true) {
        if (id !== undefined) return { messageId: id };
        throw new OneMsgError(
          "invalid_response",
          `1MSG accepted the message but gave no message id.${MAY_ARRIVE}`,
          { httpStatus: status, uncertain: true },
        );
      }
      // A queued send carries a job id, not a message id: the message will go out, so it must not
      // be sent again; its delivery updates will name the phone.
      const jobId = idOf(data.jobId);
      if (sent === false && jobId !== undefined) return { messageId: `job:${jobId}`, queued: true };
      const secrets = [options.token, message.code];
      const said = providerMessage(data, "");
      if (unreachableText(said)) {
        throw new OneMsgError(
          "unreachable",
          `WhatsApp cannot reach this phone through 1MSG${said ? `: ${redact(said, secrets)}` : ""}.`,
          {
            httpStatus: status,
            ...(said === undefined ? {} : { providerMessage: redact(said, secrets) }),
          },
        );
      }
      throw new OneMsgError(
        "rejected",
        `1MSG did not send the message${said ? `: ${redact(said, secrets)}` : ""}. Check the template name, namespace and language (ONEMSG_TEMPLATE, ONEMSG_NAMESPACE, ONEMSG_LANGUAGE), that it is an approved AUTHENTICATION template with one body variable and a copy-code button, and that the phone uses WhatsApp and opted in.`,
        {
          httpStatus: status,
          ...(said === undefined ? {} : { providerMessage: redact(said, secrets) }),
        },
      );
    },
    async poll(messageId) {
      // A queued send's job id is not something hookInfo knows.
      if (messageId.startsWith("job:")) return null;
      const { data } = await client.request({
        method: "GET",
        path: "hookInfo",
        query: { messageId },
      });
      return latestUpdate(messageId, data.hooks);
    },
    readWebhook: readOneMsgWebhook,
  };
}

function flag(value: unknown): boolean | undefined {
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  return undefined;
}

/** A message or job id: 1MSG gives strings, and numbers in some answers. */
function idOf(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** The furthest state among the entries `hookInfo` lists for a message. */
function latestUpdate(messageId: string, hooks: unknown): DeliveryUpdate | null {
  if (!Array.isArray(hooks)) return null;
  let best: DeliveryUpdate | null = null;
  let status: DeliveryStatus = "accepted";
  for (const hook of hooks) {
    const update = readDeliveryEntry({ id: messageId, ...(hook as object) });
    if (update === undefined || update.messageId !== messageId) continue;
    if (canAdvance(status, update.status)) {
      status = update.status;
      best = update;
    }
  }
  return best;
}

function readTemplate(template: OneMsgTemplate | undefined): Required<OneMsgTemplate> {
  const missing = (field: string, variable: string) =>
    new OtpError(
      "CONFIG_INVALID",
      `\`template.${field}\` is required (${variable}): the approved AUTHENTICATION template's ${field}, as listed by \`waotp doctor\`.`,
    );
  if (typeof template !== "object" || template === null) throw missing("name", "ONEMSG_TEMPLATE");
  if (typeof template.name !== "string" || template.name === "")
    throw missing("name", "ONEMSG_TEMPLATE");
  if (typeof template.namespace !== "string" || template.namespace === "") {
    throw missing("namespace", "ONEMSG_NAMESPACE");
  }
  const language = template.language ?? "en";
  const languages = template.languages ?? [language];
  const code = /^[a-z]{2,3}(_[A-Z]{2})?$/;
  if (
    typeof language !== "string" ||
    !code.test(language) ||
    !Array.isArray(languages) ||
    languages.some((each) => typeof each !== "string" || !code.test(each))
  ) {
    throw new OtpError(
      "CONFIG_INVALID",
      '`template.language` and `template.languages` must be language codes such as "en" or "pt_BR".',
    );
  }
  return {
    name: template.name,
    namespace: template.namespace,
    language,
    languages: languages.includes(language) ? [...languages] : [language, ...languages],
  };
}

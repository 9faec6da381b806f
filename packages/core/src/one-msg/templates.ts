import type { OneMsgClient, OneMsgResponse } from "./client.js";

/**
 * Reading 1MSG's template list (`GET /templates`) and checking the template waotp sends with.
 *
 * The list comes in more shapes than the documentation shows, so everything here is lenient about
 * the shape and strict about the meaning. Sources (see the reference sheet, "Seen in production"):
 * - SDK-OLD (`1msg/1sdk`, `swagger.waba.json`): `{ total, templates: [...] }`, `status` lower case
 *   (`"approved"`), categories `MARKETING`, `TRANSACTIONAL`, `OTP`.
 * - MCP (`1msg/1msg-mcp`, `src/tools.generated.ts`): the list is paginated with `limit` and `offset`.
 * - N8N (`1msg/1msg-n8n-nodes`, `utils/templates.ts`): a bare array instead of `{ templates }`,
 *   `components` as a JSON string, `language` as `{ code }`, the namespace missing or under
 *   `message_template_namespace`, and a 200 answer that carries an `error`.
 * - META (copy-code authentication templates): the copy-code button as `{ type: "OTP", otp_type }`
 *   or as a URL button whose `url` holds `otp_type=COPY_CODE`; one-tap and zero-tap buttons also
 *   carry the code.
 *
 * Over 300 lines: reading a template list that comes in this many shapes, and judging the one
 * template waotp needs, are one job; `doctor.ts` runs it against a live channel.
 */

/** A template component as listed; only `type`, `text` and `buttons` are read. */
export interface TemplateComponent {
  /** Upper case: `BODY`, `HEADER`, `FOOTER`, `BUTTONS`. */
  type: string;
  text?: string;
  buttons?: Record<string, unknown>[];
  [key: string]: unknown;
}

/** One template, whatever shape 1MSG listed it in. Values keep 1MSG's spelling (case included). */
export interface NormalTemplate {
  name: string;
  /** The language code (`en`, `pt_BR`); `""` when the listing has none. */
  language: string;
  category: string;
  status: string;
  /** From `namespace`, `message_template_namespace` or `messageTemplateNamespace`; absent if none. */
  namespace?: string;
  components: TemplateComponent[];
}

/** One page of `GET /templates`, normalised. */
export interface TemplatePage {
  templates: NormalTemplate[];
  /** How many templates the channel has, when 1MSG says. */
  total?: number;
  /** What 1MSG said when it answered 200 with an `error` field (N8N): the list is not usable. */
  error?: string;
}

/** The whole list, read page by page. */
export interface TemplateList extends TemplatePage {
  /** Pages asked for. */
  pages: number;
  /** False when the page cap stopped the reading before the end of the list. */
  complete: boolean;
}

/** The template waotp is configured with (ONEMSG_TEMPLATE, ONEMSG_NAMESPACE, ONEMSG_LANGUAGE). */
export interface ExpectedTemplate {
  name: string;
  /** `""` when ONEMSG_NAMESPACE is not set. */
  namespace: string;
  language: string;
}

/** One line of `waotp doctor`. */
export interface TemplateCheck {
  ok: boolean;
  label: string;
  /** What to do when the check fails. */
  fix?: string;
  /** Something worth knowing even when the check passes. */
  note?: string;
}

/** The kind of a button that carries the code. */
export type CodeButtonKind = "copy_code" | "one_tap" | "zero_tap";

/** A button that carries the code, and how the listing wrote it. */
export interface CodeButton {
  kind: CodeButtonKind;
  /** `otp`: `{ type: "OTP", otp_type }`; `url`: Meta's URL form, `otp_type=...` in the `url`. */
  form: "otp" | "url";
  /** Its position among the template's buttons; waotp fills index 0. */
  index: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

/** What an `error` field says: a string, or `{ message }` (Meta's form), or `true` with a message. */
export function errorText(body: Record<string, unknown>): string | undefined {
  const { error } = body;
  if (error === undefined || error === null || error === false || error === "") return undefined;
  if (typeof error === "string") return error;
  if (isObject(error)) {
    const message = error.message ?? error.error_user_msg ?? error.title;
    if (typeof message === "string" && message !== "") return message;
    return JSON.stringify(error).slice(0, 300);
  }
  if (typeof body.message === "string" && body.message !== "") return body.message;
  return String(error);
}

/** `language` as a string (SDK-OLD) or as `{ code }` (N8N). */
function languageOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (isObject(value) && typeof value.code === "string") return value.code;
  return "";
}

/** `components` as an array, or as a JSON string holding one (N8N). */
function componentsOf(value: unknown): TemplateComponent[] {
  let list: unknown = value;
  if (typeof list === "string") {
    try {
      list = JSON.parse(list);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((component) => ({
    ...component,
    type: text(component.type).toUpperCase(),
    ...(typeof component.text === "string" ? { text: component.text } : {}),
    ...(Array.isArray(component.buttons) ? { buttons: component.buttons.filter(isObject) } : {}),
  }));
}

const NAMESPACE_KEYS = ["namespace", "message_template_namespace", "messageTemplateNamespace"];

function namespaceOf(template: Record<string, unknown>): string | undefined {
  for (const key of NAMESPACE_KEYS) {
    const value = template[key];
    if (typeof value === "string" && value.trim() !== "") return value.trim();
  }
  return undefined;
}

/** One listed template in the normal form; `undefined` for entries without a name. */
export function normalizeTemplate(value: unknown): NormalTemplate | undefined {
  if (!isObject(value)) return undefined;
  const name = text(value.name);
  if (name === "") return undefined;
  const namespace = namespaceOf(value);
  return {
    name,
    language: languageOf(value.language),
    category: text(value.category),
    status: text(value.status),
    ...(namespace === undefined ? {} : { namespace }),
    components: componentsOf(value.components),
  };
}

/**
 * One answer of `GET /templates` in the normal form: `{ total, templates }` (SDK-OLD, MCP), a bare
 * array (N8N), or a 200 that carries `error` (N8N), which becomes `error` here.
 */
export function normalizeTemplatePage(body: unknown): TemplatePage {
  if (Array.isArray(body)) {
    return { templates: body.map(normalizeTemplate).filter((t) => t !== undefined) };
  }
  if (!isObject(body)) return { templates: [], error: "1MSG answered without a template list" };
  const error = errorText(body);
  const list = Array.isArray(body.templates) ? body.templates : undefined;
  const total = Number(body.total);
  const page: TemplatePage = {
    templates: (list ?? []).map(normalizeTemplate).filter((t) => t !== undefined),
    ...(body.total !== undefined && Number.isInteger(total) && total >= 0 ? { total } : {}),
  };
  if (error !== undefined) return { ...page, error };
  if (list === undefined) return { ...page, error: "1MSG answered without a template list" };
  return page;
}

export interface ListTemplatesOptions {
  /** Templates asked for per page (`limit`). @default 100 */
  pageSize?: number;
  /** Pages read at most, so a server that ignores `offset` cannot keep the loop going. @default 50 */
  maxPages?: number;
}

/** The JSON body of an answer: the whole value when the client gives it (arrays too), else `data`. */
function bodyOf(response: OneMsgResponse): unknown {
  return response.json ?? response.data;
}

const key = (t: NormalTemplate) => `${t.name}\u0000${t.language}`;

/**
 * Reads every page of `GET /templates` (`limit`, `offset`; MCP). Stops at an empty page, when
 * `total` is reached, at a page shorter than asked when there is no `total`, when a page repeats the
 * previous one (a server that ignores `offset`), or after `maxPages`.
 */
export async function listTemplates(
  client: Pick<OneMsgClient, "request">,
  options: ListTemplatesOptions = {},
): Promise<TemplateList> {
  const pageSize = options.pageSize ?? 100;
  const maxPages = options.maxPages ?? 50;
  const templates: NormalTemplate[] = [];
  let total: number | undefined;
  let previous: string | undefined;
  for (let pages = 1; pages <= maxPages; pages++) {
    const response = await client.request({
      method: "GET",
      path: "templates",
      query: { limit: String(pageSize), offset: String(templates.length) },
    });
    const page = normalizeTemplatePage(bodyOf(response));
    if (page.total !== undefined) total = page.total;
    const result = (complete: boolean): TemplateList => ({
      templates,
      ...(total === undefined ? {} : { total }),
      pages,
      complete,
    });
    if (page.error !== undefined) return { ...result(false), error: page.error };
    if (page.templates.length === 0) return result(true);
    const signature = page.templates.map(key).join("\u0001");
    // The same page again: the server ignores `offset`, so nothing more can be read.
    if (signature === previous) return result(total === undefined || templates.length >= total);
    previous = signature;
    templates.push(...page.templates);
    if (total !== undefined ? templates.length >= total : page.templates.length < pageSize) {
      return result(true);
    }
    // More than asked: the server ignored `limit` and gave the whole list.
    if (total === undefined && page.templates.length > pageSize) return result(true);
  }
  return { templates, ...(total === undefined ? {} : { total }), pages: maxPages, complete: false };
}

/** The distinct `{{n}}` variables of the template's body. */
export function bodyVariables(template: NormalTemplate): number {
  const body = template.components.find((c) => c.type === "BODY");
  return new Set(
    text(body?.text)
      .match(/\{\{\s*\d+\s*\}\}/g)
      ?.map((v) => v.replace(/\s/g, "")),
  ).size;
}

const KINDS: Record<string, CodeButtonKind> = {
  COPY_CODE: "copy_code",
  ONE_TAP: "one_tap",
  ZERO_TAP: "zero_tap",
};

/** The code-carrying button of a template, in either form META documents; `undefined` if none. */
export function codeButton(template: NormalTemplate): CodeButton | undefined {
  const buttons = template.components
    .filter((c) => c.type === "BUTTONS")
    .flatMap((c) => c.buttons ?? []);
  for (const [index, button] of buttons.entries()) {
    const type = text(button.type).toUpperCase();
    // `{ type: "OTP", otp_type: "COPY_CODE" }`; older listings wrote `{ type: "COPY_CODE" }`.
    const otpType = text(button.otp_type ?? button.otpType).toUpperCase();
    if (type === "OTP" || type === "COPY_CODE") {
      const kind = KINDS[otpType || type];
      if (kind !== undefined) return { kind, form: "otp", index };
    }
    // Meta's URL form: https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp{{1}}
    if (type === "URL") {
      const inUrl = /[?&]otp_type=([A-Za-z_]+)/.exec(text(button.url))?.[1]?.toUpperCase();
      const kind = KINDS[otpType || inUrl || ""];
      if (kind !== undefined) return { kind, form: "url", index };
    }
  }
  return undefined;
}

const sameLanguage = (a: string, b: string) =>
  a.toLowerCase().replace("-", "_") === b.toLowerCase().replace("-", "_");

/**
 * The checks of one template against what waotp is configured with: approved, in the
 * AUTHENTICATION (or older OTP) category, one body variable, a button that carries the code, and
 * the namespace. `siblings` (the channel's other templates) lend a namespace when the template's
 * own listing has none: an account has one namespace (N8N does the same).
 */
export function checkTemplate(
  template: NormalTemplate,
  expected: ExpectedTemplate,
  siblings: readonly NormalTemplate[] = [],
): TemplateCheck[] {
  const status = template.status || "no status";
  const category = template.category.toUpperCase();
  const variables = bodyVariables(template);
  const button = codeButton(template);
  const checks: TemplateCheck[] = [
    {
      ok: template.status.toLowerCase() === "approved",
      label: `template is approved (${status})`,
      fix: "wait for Meta's review, or fix what the rejection says and submit again",
    },
    {
      ok: category === "AUTHENTICATION" || category === "OTP",
      label: `template is in the AUTHENTICATION category (${template.category || "no category"})`,
      fix: "create a new template in the AUTHENTICATION category; the category of an approved template cannot change",
      ...(category === "OTP" ? { note: "OTP is 1MSG's older name of the category" } : {}),
    },
    {
      ok: variables === 1,
      label: `template body has one variable for the code (${variables})`,
      fix: "authentication templates carry exactly one body variable, {{1}}, the code",
    },
    buttonCheck(button),
  ];

  const namespaces = new Set(siblings.map((t) => t.namespace).filter((n) => n !== undefined));
  const namespace = template.namespace ?? (namespaces.size === 1 ? [...namespaces][0] : undefined);
  const borrowed = template.namespace === undefined && namespace !== undefined;
  if (namespace !== undefined) {
    checks.push({
      ok: expected.namespace !== "" && namespace === expected.namespace,
      label: `ONEMSG_NAMESPACE matches the template's namespace${borrowed ? " (read from the channel's other templates)" : ""}`,
      fix: `set ONEMSG_NAMESPACE=${namespace}`,
    });
  } else {
    checks.push({
      ok: expected.namespace !== "",
      label: "ONEMSG_NAMESPACE is set (1MSG's list does not show the template's namespace)",
      fix: "set ONEMSG_NAMESPACE to the namespace shown for the template in the 1MSG dashboard",
      ...(expected.namespace === ""
        ? {}
        : { note: "not compared: a wrong namespace makes every send fail, so try `waotp send`" }),
    });
  }
  return checks;
}

function buttonCheck(button: CodeButton | undefined): TemplateCheck {
  const fix = "add a copy-code (OTP) button: waotp sends the code in it as well as in the body";
  if (button === undefined) return { ok: false, label: "template has a copy-code button", fix };
  const kind =
    button.kind === "one_tap"
      ? " (one-tap autofill; the code is also copyable)"
      : button.kind === "zero_tap"
        ? " (zero-tap autofill; the code is also copyable)"
        : "";
  const form = button.form === "url" ? " (listed as Meta's URL button)" : "";
  return {
    ok: button.index === 0,
    label: `template has a copy-code button${kind}${form}`,
    fix: "make the code button the template's first button: waotp fills the button at index 0",
  };
}

/**
 * Finds the configured template in the channel's list and checks it: first that it exists in the
 * language, then `checkTemplate()`.
 */
export function checkTemplates(
  templates: readonly NormalTemplate[],
  expected: ExpectedTemplate,
): { template?: NormalTemplate; checks: TemplateCheck[] } {
  const named = templates.filter((t) => t.name === expected.name);
  const template = named.find((t) => sameLanguage(t.language, expected.language));
  const names = [...new Set(templates.map((t) => t.name))];
  const shown =
    names.length > 20
      ? `${names.slice(0, 20).join(", ")} and ${names.length - 20} more`
      : names.join(", ");
  const exists: TemplateCheck = {
    ok: template !== undefined,
    label: `template "${expected.name}" exists in language "${expected.language}"`,
    fix:
      named.length > 0
        ? `set ONEMSG_LANGUAGE to one of: ${named.map((t) => t.language || "(none)").join(", ")}`
        : `create an AUTHENTICATION template with a copy-code button in the 1MSG dashboard; templates here: ${shown || "none"}`,
  };
  if (template === undefined) return { checks: [exists] };
  return { template, checks: [exists, ...checkTemplate(template, expected, templates)] };
}

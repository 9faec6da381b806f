/**
 * What `waotp doctor` checks on a 1MSG channel before the first code goes out: the channel answers
 * and is connected, and the template waotp sends with exists, is approved and fits (see
 * `templates.ts`). Each check says how to fix what failed.
 */
import { isOtpError } from "../errors.js";
import type { OneMsgClient } from "./client.js";
import { OneMsgError } from "./errors.js";
import {
  checkTemplates,
  type ExpectedTemplate,
  errorText,
  listTemplates,
  type TemplateCheck,
} from "./templates.js";

/** Runs every check in order, stopping at the first one the later ones depend on. */
export async function checkOneMsgSetup(
  client: OneMsgClient,
  expected: ExpectedTemplate & { languages?: readonly string[] },
): Promise<TemplateCheck[]> {
  const checks: TemplateCheck[] = [];
  try {
    const { data } = await client.request({ method: "GET", path: "status" });
    checks.push(channelCheck(client.channelId, data));
  } catch (error) {
    checks.push({
      ok: false,
      label: "1MSG answers for this channel",
      fix: describeOneMsgError(error),
    });
    return checks;
  }
  let list: Awaited<ReturnType<typeof listTemplates>>;
  try {
    list = await listTemplates(client);
  } catch (error) {
    checks.push({
      ok: false,
      label: "1MSG lists the channel's templates",
      fix: describeOneMsgError(error),
    });
    return checks;
  }
  if (list.error !== undefined) {
    // A 200 that carries an error says nothing about the template: report what 1MSG said.
    checks.push({
      ok: false,
      label: "1MSG lists the channel's templates",
      fix: `1MSG said: ${list.error}`,
    });
    return checks;
  }
  // Each language the template is approved in is a template of its own to WhatsApp: check each.
  const languages = [...new Set([expected.language, ...(expected.languages ?? [])])];
  for (const language of languages) {
    const { checks: templateChecks } = checkTemplates(list.templates, { ...expected, language });
    const [exists] = templateChecks;
    if (exists !== undefined && !exists.ok && !list.complete) {
      exists.note = `read only the first ${list.templates.length} templates of ${list.total ?? "an unknown number"}: 1MSG's pages did not end`;
    }
    checks.push(...templateChecks);
  }
  return checks;
}

/** The channel states 1MSG answers with (SDK-OLD); `connecting` means "everything is ok". */
const CONNECTED = new Set(["connected", "connecting", "authenticated", "active"]);

function channelCheck(channelId: string, data: Record<string, unknown>): TemplateCheck {
  const said = errorText(data);
  if (said !== undefined) {
    return { ok: false, label: "1MSG answers for this channel", fix: `1MSG said: ${said}` };
  }
  const state = String(data.status ?? data.state ?? data.accountStatus ?? "unknown");
  const account =
    data.accountStatus !== undefined && data.status !== undefined
      ? `; account ${String(data.accountStatus)}`
      : "";
  const lower = state.toLowerCase();
  return {
    ok: CONNECTED.has(lower),
    label: `channel ${channelId} is connected (${state}${account})`,
    fix:
      lower === "disconnected"
        ? "open the channel in the 1MSG dashboard and connect the WhatsApp number again"
        : "open the channel in the 1MSG dashboard and finish connecting the WhatsApp number",
    ...(lower === "connecting"
      ? { note: "1MSG reports connecting while the channel works; sends go out" }
      : {}),
  };
}

/**
 * What went wrong, for a person. A 403 is a trial or blocked channel (SDK-NEW), not a wrong token:
 * the client may call it `unauthorized` or `forbidden`, so the HTTP status decides.
 */
export function describeOneMsgError(error: unknown): string {
  const status = (error as { httpStatus?: unknown } | null)?.httpStatus;
  if (error instanceof OneMsgError || isOtpError(error)) {
    if (status === 403) {
      const said = (error as OneMsgError).providerMessage;
      return `1MSG answered HTTP 403: the channel is on trial or blocked; check the subscription in the 1MSG dashboard.${said ? ` 1MSG said: ${said}` : ""}`;
    }
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

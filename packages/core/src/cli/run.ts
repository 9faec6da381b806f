import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { isFinal } from "../delivery-status.js";
import { isOtpError } from "../errors.js";
import { oneMsg } from "../one-msg/channel.js";
import { createOneMsgClient, DEFAULT_BASE_URL, type OneMsgClient } from "../one-msg/client.js";
import { checkOneMsgSetup, describeOneMsgError } from "../one-msg/doctor.js";
import { readOneMsgEnv } from "../one-msg/env.js";
import type { TemplateCheck } from "../one-msg/templates.js";
import {
  addWebhook,
  describeWebhookUrl,
  getAckNotifications,
  getWebhooks,
  isOneMsgInboxWebhook,
  MAX_WEBHOOKS,
  maskWebhookUrl,
  removeWebhook,
  sameWebhookUrl,
} from "../one-msg/webhook-list.js";
import { createOtp } from "../otp.js";
import { maskPhone } from "../phone.js";
import { startOneMsgSimulator } from "../simulator/server.js";

export interface CliIo {
  env: Record<string, string | undefined>;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Resolves when the process should stop (Ctrl-C); `simulate` runs until then. */
  stopped?: Promise<void>;
}

const HELP: Record<string, string> = {
  main: `waotp: WhatsApp one-time codes through 1MSG

Usage: waotp <command> [options]

Commands:
  simulate              start a local 1MSG simulator and print the settings to use it
  send <phone>          send one real code to a phone, to check the template
  doctor                check the channel and the template, with a fix for each problem
  webhook set <url>     add <url> to 1MSG's delivery webhooks, keeping the others (acks on)
  webhook remove <url>  take <url> off the channel's webhooks
  webhook get           show the registered webhooks and whether acks are on

Settings come from ONEMSG_API_URL (default ${DEFAULT_BASE_URL}), ONEMSG_CHANNEL_ID, ONEMSG_TOKEN,
ONEMSG_TEMPLATE, ONEMSG_NAMESPACE, ONEMSG_LANGUAGE (default en) and ONEMSG_AUTH (bearer, the
default, sends the token in the Authorization header; query sends it as ?token=).
Run "waotp <command> --help" for a command's options.`,
  simulate: `Usage: waotp simulate [--port 4010] [--host 127.0.0.1] [--webhook-key ack|hooks]

Starts a local HTTP server that behaves like 1MSG: it checks requests (token, namespace, template,
the code in the body and the copy-code button), answers like 1MSG, reports delivery to the
registered webhook and through hookInfo. Open its URL to read the messages it delivered.`,
  send: `Usage: waotp send <phone> [--wait <seconds>]

Sends one code to <phone> with the ONEMSG_* settings, as the library would, and prints the message id.
With --wait, asks 1MSG (hookInfo) for the delivery state until it is final or the time is up.`,
  doctor: `Usage: waotp doctor

Checks that the ONEMSG_* settings are complete, that the channel is connected (or connecting), and
that the template exists in the language (reading every page of the channel's templates), is
approved, is in the AUTHENTICATION category (or OTP, its older name), has one body variable and a
button that carries the code (copy code, or one-tap / zero-tap autofill, in the OTP or the URL form),
and that its namespace matches ONEMSG_NAMESPACE. Exits with 1 when a check fails.`,
  webhook: `Usage: waotp webhook set <url>
       waotp webhook remove <url> [--force]
       waotp webhook get

"set" adds <url> to the channel's webhook list and turns delivery acks on (ackNotificationsOn).
The other URLs stay, 1MSG's own inbox webhook (https://app.1msg.io/…) first of all: removing it
breaks the 1MSG inbox. 1MSG keeps at most ${MAX_WEBHOOKS} URLs; running "set" twice changes nothing.
"remove" takes only <url> off the list (1MSG's inbox webhook only with --force).
"get" shows every registered URL, with its path hidden, and whether acks are on.
Put a secret in the URL path: 1MSG does not sign webhooks. Only ONEMSG_CHANNEL_ID and ONEMSG_TOKEN
are needed.`,
};

/** Runs the `waotp` command line; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.out(HELP.main as string);
    return command === undefined ? 1 : 0;
  }
  if (!Object.hasOwn(HELP, command) || command === "main") {
    io.err(`waotp: unknown command "${command}"\n\n${HELP.main}`);
    return 1;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(HELP[command] as string);
    return 0;
  }
  try {
    switch (command) {
      case "simulate":
        return await simulate(rest, io);
      case "send":
        return await send(rest, io);
      case "doctor":
        return await doctor(io);
      default:
        return await webhook(rest, io);
    }
  } catch (error) {
    if (isOtpError(error) || error instanceof TypeError) {
      io.err(`waotp ${command}: ${describeOneMsgError(error)}`);
      return 1;
    }
    throw error;
  }
}

/**
 * The ONEMSG_* settings, failing with the names of the missing ones among `needed` (all four
 * by default).
 */
function requireSettings(io: CliIo, needed?: readonly string[]) {
  const config = readOneMsgEnv(io.env);
  const missing = config.missing.filter((name) => needed === undefined || needed.includes(name));
  if (missing.length > 0) {
    throw new TypeError(
      `set ${missing.join(", ")} (from the 1MSG dashboard, or from "waotp simulate").`,
    );
  }
  return config;
}

async function simulate(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "4010" },
      host: { type: "string", default: "127.0.0.1" },
      "webhook-key": { type: "string", default: "ack" },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new TypeError("--port must be 0 to 65535.");
  const webhookKey = values["webhook-key"];
  if (webhookKey !== "ack" && webhookKey !== "hooks")
    throw new TypeError('--webhook-key must be "ack" or "hooks".');
  const sim = await startOneMsgSimulator({ port, host: values.host, webhookKey });
  io.out(`1MSG simulator listening on ${sim.url} (open it to read delivered messages)`);
  io.out("Use these settings:");
  io.out(`ONEMSG_API_URL=${sim.url}`);
  io.out(`ONEMSG_CHANNEL_ID=${sim.channelId}`);
  io.out(`ONEMSG_TOKEN=${sim.token}`);
  io.out(`ONEMSG_TEMPLATE=${sim.template.name}`);
  io.out(`ONEMSG_NAMESPACE=${sim.template.namespace}`);
  io.out(`ONEMSG_LANGUAGE=${sim.template.language}`);
  let seen = 0;
  const timer = setInterval(() => {
    for (const message of sim.messages.slice(seen)) {
      io.out(`message ${message.id} to ${maskPhone(message.phone)}: ${message.status}`);
    }
    seen = sim.messages.length;
  }, 200);
  await (io.stopped ?? new Promise<void>(() => {}));
  clearInterval(timer);
  await sim.close();
  return 0;
}

async function send(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { wait: { type: "string", default: "0" } },
  });
  const phone = positionals.join(" ");
  if (phone === "") throw new TypeError('give a phone number: waotp send "+1 415 555 0101"');
  const waitSeconds = Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0 || waitSeconds > 600) {
    throw new TypeError("--wait must be 0 to 600 seconds.");
  }
  const { options } = requireSettings(io);
  const channel = oneMsg(options);
  const otp = createOtp({
    secret: randomBytes(32),
    channel,
    delivery: { poll: true, pollIntervalSeconds: 1 },
  });
  const sent = await otp.send({ phone });
  io.out(
    `Sent a code to ${maskPhone(sent.phone)}: message ${sent.messageId}, expires ${sent.expiresAt.toISOString()}.`,
  );
  const deadline = Date.now() + waitSeconds * 1000;
  let last = "accepted";
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const status = await otp.status(sent.messageId);
    if (status !== null && status.status !== last) {
      last = status.status;
      io.out(`status: ${status.status}${status.error ? ` (${status.error})` : ""}`);
      if (isFinal(status.status)) break;
    }
  }
  return last === "failed" || last === "undelivered" ? 1 : 0;
}

async function doctor(io: CliIo): Promise<number> {
  const config = readOneMsgEnv(io.env);
  const { options } = config;
  const checks: TemplateCheck[] = [];
  const report = () => {
    for (const check of checks) {
      io.out(`${check.ok ? "✓" : "✗"} ${check.label}`);
      if (!check.ok && check.fix) io.out(`    fix: ${check.fix}`);
      if (check.note) io.out(`    note: ${check.note}`);
    }
    const failed = checks.filter((c) => !c.ok).length;
    io.out(failed === 0 ? "All checks passed." : `${failed} check${failed > 1 ? "s" : ""} failed.`);
    return failed === 0 ? 0 : 1;
  };
  const needed = config.missing.filter((name) => name !== "ONEMSG_NAMESPACE");
  checks.push({
    ok: needed.length === 0,
    label: "settings: ONEMSG_CHANNEL_ID, ONEMSG_TOKEN and ONEMSG_TEMPLATE are set",
    fix: `set ${needed.join(", ")}`,
  });
  if (needed.length > 0) return report();

  checks.push(...(await checkOneMsgSetup(createOneMsgClient(options), options.template)));
  return report();
}

async function webhook(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { force: { type: "boolean", default: false } },
  });
  const [action, url, ...extra] = positionals;
  const known =
    (action === "get" && url === undefined) ||
    ((action === "set" || action === "remove") && url !== undefined);
  if (!known || extra.length > 0) {
    io.err(HELP.webhook as string);
    return 1;
  }
  const { options } = requireSettings(io, ["ONEMSG_CHANNEL_ID", "ONEMSG_TOKEN"]);
  const client = createOneMsgClient(options);
  if (action === "get") return await showWebhooks(client, io);
  const target = readWebhookArgument(url as string);
  if (action === "set") {
    const { changed, urls } = await addWebhook(client, target);
    io.out(
      changed
        ? `Webhook set to ${maskUrl(target)} and delivery acks turned on.`
        : `Webhook ${maskUrl(target)} was already registered; delivery acks turned on.`,
    );
    const others = urls.filter((u) => !sameWebhookUrl(u, target));
    if (others.length > 0) {
      io.out(`Kept the other webhooks: ${others.map(describeWebhookUrl).join(", ")}`);
    }
    return 0;
  }
  if (isOneMsgInboxWebhook(target) && !values.force) {
    throw new TypeError(
      "that is 1MSG's own inbox webhook: without it the 1MSG inbox stops receiving messages. Add --force to remove it anyway.",
    );
  }
  const { changed, urls } = await removeWebhook(client, target);
  io.out(
    changed
      ? `Webhook ${maskUrl(target)} removed; ${urls.length === 0 ? "no webhooks are left" : `still registered: ${urls.map(describeWebhookUrl).join(", ")}`}.`
      : `Webhook ${maskUrl(target)} was not registered; nothing changed.`,
  );
  return 0;
}

async function showWebhooks(client: OneMsgClient, io: CliIo): Promise<number> {
  const entries = await getWebhooks(client);
  // The list is what matters; an older API without GET /settings leaves the acks state unknown.
  const acks = await getAckNotifications(client).catch(() => undefined);
  if (entries.length === 0) {
    io.out("webhooks: none");
  } else {
    io.out(`webhooks (${entries.length} of at most ${MAX_WEBHOOKS}):`);
    for (const entry of entries) {
      io.out(`  ${describeWebhookUrl(entry.url)}${entry.status ? ` [${entry.status}]` : ""}`);
    }
  }
  io.out(
    `delivery acks (ackNotificationsOn): ${acks === undefined ? "unknown (1MSG did not say)" : acks ? "on" : "off: run waotp webhook set <url> to turn them on"}`,
  );
  return 0;
}

function readWebhookArgument(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`"${url}" is not a URL.`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    throw new TypeError("the webhook URL must be http(s).");
  return parsed.toString();
}

/** A webhook URL with its path and query hidden: they usually hold the webhook secret. */
const maskUrl = maskWebhookUrl;

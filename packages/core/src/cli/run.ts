import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { isTerminal } from "../delivery.js";
import { isOtpError } from "../errors.js";
import { oneMsg } from "../one-msg/channel.js";
import { DEFAULT_BASE_URL } from "../one-msg/client.js";
import { OneMsgError } from "../one-msg/errors.js";
import { createOtp } from "../otp.js";
import { maskPhone } from "../phone.js";
import { startOneMsgSimulator } from "../testing/simulator.js";

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
  simulate           start a local 1MSG simulator and print the settings to use it
  send <phone>       send one real code to a phone, to check the template
  doctor             check the channel and the template, with a fix for each problem
  webhook set <url>  point 1MSG's delivery webhook at <url> (and turn acks on)
  webhook get        show the registered webhook

Settings come from ONEMSG_API_URL (default ${DEFAULT_BASE_URL}), ONEMSG_CHANNEL_ID, ONEMSG_TOKEN,
ONEMSG_TEMPLATE, ONEMSG_NAMESPACE and ONEMSG_LANGUAGE (default en).
Run "waotp <command> --help" for a command's options.`,
  simulate: `Usage: waotp simulate [--port 4010] [--host 127.0.0.1] [--webhook-key ack|hooks]

Starts a local HTTP server that behaves like 1MSG: it checks requests (token, namespace, template,
the code in the body and the copy-code button), answers like 1MSG, reports delivery to the
registered webhook and through hookInfo. Open its URL to read the messages it delivered.`,
  send: `Usage: waotp send <phone> [--wait <seconds>]

Sends one code to <phone> with the ONEMSG_* settings, as the library would, and prints the message id.
With --wait, asks 1MSG (hookInfo) for the delivery state until it is final or the time is up.`,
  doctor: `Usage: waotp doctor

Checks that the ONEMSG_* settings are complete, that the channel is connected, and that the template
exists in the language, is approved, is in the AUTHENTICATION category, has one body variable and a
copy-code button, and that its namespace matches ONEMSG_NAMESPACE. Exits with 1 when a check fails.`,
  webhook: `Usage: waotp webhook set <url>
       waotp webhook get

"set" replaces the channel's webhook list with <url> and turns delivery acks on
(ackNotificationsOn). Put a secret in the URL path: 1MSG does not sign webhooks.`,
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
      io.err(`waotp ${command}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function settings(env: CliIo["env"]) {
  const missing = [
    "ONEMSG_CHANNEL_ID",
    "ONEMSG_TOKEN",
    "ONEMSG_TEMPLATE",
    "ONEMSG_NAMESPACE",
  ].filter((name) => !env[name]);
  return {
    missing,
    baseUrl: env.ONEMSG_API_URL || DEFAULT_BASE_URL,
    channelId: env.ONEMSG_CHANNEL_ID ?? "",
    token: env.ONEMSG_TOKEN ?? "",
    template: {
      name: env.ONEMSG_TEMPLATE ?? "",
      namespace: env.ONEMSG_NAMESPACE ?? "",
      language: env.ONEMSG_LANGUAGE || "en",
    },
  };
}

function requireSettings(io: CliIo) {
  const config = settings(io.env);
  if (config.missing.length > 0) {
    throw new TypeError(
      `set ${config.missing.join(", ")} (from the 1MSG dashboard, or from "waotp simulate").`,
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
  const config = requireSettings(io);
  const channel = oneMsg(config);
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
      if (isTerminal(status.status) || status.status === "read") break;
    }
  }
  return last === "failed" || last === "undelivered" ? 1 : 0;
}

interface Check {
  ok: boolean;
  label: string;
  fix?: string;
}

async function doctor(io: CliIo): Promise<number> {
  const config = settings(io.env);
  const checks: Check[] = [];
  const report = () => {
    for (const check of checks) {
      io.out(
        `${check.ok ? "✓" : "✗"} ${check.label}${check.ok || !check.fix ? "" : `\n    fix: ${check.fix}`}`,
      );
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

  const { client } = oneMsg({
    ...config,
    template: { ...config.template, namespace: config.template.namespace || "-" },
  });
  try {
    const { data } = await client.request({ method: "GET", path: "status" });
    const state = String(data.accountStatus ?? data.status ?? data.state ?? "unknown");
    checks.push({
      ok: ["authenticated", "connected", "active"].includes(state.toLowerCase()),
      label: `channel ${config.channelId} is connected (${state})`,
      fix: "open the channel in the 1MSG dashboard and finish connecting the WhatsApp number",
    });
  } catch (error) {
    checks.push({ ok: false, label: "1MSG answers for this channel", fix: describe(error) });
    return report();
  }

  const { data } = await client.request({ method: "GET", path: "templates" });
  const templates = Array.isArray(data.templates)
    ? (data.templates as Record<string, unknown>[])
    : [];
  const named = templates.filter((t) => t.name === config.template.name);
  const template = named.find((t) => t.language === config.template.language);
  checks.push({
    ok: template !== undefined,
    label: `template "${config.template.name}" exists in language "${config.template.language}"`,
    fix:
      named.length > 0
        ? `set ONEMSG_LANGUAGE to one of: ${named.map((t) => String(t.language)).join(", ")}`
        : `create an AUTHENTICATION template with a copy-code button in the 1MSG dashboard; templates here: ${templates.map((t) => String(t.name)).join(", ") || "none"}`,
  });
  if (template === undefined) return report();

  const components = Array.isArray(template.components)
    ? (template.components as Record<string, unknown>[])
    : [];
  const body = components.find((c) => String(c.type).toUpperCase() === "BODY");
  const variables = new Set(String(body?.text ?? "").match(/\{\{\d+\}\}/g) ?? []).size;
  const buttons = components
    .filter((c) => String(c.type).toUpperCase() === "BUTTONS")
    .flatMap((c) => (Array.isArray(c.buttons) ? (c.buttons as Record<string, unknown>[]) : []));
  const copyCode = buttons.some(
    (b) =>
      String(b.otp_type).toUpperCase() === "COPY_CODE" ||
      String(b.type).toUpperCase() === "COPY_CODE",
  );
  checks.push(
    {
      ok: template.status === "APPROVED",
      label: `template is approved (${String(template.status)})`,
      fix: "wait for Meta's review, or fix what the rejection says and submit again",
    },
    {
      ok: template.category === "AUTHENTICATION",
      label: `template is in the AUTHENTICATION category (${String(template.category)})`,
      fix: "create a new template in the AUTHENTICATION category; the category of an approved template cannot change",
    },
    {
      ok: variables === 1,
      label: `template body has one variable for the code (${variables})`,
      fix: "authentication templates carry exactly one body variable, {{1}}, the code",
    },
    {
      ok: copyCode,
      label: "template has a copy-code button",
      fix: "add a copy-code (OTP) button: waotp sends the code in it as well as in the body",
    },
    {
      ok: config.template.namespace !== "" && template.namespace === config.template.namespace,
      label: `ONEMSG_NAMESPACE matches the template's namespace`,
      fix: `set ONEMSG_NAMESPACE=${String(template.namespace)}`,
    },
  );
  return report();
}

async function webhook(args: string[], io: CliIo): Promise<number> {
  const [action, url] = args;
  const config = requireSettings(io);
  const { client } = oneMsg(config);
  if (action === "get") {
    const { data } = await client.request({ method: "GET", path: "webhook" });
    const urls = [data.webhookUrl ?? []].flat().map((u) => maskUrl(String(u)));
    io.out(`webhook: ${urls.length > 0 ? urls.join(", ") : "none"}`);
    return 0;
  }
  if (action !== "set" || url === undefined) {
    io.err(HELP.webhook as string);
    return 1;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`"${url}" is not a URL.`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    throw new TypeError("the webhook URL must be http(s).");
  await client.request({
    method: "POST",
    path: "webhook",
    body: { webhookUrl: parsed.toString() },
  });
  await client.request({ method: "POST", path: "settings", body: { ackNotificationsOn: true } });
  io.out(`Webhook set to ${maskUrl(parsed.toString())} and delivery acks turned on.`);
  return 0;
}

/** A webhook URL with its path and query hidden: they usually hold the webhook secret. */
function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname.length > 1 || parsed.search ? "/…" : "/"}`;
  } catch {
    return "(not a URL)";
  }
}

function describe(error: unknown): string {
  if (error instanceof OneMsgError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

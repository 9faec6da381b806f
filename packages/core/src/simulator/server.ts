import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createOneMsgFake,
  type FakeMessage,
  type OneMsgFake,
  type OneMsgFakeOptions,
} from "./one-msg-fake.js";
import {
  createTwilioFake,
  type FakeSms,
  type TwilioFake,
  type TwilioFakeOptions,
} from "./twilio-fake.js";

export interface SimulatorOptions extends OneMsgFakeOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** The simulated Twilio account that carries SMS (`sim.sms`): credentials, sender, callback timing. */
  sms?: TwilioFakeOptions;
}

/** What a phone received: a WhatsApp message or an SMS, told apart by `channel`. */
export type InboxMessage = FakeMessage | FakeSms;

export interface OneMsgSimulator
  extends Omit<OneMsgFake, "inbox" | "lastCode" | "waitForMessage" | "reset" | "close"> {
  /** Base URL to give the client as `baseUrl` (ONEMSG_API_URL), and `twilioSms` as its `baseUrl`. */
  readonly url: string;
  readonly port: number;
  /** The simulated Twilio Programmable Messaging, served at the same `url`. */
  readonly sms: TwilioFake;
  /** Everything a phone (digits or E.164) received, WhatsApp and SMS, oldest first. */
  inbox(phone: string): InboxMessage[];
  /** The code of the newest message to a phone, whichever channel carried it. */
  lastCode(phone: string): string | undefined;
  /** Waits for the next message to a phone, on either channel, that arrives after this call. */
  waitForMessage(phone: string, options?: { timeoutMs?: number }): Promise<InboxMessage>;
  /** Forgets messages, faults and counters on both channels; keeps templates and webhooks. */
  reset(): void;
  /** Stops the server and pending acks and callbacks. */
  close(): Promise<void>;
}

/** Requests under this path are Twilio's; every other one is 1MSG's (`/{channelId}/{method}`). */
const TWILIO_PATH = "/2010-04-01/";

const MAX_BODY = 1024 * 1024;

/**
 * Starts a local 1MSG on a real HTTP port: the same checks, answers and delivery reports as 1MSG,
 * with faults on demand and an inbox to read codes from. `GET /` shows the inbox in a browser;
 * `GET /_inbox/<phone>` gives it as JSON.
 *
 * @example
 * const sim = await startOneMsgSimulator();
 * const channel = oneMsg({ baseUrl: sim.url, channelId: sim.channelId, token: sim.token, template: sim.template });
 */
export async function startOneMsgSimulator(
  options: SimulatorOptions = {},
): Promise<OneMsgSimulator> {
  const fake = createOneMsgFake(options);
  const sms = createTwilioFake(options.sms);
  const host = options.host ?? "127.0.0.1";
  const sockets = new Set<import("node:net").Socket>();

  const server = createServer((req, res) => {
    serve(simulator, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "Simulator failure" }));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  const inbox = (phone: string): InboxMessage[] =>
    [...fake.inbox(phone), ...sms.inbox(phone)].sort(
      (a, b) => a.createdAt.getTime() - b.createdAt.getTime(),
    );
  // Inherit from the fake, so its getters (webhookUrls) stay live.
  const simulator: OneMsgSimulator = Object.assign(Object.create(fake) as OneMsgFake, {
    url,
    port,
    sms,
    inbox,
    lastCode: (phone: string) => inbox(phone).at(-1)?.code,
    waitForMessage(phone: string, wait: { timeoutMs?: number } = {}) {
      return Promise.any<InboxMessage>([
        fake.waitForMessage(phone, wait),
        sms.waitForMessage(phone, wait),
      ]).catch(() => {
        throw new Error(`no message to ${phone} within ${wait.timeoutMs ?? 5000} ms`);
      });
    },
    reset() {
      fake.reset();
      sms.reset();
    },
    async close() {
      fake.close();
      sms.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return simulator;
}

/**
 * Whether a request's `Host` names this machine (`localhost`, `127.x.x.x`, `[::1]`, any port). A page
 * that shows simulated codes answers only such requests: a loopback bind alone does not stop a web
 * page elsewhere from reaching it through a DNS name that resolves to 127.0.0.1 (DNS rebinding).
 */
export function isLoopbackHost(host: string | null | undefined): boolean {
  const name = (host ?? "").trim().toLowerCase().replace(/:\d+$/, "");
  return name === "localhost" || name === "[::1]" || /^127(\.\d{1,3}){3}$/.test(name);
}

async function serve(
  simulator: OneMsgSimulator,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://simulator");
  const showsCodes = url.pathname === "/" || url.pathname.startsWith("/_inbox/");
  if (req.method === "GET" && showsCodes && !isLoopbackHost(req.headers.host)) {
    res.writeHead(403, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "The simulated inbox answers only on localhost" }));
    return;
  }
  if (req.method === "GET" && url.pathname === "/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(inboxPage(simulator));
    return;
  }
  if (req.method === "GET" && url.pathname.startsWith("/_inbox/")) {
    let phone: string;
    try {
      phone = decodeURIComponent(url.pathname.slice("/_inbox/".length));
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "Malformed phone in the path" }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ messages: simulator.inbox(phone) }));
    return;
  }

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) {
      res.writeHead(413, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "Request body too large" }));
      return;
    }
    chunks.push(chunk as Buffer);
  }
  const aborted = new AbortController();
  res.on("close", () => aborted.abort());
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers.set(name, value);
  }
  const method = req.method ?? "GET";
  const request = new Request(`http://simulator${req.url ?? "/"}`, {
    method,
    headers,
    signal: aborted.signal,
    ...(method === "GET" || method === "HEAD" ? {} : { body: Buffer.concat(chunks) }),
  });
  const response = url.pathname.startsWith(TWILIO_PATH)
    ? await simulator.sms.handle(request)
    : await simulator.handle(request);
  if (aborted.signal.aborted) return;
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function inboxRow(m: InboxMessage): string {
  const head = `<b>+${escapeHtml(m.phone)}</b> <small>${m.channel === "sms" ? `SMS from ${escapeHtml(m.from)}` : "WhatsApp"} · ${m.createdAt.toISOString()} · ${m.status}</small>`;
  const text = `<p>${escapeHtml(m.text)}</p>`;
  return m.channel === "sms"
    ? `<li class="sms">${head}${text}</li>`
    : `<li>${head}${text}<button>${escapeHtml(m.button)}</button></li>`;
}

function inboxPage(simulator: OneMsgSimulator): string {
  const everything: InboxMessage[] = [...simulator.messages, ...simulator.sms.messages];
  const rows = everything
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .map(inboxRow)
    .join("");
  return `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="3"><title>1MSG simulator</title>
<style>body{font:15px system-ui;margin:2rem;background:#efeae2}li{list-style:none;background:#fff;border-radius:8px;padding:.8rem;margin:.6rem 0;max-width:28rem}li.sms{background:#e9e9eb;border-radius:16px}p{margin:.4rem 0}button{border:0;background:none;color:#00a884;font-weight:600}</style>
<h1>1MSG simulator</h1><p>Channel <code>${escapeHtml(simulator.channelId)}</code>, template <code>${escapeHtml(simulator.template.name)}</code>; SMS through Twilio account <code>${escapeHtml(simulator.sms.accountSid)}</code>. Messages delivered, newest first:</p><ul>${rows || "<li>No messages yet.</li>"}</ul>`;
}

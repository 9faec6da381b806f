import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import nodeHttp from "node:http";
import { fileURLToPath } from "node:url";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  FIXTURE_TEMPLATE,
  SUBSCRIPTION_BLOCKED_403,
  TEMPLATE_LISTING_ERROR,
  TEMPLATE_LISTINGS,
} from "../one-msg/fixtures/templates.js";
import {
  DEFAULT_TEMPLATE,
  type FakeTemplate,
  ONEMSG_INBOX_WEBHOOK,
} from "../simulator/one-msg-fake.js";
import {
  type OneMsgSimulator,
  type SimulatorOptions,
  startOneMsgSimulator,
} from "../simulator/server.js";
import { runCli } from "./run.js";

let sim: OneMsgSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function simulator(options: SimulatorOptions = {}) {
  sim = await startOneMsgSimulator(options);
  return sim;
}

function envFor(s: OneMsgSimulator, overrides: Record<string, string> = {}) {
  return {
    ONEMSG_API_URL: s.url,
    ONEMSG_CHANNEL_ID: s.channelId,
    ONEMSG_TOKEN: s.token,
    ONEMSG_TEMPLATE: s.template.name,
    ONEMSG_NAMESPACE: s.template.namespace,
    ...overrides,
  };
}

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { env, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("waotp help", () => {
  it("lists the commands, and each command explains itself", async () => {
    expect((await run(["--help"])).out).toMatch(
      /simulate[\s\S]*send <phone>[\s\S]*doctor[\s\S]*webhook set[\s\S]*webhook remove[\s\S]*ONEMSG_AUTH/,
    );
    for (const command of ["simulate", "send", "doctor", "webhook"]) {
      const { code, out } = await run([command, "--help"]);
      expect(code).toBe(0);
      expect(out).toMatch(new RegExp(`^Usage: waotp ${command}`));
    }
    const unknown = await run(["launch"]);
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.err).toMatch(/unknown command "launch"/);
  });
});

describe("waotp send", () => {
  it("sends one code through 1MSG and waits for its delivery", async () => {
    const s = await simulator();
    const { code, out } = await run(["send", "+1 415 555 0101", "--wait", "3"], envFor(s));
    expect(code).toBe(0);
    expect(out).toMatch(/Sent a code to \+14\*{7}01: message wamid\./);
    expect(out).toMatch(/status: delivered/);
    const [message] = s.inbox("14155550101");
    // The code reaches the phone, never the terminal.
    expect(out).not.toContain(message?.code as string);
  });

  it("says which settings are missing", async () => {
    const { code, err } = await run(["send", "+14155550101"], { ONEMSG_TOKEN: "x" });
    expect(code).toBe(1);
    expect(err).toMatch(/set ONEMSG_CHANNEL_ID, ONEMSG_TEMPLATE, ONEMSG_NAMESPACE/);
  });

  it("reports 1MSG's refusal without the token", async () => {
    const s = await simulator();
    const { code, err } = await run(
      ["send", "+14155550101"],
      envFor(s, { ONEMSG_TOKEN: "not-the-token-42" }),
    );
    expect(code).toBe(1);
    expect(err).toMatch(/refused the token .*ONEMSG_TOKEN/);
    expect(err).not.toContain("not-the-token-42");
  });

  it("refuses an invalid phone", async () => {
    const s = await simulator();
    const { code, err } = await run(["send", "+1 555 123 4567"], envFor(s));
    expect(code).toBe(1);
    expect(err).toMatch(/not valid/);
    expect(s.messages).toHaveLength(0);
  });
});

describe("waotp doctor", () => {
  it("passes every check against a well-set channel", async () => {
    const s = await simulator();
    const { code, out } = await run(["doctor"], envFor(s));
    expect(out.match(/✓/g)).toHaveLength(8);
    expect(out).toMatch(/All checks passed/);
    expect(code).toBe(0);
  });

  it("names each problem of a bad template with its fix", async () => {
    const s = await simulator({
      templates: [
        {
          ...DEFAULT_TEMPLATE,
          status: "pending",
          category: "MARKETING",
          body: "Hi {{1}}, your code is {{2}}",
          copyCodeButton: false,
        },
      ],
    });
    const { code, out } = await run(["doctor"], envFor(s, { ONEMSG_NAMESPACE: "wrong" }));
    expect(code).toBe(1);
    expect(out).toMatch(/✗ template is approved \(pending\)\n {4}fix: wait for Meta's review/);
    expect(out).toMatch(/✗ template is in the AUTHENTICATION category \(MARKETING\)/);
    expect(out).toMatch(/✗ template body has one variable for the code \(2\)/);
    expect(out).toMatch(/✗ template has a copy-code button/);
    expect(out).toMatch(/fix: set ONEMSG_NAMESPACE=waotp_simulator/);
    expect(out).toMatch(/5 checks failed/);
  });

  it("suggests the languages a template exists in", async () => {
    const s = await simulator();
    const { out } = await run(["doctor"], envFor(s, { ONEMSG_LANGUAGE: "pt_BR" }));
    expect(out).toMatch(
      /✗ template "waotp_code" exists in language "pt_BR"\n {4}fix: set ONEMSG_LANGUAGE to one of: en/,
    );
  });

  it("checks the template in every language ONEMSG_LANGUAGE lists", async () => {
    const s = await simulator({
      templates: [DEFAULT_TEMPLATE, { ...DEFAULT_TEMPLATE, language: "es" }],
    });
    const { code, out } = await run(["doctor"], envFor(s, { ONEMSG_LANGUAGE: "en,es,pt_BR" }));
    expect(out).toMatch(/✓ template "waotp_code" exists in language "en"/);
    expect(out).toMatch(/✓ template "waotp_code" exists in language "es"/);
    expect(out).toMatch(/✗ template "waotp_code" exists in language "pt_BR"/);
    expect(code).toBe(1);
  });

  it("stops at a wrong token with the setting to fix", async () => {
    const s = await simulator();
    const { code, out } = await run(["doctor"], envFor(s, { ONEMSG_TOKEN: "nope-nope" }));
    expect(code).toBe(1);
    expect(out).toMatch(/✗ 1MSG answers for this channel\n {4}fix: .*ONEMSG_TOKEN/);
    expect(out).not.toContain("nope-nope");
  });

  it("lists missing settings", async () => {
    const { code, out } = await run(["doctor"], {});
    expect(code).toBe(1);
    expect(out).toMatch(/fix: set ONEMSG_CHANNEL_ID, ONEMSG_TOKEN, ONEMSG_TEMPLATE/);
  });

  it("passes a template whose copy-code button is listed in the OTP form, approved in lower case", async () => {
    const s = await simulator({ templates: [{ ...DEFAULT_TEMPLATE, button: "otp" }] });
    const { code, out } = await run(["doctor"], envFor(s));
    expect(out).toMatch(/^✓ template is approved \(approved\)$/m);
    expect(out).toMatch(/^✓ template has a copy-code button$/m);
    expect(out).toMatch(/All checks passed/);
    expect(code).toBe(0);
  });

  it("passes a template whose copy-code button is listed in Meta's URL form", async () => {
    const s = await simulator({ templates: [{ ...DEFAULT_TEMPLATE, button: "url" }] });
    const { code, out } = await run(["doctor"], envFor(s));
    expect(out).toMatch(/^✓ template has a copy-code button \(listed as Meta's URL button\)$/m);
    expect(out).toMatch(/All checks passed/);
    expect(code).toBe(0);
  });

  it.each([
    ["one_tap", "one-tap"],
    ["zero_tap", "zero-tap"],
  ] as const)("passes an autofill button (%s) and says so", async (button, words) => {
    const s = await simulator({ templates: [{ ...DEFAULT_TEMPLATE, button }] });
    const { code, out } = await run(["doctor"], envFor(s));
    expect(out).toContain(
      `✓ template has a copy-code button (${words} autofill; the code is also copyable)`,
    );
    expect(code).toBe(0);
  });

  it("accepts OTP, the older name of the AUTHENTICATION category", async () => {
    const s = await simulator({ templates: [{ ...DEFAULT_TEMPLATE, category: "OTP" }] });
    const { code, out } = await run(["doctor"], envFor(s));
    expect(out).toMatch(
      /✓ template is in the AUTHENTICATION category \(OTP\)\n {4}note: OTP is 1MSG's older name/,
    );
    expect(code).toBe(0);
  });

  it("counts a connecting channel as connected, and names a disconnected one", async () => {
    const s = await simulator({ channelStatus: "connecting" });
    const connecting = await run(["doctor"], envFor(s));
    expect(connecting.out).toMatch(
      /✓ channel sim-channel is connected \(connecting; account authenticated\)/,
    );
    expect(connecting.code).toBe(0);
    await s.close();
    const down = await simulator({ channelStatus: "disconnected" });
    const disconnected = await run(["doctor"], envFor(down));
    expect(disconnected.out).toMatch(
      /✗ channel sim-channel is connected \(disconnected; account authenticated\)\n {4}fix: .*connect the WhatsApp number again/,
    );
    expect(disconnected.code).toBe(1);
  });

  it("reads every page of the channel's templates", async () => {
    const others: FakeTemplate[] = Array.from({ length: 130 }, (_, i) => ({
      ...DEFAULT_TEMPLATE,
      name: `promo_${i}`,
      category: "MARKETING",
    }));
    const s = await simulator({
      templates: [...others.slice(0, 120), DEFAULT_TEMPLATE, ...others.slice(120)],
    });
    const { code, out } = await run(
      ["doctor"],
      envFor(s, {
        ONEMSG_TEMPLATE: DEFAULT_TEMPLATE.name,
        ONEMSG_NAMESPACE: DEFAULT_TEMPLATE.namespace,
      }),
    );
    expect(out).toMatch(/✓ template "waotp_code" exists in language "en"/);
    expect(code).toBe(0);
    expect(s.calls.templates).toBe(2);
  });

  it("finds a template past the fake's default page of 20", async () => {
    const others: FakeTemplate[] = Array.from({ length: 25 }, (_, i) => ({
      ...DEFAULT_TEMPLATE,
      name: `promo_${i}`,
    }));
    const s = await simulator({ templates: [...others, DEFAULT_TEMPLATE] });
    const { code } = await run(["doctor"], envFor(s, { ONEMSG_TEMPLATE: "waotp_code" }));
    expect(code).toBe(0);
  });

  it("sends the token as ?token= with ONEMSG_AUTH=query", async () => {
    const s = await simulator();
    // The CLI's calls go through Node's HTTP client (see `timedFetch`).
    const spy = vi.spyOn(nodeHttp, "request");
    try {
      const doctor = await run(["doctor"], envFor(s, { ONEMSG_AUTH: "query" }));
      expect(doctor.out).toMatch(/All checks passed/);
      expect(doctor.code).toBe(0);
      const get = await run(["webhook", "get"], envFor(s, { ONEMSG_AUTH: "query" }));
      expect(get.code).toBe(0);
      expect(spy.mock.calls.length).toBeGreaterThanOrEqual(4);
      for (const [input, options] of spy.mock.calls as unknown as [
        URL,
        nodeHttp.RequestOptions,
      ][]) {
        expect(new URL(String(input)).searchParams.get("token")).toBe(s.token);
        expect(Object.keys(options.headers ?? {})).not.toContain("authorization");
      }
    } finally {
      spy.mockRestore();
    }
    const wrong = await run(["doctor"], envFor(s, { ONEMSG_AUTH: "cookie" }));
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/ONEMSG_AUTH must be "bearer" .* or "query"/);
  });
});

describe("waotp doctor against the shapes 1MSG answers in", () => {
  const BASE = "https://api.1msg.test";
  const CHANNEL = "4242";
  const env = {
    ONEMSG_API_URL: BASE,
    ONEMSG_CHANNEL_ID: CHANNEL,
    ONEMSG_TOKEN: "fixture-token-0001",
    ONEMSG_TEMPLATE: FIXTURE_TEMPLATE.name,
    ONEMSG_NAMESPACE: FIXTURE_TEMPLATE.namespace,
  };
  let status: () => Response = () => HttpResponse.json({ status: "connected" });
  let templates: () => Response = () => HttpResponse.json({ total: 0, templates: [] });
  const server = setupServer(
    http.get(`${BASE}/${CHANNEL}/status`, () => status()),
    http.get(`${BASE}/${CHANNEL}/templates`, () => templates()),
    http.get(`${BASE}/${CHANNEL}/webhook`, () => status()),
  );
  beforeAll(() => server.listen({ onUnhandledRequest: "bypass" }));
  afterEach(() => {
    status = () => HttpResponse.json({ status: "connected" });
  });
  afterAll(() => server.close());

  it.each(Object.entries(TEMPLATE_LISTINGS))("passes a listing with %s", async (_, { body }) => {
    templates = () => HttpResponse.json(body as Record<string, unknown>);
    const { code, out } = await run(["doctor"], env);
    expect(out).toMatch(/All checks passed/);
    expect(code).toBe(0);
  });

  it("reports the error a 200 answer carries, not a missing template", async () => {
    templates = () => HttpResponse.json(TEMPLATE_LISTING_ERROR.body);
    const { code, out } = await run(["doctor"], env);
    expect(code).toBe(1);
    expect(out).toContain(
      `✗ 1MSG lists the channel's templates\n    fix: 1MSG said: ${TEMPLATE_LISTING_ERROR.message}`,
    );
    expect(out).not.toMatch(/exists in language/);
  });

  it("says a 403 is a trial or blocked channel, not a wrong token", async () => {
    status = () =>
      new HttpResponse(SUBSCRIPTION_BLOCKED_403, {
        status: 403,
        headers: { "content-type": "text/plain" },
      });
    const doctor = await run(["doctor"], env);
    expect(doctor.code).toBe(1);
    expect(doctor.out).toMatch(
      /✗ 1MSG answers for this channel\n {4}fix: 1MSG answered HTTP 403: the channel is on trial or blocked; check the subscription in the 1MSG dashboard\. 1MSG said: subscriptionBlocked/,
    );
    expect(doctor.out).not.toMatch(/fix: .*ONEMSG_TOKEN/);
    const get = await run(["webhook", "get"], env);
    expect(get.code).toBe(1);
    expect(get.err).toMatch(/the channel is on trial or blocked/);
    expect(get.err).not.toMatch(/ONEMSG_TOKEN/);
  });
});

describe("waotp webhook", () => {
  const OURS = "https://app.example/otp/webhook/s3cr3t";

  it("adds the webhook next to 1MSG's inbox and turns acks on; twice keeps one copy", async () => {
    const s = await simulator();
    const set = await run(["webhook", "set", OURS], envFor(s));
    expect(set.code).toBe(0);
    expect(set.out).toBe(
      "Webhook set to https://app.example/… and delivery acks turned on.\nKept the other webhooks: https://app.1msg.io/… (1MSG's inbox)",
    );
    expect(s.webhookUrls).toEqual([ONEMSG_INBOX_WEBHOOK, OURS]);
    expect(s.calls.settings).toBe(1);
    // Again, spelled with a trailing slash: still one copy, and the inbox stays.
    const again = await run(["webhook", "set", `${OURS}/`], envFor(s));
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^Webhook https:\/\/app\.example\/… was already registered/);
    expect(s.webhookUrls).toEqual([ONEMSG_INBOX_WEBHOOK, OURS]);
    expect(`${set.out}${again.out}`).not.toContain("s3cr3t");
  });

  it("refuses a sixth URL, names the five masked, and changes nothing", async () => {
    const others = [1, 2, 3, 4].map((i) => `https://hooks${i}.example/in/secret-${i}`);
    const s = await simulator({ webhookUrls: others });
    const before = [...s.webhookUrls];
    const { code, err } = await run(["webhook", "set", OURS], envFor(s));
    expect(code).toBe(1);
    expect(err).toMatch(/at most 5 webhook URLs and this channel has 5/);
    expect(err).toContain("https://app.1msg.io/… (1MSG's inbox)");
    expect(err).toContain("https://hooks4.example/…");
    expect(err).not.toMatch(/secret-|s3cr3t/);
    expect(s.webhookUrls).toEqual(before);
    expect(s.calls.webhook).toBe(1);
    expect(s.calls.settings).toBeUndefined();
  });

  it("removes only the URL it is given", async () => {
    const s = await simulator({ webhookUrls: ["https://a.example/h/1", "https://b.example/h/2"] });
    const removed = await run(["webhook", "remove", "https://a.example/h/1"], envFor(s));
    expect(removed.code).toBe(0);
    expect(removed.out).toBe(
      "Webhook https://a.example/… removed; still registered: https://app.1msg.io/… (1MSG's inbox), https://b.example/….",
    );
    expect(s.webhookUrls).toEqual([ONEMSG_INBOX_WEBHOOK, "https://b.example/h/2"]);
    const again = await run(["webhook", "remove", "https://a.example/h/1"], envFor(s));
    expect(again.out).toMatch(/was not registered; nothing changed/);
    const inbox = await run(["webhook", "remove", ONEMSG_INBOX_WEBHOOK], envFor(s));
    expect(inbox.code).toBe(1);
    expect(inbox.err).toMatch(/1MSG's own inbox webhook.*--force/);
    expect(s.webhookUrls).toEqual([ONEMSG_INBOX_WEBHOOK, "https://b.example/h/2"]);
    const forced = await run(["webhook", "remove", ONEMSG_INBOX_WEBHOOK, "--force"], envFor(s));
    expect(forced.code).toBe(0);
    expect(s.webhookUrls).toEqual(["https://b.example/h/2"]);
  });

  it("shows every registered URL masked, and whether acks are on", async () => {
    const s = await simulator({ webhookUrls: ["https://a.example/h/s3cr3t"] });
    const env = {
      ONEMSG_API_URL: s.url,
      ONEMSG_CHANNEL_ID: s.channelId,
      ONEMSG_TOKEN: s.token,
    };
    const get = await run(["webhook", "get"], env);
    expect(get.code).toBe(0);
    expect(get.out).toBe(
      "webhooks (2 of at most 5):\n  https://app.1msg.io/… (1MSG's inbox)\n  https://a.example/…\ndelivery acks (ackNotificationsOn): on",
    );
    await fetch(`${s.url}/${s.channelId}/settings`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.token}`, "content-type": "application/json" },
      body: JSON.stringify({ ackNotificationsOn: false }),
    });
    expect((await run(["webhook", "get"], env)).out).toMatch(
      /delivery acks \(ackNotificationsOn\): off/,
    );
  });

  it("refuses what is not a URL", async () => {
    const s = await simulator();
    expect((await run(["webhook", "set", "not a url"], envFor(s))).err).toMatch(/is not a URL/);
    expect((await run(["webhook", "frob"], envFor(s))).code).toBe(1);
    expect((await run(["webhook", "set"], envFor(s))).code).toBe(1);
  });
});

describe("the built waotp binary", () => {
  const bin = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill("SIGTERM");
  });

  it("runs simulate and send against each other from a shell", async () => {
    expect(existsSync(bin), "build the package first (pnpm build)").toBe(true);
    child = spawn(process.execPath, [bin, "simulate", "--port", "0"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let printed = "";
    child.stdout?.on("data", (chunk) => {
      printed += chunk;
    });
    while (!printed.includes("ONEMSG_LANGUAGE=")) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const env = Object.fromEntries(
      printed
        .split("\n")
        .filter((line) => line.startsWith("ONEMSG_"))
        .map((line) => line.split("=") as [string, string]),
    );
    const sender = spawn(process.execPath, [bin, "send", "+44 20 7946 0958", "--wait", "3"], {
      env: { ...process.env, ...env },
    });
    let sent = "";
    sender.stdout.on("data", (chunk) => {
      sent += chunk;
    });
    const [exitCode] = await once(sender, "exit");
    expect(sent).toMatch(/Sent a code to \+44\*{8}58: message (wamid\.\S+), expires/);
    expect(sent).toMatch(/status: delivered/);
    expect(exitCode).toBe(0);
    const inbox = (await (await fetch(`${env.ONEMSG_API_URL}/_inbox/442079460958`)).json()) as {
      messages: { text: string }[];
    };
    expect(inbox.messages[0]?.text).toMatch(/^\d{6} is your verification code\./);
    child.kill("SIGTERM");
    const [simExit] = await once(child, "exit");
    expect(simExit).toBe(0);
  }, 20_000);
});

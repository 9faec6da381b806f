import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_TEMPLATE } from "../testing/one-msg-fake.js";
import {
  type OneMsgSimulator,
  type SimulatorOptions,
  startOneMsgSimulator,
} from "../testing/simulator.js";
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
      /simulate[\s\S]*send <phone>[\s\S]*doctor[\s\S]*webhook set/,
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
          status: "PENDING",
          category: "MARKETING",
          body: "Hi {{1}}, your code is {{2}}",
          copyCodeButton: false,
        },
      ],
    });
    const { code, out } = await run(["doctor"], envFor(s, { ONEMSG_NAMESPACE: "wrong" }));
    expect(code).toBe(1);
    expect(out).toMatch(/✗ template is approved \(PENDING\)\n {4}fix: wait for Meta's review/);
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
});

describe("waotp webhook", () => {
  it("sets the webhook and turns acks on, without printing the URL's secret", async () => {
    const s = await simulator();
    const set = await run(["webhook", "set", "https://app.example/otp/webhook/s3cr3t"], envFor(s));
    expect(set.code).toBe(0);
    expect(set.out).toBe("Webhook set to https://app.example/… and delivery acks turned on.");
    expect(s.webhookUrls).toEqual(["https://app.example/otp/webhook/s3cr3t"]);
    expect(s.calls.settings).toBe(1);
    const get = await run(["webhook", "get"], envFor(s));
    expect(get.out).toBe("webhook: https://app.example/…");
  });

  it("refuses what is not a URL", async () => {
    const s = await simulator();
    expect((await run(["webhook", "set", "not a url"], envFor(s))).err).toMatch(/is not a URL/);
    expect((await run(["webhook", "frob"], envFor(s))).code).toBe(1);
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
